package io.moxxie.core.model;

import io.moxxie.core.Checks;

/**
 * A safety gate's answer before a rollout takes a node out (or brings it back): pass, or block with the reason.
 *
 * @param gate   the gate's name: {@code quorum}, {@code ceph}, {@code ha}, {@code capacity}, {@code nodes-down}
 * @param pass   whether the rollout may go on
 * @param reason why, in an operator's words (also when it passes: {@code 4 of 4 votes online, 3 left without hv7})
 */
public record GateVerdict(String gate, boolean pass, String reason) {
    public GateVerdict {
        Checks.notNull("gate", gate);
        Checks.notNull("reason", reason);
    }

    public static GateVerdict pass(String gate, String reason) {
        return new GateVerdict(gate, true, reason);
    }

    public static GateVerdict block(String gate, String reason) {
        return new GateVerdict(gate, false, reason);
    }

    @Override
    public String toString() {
        return gate + (pass ? " pass: " : " BLOCK: ") + reason;
    }
}
