package io.moxxie.examples;

import io.moxxie.core.model.Concurrency;

import io.moxxie.core.model.DrainState;
import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.service.MaintenanceService;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.time.RealTimeScheduler;
import io.moxxie.examples.demo.DemoCluster;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class EmbeddedDrainExampleTest {
    @Test
    void drainAndWaitReturnsTheFinishedDrain() throws Exception {
        try (RealTimeScheduler scheduler = RealTimeScheduler.create(4, 500)) {
            SimulatedCluster.Builder b = SimulatedCluster.builder(scheduler);
            DemoCluster.initial(b);
            SimulatedCluster cluster = b.build();
            try (MaintenanceService service = MaintenanceService.builder(cluster, new InMemoryMaintenanceStore()).scheduler(scheduler).build()) {
                DrainStatus done = EmbeddedDrainExample.drainAndWait(service, DrainRequest.builder("hv8").concurrency(Concurrency.fixed(3)).build());
                assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
                assertThat(done.node()).isEqualTo("hv8");
                assertThat(cluster.currentSnapshot().guestsOn("hv8")).extracting(g -> g.vmid()).containsExactly(9103);
            }
        }
    }
}
