package io.moxxie.examples.bench;

import io.moxxie.core.model.Concurrency;

import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.Guest;
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

    MoxxieStrategy(boolean auto) {
        this.auto = auto;
    }

    @Override
    public String name() {
        return auto ? "moxxie-auto" : "moxxie";
    }

    @Override
    public Outcome run(Scenario s) {
        VirtualScheduler scheduler = new VirtualScheduler();
        SimulatedCluster cluster = s.cluster().apply(scheduler).build();
        int guests = 0;
        int nodes = cluster.currentSnapshot().nodes().size();
        try (MaintenanceService service = MaintenanceService.builder(cluster, new InMemoryMaintenanceStore()).scheduler(scheduler)
                .placement(s.placement()).planningRetryDelay(Duration.ofMillis(1)).ownerId("bench").build()) {
            service.start();
            double makespan = 0, bound = 0, sparse = 0;
            int moved = 0, failed = 0;
            int k = s.maxConcurrent();
            for (String node : s.nodes()) {
                DrainRequest request = DrainRequest.builder(node).mode(s.mode()).concurrency(auto ? Concurrency.auto() : Concurrency.fixed(k)).build();
                for (boolean back : s.rolling() ? new boolean[]{false, true} : new boolean[]{false}) {
                    Map<Integer, Guest> before = byId(cluster);
                    DrainStatus started = (back ? service.undrain(node) : service.drain(request)).status();
                    scheduler.runUntilIdle();
                    DrainStatus done = service.status(node, started.drainId());
                    makespan += Duration.between(done.startedAt(), done.completedAt()).toNanos() / 1e9;
                    sparse += Measure.sparseCopySeconds(cluster.migrations(), s.model().overhead(), done.startedAt(), done.completedAt());
                    List<Guest> movedGuests = done.vmStatus().stream().filter(v -> v.status() == GuestState.COMPLETED)
                            .map(v -> before.get(v.vmid())).toList();
                    bound += Measure.lowerBound(s.model(), movedGuests, auto ? movedGuests.size() : k);
                    moved += movedGuests.size();
                    failed += (int) done.vmStatus().stream().filter(v -> v.status() == GuestState.FAILED).count();
                    if (!back) guests += done.totalVMs();
                }
            }
            Set<String> sources = new HashSet<>(s.rolling() ? List.of() : s.nodes());
            return new Outcome(s.name(), name(), guests, nodes, auto ? 0 : k, makespan, bound,
                    Measure.maxTargetUtilization(cluster, sources), moved, failed, cluster.totalCalls(), sparse);
        }
    }

    private static Map<Integer, Guest> byId(SimulatedCluster cluster) {
        Map<Integer, Guest> out = new java.util.HashMap<>();
        for (Guest g : cluster.currentSnapshot().guests()) out.put(g.vmid(), g);
        return out;
    }
}
