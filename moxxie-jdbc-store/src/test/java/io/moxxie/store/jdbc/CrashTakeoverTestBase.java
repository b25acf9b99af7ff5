package io.moxxie.store.jdbc;

import io.moxxie.core.DrainConflictException;
import io.moxxie.core.spi.DrainRecord;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.Operation;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.service.MaintenanceService;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.testing.TestClusters;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static io.moxxie.core.testing.TestClusters.HV7_GUESTS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * {@link MaintenanceService} instances, each with its own store and connection pool (processes), on one database and one
 * {@link SimulatedCluster} in virtual time. The first dies mid-drain; while it lived the others could not drain the node;
 * a started instance takes the drain over within a lease and a heartbeat of the death (exactly one, of several) and
 * finishes it with no guest moved twice, or ends it {@code cancelled} if it was cancelled meanwhile.
 */
abstract class CrashTakeoverTestBase {
    private static final Duration LEASE = Duration.ofSeconds(30);
    /** The default heartbeat: a third of the lease. */
    private static final Duration HEARTBEAT = LEASE.dividedBy(3);

    private final VirtualScheduler scheduler = new VirtualScheduler();
    private final SimulatedCluster cluster = TestClusters.guideCluster(scheduler).build();
    private TestDatabase db;
    private JdbcMaintenanceStore storeOfFirst;
    private JdbcMaintenanceStore storeOfSecond;

    protected abstract TestDatabase openDatabase();

    @BeforeEach
    void twoProcessesOnOneDatabase() {
        db = openDatabase();
        storeOfFirst = JdbcMaintenanceStore.builder(db.dataSource()).applyMigrations(true).build();
        storeOfSecond = JdbcMaintenanceStore.builder(db.dataSource()).applyMigrations(true).build();
    }

    @AfterEach
    void dropTheDatabase() {
        if (db != null) db.close();
    }

    @Test
    void whenTheOwnerDiesMidDrainTheRunningInstanceTakesOverWithinALeaseAndAHeartbeatAndFinishesWithNoGuestMovedTwice() throws SQLException {
        MaintenanceService second = instance(storeOfSecond, "second").build();
        second.start(); // running before the drain exists: it must notice the orphan by itself
        MaintenanceService first = instance(storeOfFirst, "first").build();
        first.start();

        first.enableMaintenance("hv7", "Hardware failure", false);
        String drainId = first.drain(DrainRequest.hard("hv7")).drainId();
        scheduler.runFor(Duration.ofSeconds(25));
        assertThat(cluster.activeMigrations()).as("migrations in flight when the owner dies").isPositive();
        List<GuestProgress> midway = storeOfSecond.guests(drainId);
        assertThat(midway).anyMatch(g -> g.status() == GuestState.IN_PROGRESS);
        assertThat(midway).anyMatch(g -> g.status() == GuestState.PENDING);

        // While the first lives, the second can neither drain nor undrain the node, nor take the drain.
        assertThatThrownBy(() -> second.drain(DrainRequest.hard("hv7")))
                .isInstanceOfSatisfying(DrainConflictException.class, e -> assertThat(e.activeDrainId()).isEqualTo(drainId));
        assertThatThrownBy(() -> second.undrain("hv7"))
                .isInstanceOfSatisfying(DrainConflictException.class, e -> assertThat(e.activeDrainId()).isEqualTo(drainId));
        DrainRecord parallel = new DrainRecord("parallel", "hv7", Operation.DRAIN, DrainRequest.hard("hv7"),
                DrainState.IN_PROGRESS, null, scheduler.now(), null, "second", scheduler.now().plus(LEASE), false, null);
        assertThatThrownBy(() -> storeOfSecond.createDrain(parallel, List.of()))
                .as("the database itself refuses a parallel drain, even past the service's own check")
                .isInstanceOfSatisfying(DrainConflictException.class, e -> assertThat(e.activeDrainId()).isEqualTo(drainId));
        scheduler.runFor(LEASE.multipliedBy(2));
        assertThat(storeOfSecond.drain(drainId).orElseThrow().owner()).as("heartbeats keep it").isEqualTo("first");
        assertThat(second.activeDrains()).isEmpty();

        first.close(); // dies: no more heartbeats, no more writes
        Instant died = scheduler.now();
        scheduler.runFor(LEASE.minus(HEARTBEAT).minusSeconds(1));
        assertThat(storeOfSecond.drain(drainId).orElseThrow().owner()).as("the lease has not expired yet").isEqualTo("first");
        assertThat(scheduler.runUntil(() -> "second".equals(storeOfSecond.drain(drainId).orElseThrow().owner()),
                Duration.between(scheduler.now(), died.plus(LEASE).plus(HEARTBEAT))))
                .as("taken over within a lease and a heartbeat of the death").isTrue();
        assertThat(second.activeDrains()).extracting(DrainStatus::drainId).containsExactly(drainId);

        assertThat(scheduler.runUntil(() -> storeOfFirst.drain(drainId).orElseThrow().status().finished(), Duration.ofHours(1))).isTrue();
        DrainRecord done = storeOfFirst.drain(drainId).orElseThrow();
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(done.owner()).isEqualTo("second");
        assertThat(storeOfSecond.guests(drainId)).allMatch(g -> g.status() == GuestState.COMPLETED);
        assertThat(cluster.currentSnapshot().guestsOn("hv7")).isEmpty();
        for (int vmid : HV7_GUESTS) {
            assertThat(cluster.successfulMigrations(vmid)).as("vm %s moved exactly once", vmid).isEqualTo(1);
            assertThat(cluster.migrations()).as("vm %s: one migration started, none again by the new owner", vmid)
                    .filteredOn(m -> m.vmid() == vmid).hasSize(1);
        }
        assertThat(storeOfSecond.unfinishedDrains()).isEmpty();

        // The guide's queries see it, on this database.
        assertThat(rows(JdbcMaintenanceStoreTestBase.GUIDE_CURRENT_MAINTENANCE)).containsExactly(List.of("hv7", "Hardware failure"));
        assertThat(rows(JdbcMaintenanceStoreTestBase.GUIDE_DRAIN_HISTORY)).first().isEqualTo(List.of("hv7", "completed", drainId));
        List<List<String>> vms = rows(JdbcMaintenanceStoreTestBase.GUIDE_VMS_BEFORE_DRAIN);
        assertThat(vms).hasSize(1);
        assertThat(JdbcMaintenanceStore.decodeVmList(vms.get(0).get(1), "hv7")).containsExactlyInAnyOrderElementsOf(HV7_GUESTS);

        second.close();
    }

