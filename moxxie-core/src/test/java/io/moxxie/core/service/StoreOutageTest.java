package io.moxxie.core.service;

import io.moxxie.core.execution.DrainListener;
import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.Operation;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.DrainRecord;
import io.moxxie.core.spi.StoreUnavailableException;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.testing.DrainAssertions;
import io.moxxie.core.testing.OutageStore;
import io.moxxie.core.testing.TestClusters;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static io.moxxie.core.testing.TestClusters.HV7_GUESTS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The store goes away for 60 s in the middle of a hard drain of hv7 (issue 17): no progress is lost, the status API says
 * the store is away, no new move starts meanwhile, the drain reports no end the store does not hold, and afterwards the
 * store, the status and the cluster agree guest for guest; the undrain that follows brings every guest back.
 */
class StoreOutageTest {
    private static final Duration OUTAGE = Duration.ofSeconds(60);

    private final VirtualScheduler scheduler = new VirtualScheduler();
    private final SimulatedCluster cluster = TestClusters.guideCluster(scheduler).build();
    private final InMemoryMaintenanceStore memory = new InMemoryMaintenanceStore();
    private final OutageStore store = new OutageStore(memory, scheduler::now);
    private final List<DrainStatus> ends = new CopyOnWriteArrayList<>();
    private final MaintenanceService service = TestClusters.service(cluster, store).listener(new DrainListener() {
        @Override
        public void drainFinished(DrainStatus status) {
            ends.add(status);
        }
    }).build();

    @BeforeEach
    void startService() {
        service.start();
    }

