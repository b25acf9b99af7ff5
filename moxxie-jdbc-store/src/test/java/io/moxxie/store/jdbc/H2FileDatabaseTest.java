package io.moxxie.store.jdbc;

import io.moxxie.core.spi.DrainRecord;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.model.Operation;
import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.NodeMaintenance;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.model.MigrationType;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;

/** The embedded default: a store built from an H2 file URL keeps everything across a restart of the process. */
class H2FileDatabaseTest {
    private static final Instant T0 = Instant.parse("2025-01-15T10:00:00Z");

    @Test
    void aDrainWrittenBeforeARestartIsThereAfterIt() throws SQLException {
        String url = "jdbc:h2:file:" + Path.of("target", "h2", "restart-" + UUID.randomUUID()).toAbsolutePath();
        DrainRecord drain = new DrainRecord("d-1", "hv7", Operation.DRAIN, DrainRequest.hard("hv7"), DrainState.IN_PROGRESS,
                "Draining node hv7 (hard mode)", T0, null, "first", T0.plusSeconds(60), false, null);
        GuestProgress guest = GuestProgress.builder("d-1", 8200).name("web-prod-01").type(GuestType.QEMU).sourceNode("hv7")
                .targetNode("hv8").migrationType(MigrationType.ONLINE).alwaysOn(true).wasRunning(true).memory(8L << 30).build();
        GuestProgress inFlight = guest.started("hv8", MigrationType.ONLINE, 1, T0.plusSeconds(1)).withTask("UPID:hv7:1");
        NodeMaintenance maintenance = NodeMaintenance.none("hv7", T0).enabled("Hardware failure", T0)
                .withDrain("d-1", DrainState.IN_PROGRESS, List.of(8200), T0);

        try (JdbcMaintenanceStore before = JdbcMaintenanceStore.builder(url, "sa", "").applyMigrations(true).build()) {
            assertThat(before.dialect()).isEqualTo(Dialect.H2);
            before.saveMaintenance(maintenance);
            before.createDrain(drain, List.of(guest));
            before.updateGuest(inFlight, "first");
        } // the process dies; the pool closes and H2 closes the file

        try (JdbcMaintenanceStore after = JdbcMaintenanceStore.builder(url, "sa", "").applyMigrations(true).build()) {
            assertThat(after.unfinishedDrains()).containsExactly(drain);
            assertThat(after.guests("d-1")).containsExactly(inFlight);
            assertThat(after.maintenance("hv7")).contains(maintenance);
            assertThat(after.takeOver("d-1", "second", T0.plusSeconds(61), T0.plusSeconds(121))).isPresent();
        } finally {
            try (Connection c = DriverManager.getConnection(url, "sa", "")) {
                c.createStatement().execute("DROP ALL OBJECTS DELETE FILES");
            }
        }
    }
}