    @Test
    void ofTwoRunningInstancesExactlyOneTakesTheOrphanOverAndNoGuestMovesTwice() {
        JdbcMaintenanceStore storeOfThird = JdbcMaintenanceStore.builder(db.dataSource()).build();
        MaintenanceService first = instance(storeOfFirst, "first").build();
        MaintenanceService second = instance(storeOfSecond, "second").build();
        MaintenanceService third = instance(storeOfThird, "third").build();
        first.start();
        second.start();
        third.start();
        String drainId = first.drain(DrainRequest.hard("hv7")).drainId();
        scheduler.runFor(Duration.ofSeconds(25));
        first.close();

        assertThat(scheduler.runUntil(() -> storeOfFirst.drain(drainId).orElseThrow().status().finished(), Duration.ofHours(1))).isTrue();
        assertThat(storeOfFirst.drain(drainId).orElseThrow().status()).isEqualTo(DrainState.COMPLETED);
        assertThat(storeOfFirst.drain(drainId).orElseThrow().owner()).isIn("second", "third");
        for (int vmid : HV7_GUESTS) {
            assertThat(cluster.migrations()).as("vm %s: migrated once, by one owner", vmid).filteredOn(m -> m.vmid() == vmid).hasSize(1);
        }
        second.close();
        third.close();
    }

    @Test
    void aDrainWhoseOwnerDiedCancelledBeforeItsLeaseExpiredEndsCancelledWhenTakenOver() {
        MaintenanceService first = instance(storeOfFirst, "first").build();
        MaintenanceService second = instance(storeOfSecond, "second").build();
        first.start();
        second.start();
        String drainId = first.drain(DrainRequest.hard("hv7")).drainId();
        scheduler.runFor(Duration.ofSeconds(25));
        first.close();
        Instant died = scheduler.now();
        Map<Integer, GuestState> atDeath = states(storeOfSecond.guests(drainId));

        DrainStatus asked = second.cancel("hv7", drainId);
        assertThat(asked.status()).as("the lease still holds: only the request is recorded").isEqualTo(DrainState.IN_PROGRESS);
        assertThat(scheduler.runUntil(() -> storeOfFirst.drain(drainId).orElseThrow().status().finished(),
                Duration.ofHours(1))).isTrue();

        assertEndedCancelled(drainId, died, atDeath);
        assertThat(storeOfFirst.drain(drainId).orElseThrow().owner()).isEqualTo("second");
        second.close();
    }

