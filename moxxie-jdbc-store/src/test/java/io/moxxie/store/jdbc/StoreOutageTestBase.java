package io.moxxie.store.jdbc;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.Operation;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.service.MaintenanceService;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.spi.StoreUnavailableException;
import io.moxxie.core.testing.DrainAssertions;
import io.moxxie.core.testing.TestClusters;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import javax.sql.DataSource;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static io.moxxie.core.testing.TestClusters.HV7_GUESTS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The database goes away for 60 s in the middle of a hard drain of hv7 (issue 17), on a real database: the drain runs in
 * virtual time, the outage is real (each database takes it in the form that fits it) and short in wall time. After it
 * the store, the status API and the cluster agree guest for guest, the node's record says completed, and the undrain
 * brings every guest back.
 */
abstract class StoreOutageTestBase {
    static final Duration OUTAGE = Duration.ofSeconds(60);

    private MaintenanceService service;
    private JdbcMaintenanceStore store;

    /** A pool on a database of this test alone; see {@link #pool}. */
    protected abstract DataSource open();

    /** Makes the database refuse connections and drops those open (as a failover does). */
    protected abstract void takeDown() throws Exception;

    protected abstract void bringBack() throws Exception;

    protected abstract void cleanUp();

    /**
     * A pool; {@code connectionTimeoutMillis} bounds how long an attempt waits while the database refuses connections
     * (Hikari keeps trying until then), and must leave a loaded machine time to open a connection when it is healthy.
     */
    static HikariDataSource pool(String url, String user, String password, long connectionTimeoutMillis) {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        config.setUsername(user);
        config.setPassword(password);
        config.setMaximumPoolSize(4);
        config.setMinimumIdle(0);
        config.setConnectionTimeout(connectionTimeoutMillis);
        config.setValidationTimeout(Math.min(connectionTimeoutMillis, 1000));
        config.setPoolName("outage-test");
        return new HikariDataSource(config);
    }

    @AfterEach
    void stop() {
        if (service != null) service.close();
        try {
            bringBack();
        } catch (Exception e) {
            System.err.println("Could not bring the test database back: " + e.getMessage());
        }
        cleanUp();
    }

    @Test
    void aSixtySecondOutageMidDrainLosesNoProgressAndAfterItStoreStatusAndClusterAgreeGuestForGuest() throws Exception {
        VirtualScheduler scheduler = new VirtualScheduler();
        SimulatedCluster cluster = TestClusters.guideCluster(scheduler).build();
        store = JdbcMaintenanceStore.builder(open()).applyMigrations(true).build();
        service = TestClusters.service(cluster, store).ownerId("outage-test").build();
        service.start();

        service.enableMaintenance("hv7", "Hardware failure", false);
        String drainId = service.drain(DrainRequest.hard("hv7")).drainId();
        scheduler.runFor(Duration.ofSeconds(20));
        assertThat(cluster.activeMigrations()).as("moves in flight when the database goes away").isPositive();

        takeDown();
        Instant until = scheduler.now().plus(OUTAGE);
        assertThat(scheduler.runUntil(() -> statusRefused(drainId), OUTAGE)).as("the status API says the store is away").isTrue();
        assertThatThrownBy(() -> service.status("hv7", drainId)).isInstanceOf(StoreUnavailableException.class)
                .hasMessageContaining("Cannot reach the database");
        scheduler.runFor(Duration.between(scheduler.now(), until));
        bringBack();

        scheduler.runUntilIdle();

        DrainStatus done = service.status("hv7", drainId);
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(done.message()).isEqualTo("Drain of hv7 completed: 15 migrated, 0 skipped, 0 failed");
        assertStoreStatusAndClusterAgree(drainId, cluster);
        assertThat(store.drain(drainId).orElseThrow().status()).isEqualTo(DrainState.COMPLETED);
        assertThat(store.maintenance("hv7").orElseThrow().drainStatus()).isEqualTo(DrainState.COMPLETED);
        assertThat(store.unfinishedDrains()).isEmpty();
        assertThat(cluster.currentSnapshot().guestsOn("hv7")).isEmpty();
        for (int vmid : HV7_GUESTS) assertThat(cluster.successfulMigrations(vmid)).as("vm %s moved once", vmid).isEqualTo(1);

        service.disableMaintenance("hv7", true);
        scheduler.runUntilIdle();
        String undrainId = store.maintenance("hv7").orElseThrow().lastDrainId();
        DrainStatus back = service.status("hv7", undrainId);
        assertThat(back.operation()).isEqualTo(Operation.UNDRAIN);
        assertThat(back.message()).isEqualTo("Undrain of hv7 completed: 15 migrated, 0 skipped, 0 failed");
        for (int vmid : HV7_GUESTS) {
            assertThat(cluster.currentSnapshot().guest(vmid).orElseThrow().node()).as("%s back on hv7", vmid).isEqualTo("hv7");
        }
    }

    private boolean statusRefused(String drainId) {
        try {
            service.status("hv7", drainId);
            return false;
        } catch (StoreUnavailableException e) {
            return true;
        }
    }

    /** Every guest completed, and the store, the status API and the cluster agree guest for guest. */
    private void assertStoreStatusAndClusterAgree(String drainId, SimulatedCluster cluster) {
        DrainStatus status = service.status("hv7", drainId);
        List<GuestProgress> stored = store.guests(drainId);
        assertThat(stored).allSatisfy(g -> assertThat(g.status()).as("vm %s", g.vmid()).isEqualTo(GuestState.COMPLETED));
        DrainAssertions.assertStoreStatusAndClusterAgree(stored, status, cluster.currentSnapshot());
    }
}
