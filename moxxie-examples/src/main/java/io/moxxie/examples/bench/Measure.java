package io.moxxie.examples.bench;

import io.moxxie.core.model.Guest;
import io.moxxie.core.simulation.MigrationModel;
import io.moxxie.core.simulation.SimulatedCluster;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Shared arithmetic of the strategies. */
final class Measure {
    private Measure() {
    }

    /** The lower bound (docs/architecture.md, "Migration model") for moving these guests with at most {@code k} at once. */
    static double lowerBound(MigrationModel model, List<Guest> moved, int k) {
        long[] mem = moved.stream().mapToLong(Guest::memory).toArray();
        return mem.length == 0 ? 0 : model.lowerBoundSeconds(mem, Math.max(1, k));
    }

    /**
     * Seconds of {@code [from, to)} during which at most one migration was copying (past its fixed overhead): the
     * source's link then runs at most at one stream's cap, under half of it. Only migrations started in the window count.
     */
    static double sparseCopySeconds(List<SimulatedCluster.MigrationRecord> all, Duration overhead, Instant from, Instant to) {
        java.util.TreeMap<Instant, Integer> delta = new java.util.TreeMap<>();
        for (SimulatedCluster.MigrationRecord m : all) {
            if (m.startedAt().isBefore(from) || !m.startedAt().isBefore(to)) continue;
            Instant copyFrom = m.startedAt().plus(overhead);
            if (!copyFrom.isBefore(m.finishedAt())) continue;
            delta.merge(copyFrom, 1, Integer::sum);
            delta.merge(m.finishedAt(), -1, Integer::sum);
        }
        double sparse = 0;
        int copying = 0;
        Instant at = from;
        for (Map.Entry<Instant, Integer> e : delta.entrySet()) {
            Instant next = e.getKey().isAfter(to) ? to : e.getKey();
            if (next.isAfter(at) && copying <= 1) sparse += Duration.between(at, next).toNanos() / 1e9;
            if (next.isAfter(at)) at = next;
            copying += e.getValue();
        }
        if (to.isAfter(at) && copying <= 1) sparse += Duration.between(at, to).toNanos() / 1e9;
        return sparse;
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
