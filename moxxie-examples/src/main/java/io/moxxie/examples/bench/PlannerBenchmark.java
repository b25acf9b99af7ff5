package io.moxxie.examples.bench;

import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.Node;
import io.moxxie.core.model.PowerState;
import io.moxxie.core.plan.DrainPlan;
import io.moxxie.core.plan.DrainPlanner;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.plan.PlanEntry;
import io.moxxie.core.plan.PlanningInput;
import io.moxxie.core.policy.TagPolicy;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;

import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * The planner at scale (JMH, sample time): a hard drain of one node in a snapshot of 1,000 nodes and 100,000 guests,
 * where the node holds 100 guests ({@link #planHardDrainOfOneNode}) or 5,000 ({@link #planNodeOf5000Guests}); and, timed
 * by {@link #rollingMaintenanceSeconds}, a plan for every one of the 1,000 nodes in turn, each on the cluster as the
 * previous plan left it.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class PlannerBenchmark {
    static final int NODES = 1_000;
    static final int GUESTS = 100_000;
    static final int CROWDED = 5_000;

    ClusterSnapshot snapshot;
    ClusterSnapshot crowded;
    DrainPlanner planner;
    DrainRequest request;

    @Setup
    public void setUp() {
        snapshot = cluster(0);
        crowded = cluster(CROWDED);
        planner = DrainPlanner.defaults();
        request = DrainRequest.hard("n0000");
    }

    /**
     * 1,000 nodes of 1.5 TiB, 30–70 % used, and 100,000 guests of 1–64 GiB spread over them; with {@code onFirst} > 0, n0000
     * holds that many of them (and the memory for them), the others the rest.
     */
    static ClusterSnapshot cluster(int onFirst) {
        Random r = new Random(7);
        List<Node> nodes = new ArrayList<>();
        for (int i = 0; i < NODES; i++) {
            long total = 1536L << 30;
            if (i == 0 && onFirst > 0) total = (long) onFirst * (16L << 30);
            nodes.add(new Node(String.format("n%04d", i), true, total, (long) (total * (0.3 + 0.4 * r.nextDouble())), 96, r.nextDouble()));
        }
        String[] tags = {"", "always-on", "maint-ok", "env-prod"};
        List<Guest> guests = new ArrayList<>();
        for (int i = 0; i < GUESTS; i++) {
            long mem = Scenarios.logNormalMemory(r, 64);
            int node = i < onFirst ? 0 : onFirst > 0 ? 1 + i % (NODES - 1) : i % NODES;
            guests.add(Guest.builder(100 + i, nodes.get(node).name(), r.nextInt(10) == 0 ? GuestType.LXC : GuestType.QEMU)
                    .name("g" + i)
                    .status(r.nextInt(12) == 0 ? PowerState.STOPPED : PowerState.RUNNING)
                    .tags(TagPolicy.parseTags(tags[r.nextInt(tags.length)]))
                    .memory(mem)
                    .memoryUsed(mem / 2)
                    .build());
        }
        return new ClusterSnapshot(Instant.EPOCH, nodes, guests);
    }

    @Benchmark
    public DrainPlan planHardDrainOfOneNode() {
        return planner.plan(PlanningInput.drain(snapshot, request, Set.of("n0001", "n0002"), Map.of()));
    }

    @Benchmark
    public DrainPlan planNodeOf5000Guests() {
        return planner.plan(PlanningInput.drain(crowded, request, Set.of(), Map.of()));
    }

    /**
     * Plans a hard drain of every node in turn, each on the cluster as the previous plan left it (its moves applied with
     * {@link ClusterSnapshot#withMoves}: the guests on their targets, the memory of the running ones moved with them);
     * returns the wall time and the planning thread's CPU time, in seconds, of the plans and the snapshots between them.
     */
    static double[] rollingMaintenanceSeconds() {
        ClusterSnapshot snap = cluster(0);
        DrainPlanner planner = DrainPlanner.defaults();
        java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
        long began = System.nanoTime();
        long cpuBegan = threads.getCurrentThreadCpuTime();
        for (Node drained : List.copyOf(snap.nodes())) {
            DrainPlan plan = planner.plan(PlanningInput.drain(snap, DrainRequest.hard(drained.name()), Set.of(drained.name()), Map.of()));
            snap = applied(snap, plan);
        }
        return new double[]{(System.nanoTime() - began) / 1e9, (threads.getCurrentThreadCpuTime() - cpuBegan) / 1e9};
    }

    /** The snapshot after the plan's moves. */
    private static ClusterSnapshot applied(ClusterSnapshot snap, DrainPlan plan) {
        Map<Integer, String> moves = new HashMap<>();
        for (PlanEntry e : plan.entries()) {
            if (e.action() == PlanEntry.Action.MOVE) moves.put(e.vmid(), e.targetNode());
        }
        return snap.withMoves(moves);
    }
}
