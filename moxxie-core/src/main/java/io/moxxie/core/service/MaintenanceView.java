package io.moxxie.core.service;

import io.moxxie.core.model.DrainState;

import java.time.Instant;

/**
 * A node's maintenance state as the guide shows it ({@code POST/GET/DELETE …/nodes/{node}/maintenance}).
 *
 * @param vmsOnNode guests on the node now; {@link #UNKNOWN} when the hypervisor could not be read (the rest is the store's)
 */
public record MaintenanceView(String node, boolean inMaintenance, String reason, Instant maintenanceStarted,
                              Instant maintenanceEnded, int vmsOnNode, String lastDrainId, DrainState drainStatus) {
    /** {@link #vmsOnNode()} when the hypervisor is unreachable. */
    public static final int UNKNOWN = -1;
}
