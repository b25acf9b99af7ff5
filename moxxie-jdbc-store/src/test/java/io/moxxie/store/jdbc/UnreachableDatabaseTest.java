package io.moxxie.store.jdbc;

import io.moxxie.core.model.RolloutPhase;
import io.moxxie.core.model.RolloutState;
import io.moxxie.core.plan.RolloutRequest;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.spi.RolloutRecord;
import io.moxxie.core.spi.RolloutStep;
import io.moxxie.core.spi.StoreUnavailableException;
import io.moxxie.core.model.NodeMaintenance;
import io.moxxie.core.spi.StoreException;
import io.moxxie.store.jdbc.internal.Redaction;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A database that cannot be reached gives a StoreException naming the URL, never the password; nothing written is lost. */
class UnreachableDatabaseTest {
    private static final String SECRET = "hunter2-very-secret";

    @Test
    void anUnreachablePostgresServerIsNamedByUrlWithThePasswordMasked() {
        String url = "jdbc:postgresql://127.0.0.1:1/moxxie?connectTimeout=5&password=" + SECRET;

        assertThatThrownBy(() -> JdbcMaintenanceStore.builder(url, "postgres", SECRET).build())
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("Cannot reach the database at jdbc:postgresql://127.0.0.1:1/moxxie")
                .hasMessageContaining("password=" + Redaction.MASK)
                .satisfies(e -> assertThat(fullTrace(e)).doesNotContain(SECRET));
    }

    @Test
    void anUnreachableMariaDbServerIsNamedByUrlWithThePasswordMasked() {
        String url = "jdbc:mariadb://127.0.0.1:1/moxxie?connectTimeout=5000&user=root&password=" + SECRET;

        assertThatThrownBy(() -> JdbcMaintenanceStore.builder(url, null, null).build())
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("jdbc:mariadb://127.0.0.1:1/moxxie")
                .satisfies(e -> assertThat(e.getMessage()).doesNotContain(SECRET));
    }

    @Test
    void passwordsInUrlsAreMaskedInEveryForm() {
        assertThat(Redaction.maskUrl("jdbc:mysql://root:" + SECRET + "@db:3306/x")).isEqualTo("jdbc:mysql://root:****@db:3306/x");
        assertThat(Redaction.maskUrl("jdbc:h2:file:/x;USER=sa;PASSWORD=" + SECRET + ";LOCK_TIMEOUT=5"))
                .isEqualTo("jdbc:h2:file:/x;USER=sa;PASSWORD=****;LOCK_TIMEOUT=5");
        assertThat(Redaction.maskUrl("jdbc:postgresql://h/db?user=u&password=" + SECRET + "&ssl=true"))
                .isEqualTo("jdbc:postgresql://h/db?user=u&password=****&ssl=true");
        assertThat(Redaction.scrub("login failed with " + SECRET, SECRET)).isEqualTo("login failed with ****");
    }

    @Test
    void aDatabaseThatGoesAwayMidRunFailsCallsNamingItsUrlAndLosesNothing() {
        String url = "jdbc:h2:file:" + Path.of("target", "h2", "outage-" + UUID.randomUUID()).toAbsolutePath()
                + ";PASSWORD=" + SECRET;
        JdbcDataSource h2 = new JdbcDataSource();
        h2.setURL(url);
        h2.setUser("sa");
        RefusingDataSource ds = new RefusingDataSource(h2);
        Connection keepOpen = null;
        try {
            keepOpen = h2.getConnection();
            JdbcMaintenanceStore store = JdbcMaintenanceStore.builder(ds).applyMigrations(true).build();
            NodeMaintenance saved = NodeMaintenance.none("hv7", Instant.parse("2025-01-15T10:00:00Z"))
                    .enabled("Security updates", Instant.parse("2025-01-15T10:00:01Z"));
            store.saveMaintenance(saved);

            ds.down = true;
            assertThatThrownBy(() -> store.saveMaintenance(saved.disabled(Instant.parse("2025-01-15T11:00:00Z"))))
                    .as("unavailable (try again later), not refused")
                    .isInstanceOf(io.moxxie.core.spi.StoreUnavailableException.class)
                    .hasMessageContaining("Cannot reach the database at jdbc:h2:file:")
                    .hasMessageContaining("node_maintenance")
                    .satisfies(e -> assertThat(e.getMessage()).doesNotContain(SECRET));
            assertThatThrownBy(() -> store.updateGuest(GuestProgress.builder("d-1", 100).name("vm")
                    .type(io.moxxie.core.model.GuestType.QEMU).sourceNode("hv7").wasRunning(true).memory(1).build(), "owner"))
                    .isInstanceOf(StoreException.class)
                    .hasMessageContaining("drain_guest");

            ds.down = false;
            assertThat(store.maintenance("hv7")).contains(saved);
            assertThat(store.maintenanceStates()).isEqualTo(List.of(saved));
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        } finally {
            if (keepOpen != null) {
                try (Connection c = keepOpen) {
                    c.createStatement().execute("DROP ALL OBJECTS DELETE FILES");
                } catch (SQLException ignored) {
                    // best effort clean-up
                }
            }
        }
    }

