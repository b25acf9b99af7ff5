package io.moxxie.core.service;

import io.moxxie.core.model.DrainState;

import java.time.Instant;

/** A node's maintenance state as the guide shows it ({@code POST/GET/DELETE …/nodes/{node}/maintenance}). */
public record MaintenanceView(String node, boolean inMaintenance, String reason, Instant maintenanceStarted,
                              Instant maintenanceEnded, int vmsOnNode, String lastDrainId, DrainState drainStatus) {
}
