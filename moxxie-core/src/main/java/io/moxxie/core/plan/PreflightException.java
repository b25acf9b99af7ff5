package io.moxxie.core.plan;

import io.moxxie.core.MoxxieException;

import io.moxxie.core.plan.PlanEntry;

import java.util.List;

/**
 * A drain was refused before anything moved: the node cannot be drained as asked. For a soft drain whose
 * plan blocks guests, {@link #blocked()} lists each with its reason (ask again with {@code force} to move
 * what fits); for a node that is offline or in the wrong state, it is empty and the message says why.
 */
public class PreflightException extends MoxxieException {
    private final String node;
    private final List<PlanEntry> blocked;

    public PreflightException(String node, String message, List<PlanEntry> blocked) {
        super(message);
        this.node = node;
        this.blocked = List.copyOf(blocked);
    }

    public static PreflightException blocked(String node, List<PlanEntry> blocked) {
        StringBuilder sb = new StringBuilder("Soft drain of ").append(node).append(" refused: ").append(blocked.size())
                .append(blocked.size() == 1 ? " guest cannot be moved" : " guests cannot be moved")
                .append(" (use force to move the others anyway): ");
        for (int i = 0; i < blocked.size(); i++) {
            PlanEntry e = blocked.get(i);
            if (i > 0) sb.append("; ");
            sb.append(e.guest().label()).append(": ").append(e.reason());
        }
        return new PreflightException(node, sb.toString(), blocked);
    }

    public String node() {
        return node;
    }

    public List<PlanEntry> blocked() {
        return blocked;
    }
}
