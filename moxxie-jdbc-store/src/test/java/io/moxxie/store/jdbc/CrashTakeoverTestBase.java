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
import java.util.ArrayList;
import java.util.List;

import static io.moxxie.core.testing.TestClusters.HV7_GUESTS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Two {@link MaintenanceService} instances, each with its own store and connection pool (two processes), on one
 * database and one {@link SimulatedCluster} in virtual time. The first dies mid-drain; while it lived the second could
 * not drain the node; once the lease expired the second takes over and finishes, and no guest moved twice.
 */
abstract class CrashTakeoverTestBase {
    private static final Duration LEASE = Duration.ofSeconds(30);

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
    void whenTheOwnerDiesMidDrainTheOtherProcessTakesOverAfterTheLeaseAndFinishesWithNoGuestMovedTwice() throws SQLException {
        VirtualScheduler scheduler = new VirtualScheduler();
        SimulatedCluster cluster = TestClusters.guideCluster(scheduler).build();
        MaintenanceService first = TestClusters.service(cluster, storeOfFirst).ownerId("first").lease(LEASE).build();
        MaintenanceService second = TestClusters.service(cluster, storeOfSecond).ownerId("second").lease(LEASE).build();

        first.enableMaintenance("hv7", "Hardware failure", false);
        DrainStatus started = first.drain(DrainRequest.hard("hv7"));
        String drainId = started.drainId();
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
        assertThat(second.recover()).as("lease still held by the first").isEmpty();
        scheduler.runFor(Duration.ofSeconds(5));
        assertThat(storeOfSecond.drain(drainId).orElseThrow().owner()).as("heartbeats keep it").isEqualTo("first");

        first.close(); // dies: no more heartbeats, no more writes
        String ownerBefore = storeOfSecond.drain(drainId).orElseThrow().owner();
        assertThat(ownerBefore).isEqualTo("first");
        assertThat(second.recover()).as("the lease has not expired yet").isEmpty();

        scheduler.runUntilIdle();

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
