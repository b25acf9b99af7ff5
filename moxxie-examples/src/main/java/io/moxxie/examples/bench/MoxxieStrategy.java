package io.moxxie.examples.bench;

import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.execution.ExecutorConfig;
import io.moxxie.core.model.Concurrency;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.service.MaintenanceService;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.time.VirtualScheduler;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Moxxie's own executor through {@link MaintenanceService}, on the simulated cluster in virtual time. */
final class MoxxieStrategy implements Strategy {
    private final boolean auto;
    /** A fixed concurrency of its own (0: the scenario's). */
    private final int k;

    MoxxieStrategy(boolean auto) {
        this(auto, 0);
    }

    MoxxieStrategy(boolean auto, int k) {
        this.auto = auto;
        this.k = k;
    }

    @Override
    public String name() {
        return auto ? "moxxie-auto" : k == 0 ? "moxxie" : "moxxie-k" + k;
    }

    @Override
    public Outcome run(Scenario s) {
        VirtualScheduler scheduler = new VirtualScheduler();
        Scenario.Built built = s.build(scheduler);
        SimulatedCluster cluster = built.cluster();
        int guests = 0;
        int nodes = cluster.currentSnapshot().nodes().size();
        Duration timeLimit = ExecutorConfig.defaults().migrationTimeout();
        try (MaintenanceService service = MaintenanceService.builder(cluster, new InMemoryMaintenanceStore()).scheduler(scheduler)
                .placement(s.placement()).planningRetryDelay(Duration.ofMillis(1)).ownerId("bench").build()) {
            service.start();
            double makespan = 0;
            Measure.Physics physics = Measure.Physics.NONE;
            int moved = 0, failed = 0;
            int k = this.k != 0 ? this.k : s.maxConcurrent();
            for (String node : s.nodes()) {
                DrainRequest request = DrainRequest.builder(node).mode(s.mode()).concurrency(auto ? Concurrency.auto() : Concurrency.fixed(k)).build();
                for (boolean back : s.rolling() ? new boolean[]{false, true} : new boolean[]{false}) {
                    Map<Integer, Guest> before = Measure.byId(cluster);
                    DrainStatus started = (back ? service.undrain(node) : service.drain(request)).status();
                    scheduler.runUntilIdle();
                    DrainStatus done = service.status(node, started.drainId());
                    makespan += Duration.between(done.startedAt(), done.completedAt()).toNanos() / 1e9;
                    int movedNow = (int) done.vmStatus().stream().filter(v -> v.status() == GuestState.COMPLETED).count();
                    physics = physics.plus(Measure.physics(cluster.migrations(), before, built.dirty(), s.model(), done.startedAt(),
                            done.completedAt(), auto ? movedNow : k, timeLimit));
                    moved += movedNow;
                    failed += (int) done.vmStatus().stream().filter(v -> v.status() == GuestState.FAILED).count();
                    if (!back) guests += done.totalVMs();
                }
            }
            Set<String> sources = new HashSet<>(s.rolling() ? List.of() : s.nodes());
            return new Outcome(s.name(), s.mix().label, name(), guests, nodes, auto ? 0 : k, makespan, physics.bound(),
                    Measure.maxTargetUtilization(cluster, sources), moved, failed, cluster.totalCalls(), physics);
        }
    }
}
