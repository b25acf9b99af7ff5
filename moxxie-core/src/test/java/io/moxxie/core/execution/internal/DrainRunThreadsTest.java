package io.moxxie.core.execution.internal;

import io.moxxie.core.execution.DrainListener;
import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.model.Concurrency;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.service.MaintenanceService;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.testing.TestClusters;
import io.moxxie.core.time.RealTimeScheduler;
import org.junit.jupiter.api.Test;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static io.moxxie.core.testing.TestClusters.HV7_GUESTS;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A drain on real worker threads, with transient errors and shutdowns ahead, while its status is read from another
 * thread: the run's parts keep their threading rules (with assertions on, as in every test run, {@link Outcomes}
 * and the run check that their lock is held).
 */
class DrainRunThreadsTest {
    @Test
    void aDrainOnFourWorkerThreadsReadWhileItRunsEndsWithEveryGuestMovedOnce() throws Exception {
        try (RealTimeScheduler scheduler = RealTimeScheduler.create(4, 500)) {
            SimulatedCluster cluster = TestClusters.guideCluster(scheduler).build().transientFailureRate(0.1);
            try (MaintenanceService service = MaintenanceService.builder(cluster, new InMemoryMaintenanceStore()).scheduler(scheduler)
                    .ownerId("threads").build()) {
                service.start();
                CompletableFuture<DrainStatus> finished = new CompletableFuture<>();
                service.addListener(new DrainListener() {
                    @Override
                    public void drainFinished(DrainStatus status) {
                        finished.complete(status);
                    }
                });
                DrainStatus started = service.drain(DrainRequest.builder("hv7").mode(DrainMode.HARD).concurrency(Concurrency.fixed(5)).build()).status();
                while (!finished.isDone()) {
                    DrainStatus now = service.status("hv7", started.drainId());
                    assertThat(now.totalVMs()).isEqualTo(HV7_GUESTS.size());
                    assertThat(now.completedVMs() + now.failedVMs()).isLessThanOrEqualTo(now.totalVMs());
                }
                DrainStatus done = finished.get(60, TimeUnit.SECONDS);
                assertThat(done.status()).as(done.message()).isEqualTo(DrainState.COMPLETED);
                assertThat(done.vmStatus()).allMatch(v -> v.status() == GuestState.COMPLETED);
                for (int vmid : HV7_GUESTS) assertThat(cluster.successfulMigrations(vmid)).as("VM %s", vmid).isEqualTo(1);
                assertThat(cluster.currentSnapshot().guestsOn("hv7")).isEmpty();
            }
        }
    }
}
