package io.moxxie.core.simulation;

import java.time.Duration;

/**
 * How long simulated migrations take and what they cost the guest (docs/architecture.md, "Migration model").
 *
 * <p><b>Links.</b> Every node has a migration link of {@code linkBandwidth} bytes/s, shared equally by the memory copies
 * touching it (as source or target); one copy never exceeds {@code streamCap} bytes/s (one QEMU migration stream through
 * one SSH/TCP connection). A copy runs at {@code min(streamCap, B / copies on its source, B / copies on its target)},
 * re-evaluated whenever a copy starts or ends (a fluid model; leftover share of a capped stream is not handed on).
 *
 * <p><b>Live migration (a running qemu guest, {@code qm migrate --online}).</b> A set-up of {@code overhead} (SSH tunnel,
 * target QEMU started, config moved; local disks, if copied, at {@code diskCopyRate} on top) that uses no link, then
 * QEMU's pre-copy passes at the stream's current rate. Per guest a dirty rate d (bytes/s) and a writable working set W
 * (bytes), both 0 unless the cluster is built with them ({@link SimulatedCluster.Builder#dirty}): pass 0 sends the
 * guest's memory m; each later pass sends {@code min(W, d_eff × the previous pass's duration)}, with
 * {@code d_eff = d × (1 − throttle)}. The switchover comes when what a pass leaves fits in {@code rate × downtime limit}:
 * that remainder is sent with the guest paused, and its duration is the move's downtime. With d = W = 0 a live move
 * takes {@code overhead + m / rate}, as before this model.
 * <ul>
 *   <li>Downtime limit: starts at {@value #INITIAL_DOWNTIME_SECONDS} s — qemu-server's {@code migrate_downtime} default
 *       (PVE/QemuServer.pm, set on the QEMU monitor by PVE/QemuMigrate.pm) — and doubles after
 *       {@value #DOWNTIME_PATIENCE_PASSES} passes in which the remainder did not shrink (QemuMigrate.pm's
 *       {@code $downtimecounter}: "auto-increased downtime to continue migration"). Proxmox counts its one-second
 *       status polls, this model counts passes: a simplification.</li>
 *   <li>Auto-converge (qemu-server's PVE/QemuMigrate/Helpers.pm sets the {@code auto-converge} capability): a pass
 *       whose dirtied bytes exceed {@value #THROTTLE_TRIGGER_PERCENT} % of the bytes it sent (QEMU migration/options.c,
 *       {@code throttle-trigger-threshold} default 50) counts; at every second such pass (migration/ram.c,
 *       {@code migration_trigger_throttle}: {@code ++dirty_rate_high_cnt >= 2}, then reset) the guest's vCPUs are
 *       throttled {@value #THROTTLE_INITIAL_PERCENT} % ({@code cpu-throttle-initial} default 20), then
 *       {@value #THROTTLE_INCREMENT_PERCENT} % more ({@code cpu-throttle-increment} default 10), up to
 *       {@value #THROTTLE_MAX_PERCENT} % ({@code max-cpu-throttle} default 99). QEMU evaluates this at every dirty-bitmap
 *       sync, once per pass. The throttle is taken to scale the dirty rate linearly, and is constant within a pass.</li>
 * </ul>
 *
 * <p><b>Moves that copy no memory</b> (a stopped guest, {@code --restart} of a container; shared storage): only
 * {@code offlineOverhead} (config moved, locks, the task's own start), plus for a container restart its shutdown and
 * start inside the task. They use no link. Local disks copy their size at {@code diskCopyRate} on top, outside the links
 * (a simplification: real disk copies share the network).
 *
 * <p><b>SSH.</b> Every migration opens an SSH connection from its source; OpenSSH's default {@code MaxStartups 10:30:100}
 * (sshd_config(5)) begins dropping unauthenticated connections once {@value #SSH_MAX_STARTUPS} are being set up. The model
 * fails a migration that starts while {@code maxStartups} others from the same source are in their set-up (the sshd that
 * drops them is the target's; counting per source, as issue 13 specifies, is stricter when they go to several targets,
 * and deterministic where sshd drops at random from 10 to 100).
 *
 * @param linkBandwidth   bytes per second per node
 * @param streamCap       bytes per second for one migration stream
 * @param overhead        set-up of a live migration, without using the link
 * @param offlineOverhead the whole of a move that copies no memory (besides a container's shutdown and start)
 * @param diskCopyRate    bytes per second at which local disks are copied
 * @param maxStartups     migrations from one source that may be in their set-up at once; another one fails
 */
