package io.moxxie.core.model;

import io.moxxie.core.Checks;

/**
 * A hypervisor node as seen in one snapshot.
 *
 * @param name        the node's name in the cluster
 * @param online      whether the cluster sees it online
 * @param memoryTotal physical memory, bytes
 * @param memoryUsed  memory in use, bytes
 * @param cpus        logical CPUs
 * @param cpuLoad     CPU usage as a fraction of all CPUs, 0..1
 */
public record Node(String name, boolean online, long memoryTotal, long memoryUsed, int cpus, double cpuLoad) {
    public Node {
        Checks.nodeName("name", name);
        if (memoryTotal < 0) throw new IllegalArgumentException("memoryTotal must be >= 0, was " + memoryTotal);
        if (memoryUsed < 0) throw new IllegalArgumentException("memoryUsed must be >= 0, was " + memoryUsed);
        if (cpus < 0) throw new IllegalArgumentException("cpus must be >= 0, was " + cpus);
    }

    public long memoryFree() {
        return Math.max(0, memoryTotal - memoryUsed);
    }
}