    /** Every rollout call, while the database refuses connections, says it is away and which table it was about. */
    @Test
    void rolloutCallsDuringAnOutageFailAsUnavailableNamingTheTableAndLoseNothing() throws SQLException {
        JdbcDataSource h2 = new JdbcDataSource();
        h2.setURL("jdbc:h2:file:" + Path.of("target", "h2", "outage-" + UUID.randomUUID()).toAbsolutePath());
        h2.setUser("sa");
        RefusingDataSource ds = new RefusingDataSource(h2);
        try (Connection keepOpen = h2.getConnection()) {
            JdbcMaintenanceStore store = JdbcMaintenanceStore.builder(ds).applyMigrations(true).build();
            Instant t0 = Instant.parse("2025-01-15T10:00:00Z");
            RolloutRecord rollout = new RolloutRecord("r-1", RolloutRequest.builder().nodes("hv7").build(), RolloutState.RUNNING,
                    "Rolling", t0, null, "a", t0.plusSeconds(30), false, false, null);
            RolloutStep step = RolloutStep.pending("r-1", 0, "hv7");
            store.createRollout(rollout, List.of(step));

            ds.down = true;
            List<Map.Entry<String, ThrowingCallable>> calls = List.of(
                    Map.entry("rollout", () -> store.createRollout(new RolloutRecord("r-2", rollout.request(), RolloutState.RUNNING,
                            "", t0, null, "a", null, false, false, null), List.of())),
                    Map.entry("rollout", () -> store.updateRollout(rollout.withState(RolloutState.SUCCEEDED, "done", t0.plusSeconds(9)))),
                    Map.entry("rollout_step", () -> store.updateStep(step.enter(RolloutPhase.GATES, t0.plusSeconds(1), ""), "a")),
                    Map.entry("rollout", () -> store.rollout("r-1")),
                    Map.entry("rollout_step", () -> store.steps("r-1")),
                    Map.entry("rollout", () -> store.rollouts(10)),
                    Map.entry("rollout", store::unfinishedRollouts),
                    Map.entry("rollout", () -> store.renewRolloutLease("r-1", "a", t0.plusSeconds(60))),
                    Map.entry("rollout", () -> store.takeOverRollout("r-1", "b", t0.plusSeconds(600), t0.plusSeconds(630))),
                    Map.entry("rollout", () -> store.requestRolloutPause("r-1", true)),
                    Map.entry("rollout", () -> store.requestRolloutCancel("r-1")),
                    Map.entry("rollout", () -> store.requestRolloutContinue("r-1", "hv7")));
            for (int i = 0; i < calls.size(); i++) {
                assertThatThrownBy(calls.get(i).getValue()).as("call %d", i)
                        .isInstanceOf(StoreUnavailableException.class)
                        .hasMessageContaining("Cannot reach the database at jdbc:h2:file:")
                        .hasMessageContaining(calls.get(i).getKey());
            }

            ds.down = false;
            assertThat(store.rollout("r-1")).contains(rollout);
            assertThat(store.steps("r-1")).containsExactly(step);
            assertThat(store.rollouts(10)).containsExactly(rollout);
            keepOpen.createStatement().execute("DROP ALL OBJECTS DELETE FILES");
        }
    }

    private static String fullTrace(Throwable t) {
        StringWriter out = new StringWriter();
        t.printStackTrace(new PrintWriter(out));
        return out.toString();
    }
}
