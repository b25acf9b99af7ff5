package io.moxxie.examples.bench;

import io.moxxie.core.model.Guest;
import io.moxxie.core.simulation.SimulatedCluster;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;

/**
 * How busy the guests' memory is (issue 13): every guest draws a dirty rate d and a writable working set W, seeded.
 * <ul>
 *   <li>{@code idle}: d uniform in 0–100 MB/s, W uniform in 2–10 % of its memory;</li>
 *   <li>{@code busy-15}: 15 % of the guests d 200–500 MB/s, W 25–50 % of memory (databases, caches, JVMs under load);
 *       the others as idle;</li>
 *   <li>{@code busy-30}: the same with 30 %.</li>
 * </ul>
 * Which guests are busy is drawn per guest, so the busy share of one drained node varies around the nominal figure.
 */
enum Mix {
    IDLE("idle", 0.0), BUSY_15("busy-15", 0.15), BUSY_30("busy-30", 0.30);

    final String label;
    final double busyShare;

    Mix(String label, double busyShare) {
        this.label = label;
        this.busyShare = busyShare;
    }

    /** Gives every guest of the cluster its d and W; returns them by vmid ({d, W}). */
    Map<Integer, double[]> apply(SimulatedCluster cluster, long seed) {
        Random r = new Random(seed * 31 + ordinal());
        Map<Integer, double[]> out = new HashMap<>();
        for (Guest g : cluster.currentSnapshot().guests()) { // sorted by vmid: the same draw on every run
            boolean busy = r.nextDouble() < busyShare;
            double d = busy ? 200e6 + 300e6 * r.nextDouble() : 100e6 * r.nextDouble();
            double wShare = busy ? 0.25 + 0.25 * r.nextDouble() : 0.02 + 0.08 * r.nextDouble();
            long w = (long) (g.memory() * wShare);
            cluster.dirty(g.vmid(), d, w);
            out.put(g.vmid(), new double[]{d, w});
        }
        return out;
    }
}
