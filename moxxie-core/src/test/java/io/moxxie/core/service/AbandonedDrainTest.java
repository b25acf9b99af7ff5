package io.moxxie.core.service;

import io.moxxie.core.model.Concurrency;
import io.moxxie.core.execution.DrainListener;
import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.testing.Recording;
import io.moxxie.core.testing.Recording.Call;
import io.moxxie.core.testing.TestClusters;
import io.moxxie.core.time.Scheduler;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static io.moxxie.core.testing.TestClusters.HV7_GUESTS;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A process that lost a drain's lease to another stops working on it at once: it starts no migration, powers no guest
 * on or off, writes nothing more to the store, tells its listeners nothing more, and stops looking at the cluster for
 * it; the process that took the drain over finishes it with every guest moved once.
 */
class AbandonedDrainTest {
    private static final Duration LEASE = Duration.ofSeconds(30);
    private static final List<String> WRITES = List.of("updateDrain", "updateGuest", "renewLease", "recordDrainFinished",
            "saveMaintenance", "createDrain");
    private static final List<String> ACTIONS = List.of("migrate", "start", "shutdown", "stop");
    /** Store reads of a started service's heartbeat whatever it runs: the takeover scan, and a handle completed when its drain ends elsewhere. */
    private static final List<String> HEARTBEAT_READS = List.of("unfinishedDrains", "drain", "guests");

    private final VirtualScheduler scheduler = new VirtualScheduler();
    private final SimulatedCluster cluster = TestClusters.guideCluster(scheduler).build();
    private final InMemoryMaintenanceStore store = new InMemoryMaintenanceStore();
    /** What the first process does, as the cluster and the store see it. */
    private final Recording first = new Recording(scheduler);
    private final List<String> firstEvents = new ArrayList<>();

    /** The same virtual time, read {@code ahead} later: a second host whose clock is fast. */
    private Scheduler skewed(Duration ahead) {
        return new Scheduler() {
            @Override
            public Instant now() {
                return scheduler.now().plus(ahead);
            }

            @Override
            public Cancellable schedule(Duration delay, Runnable task) {
                return scheduler.schedule(delay, task);
            }

            // The heartbeat is background work of the virtual scheduler: runUntilIdle does not wait for it.
            @Override
            public Cancellable scheduleWithFixedDelay(Duration initialDelay, Duration delay, Runnable task) {
                return scheduler.scheduleWithFixedDelay(initialDelay, delay, task);
            }
        };
    }

    private MaintenanceService firstProcess() {
        return TestClusters.service(cluster, first.client(cluster), first.store(store)).ownerId("first").lease(LEASE)
                .listener(new DrainListener() {
                    @Override
                    public void guestStarted(String drainId, GuestProgress guest) {
                        firstEvents.add(scheduler.now() + " started " + guest.vmid());
                    }

                    @Override
                    public void guestCompleted(String drainId, GuestProgress guest) {
                        firstEvents.add(scheduler.now() + " completed " + guest.vmid());
                    }

                    @Override
                    public void guestFailed(String drainId, GuestProgress guest) {
                        firstEvents.add(scheduler.now() + " failed " + guest.vmid());
                    }

                    @Override
                    public void drainFinished(DrainStatus status) {
                        firstEvents.add(scheduler.now() + " finished");
                    }
                }).build();
    }

    /**
     * A second process whose clock is two minutes ahead: it sees the first's lease as expired. Its client, like a real
     * cluster's, has no time source of its own (the service refuses a scheduler other than a simulated cluster's).
     */
    private MaintenanceService secondProcessTwoMinutesAhead() {
        return MaintenanceService.builder(new Recording(scheduler).client(cluster), store).scheduler(skewed(Duration.ofMinutes(2)))
                .planningRetryDelay(Duration.ofMillis(1)).ownerId("second").lease(LEASE).build();
    }

    private static MaintenanceService started(MaintenanceService service) {
        service.start();
        return service;
    }

