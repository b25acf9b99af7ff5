package io.moxxie.core.service;

/**
 * A node as {@code GET /api/v1/nodes} lists it.
 *
 * @param status {@code online}, {@code offline} or {@code maintenance} (maintenance wins over online)
 */
public record NodeView(String node, String status, boolean online, boolean inMaintenance, String maintenanceReason,
                       long memoryTotal, long memoryUsed, int cpus, double cpuLoad, int guests) {
}
