package io.moxxie.core.service;

import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.execution.VmStatus;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.testing.DelegatingMaintenanceStore;
import io.moxxie.core.testing.DrainAssertions;
import io.moxxie.core.testing.OutageStore;
import io.moxxie.core.testing.TestClusters;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicReference;

import static io.moxxie.core.testing.TestClusters.HV7_GUESTS;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The store goes away with the very writes that start a drain's first moves (and its first shutdowns ahead): those moves
 * do not start — nothing is done to a guest that the store does not know of — and they start once it is back, each as
 * its first attempt; the drain then ends as if the outage had come before it.
 */
class StoreOutageAtFirstStartsTest {
    private static final Duration OUTAGE = Duration.ofSeconds(60);

    private final VirtualScheduler scheduler = new VirtualScheduler();
    private SimulatedCluster cluster = TestClusters.guideCluster(scheduler).build();
    private final InMemoryMaintenanceStore memory = new InMemoryMaintenanceStore();
    private final OutageStore outage = new OutageStore(memory, scheduler::now);
    private final AtomicReference<Instant> wentAway = new AtomicReference<>();
    /** Goes away at the first write of a guest's start, for {@link #OUTAGE}; that write is refused. */
    private final DelegatingMaintenanceStore store = new DelegatingMaintenanceStore(outage) {
        @Override
        public boolean updateGuest(GuestProgress guest, String owner) {
            if (guest.status() == GuestState.IN_PROGRESS && wentAway.compareAndSet(null, scheduler.now())) {
                outage.outage(scheduler.now(), scheduler.now().plus(OUTAGE));
            }
            return delegate.updateGuest(guest, owner);
        }
    };

    @Test
    void movesWhoseStartTheStoreDidNotTakeStartOnceItIsBackEachAsItsFirstAttempt() {
        MaintenanceService service = TestClusters.service(cluster, store).build();
        service.start();
        String drainId = service.drain(DrainRequest.hard("hv7")).drainId();
        assertThat(wentAway.get()).as("the store went away at the first start").isNotNull();
        Instant back = wentAway.get().plus(OUTAGE);

        scheduler.runFor(OUTAGE.minusSeconds(1));
        assertThat(cluster.migrations()).as("no move during the outage").isEmpty();
        assertThat(cluster.currentSnapshot().guestsOn("hv7")).as("no guest shut down for a move the store does not know of")
                .hasSize(15).filteredOn(g -> g.vmid() != 8500).allSatisfy(g -> assertThat(g.running()).as("%s", g.vmid()).isTrue());

        scheduler.runUntilIdle();

        DrainStatus done = service.status("hv7", drainId);
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(done.completedVMs()).isEqualTo(15);
        assertThat(done.vmStatus()).allSatisfy(v -> {
            assertThat(v.attempts()).as("attempts of %s", v.vmid()).isEqualTo(1);
            assertThat(v.startedAt()).as("start of %s", v.vmid()).isAfterOrEqualTo(back);
        });
        assertThat(cluster.migrations()).allSatisfy(m -> assertThat(m.startedAt()).isAfterOrEqualTo(back));
        for (int vmid : HV7_GUESTS) assertThat(cluster.successfulMigrations(vmid)).as("%s moved once", vmid).isEqualTo(1);
        assertThat(cluster.currentSnapshot().guestsOn("hv7")).isEmpty();
        DrainAssertions.assertStoreStatusAndClusterAgree(memory.guests(drainId), done, cluster.currentSnapshot());
        assertThat(done.vmStatus()).extracting(VmStatus::error).containsOnlyNulls();
    }

    /** Every guest moved offline (maint-ok, hard drain): the first writes are those of the shutdowns ahead. */
    @Test
    void guestsWhoseShutdownAheadTheStoreDidNotTakeAreShutDownOnceItIsBackAndMoveOnce() {
        SimulatedCluster.Builder b = SimulatedCluster.builder(scheduler).model(io.moxxie.core.simulation.MigrationModel.DEFAULT)
                .node("pve1", 64 * TestClusters.GIB, 16).node("pve2", 256 * TestClusters.GIB, 16).node("pve3", 256 * TestClusters.GIB, 16);
        for (int i = 0; i < 6; i++) b.guest(TestClusters.qemu(100 + i, "vm-" + i, "pve1", 2 + i, "maint-ok"));
        cluster = b.build();
        MaintenanceService service = TestClusters.service(cluster, store).build();
        service.start();
        String drainId = service.drain(DrainRequest.hard("pve1")).drainId();
        assertThat(wentAway.get()).isNotNull();
        Instant back = wentAway.get().plus(OUTAGE);
        scheduler.runFor(OUTAGE.minusSeconds(1));
        assertThat(cluster.currentSnapshot().guestsOn("pve1")).as("none shut down while the store is away").hasSize(6)
                .allSatisfy(g -> assertThat(g.running()).isTrue());

        scheduler.runUntilIdle();

        DrainStatus done = service.status("pve1", drainId);
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(done.vmStatus()).hasSize(6).allSatisfy(v -> {
            assertThat(v.attempts()).as("attempts of %s", v.vmid()).isEqualTo(1);
            assertThat(v.migrationType()).isEqualTo(io.moxxie.core.model.MigrationType.OFFLINE);
        });
        assertThat(cluster.migrations()).hasSize(6).allSatisfy(m -> assertThat(m.startedAt()).isAfterOrEqualTo(back));
        assertThat(cluster.currentSnapshot().guestsOn("pve1")).isEmpty();
        assertThat(cluster.currentSnapshot().guests()).allSatisfy(g -> assertThat(g.running()).as("%s runs where it went", g.vmid()).isTrue());
        DrainAssertions.assertStoreStatusAndClusterAgree(memory.guests(drainId), done, cluster.currentSnapshot());
    }
}