public record MigrationModel(double linkBandwidth, double streamCap, Duration overhead, Duration offlineOverhead,
                             double diskCopyRate, int maxStartups) {
    /** qemu-server's {@code migrate_downtime} default, seconds. */
    public static final double INITIAL_DOWNTIME_SECONDS = 0.1;
    /** Passes without a shrinking remainder after which the downtime limit doubles (QemuMigrate.pm). */
    public static final int DOWNTIME_PATIENCE_PASSES = 5;
    /** QEMU {@code throttle-trigger-threshold}, per cent of the bytes sent in a pass. */
    public static final int THROTTLE_TRIGGER_PERCENT = 50;
    /** QEMU {@code cpu-throttle-initial}, per cent. */
    public static final int THROTTLE_INITIAL_PERCENT = 20;
    /** QEMU {@code cpu-throttle-increment}, per cent. */
    public static final int THROTTLE_INCREMENT_PERCENT = 10;
    /** QEMU {@code max-cpu-throttle}, per cent. */
    public static final int THROTTLE_MAX_PERCENT = 99;
    /** OpenSSH {@code MaxStartups} start value. */
    public static final int SSH_MAX_STARTUPS = 10;
    /** A move that copies no memory: config, locks and the task itself, a few seconds on a quiet cluster. */
    public static final Duration OFFLINE_OVERHEAD = Duration.ofSeconds(3);
    /** Local disks, copied by storage migration (one NBD/SSH stream): 250 MB/s. */
    public static final double DISK_COPY_RATE = 250e6;

    /** A 10 GbE migration network (1.25 GB/s), 0.6 GB/s per stream, 5 s set-up: the figures of the benchmarks. */
    public static final MigrationModel DEFAULT = new MigrationModel(1.25e9, 0.6e9, Duration.ofSeconds(5));
    /** Every migration finishes at once: for tests of the executor's own overhead. */
    public static final MigrationModel INSTANT = new MigrationModel(Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY, Duration.ZERO,
            Duration.ZERO, Double.POSITIVE_INFINITY, Integer.MAX_VALUE);

    public MigrationModel {
        if (!(linkBandwidth > 0)) throw new IllegalArgumentException("linkBandwidth must be > 0, was " + linkBandwidth);
        if (!(streamCap > 0)) throw new IllegalArgumentException("streamCap must be > 0, was " + streamCap);
        if (overhead == null || overhead.isNegative()) throw new IllegalArgumentException("overhead must be >= 0, was " + overhead);
        if (offlineOverhead == null || offlineOverhead.isNegative()) {
            throw new IllegalArgumentException("offlineOverhead must be >= 0, was " + offlineOverhead);
        }
        if (!(diskCopyRate > 0)) throw new IllegalArgumentException("diskCopyRate must be > 0, was " + diskCopyRate);
        if (maxStartups < 1) throw new IllegalArgumentException("maxStartups must be >= 1, was " + maxStartups);
    }

    /**
     * Links, stream cap and set-up as given; a move that copies no memory takes {@link #OFFLINE_OVERHEAD} (but never more
     * than {@code overhead}: a model of instant moves stays instant), local disks copy at {@link #DISK_COPY_RATE}, and
     * {@link #SSH_MAX_STARTUPS} set-ups per source at once.
     */
    public MigrationModel(double linkBandwidth, double streamCap, Duration overhead) {
        this(linkBandwidth, streamCap, overhead, overhead == null || overhead.compareTo(OFFLINE_OVERHEAD) < 0 ? overhead : OFFLINE_OVERHEAD,
                DISK_COPY_RATE, SSH_MAX_STARTUPS);
    }

    /** This model with another link bandwidth (e.g. a 25 GbE migration network: 3.125e9). */
    public MigrationModel withLinkBandwidth(double bytesPerSecond) {
        return new MigrationModel(bytesPerSecond, streamCap, overhead, offlineOverhead, diskCopyRate, maxStartups);
    }

    /**
     * The lower bound (docs/architecture.md, "Migration model") on the makespan of moving guests off one node with at most
     * {@code k} at once, valid for any schedule: {@code max(max_i(o_i + V_i/s), sum_i(o_i + V_i/s)/k, o + sum_i V_i/B)}, in
     * seconds. {@code fixed[i]} is move i's time that uses no link (o for a live move, the offline cost for one that copies
     * no memory), {@code volume[i]} the bytes it must send at least (0 for a move that copies no memory).
     */
    public double lowerBoundSeconds(double[] fixed, double[] volume, int k) {
        double o = overhead.toNanos() / 1e9;
        double longest = 0, sumSolo = 0, sumVolume = 0;
        boolean anyVolume = false;
        for (int i = 0; i < fixed.length; i++) {
            double solo = fixed[i] + volume[i] / streamCap;
            longest = Math.max(longest, solo);
            sumSolo += solo;
            sumVolume += volume[i];
            anyVolume |= volume[i] > 0;
        }
        double link = anyVolume ? o + sumVolume / linkBandwidth : 0;
        return Math.max(longest, Math.max(sumSolo / k, link));
    }

    /**
     * The least a live move of a guest of {@code memory} bytes with dirty rate {@code d} and working set {@code w} must send:
     * its memory, and what it dirties while pass 0 runs at the stream cap, {@code m + min(W, d·m/s)}.
     */
    public double liveVolume(long memory, double dirtyRate, long workingSet) {
        return memory + Math.min(workingSet, dirtyRate * memory / streamCap);
    }

    /** The old bound for live moves of idle guests: {@code max(max_i(o + m_i/s), sum_i(o + m_i/s)/k, o + sum_i m_i / B)}. */
    public double lowerBoundSeconds(long[] memories, int k) {
        double o = overhead.toNanos() / 1e9;
        double[] fixed = new double[memories.length];
        double[] volume = new double[memories.length];
        for (int i = 0; i < memories.length; i++) {
            fixed[i] = o;
            volume[i] = memories[i];
        }
        return lowerBoundSeconds(fixed, volume, k);
    }
}