    @Test
    void aSixtySecondOutageMidDrainLosesNoProgressPausesNewMovesAndEndsWithStoreStatusAndClusterAgreeing() {
        service.enableMaintenance("hv7", "Hardware failure", false);
        String drainId = service.drain(DrainRequest.hard("hv7")).drainId();
        scheduler.runFor(Duration.ofSeconds(20));
        assertThat(cluster.activeMigrations()).as("moves in flight when the store goes away").isPositive();
        Instant from = scheduler.now();
        Instant until = from.plus(OUTAGE);
        store.outage(from, until);

        scheduler.runUntil(() -> store.refused(OutageStore.Kind.GUEST) > 0, OUTAGE);
        Instant noticed = scheduler.now();
        assertThatThrownBy(() -> service.status("hv7", drainId))
                .isInstanceOf(StoreUnavailableException.class)
                .hasMessageContaining("has not taken Moxxie's writes since " + noticed)
                .hasMessageContaining("Cannot reach the database")
                .hasMessageContaining("starts no new migration");
        scheduler.runFor(Duration.between(scheduler.now(), until).minusSeconds(1));
        assertThat(store.refused(OutageStore.Kind.GUEST)).as("progress writes were refused and tried again").isGreaterThan(1);
        assertThat(ends).as("no end reported during the outage").isEmpty();
        assertThatThrownBy(() -> service.status("hv7", drainId)).isInstanceOf(StoreUnavailableException.class);

        scheduler.runUntilIdle();

        assertThat(cluster.migrations()).as("moves in flight went on and ended during the outage")
                .anyMatch(m -> m.finishedAt().isAfter(noticed) && m.finishedAt().isBefore(until));
        assertThat(cluster.migrations()).as("no move started once the store was known to be away")
                .noneMatch(m -> !m.startedAt().isBefore(noticed) && m.startedAt().isBefore(until));
        assertStoreStatusAndClusterAgree(drainId);
        DrainStatus done = service.status("hv7", drainId);
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(done.completedVMs()).isEqualTo(15);
        assertThat(ends).singleElement().satisfies(e -> assertThat(e.status()).isEqualTo(DrainState.COMPLETED));
        assertThat(memory.maintenance("hv7").orElseThrow().drainStatus()).as("the node's record too")
                .isEqualTo(DrainState.COMPLETED);
        assertThat(cluster.currentSnapshot().guestsOn("hv7")).isEmpty();
        for (int vmid : HV7_GUESTS) assertThat(cluster.successfulMigrations(vmid)).as("vm %s moved once", vmid).isEqualTo(1);

        // The undrain works from the true list: every guest comes back, db-prod-01 (8201) included.
        service.disableMaintenance("hv7", true);
        scheduler.runUntilIdle();
        String undrainId = memory.maintenance("hv7").orElseThrow().lastDrainId();
        DrainStatus back = service.status("hv7", undrainId);
        assertThat(back.operation()).isEqualTo(Operation.UNDRAIN);
        assertThat(back.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(back.message()).isEqualTo("Undrain of hv7 completed: 15 migrated, 0 skipped, 0 failed");
        for (int vmid : HV7_GUESTS) assertThat(cluster.currentSnapshot().guest(vmid).orElseThrow().node()).as("%s back", vmid).isEqualTo("hv7");
    }

    @Test
    void anOutageAtTheEndOfADrainDelaysItsEndUntilTheStoreHoldsIt() {
        String drainId = service.drain(DrainRequest.hard("hv7")).drainId();
        // Down from the moment the last guests are in flight (the last two may end in the same look) until 60 s later.
        scheduler.runUntil(() -> memory.guests(drainId).stream().filter(g -> !g.status().finished()).count() <= 2, Duration.ofHours(1));
        java.time.Instant outageEnds = scheduler.now().plus(OUTAGE);
        store.outage(scheduler.now(), outageEnds);
        scheduler.runUntil(() -> store.refused(OutageStore.Kind.GUEST) > 0, OUTAGE);
        // Until just before the store is back, however late in the outage the last guest ended.
        scheduler.runFor(Duration.between(scheduler.now(), outageEnds).minusSeconds(1));
        assertThat(ends).as("the end is decided but not in the store: not reported").isEmpty();
        assertThat(memory.drain(drainId).orElseThrow().status()).isEqualTo(DrainState.IN_PROGRESS);

        scheduler.runUntilIdle();

        assertThat(ends).singleElement().satisfies(e -> assertThat(e.message()).isEqualTo("Drain of hv7 completed: 15 migrated, 0 skipped, 0 failed"));
        assertStoreStatusAndClusterAgree(drainId);
        assertThat(memory.maintenance("hv7").orElseThrow().drainStatus()).isEqualTo(DrainState.COMPLETED);
    }

    @Test
    void aDrainIsRefusedWhileTheStoreIsAwayAndOneCreatedJustBeforeStartsAndRecordsItsNodeOnceItIsBack() {
        store.outage(scheduler.now(), scheduler.now().plus(OUTAGE));
        assertThatThrownBy(() -> service.drain(DrainRequest.hard("hv7"))).as("no drain starts on a store that is away")
                .isInstanceOf(StoreUnavailableException.class);
        assertThat(memory.unfinishedDrains()).isEmpty();
        scheduler.runFor(OUTAGE);

        // createDrain succeeds, then the store goes away before the node's maintenance record is written.
        Instant storeBack = scheduler.now().plus(OUTAGE);
        store.afterCreateDrain(() -> store.outage(scheduler.now(), storeBack));
        String drainId = service.drain(DrainRequest.hard("hv7")).drainId();
        store.afterCreateDrain(() -> { });
        assertThat(memory.maintenance("hv7")).as("not written yet").isEmpty();

        scheduler.runUntilIdle();

        assertThat(store.refused(OutageStore.Kind.MAINTENANCE)).isPositive();
        assertThat(memory.maintenance("hv7").orElseThrow().lastDrainId()).isEqualTo(drainId);
        assertThat(memory.maintenance("hv7").orElseThrow().vmList()).containsExactlyInAnyOrderElementsOf(HV7_GUESTS);
        assertThat(memory.maintenance("hv7").orElseThrow().drainStatus()).isEqualTo(DrainState.COMPLETED);
        assertStoreStatusAndClusterAgree(drainId);
        assertThat(cluster.migrations()).as("no move started while the store could not record it").isNotEmpty()
                .allMatch(m -> !m.startedAt().isBefore(storeBack));
    }

    /**
     * The store goes away mid-drain; the moves in flight end, and the next ones wait for it. A cancel now has nothing to
     * wait for: the drain ends cancelled at that moment (its end, in the store once it is back, says when it was
     * cancelled, not when the store came back), and the guests that never started say so.
     */
    @Test
    void aDrainCancelledWhileAnOutageHoldsItsNextMovesEndsAtTheCancelOnceTheStoreHoldsIt() {
        String drainId = service.drain(DrainRequest.soft("hv7")).drainId();
        scheduler.runFor(Duration.ofSeconds(20));
        Instant from = scheduler.now();
        Instant until = from.plus(Duration.ofMinutes(30));
        store.outage(from, until);
        scheduler.runUntil(() -> store.refused(OutageStore.Kind.GUEST) > 0 && cluster.activeMigrations() == 0, Duration.ofMinutes(20));
        scheduler.runFor(Duration.ofMinutes(5)); // the moved guests verified and started where they went
        assertThat(cluster.activeMigrations()).isZero();
        int movesBefore = cluster.migrations().size();

        Instant cancelledAt = scheduler.now();
        DrainStatus answer = service.cancel("hv7", drainId);
        assertThat(answer.message()).as("nothing to wait for").startsWith("Progress: ").doesNotContain("Cancelling");
        scheduler.runFor(Duration.between(scheduler.now(), until).minusSeconds(1));
        assertThat(ends).as("not reported before the store holds it").isEmpty();

        scheduler.runUntilIdle();

        assertThat(cluster.migrations()).as("nothing started after the cancel").hasSize(movesBefore);
        assertThat(ends).singleElement().satisfies(e -> {
            assertThat(e.status()).isEqualTo(DrainState.CANCELLED);
            assertThat(e.completedAt()).as("ended at the cancel").isEqualTo(cancelledAt);
            assertThat(e.message()).matches("Drain of hv7 cancelled: \\d+ migrated, \\d+ skipped, 0 failed, [1-9]\\d* not started");
        });
        DrainRecord stored = memory.drain(drainId).orElseThrow();
        assertThat(stored.status()).isEqualTo(DrainState.CANCELLED);
        assertThat(stored.completedAt()).isEqualTo(cancelledAt);
        assertThat(memory.guests(drainId)).filteredOn(g -> g.status() == io.moxxie.core.model.GuestState.PENDING).isNotEmpty()
                .allSatisfy(g -> assertThat(g.note()).isEqualTo("not started: drain cancelled"));
        assertStoreStatusAndClusterAgree(drainId);
    }

    /**
     * The drain's time limit passes while a store outage holds its next moves, with nothing in flight: the drain ends
     * then, failed, its waiting guests failing with the limit's name; the end, in the store once it is back, is the limit.
     */
    @Test
    void aDrainWhoseTimeLimitPassesWhileAnOutageHoldsItsNextMovesEndsAtTheLimit() {
        VirtualScheduler clock = new VirtualScheduler();
        SimulatedCluster c = TestClusters.guideCluster(clock).build();
        InMemoryMaintenanceStore mem = new InMemoryMaintenanceStore();
        OutageStore away = new OutageStore(mem, clock::now);
        Duration limit = Duration.ofMinutes(10);
        MaintenanceService s = TestClusters.service(c, away)
                .executorConfig(io.moxxie.core.execution.ExecutorConfig.builder().drainTimeout(limit).build()).build();
        s.start();
        String drainId = s.drain(DrainRequest.soft("hv7")).drainId();
        Instant startedAt = mem.drain(drainId).orElseThrow().startedAt();
        clock.runFor(Duration.ofSeconds(20));
        Instant until = clock.now().plus(Duration.ofMinutes(30));
        away.outage(clock.now(), until);

        clock.runUntilIdle();

        DrainRecord stored = mem.drain(drainId).orElseThrow();
        assertThat(stored.status()).isEqualTo(DrainState.FAILED);
        assertThat(stored.completedAt()).as("ended at its time limit, not when the store came back").isEqualTo(startedAt.plus(limit));
        assertThat(c.migrations()).allSatisfy(m -> assertThat(m.startedAt()).isBefore(startedAt.plusSeconds(20)));
        assertThat(mem.guests(drainId)).filteredOn(g -> g.status() == io.moxxie.core.model.GuestState.FAILED).isNotEmpty()
                .allSatisfy(g -> assertThat(g.error()).isEqualTo("drain time limit of 10m (drainTimeout) reached before this guest was started"));
    }

    /** The drain as the store records it and as the status API shows it are one, and guest for guest the cluster agrees. */
    private void assertStoreStatusAndClusterAgree(String drainId) {
        DrainStatus status = service.status("hv7", drainId);
        DrainRecord stored = memory.drain(drainId).orElseThrow();
        assertThat(stored.status()).isEqualTo(status.status());
        assertThat(stored.message()).isEqualTo(status.message());
        DrainAssertions.assertStoreStatusAndClusterAgree(memory.guests(drainId), status, cluster.currentSnapshot());
    }
}
