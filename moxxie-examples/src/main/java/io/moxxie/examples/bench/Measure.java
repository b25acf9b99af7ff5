package io.moxxie.examples.bench;

import io.moxxie.core.model.Guest;
import io.moxxie.core.simulation.MigrationModel;
import io.moxxie.core.simulation.SimulatedCluster;

import java.util.List;
import java.util.Map;
import java.util.Set;

/** Shared arithmetic of the strategies. */
final class Measure {
    private Measure() {
    }

    /** DESIGN.md's lower bound for moving these guests with at most {@code k} at once. */
    static double lowerBound(MigrationModel model, List<Guest> moved, int k) {
        long[] mem = moved.stream().mapToLong(Guest::memory).toArray();
        return mem.length == 0 ? 0 : model.lowerBoundSeconds(mem, Math.max(1, k));
    }

    /** The highest memory use any node other than {@code exclude} reached, as a fraction of its memory. */
    static double maxTargetUtilization(SimulatedCluster cluster, Set<String> exclude) {
        double max = 0;
        for (Map.Entry<String, Double> e : cluster.peakMemoryUtilization().entrySet()) {
            if (!exclude.contains(e.getKey())) max = Math.max(max, e.getValue());
        }
        return max;
    }
}
