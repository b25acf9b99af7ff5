package io.moxxie.examples.bench;

import io.moxxie.core.model.Guest;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.simulation.MigrationModel;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.simulation.SimulatedCluster.MigrationRecord;

import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Shared arithmetic of the strategies. */
final class Measure {
    private Measure() {
    }

    /**
     * What the migrations of one drain (those started in {@code [from, to]}) cost, and the bound for its moves.
     *
     * @param bound        the lower bound ({@link MigrationModel#lowerBoundSeconds(double[], double[], int)}) of the guests
     *                     that moved, with at most {@code k} at once
     * @param bytesSent    bytes the live moves' pre-copy passes sent, failed attempts included
     * @param liveMemory   memory of the guests that moved live
     * @param maxDowntime  the longest switchover, seconds
     * @param throttle     guest-seconds of CPU taken by auto-converge (the integral of the throttle over every move)
     * @param unconverged  live moves that did not switch over within the executor's migration time limit
     */
    record Physics(double bound, double bytesSent, double liveMemory, double maxDowntime, double throttle, int unconverged) {
        static final Physics NONE = new Physics(0, 0, 0, 0, 0, 0);

        Physics plus(Physics o) {
            return new Physics(bound + o.bound, bytesSent + o.bytesSent, liveMemory + o.liveMemory, Math.max(maxDowntime, o.maxDowntime),
                    throttle + o.throttle, unconverged + o.unconverged);
        }
    }

    /**
     * The physics of the migrations started in {@code [from, to]}: a live move (ONLINE, with pre-copy passes) must send
     * at least {@code V = m + min(W, d·m/s)} after its set-up o; a move that copies no memory takes its fixed time, which is
     * its whole duration (it shares nothing). The bound takes each guest's last successful move.
     */
    static Physics physics(List<MigrationRecord> all, Map<Integer, Guest> guests, Map<Integer, double[]> dirty, MigrationModel model,
                           Instant from, Instant to, int k, Duration timeLimit) {
        Map<Integer, MigrationRecord> moved = new LinkedHashMap<>();
        double bytes = 0, liveMemory = 0, downtime = 0, throttle = 0;
        int unconverged = 0;
        for (MigrationRecord m : all) {
            if (m.startedAt().isBefore(from) || m.startedAt().isAfter(to)) continue;
            bytes += m.bytesSent();
            throttle += m.throttleSeconds();
            if (m.passes() > 0) downtime = Math.max(downtime, m.downtime().toNanos() / 1e9);
            if (live(m) && (!m.successful() && m.passes() > 0 || m.duration().compareTo(timeLimit) > 0)) unconverged++;
            if (m.successful()) moved.put(m.vmid(), m);
        }
        double o = model.overhead().toNanos() / 1e9;
        double[] fixed = new double[moved.size()];
        double[] volume = new double[moved.size()];
        int i = 0;
        for (MigrationRecord m : moved.values()) {
            if (live(m)) {
                long mem = guests.get(m.vmid()).memory();
                double[] dw = dirty.getOrDefault(m.vmid(), new double[]{0, 0});
                fixed[i] = o;
                volume[i] = model.liveVolume(mem, dw[0], (long) dw[1]);
                liveMemory += mem;
            } else {
                fixed[i] = m.duration().toNanos() / 1e9;
            }
            i++;
        }
        double bound = moved.isEmpty() ? 0 : model.lowerBoundSeconds(fixed, volume, Math.max(1, k));
        return new Physics(bound, bytes, liveMemory, downtime, throttle, unconverged);
    }

    private static boolean live(MigrationRecord m) {
        return m.type() == MigrationType.ONLINE && m.passes() > 0;
    }

    /** The guests by vmid, as they are now. */
    static Map<Integer, Guest> byId(SimulatedCluster cluster) {
        Map<Integer, Guest> out = new java.util.HashMap<>();
        for (Guest g : cluster.currentSnapshot().guests()) out.put(g.vmid(), g);
        return out;
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
