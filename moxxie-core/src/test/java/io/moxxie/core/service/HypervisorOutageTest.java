package io.moxxie.core.service;

import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.execution.ExecutorConfig;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.HypervisorUnavailableException;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.testing.TestClusters;
import io.moxxie.core.testing.UnreachableHypervisor;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;

import static io.moxxie.core.testing.TestClusters.HV7_GUESTS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Proxmox known to be down (issue 17): requests that need the cluster fail at once; a drain in flight waits it out. */
class HypervisorOutageTest {
    private final VirtualScheduler scheduler = new VirtualScheduler();
    private final SimulatedCluster cluster = TestClusters.guideCluster(scheduler).build();
    private final UnreachableHypervisor proxmox = new UnreachableHypervisor(cluster, scheduler::now);
    private final InMemoryMaintenanceStore store = new InMemoryMaintenanceStore();

    private MaintenanceService service(ExecutorConfig config) {
        MaintenanceService service = TestClusters.service(cluster, proxmox, store).executorConfig(config).build();
        service.start();
        return service;
    }

    @Test
    void aDrainInFlightWaitsOutAFiveMinuteOutageAndResumesWithEveryGuestMovedOnce() {
        MaintenanceService service = service(ExecutorConfig.defaults());
        String drainId = service.drain(DrainRequest.hard("hv7")).drainId();
        scheduler.runFor(Duration.ofSeconds(30));
        Instant from = scheduler.now();
        proxmox.outage(from, from.plus(Duration.ofMinutes(5)));
        scheduler.runFor(Duration.ofMinutes(4));

        assertThat(proxmox.refused()).isPositive();
        DrainStatus during = service.status("hv7", drainId);
        assertThat(during.status()).as("the drain waits, it does not give up").isEqualTo(DrainState.IN_PROGRESS);
        assertThat(during.failedVMs()).isZero();
        assertThatThrownBy(() -> service.nodes()).as("a request that needs the cluster fails at once")
                .isInstanceOf(HypervisorUnavailableException.class).hasMessageContaining("unreachable since " + from);

        scheduler.runUntilIdle();

        DrainStatus done = service.status("hv7", drainId);
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(done.failedVMs()).isZero();
        assertThat(cluster.currentSnapshot().guestsOn("hv7")).isEmpty();
        for (int vmid : HV7_GUESTS) assertThat(cluster.successfulMigrations(vmid)).as("vm %s moved once", vmid).isEqualTo(1);
    }

    @Test
    void aDrainDoesNotWaitForProxmoxPastItsTimeLimit() {
        MaintenanceService service = service(ExecutorConfig.builder().drainTimeout(Duration.ofMinutes(10)).build());
        String drainId = service.drain(DrainRequest.hard("hv7")).drainId();
        scheduler.runFor(Duration.ofSeconds(30));
        Instant back = scheduler.now().plus(Duration.ofMinutes(30));
        proxmox.outage(scheduler.now(), back);

        scheduler.runUntilIdle();

        DrainStatus done = service.status("hv7", drainId);
        assertThat(done.status()).isEqualTo(DrainState.FAILED);
        assertThat(done.message()).contains("drain time limit of 10m (drainTimeout)");
        assertThat(done.completedAt()).as("it ended while Proxmox was still away").isBefore(back);
        assertThat(done.vmStatus()).filteredOn(v -> v.status() == io.moxxie.core.model.GuestState.FAILED)
                .allSatisfy(v -> assertThat(v.error()).containsAnyOf("unreachable", "drain time limit"));
    }
}
