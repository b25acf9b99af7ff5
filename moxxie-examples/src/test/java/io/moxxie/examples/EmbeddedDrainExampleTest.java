package io.moxxie.examples;

import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.model.Concurrency;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.service.DrainHandle;
import io.moxxie.core.service.MaintenanceService;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.time.RealTimeScheduler;
import io.moxxie.examples.demo.DemoCluster;
import org.junit.jupiter.api.Test;

import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** What {@link EmbeddedDrainExample} does, on a simulated cluster in sped-up real time instead of Proxmox and a database. */
class EmbeddedDrainExampleTest {
    @Test
    void waitingOnTheDrainsCompletionGivesTheFinishedDrain() throws Exception {
        try (RealTimeScheduler scheduler = RealTimeScheduler.create(4, 500)) {
            SimulatedCluster.Builder b = SimulatedCluster.builder(scheduler);
            DemoCluster.initial(b);
            SimulatedCluster cluster = b.build();
            try (MaintenanceService service = MaintenanceService.builder(cluster, new InMemoryMaintenanceStore()).build()) {
                service.start();
                DrainHandle drain = service.drain(DrainRequest.builder("hv8").concurrency(Concurrency.fixed(3)).build());
                DrainStatus done = drain.completion().get(60, TimeUnit.SECONDS);
                assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
                assertThat(done.node()).isEqualTo("hv8");
                assertThat(drain.status().status()).isEqualTo(DrainState.COMPLETED);
                assertThat(cluster.currentSnapshot().guestsOn("hv8")).extracting(g -> g.vmid()).containsExactly(9103);
            }
        }
    }
}
