package io.moxxie.core.simulation;

import java.time.Duration;

/**
 * How long simulated migrations take (docs/architecture.md, "Migration model"): every node has a migration link of {@code linkBandwidth}
 * bytes/s, shared equally by the transfers touching it (as source or target); one transfer never exceeds
 * {@code streamCap} bytes/s; every migration first spends {@code overhead} (setup, final sync) without
 * using the link, then moves the guest's memory.
 *
 * @param linkBandwidth bytes per second per node
 * @param streamCap     bytes per second for one migration
 * @param overhead      fixed time per migration
 */
public record MigrationModel(double linkBandwidth, double streamCap, Duration overhead) {
    /** 1.25 GB/s links, 0.6 GB/s per stream, 5 s overhead: the figures of the benchmarks. */
    public static final MigrationModel DEFAULT = new MigrationModel(1.25e9, 0.6e9, Duration.ofSeconds(5));
    /** Every migration finishes at once: for tests of the executor's own overhead. */
    public static final MigrationModel INSTANT = new MigrationModel(Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY, Duration.ZERO);

    public MigrationModel {
        if (!(linkBandwidth > 0)) throw new IllegalArgumentException("linkBandwidth must be > 0, was " + linkBandwidth);
        if (!(streamCap > 0)) throw new IllegalArgumentException("streamCap must be > 0, was " + streamCap);
        if (overhead == null || overhead.isNegative()) throw new IllegalArgumentException("overhead must be >= 0, was " + overhead);
    }

    /**
     * The lower bound (docs/architecture.md, "Migration model") on the makespan of moving guests of {@code memories} bytes off one node with at
     * most {@code k} at once: {@code max(max_i(o + m_i/s), sum_i(o + m_i/s)/k, sum_i m_i / B)}, in seconds.
     */
    public double lowerBoundSeconds(long[] memories, int k) {
        double o = overhead.toNanos() / 1e9;
        double longest = 0, sumSolo = 0, sumMem = 0;
        for (long m : memories) {
            double solo = o + m / streamCap;
            longest = Math.max(longest, solo);
            sumSolo += solo;
            sumMem += m;
        }
        return Math.max(longest, Math.max(sumSolo / k, sumMem / linkBandwidth));
    }
}
