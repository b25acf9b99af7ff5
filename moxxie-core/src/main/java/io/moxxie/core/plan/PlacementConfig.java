package io.moxxie.core.plan;

import io.moxxie.core.ValidationException;

/**
 * How much of a target's memory the planner may fill.
 *
 * @param memoryHeadroom fraction of each target's total memory kept free, 0 ≤ x &lt; 1 (default
 *                       {@value #DEFAULT_MEMORY_HEADROOM}): the hypervisor, page cache and ballooning need room
 */
public record PlacementConfig(double memoryHeadroom) {
    public static final double DEFAULT_MEMORY_HEADROOM = 0.10;

    public PlacementConfig {
        if (!(memoryHeadroom >= 0 && memoryHeadroom < 1)) {
            throw new ValidationException("memoryHeadroom", memoryHeadroom, "memoryHeadroom must be >= 0 and < 1, was " + memoryHeadroom);
        }
    }

    public static PlacementConfig defaults() {
        return new PlacementConfig(DEFAULT_MEMORY_HEADROOM);
    }

    /** Memory of a node of {@code total} bytes that guests may use. */
    public long usable(long total) {
        return (long) Math.floor(total * (1 - memoryHeadroom));
    }
}
