package io.moxxie.examples.bench;

import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.PowerState;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.plan.PlacementConfig;
import io.moxxie.core.simulation.MigrationModel;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.time.Scheduler;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** The benchmark's scenarios, S1 to S5 of issue 7, all seeded: the same inputs on every run and machine. */
final class Scenarios {
    static final long GIB = 1L << 30;
    private static final MigrationModel MODEL = MigrationModel.DEFAULT;

    private Scenarios() {
    }

    /**
     * Added to every seed (the clusters' and the mixes' draws): {@code bench --seed N} runs the scenarios on another
     * draw, to check that a result holds beyond the published one (0: the published draw). Set once, before any run.
     */
    static volatile long seedOffset;

    private static long seed(long base) {
        return base + 1000 * seedOffset;
    }

    /** A 25 GbE migration network: 3.125 GB/s per node, the same stream cap. */
    static final MigrationModel MODEL_25G = MODEL.withLinkBandwidth(3.125e9);

    /** Every scenario with the fixed concurrency it is specified with (k = 3), each in every mix of {@link Mix}. */
    static List<Scenario> all(java.util.function.Consumer<SimulatedCluster.Builder> demoCluster) {
        List<Scenario> out = new ArrayList<>();
        for (Mix mix : Mix.values()) {
            for (Scenario s : base(demoCluster)) out.add(s.withMix(mix));
        }
        return out;
    }

    /** The scenarios, idle. */
    static List<Scenario> base(java.util.function.Consumer<SimulatedCluster.Builder> demoCluster) {
        List<Scenario> out = new ArrayList<>();
        out.add(new Scenario("S1 guide hard", s -> {
            SimulatedCluster.Builder b = SimulatedCluster.builder(s).model(MODEL);
            demoCluster.accept(b);
            return b;
        }, List.of("hv7"), false, DrainMode.HARD, 3, PlacementConfig.defaults(), MODEL, Mix.IDLE));
        for (DrainMode mode : DrainMode.values()) {
            out.add(new Scenario("S2 mixed " + mode.wireName(), s -> mixed(s, seed(11)), List.of("n00"), false, mode, 3,
                    PlacementConfig.defaults(), MODEL, Mix.IDLE));
        }
        out.add(new Scenario("S2 mixed hard 25GbE", s -> mixed(s, seed(11)), List.of("n00"), false, DrainMode.HARD, 3,
                PlacementConfig.defaults(), MODEL_25G, Mix.IDLE));
        out.add(new Scenario("S3 large", s -> large(s, seed(12)), List.of("n000"), false, DrainMode.SOFT, 3, PlacementConfig.defaults(), MODEL,
                Mix.IDLE));
        List<String> rolling = new ArrayList<>();
        for (int i = 0; i < 16; i++) rolling.add(String.format("r%02d", i));
        out.add(new Scenario("S4 rolling", s -> rolling(s, seed(13)), rolling, true, DrainMode.SOFT, 3, PlacementConfig.defaults(), MODEL,
                Mix.IDLE));
        out.add(new Scenario("S5 tight", s -> tight(s, seed(14)), List.of("t0"), false, DrainMode.HARD, 3, new PlacementConfig(0.0), MODEL,
                Mix.IDLE));
        return out;
    }

    /** Memory between 1 and {@code maxGib} GiB, log-normal (median about 6 GiB), rounded to 256 MiB. */
    static long logNormalMemory(Random r, int maxGib) {
        double gib = Math.exp(Math.log(6) + 0.9 * r.nextGaussian());
        gib = Math.max(1, Math.min(maxGib, gib));
        return Math.round(gib * 4) * GIB / 4;
    }

    private static String tags(Random r) {
        double x = r.nextDouble();
        if (x < 0.10) return "always-on";
        if (x < 0.30) return "maint-ok";
        return "";
    }

