package io.moxxie.store.jdbc;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import io.moxxie.store.jdbc.internal.Redaction;
import org.junit.jupiter.api.Assumptions;

import javax.sql.DataSource;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.UUID;

/**
 * A database for one test class: an H2 file in {@code target/}, or a fresh schema on the PostgreSQL / MariaDB server
 * that CI runs on 127.0.0.1, dropped again at the end. Server URLs come from {@code MOXXIE_TEST_PG_URL} /
 * {@code MOXXIE_TEST_MARIADB_URL} (and {@code _USER}, {@code _PASSWORD}). An unreachable server skips the test class,
 * unless {@code CI=true}, where it fails it.
 */
abstract class TestDatabase implements AutoCloseable {
    private final List<HikariDataSource> pools = new ArrayList<>();
    private final List<String> namespaces = new ArrayList<>();

    static TestDatabase h2() {
        return new H2();
    }

    static TestDatabase postgres() {
        return new Postgres();
    }

    static TestDatabase mariadb() {
        return new MariaDb();
    }

    abstract Dialect dialect();

    /** A JDBC URL of a new, empty namespace (schema / database / file). */
    abstract String newNamespaceUrl();

    abstract String user();

    abstract String password();

    abstract void drop(String namespaceUrl) throws SQLException;

    private String mainUrl;

    /** The namespace of this test class. */
    synchronized String url() {
        if (mainUrl == null) mainUrl = newNamespaceUrl();
        return mainUrl;
    }

    /** A new connection pool on {@link #url()}: each stands for one process. */
    DataSource dataSource() {
        return pool(url());
    }

    /** A pool on a new, empty namespace. */
    DataSource emptyDataSource() {
        return pool(newNamespaceUrl());
    }

    synchronized DataSource pool(String url) {
        if (!namespaces.contains(url)) namespaces.add(url);
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        config.setUsername(user());
        config.setPassword(password());
        config.setMaximumPoolSize(6);
        config.setMinimumIdle(0);
        config.setConnectionTimeout(10_000);
        config.setPoolName("test-" + dialect().name().toLowerCase(Locale.ROOT) + "-" + pools.size());
        HikariDataSource ds = new HikariDataSource(config);
        pools.add(ds);
        return ds;
    }

    void execute(String... sql) {
        try (Connection c = DriverManager.getConnection(url(), user(), password()); Statement s = c.createStatement()) {
            for (String statement : sql) s.execute(statement);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    void truncate() {
        execute("DELETE FROM drain_guest", "DELETE FROM drain", "DELETE FROM node_maintenance");
    }

    @Override
    public synchronized void close() {
        for (HikariDataSource ds : pools) ds.close();
        pools.clear();
        for (String url : namespaces) {
            try {
                drop(url);
            } catch (SQLException e) {
                System.err.println("Could not drop test namespace " + Redaction.maskUrl(url) + ": " + e.getMessage());
            }
        }
        namespaces.clear();
    }

    static String env(String name, String fallback) {
        String v = System.getenv(name);
        return v == null || v.isBlank() ? fallback : v;
    }

    static String uniqueName() {
        return "moxxie_t_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    }

    /** Skips (or, with CI=true, fails) when the server cannot be reached. */
    static void requireReachable(String what, String url, String user, String password, String envVar) {
        try (Connection c = DriverManager.getConnection(url, user, password)) {
            c.isValid(5);
        } catch (SQLException e) {
            String message = what + " is not reachable at " + Redaction.maskUrl(url) + " (" + e.getMessage() + "). Start it (CI"
                    + " machines run it on 127.0.0.1) or point " + envVar + " (with " + envVar.replace("_URL", "_USER") + ", "
                    + envVar.replace("_URL", "_PASSWORD") + ") at one to run these tests.";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                throw new AssertionError(message + " CI=true: failing instead of skipping.", e);
            }
            Assumptions.abort(message);
        }
    }

    private static final class H2 extends TestDatabase {
        @Override
        Dialect dialect() {
            return Dialect.H2;
        }

        @Override
        String newNamespaceUrl() {
            Path file = Path.of("target", "h2", uniqueName()).toAbsolutePath();
            return "jdbc:h2:file:" + file + ";LOCK_TIMEOUT=10000";
        }

        @Override
        String user() {
            return "sa";
        }

        @Override
        String password() {
            return "";
        }

        @Override
        void drop(String url) throws SQLException {
            try (Connection c = DriverManager.getConnection(url, user(), password()); Statement s = c.createStatement()) {
                s.execute("DROP ALL OBJECTS DELETE FILES");
            }
        }
    }

    private static final class Postgres extends TestDatabase {
        private final String base = env("MOXXIE_TEST_PG_URL", "jdbc:postgresql://127.0.0.1:5432/test");
        private final String user = env("MOXXIE_TEST_PG_USER", "postgres");
        private final String password = env("MOXXIE_TEST_PG_PASSWORD", "");

        Postgres() {
            requireReachable("PostgreSQL", base, user, password, "MOXXIE_TEST_PG_URL");
        }

        @Override
        Dialect dialect() {
            return Dialect.POSTGRESQL;
        }

        @Override
        String newNamespaceUrl() {
            String schema = uniqueName();
            try (Connection c = DriverManager.getConnection(base, user, password); Statement s = c.createStatement()) {
                s.execute("CREATE SCHEMA " + schema);
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
            return base + (base.contains("?") ? "&" : "?") + "currentSchema=" + schema;
        }

        @Override
        String user() {
            return user;
        }

        @Override
        String password() {
            return password;
        }

        @Override
        void drop(String url) throws SQLException {
            String schema = url.substring(url.indexOf("currentSchema=") + "currentSchema=".length());
            try (Connection c = DriverManager.getConnection(base, user, password); Statement s = c.createStatement()) {
                s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
            }
        }
    }

    private static final class MariaDb extends TestDatabase {
        private final String base = env("MOXXIE_TEST_MARIADB_URL", "jdbc:mariadb://127.0.0.1:3306/test");
        private final String user = env("MOXXIE_TEST_MARIADB_USER", "root");
        private final String password = env("MOXXIE_TEST_MARIADB_PASSWORD", "");

        MariaDb() {
            requireReachable("MariaDB", base, user, password, "MOXXIE_TEST_MARIADB_URL");
        }

        @Override
        Dialect dialect() {
            return Dialect.MARIADB;
        }

        @Override
        String newNamespaceUrl() {
            String database = uniqueName();
            try (Connection c = DriverManager.getConnection(base, user, password); Statement s = c.createStatement()) {
                s.execute("CREATE DATABASE " + database + " CHARACTER SET utf8mb4");
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
            return withDatabase(database);
        }

        private String withDatabase(String database) {
            int query = base.indexOf('?');
            String head = query < 0 ? base : base.substring(0, query);
            String tail = query < 0 ? "" : base.substring(query);
            int slash = head.indexOf('/', head.indexOf("//") + 2);
            return (slash < 0 ? head : head.substring(0, slash)) + "/" + database + tail;
        }

        @Override
        String user() {
            return user;
        }

        @Override
        String password() {
            return password;
        }

        @Override
        void drop(String url) throws SQLException {
            String head = url.contains("?") ? url.substring(0, url.indexOf('?')) : url;
            String database = head.substring(head.lastIndexOf('/') + 1);
            try (Connection c = DriverManager.getConnection(base, user, password); Statement s = c.createStatement()) {
                s.execute("DROP DATABASE IF EXISTS " + database);
            }
        }
    }
}