    @Test
    void aProcessThatLostTheLeaseStopsEverythingAndTheNewOwnerFinishesTheDrainWithEveryGuestMovedOnce() {
        MaintenanceService a = started(firstProcess());
        DrainStatus s = a.drain(DrainRequest.builder("hv7").mode(DrainMode.HARD).concurrency(Concurrency.fixed(3)).build()).status();
        scheduler.runFor(Duration.ofSeconds(25));
        assertThat(cluster.activeMigrations()).as("moves in flight when the lease is lost").isPositive();

        // start() takes over the drains whose owner is gone (main replaced recover() with it).
        MaintenanceService b = started(secondProcessTwoMinutesAhead());
        assertThat(b.activeDrains()).extracting(DrainStatus::drainId).containsExactly(s.drainId());
        Instant takenAt = scheduler.now();
        scheduler.runUntilIdle();

        // The second process finishes it: every guest moved exactly once, none left on hv7.
        DrainStatus done = b.status("hv7", s.drainId());
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(cluster.currentSnapshot().guestsOn("hv7")).isEmpty();
        for (int vmid : HV7_GUESTS) assertThat(cluster.successfulMigrations(vmid)).as("%s moved once", vmid).isEqualTo(1);
        assertThat(store.drain(s.drainId()).orElseThrow().owner()).isEqualTo("second");
        assertThat(a.activeDrains()).isEmpty();

        // The first process learns it at its first write or heartbeat after the takeover (a heartbeat is every third of the lease) ...
        List<Call> calls = first.calls();
        int lost = indexOfFirstRefusedWrite(calls);
        assertThat(lost).as("a write of the first process refused").isNotNegative();
        Instant lostAt = calls.get(lost).at();
        assertThat(lostAt).isBetween(takenAt, takenAt.plus(LEASE.dividedBy(3)));
        // ... and from then on neither writes, nor acts on a guest, nor tells its listeners anything.
        List<Call> after = calls.subList(lost + 1, calls.size());
        assertThat(after).as("store writes after the lease was lost").noneMatch(c -> WRITES.contains(c.method())
                && !(c.method().equals("renewLease") && !c.accepted()));
        // (The service's heartbeat may still try once, refused, to renew the lease of a drain that stopped at a refused write.)
        assertThat(after).as("heartbeats after the lease was lost").filteredOn(c -> c.method().equals("renewLease")).hasSizeLessThanOrEqualTo(1);
        assertThat(after).as("guest actions after the lease was lost").noneMatch(c -> ACTIONS.contains(c.method()));
        assertThat(firstEvents).as("listener events after the lease was lost")
                .allMatch(e -> Instant.parse(e.substring(0, e.indexOf(' '))).isBefore(lostAt) || e.startsWith(lostAt + " "))
                .noneMatch(e -> e.endsWith("finished"));
        // Nor does it keep reading the cluster for it: what it still had under way ends within a round. (Its heartbeat,
        // still running while the service is started, goes on reading the store: the takeover scan, and the drain its
        // handle waits for, to complete that handle when the drain ends elsewhere.)
        assertThat(after).as("cluster reads long after the lease was lost")
                .filteredOn(c -> !HEARTBEAT_READS.contains(c.method()))
                .noneMatch(c -> c.at().isAfter(lostAt.plus(Duration.ofSeconds(10))));
    }

    @Test
    void aProcessThatLearnsAtItsHeartbeatThatItLostTheLeaseStopsFollowingItsMoveThere() {
        MaintenanceService a = started(firstProcess());
        DrainStatus s = a.drain(DrainRequest.builder("hv8").mode(DrainMode.HARD).concurrency(Concurrency.serial()).build()).status();
        scheduler.runFor(Duration.ofSeconds(5));
        assertThat(cluster.activeMigrations()).as("one long move in flight").isEqualTo(1);

        MaintenanceService b = started(secondProcessTwoMinutesAhead());
        assertThat(b.activeDrains()).extracting(DrainStatus::drainId).containsExactly(s.drainId());
        scheduler.runFor(LEASE);

        // Nothing of the first process's was written between the takeover and its next heartbeat: the heartbeat learns it.
        List<Call> calls = first.calls();
        int lost = indexOfFirstRefusedWrite(calls);
        assertThat(lost).isNotNegative();
        assertThat(calls.get(lost).method()).isEqualTo("renewLease");
        Instant lostAt = calls.get(lost).at();
        assertThat(a.activeDrains()).isEmpty();
        assertThat(calls.subList(lost + 1, calls.size())).as("cluster reads for the move after the lease was lost")
                .filteredOn(c -> !HEARTBEAT_READS.contains(c.method()))
                .noneMatch(c -> c.at().isAfter(lostAt.plus(Duration.ofSeconds(10))));
        scheduler.runUntilIdle();
        assertThat(b.status("hv8", s.drainId()).status()).isEqualTo(DrainState.COMPLETED);
        for (int vmid : List.of(9100, 9101)) assertThat(cluster.successfulMigrations(vmid)).as("%s moved once", vmid).isEqualTo(1);
        b.close();
    }

    @Test
    void aClosedServiceLeavesItsDrainAsRecordedForTheNextOwner() {
        MaintenanceService a = started(firstProcess());
        DrainStatus s = a.drain(DrainRequest.builder("hv7").mode(DrainMode.HARD).concurrency(Concurrency.fixed(3)).build()).status();
        scheduler.runFor(Duration.ofSeconds(25));
        List<GuestProgress> recorded = store.guests(s.drainId());
        int callsBefore = first.calls().size();
        Instant closedAt = scheduler.now();
        a.close();
        scheduler.runFor(Duration.ofMinutes(5));

        assertThat(first.since(closedAt)).as("calls of the closed service").isEmpty();
        assertThat(first.calls()).hasSize(callsBefore);
        assertThat(store.guests(s.drainId())).as("left as recorded").containsExactlyInAnyOrderElementsOf(recorded);
        assertThat(store.drain(s.drainId()).orElseThrow().status()).isEqualTo(DrainState.IN_PROGRESS);
        assertThat(firstEvents).noneMatch(e -> e.endsWith("finished"));

        MaintenanceService b = TestClusters.service(cluster, store).ownerId("second").lease(LEASE).build();
        b.start();
        assertThat(b.activeDrains()).extracting(DrainStatus::drainId).containsExactly(s.drainId());
        scheduler.runUntilIdle();
        assertThat(b.status("hv7", s.drainId()).status()).isEqualTo(DrainState.COMPLETED);
        for (int vmid : HV7_GUESTS) assertThat(cluster.successfulMigrations(vmid)).as("%s moved once", vmid).isEqualTo(1);
    }

    private static int indexOfFirstRefusedWrite(List<Call> calls) {
        for (int i = 0; i < calls.size(); i++) if (!calls.get(i).accepted()) return i;
        return -1;
    }
}