    private static Guest guest(Random r, int vmid, String node, int maxGib) {
        boolean lxc = r.nextInt(10) == 0;
        boolean stopped = r.nextInt(12) == 0;
        long mem = logNormalMemory(r, maxGib);
        return Guest.builder(vmid, node, lxc ? GuestType.LXC : GuestType.QEMU)
                .name((lxc ? "ct-" : "vm-") + vmid)
                .status(stopped ? PowerState.STOPPED : PowerState.RUNNING)
                .tags(io.moxxie.core.policy.TagPolicy.parseTags(tags(r)))
                .memory(mem)
                .memoryUsed(mem / 2)
                .haManaged(r.nextInt(20) == 0)
                .build();
    }

    /** S2: 32 nodes of 1 TiB; 120 guests on n00, 1–64 GiB log-normal, 10 % always-on, 20 % maint-ok; 25 on each other node. */
    static SimulatedCluster.Builder mixed(Scheduler s, long seed) {
        return uniform(s, seed, "n%02d", 32, 1024, 64, 25, 120, 1000, 64);
    }

    /** S3: 200 nodes of 1.5 TiB with 150 guests each (1–32 GiB); one node drained. */
    static SimulatedCluster.Builder large(Scheduler s, long seed) {
        return uniform(s, seed, "n%03d", 200, 1536, 96, 150, 150, 10000, 32);
    }

    /** S4: 16 nodes of 768 GiB with 30 guests each (1–48 GiB), drained and undrained node after node. */
    static SimulatedCluster.Builder rolling(Scheduler s, long seed) {
        return uniform(s, seed, "r%02d", 16, 768, 64, 30, 30, 2000, 48);
    }

    /**
     * {@code nodes} nodes named by {@code nameFormat} of {@code nodeGib} GiB; the first holds {@code onFirst} guests, the
     * others {@code perNode} each, of up to {@code maxGib} GiB, vmids from {@code firstVmid}.
     */
    private static SimulatedCluster.Builder uniform(Scheduler s, long seed, String nameFormat, int nodes, int nodeGib, int cpus,
                                                    int perNode, int onFirst, int firstVmid, int maxGib) {
        Random r = new Random(seed);
        SimulatedCluster.Builder b = SimulatedCluster.builder(s).model(MODEL);
        int vmid = firstVmid;
        for (int n = 0; n < nodes; n++) {
            String node = String.format(nameFormat, n);
            b.node(node, nodeGib * GIB, cpus);
            int count = n == 0 ? onFirst : perNode;
            for (int i = 0; i < count; i++) b.guest(guest(r, vmid++, node, maxGib));
        }
        return b;
    }

    /**
     * S5: 8 nodes; the guests of t0 need X bytes, and the other nodes together have only 1.05 X free, spread unevenly,
     * so that placement must pack tightly (the planner's headroom is set to 0 for this scenario).
     */
    static SimulatedCluster.Builder tight(Scheduler s, long seed) {
        Random r = new Random(seed);
        SimulatedCluster.Builder b = SimulatedCluster.builder(s).model(MODEL);
        List<Guest> drained = new ArrayList<>();
        long need = 0;
        for (int i = 0; i < 60; i++) {
            long mem = logNormalMemory(r, 32);
            Guest g = Guest.qemu(3000 + i, "t0").name("vm-" + (3000 + i)).tags(io.moxxie.core.policy.TagPolicy.parseTags(tags(r)))
                    .memory(mem).memoryUsed(mem / 2).build();
            drained.add(g);
            need += mem;
        }
        b.node("t0", 2048 * GIB, 64);
        drained.forEach(b::guest);
        long free = (long) (need * 1.05);
        double[] share = new double[7];
        double sum = 0;
        for (int i = 0; i < 7; i++) {
            share[i] = 0.5 + r.nextDouble();
            sum += share[i];
        }
        for (int i = 0; i < 7; i++) {
            long nodeFree = (long) (free * share[i] / sum);
            long total = 512 * GIB;
            b.node("t" + (i + 1), total, total - nodeFree, 64);
        }
        return b;
    }
}
