package io.moxxie.core.rollout;

import io.moxxie.core.Checks;
import io.moxxie.core.spi.RolloutRecord;
import io.moxxie.core.spi.RolloutStep;

import java.util.List;
import java.util.Optional;

/**
 * A rollout as it stands: its record and its nodes' steps, in order.
 *
 * @param rollout the rollout
 * @param steps   one per node, by index
 */
public record RolloutStatus(RolloutRecord rollout, List<RolloutStep> steps) {
    public RolloutStatus {
        Checks.notNull("rollout", rollout);
        steps = List.copyOf(steps);
    }

    public String rolloutId() {
        return rollout.rolloutId();
    }

    /** The step under way (or waiting), if the rollout has not ended. */
    public Optional<RolloutStep> current() {
        if (rollout.ended()) return Optional.empty();
        return steps.stream().filter(s -> !s.state().ended() && s.startedAt() != null).findFirst();
    }

    public Optional<RolloutStep> step(String node) {
        return steps.stream().filter(s -> s.node().equals(node)).findFirst();
    }
}
