package io.moxxie.core.rollout;

import io.moxxie.core.model.GateVerdict;

/**
 * A safety check a rollout passes before it takes a node out of service, and again before it brings the node's guests
 * back. A gate that blocks makes the rollout wait, with the gate's reason in its status, up to the request's {@code
 * gateTimeout}; then the rollout fails, leaving the cluster as it is.
 *
 * <p>Built in ({@link Gates}): {@code nodes-down}, {@code quorum}, {@code ceph}, {@code ha}, {@code capacity}. An
 * embedding application adds its own with {@link RolloutService.Builder#gate(Gate)} (e.g. "no backup job running",
 * "the monitoring system shows no open alert for the node").
 *
 * <p>Implementations are thread-safe and may block on I/O. A gate that cannot tell (its source is unreachable) blocks
 * with the reason: a rollout never takes a node out on a guess. An exception thrown is treated the same way.
 */
public interface Gate {

    /** A short name, lower case: it is the verdict's {@code gate}. */
    String name();

    /** Whether {@code context.node()} may be taken out of service now. */
    GateVerdict beforeNode(GateContext context);

    /** Whether {@code context.node()}, back after its maintenance, may take its guests back now. */
    GateVerdict beforeReturn(GateContext context);
}