    @Test
    void aDrainWhoseOwnerDiedIsTakenOverAtOnceAndEndedCancelledByTheInstanceCancellingItAfterItsLease() {
        MaintenanceService first = instance(storeOfFirst, "first").build();
        // Its heartbeats come seldom, so that the cancel, not a heartbeat, finds the expired lease.
        MaintenanceService second = instance(storeOfSecond, "second").heartbeatInterval(LEASE.minusSeconds(1)).build();
        second.start();
        first.start();
        String drainId = first.drain(DrainRequest.hard("hv7")).drainId();
        scheduler.runFor(Duration.ofSeconds(25));
        first.close();
        Instant died = scheduler.now();
        Map<Integer, GuestState> atDeath = states(storeOfSecond.guests(drainId));
        Instant expires = storeOfSecond.drain(drainId).orElseThrow().leaseExpiresAt();
        scheduler.runFor(Duration.between(scheduler.now(), expires).plusSeconds(1));
        assertThat(storeOfSecond.drain(drainId).orElseThrow().owner()).as("no heartbeat of the second since").isEqualTo("first");

        second.cancel("hv7", drainId);
        assertThat(storeOfSecond.drain(drainId).orElseThrow().owner()).as("taken over by the cancel").isEqualTo("second");
        assertThat(scheduler.runUntil(() -> storeOfFirst.drain(drainId).orElseThrow().status().finished(), Duration.ofHours(1))).isTrue();

        assertEndedCancelled(drainId, died, atDeath);
        second.close();
    }

    /**
     * Ended {@code cancelled}: the guests the dead owner had not started are recorded not started and never moved;
     * those it had started are seen through; no migration started after the death except those.
     */
    private void assertEndedCancelled(String drainId, Instant died, Map<Integer, GuestState> atDeath) {
        DrainRecord done = storeOfSecond.drain(drainId).orElseThrow();
        assertThat(done.status()).isEqualTo(DrainState.CANCELLED);
        long notStarted = atDeath.values().stream().filter(s -> s == GuestState.PENDING).count();
        assertThat(notStarted).as("guests not started when the owner died").isPositive();
        assertThat(done.message()).contains("cancelled").contains(notStarted + " not started");
        for (GuestProgress g : storeOfSecond.guests(drainId)) {
            GuestState before = atDeath.get(g.vmid());
            if (before == GuestState.PENDING) {
                assertThat(g.status()).as("vm %s", g.vmid()).isEqualTo(GuestState.PENDING);
                assertThat(g.note()).as("vm %s", g.vmid()).isEqualTo("not started: drain cancelled");
                assertThat(cluster.migrations()).as("vm %s never moved", g.vmid()).noneMatch(m -> m.vmid() == g.vmid());
            } else if (before == GuestState.IN_PROGRESS) {
                assertThat(g.status()).as("vm %s, in flight at the death", g.vmid()).isEqualTo(GuestState.COMPLETED);
                assertThat(cluster.successfulMigrations(g.vmid())).as("vm %s moved once", g.vmid()).isEqualTo(1);
            }
        }
        assertThat(cluster.migrations()).as("no migration started after the death").allMatch(m -> !m.startedAt().isAfter(died));
    }

    /** A service instance (a process of its own) on the one cluster, with {@code store} (its own pool) on the one database. */
    private MaintenanceService.Builder instance(JdbcMaintenanceStore store, String owner) {
        return TestClusters.service(cluster, store).ownerId(owner).lease(LEASE);
    }

    private static Map<Integer, GuestState> states(List<GuestProgress> guests) {
        Map<Integer, GuestState> out = new java.util.HashMap<>();
        for (GuestProgress g : guests) out.put(g.vmid(), g.status());
        return out;
    }

    /** The first three columns of each row (or fewer), as strings. */
    private List<List<String>> rows(String sql) throws SQLException {
        List<List<String>> out = new ArrayList<>();
        try (Connection c = java.sql.DriverManager.getConnection(db.url(), db.user(), db.password());
             Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            int n = Math.min(3, rs.getMetaData().getColumnCount());
            while (rs.next()) {
                List<String> row = new ArrayList<>();
                for (int i = 1; i <= n; i++) {
                    String label = rs.getMetaData().getColumnLabel(i).toLowerCase(java.util.Locale.ROOT);
                    if (label.equals("in_maintenance")) continue;
                    row.add(rs.getString(i));
                }
                out.add(row);
            }
        }
        return out;
    }
}
