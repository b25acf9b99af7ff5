package io.moxxie.examples.bench;

import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.Node;
import io.moxxie.core.model.PowerState;
import io.moxxie.core.plan.DrainPlan;
import io.moxxie.core.plan.DrainPlanner;
import io.moxxie.core.plan.DrainRequest;
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
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/** Planning a hard drain of one node in a snapshot of 1,000 nodes and 100,000 guests (JMH, sample time). */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class PlannerBenchmark {
    static final int NODES = 1_000;
    static final int GUESTS = 100_000;

    ClusterSnapshot snapshot;
    DrainPlanner planner;
    DrainRequest request;

    @Setup
    public void setUp() {
        Random r = new Random(7);
        List<Node> nodes = new ArrayList<>();
        for (int i = 0; i < NODES; i++) {
            long total = 1536L << 30;
            nodes.add(new Node(String.format("n%04d", i), true, total, (long) (total * (0.3 + 0.4 * r.nextDouble())), 96, r.nextDouble()));
        }
        String[] tags = {"", "always-on", "maint-ok", "env-prod"};
        List<Guest> guests = new ArrayList<>();
        for (int i = 0; i < GUESTS; i++) {
            long mem = Scenarios.logNormalMemory(r, 64);
            guests.add(Guest.builder(100 + i, nodes.get(i % NODES).name(), r.nextInt(10) == 0 ? GuestType.LXC : GuestType.QEMU)
                    .name("g" + i)
                    .status(r.nextInt(12) == 0 ? PowerState.STOPPED : PowerState.RUNNING)
                    .tags(TagPolicy.parseTags(tags[r.nextInt(tags.length)]))
                    .memory(mem)
                    .memoryUsed(mem / 2)
                    .build());
        }
        snapshot = new ClusterSnapshot(Instant.EPOCH, nodes, guests);
        planner = DrainPlanner.defaults();
        request = DrainRequest.hard("n0000");
    }

    @Benchmark
    public DrainPlan planHardDrainOfOneNode() {
        return planner.plan(PlanningInput.drain(snapshot, request, Set.of("n0001", "n0002"), Map.of()));
    }
}
