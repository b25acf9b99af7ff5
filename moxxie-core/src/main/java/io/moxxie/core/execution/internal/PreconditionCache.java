package io.moxxie.core.execution.internal;

import io.moxxie.core.model.MigrationPreconditions;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One drain's precondition answers by vmid: those the plan was made with, and those asked again since. An answer
 * counts as fresh while the planning answers are younger than {@code preconditionMaxAge}.
 *
 * <p>Threading: thread-safe (a concurrent map; the planning time is final). Moves read and add answers on the
 * scheduler's threads, re-planning copies them.
 */
final class PreconditionCache {
    private final Map<Integer, MigrationPreconditions> answers;
    private final Instant readAt;

    /** @param readAt when the planning answers were read; {@code null} when there are none (a drain taken over) */
    PreconditionCache(Map<Integer, MigrationPreconditions> planning, Instant readAt) {
        this.answers = new ConcurrentHashMap<>(planning);
        this.readAt = readAt;
    }

    /** The guest's answer if one is known and the planning answers are at most {@code maxAge} old at {@code now}. */
    Optional<MigrationPreconditions> fresh(int vmid, Instant now, Duration maxAge) {
        MigrationPreconditions cached = answers.get(vmid);
        boolean fresh = cached != null && readAt != null && Duration.between(readAt, now).compareTo(maxAge) <= 0;
        return fresh ? Optional.of(cached) : Optional.empty();
    }

    void put(int vmid, MigrationPreconditions answer) {
        answers.put(vmid, answer);
    }

    /** The guest's answer, or none restricting it when none was read. */
    MigrationPreconditions orUnrestricted(int vmid) {
        return answers.getOrDefault(vmid, MigrationPreconditions.unrestricted(vmid));
    }

    /** A copy, for re-planning. */
    Map<Integer, MigrationPreconditions> copy() {
        return new HashMap<>(answers);
    }
}
