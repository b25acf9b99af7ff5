package io.moxxie.store.jdbc;

import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.model.NodeMaintenance;
import io.moxxie.core.spi.StoreException;
import io.moxxie.store.jdbc.internal.Redaction;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;

import javax.sql.DataSource;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.time.Instant;
import java.util.List;
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
        Switchable ds = new Switchable(h2);
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

    private static String fullTrace(Throwable t) {
        StringWriter out = new StringWriter();
        t.printStackTrace(new PrintWriter(out));
        return out.toString();
    }

    /** A DataSource that can be switched off, as a database server that stops answering. */
    private static final class Switchable implements DataSource {
        private final JdbcDataSource delegate;
        volatile boolean down;

        Switchable(JdbcDataSource delegate) {
            this.delegate = delegate;
        }

        @Override
        public Connection getConnection() throws SQLException {
            if (down) throw new SQLNonTransientConnectionException("Connection refused", "08001");
            return delegate.getConnection();
        }

        @Override
        public Connection getConnection(String user, String password) throws SQLException {
            return getConnection();
        }

        @Override
        public PrintWriter getLogWriter() {
            return null;
        }

        @Override
        public void setLogWriter(PrintWriter out) {
        }

        @Override
        public void setLoginTimeout(int seconds) {
        }

        @Override
        public int getLoginTimeout() {
            return 0;
        }

        @Override
        public java.util.logging.Logger getParentLogger() {
            return java.util.logging.Logger.getGlobal();
        }

        @Override
        public <T> T unwrap(Class<T> iface) {
            throw new UnsupportedOperationException();
        }

        @Override
        public boolean isWrapperFor(Class<?> iface) {
            return false;
        }
    }
}
