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
    private final String user;
    private final String password;

    TestDatabase(String user, String password) {
        this.user = user;
        this.password = password;
    }

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

    String user() {
        return user;
    }

    String password() {
        return password;
    }

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
        execute("DELETE FROM drain_guest", "DELETE FROM drain", "DELETE FROM node_maintenance",
                "DELETE FROM rollout_step", "DELETE FROM rollout_node", "DELETE FROM rollout");
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
        H2() {
            super("sa", "");
        }

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
        void drop(String url) throws SQLException {
            try (Connection c = DriverManager.getConnection(url, user(), password()); Statement s = c.createStatement()) {
                s.execute("DROP ALL OBJECTS DELETE FILES");
            }
        }
    }

    /** A database server whose test namespaces are made and dropped with statements on its base URL. */
    private abstract static class ServerDatabase extends TestDatabase {
        final String base;

        ServerDatabase(String what, String envPrefix, String defaultUrl, String defaultUser) {
            super(env(envPrefix + "_USER", defaultUser), env(envPrefix + "_PASSWORD", ""));
            this.base = env(envPrefix + "_URL", defaultUrl);
            requireReachable(what, base, user(), password(), envPrefix + "_URL");
        }

        void onServer(String sql) throws SQLException {
            try (Connection c = DriverManager.getConnection(base, user(), password()); Statement s = c.createStatement()) {
                s.execute(sql);
            }
        }

        /** A new namespace made by {@code createSql}, as the URL {@code urlOf} gives for its name. */
        String create(java.util.function.Function<String, String> createSql, java.util.function.UnaryOperator<String> urlOf) {
            String name = uniqueName();
            try {
                onServer(createSql.apply(name));
            } catch (SQLException e) {
                throw new IllegalStateException(e);
            }
            return urlOf.apply(name);
        }
    }

    private static final class Postgres extends ServerDatabase {
        Postgres() {
            super("PostgreSQL", "MOXXIE_TEST_PG", "jdbc:postgresql://127.0.0.1:5432/test", "postgres");
        }

        @Override
        Dialect dialect() {
            return Dialect.POSTGRESQL;
        }

        @Override
        String newNamespaceUrl() {
            return create(schema -> "CREATE SCHEMA " + schema, schema -> base + (base.contains("?") ? "&" : "?") + "currentSchema=" + schema);
        }

        @Override
        void drop(String url) throws SQLException {
            onServer("DROP SCHEMA IF EXISTS " + url.substring(url.indexOf("currentSchema=") + "currentSchema=".length()) + " CASCADE");
        }
    }

    private static final class MariaDb extends ServerDatabase {
        MariaDb() {
            super("MariaDB", "MOXXIE_TEST_MARIADB", "jdbc:mariadb://127.0.0.1:3306/test", "root");
        }

        @Override
        Dialect dialect() {
            return Dialect.MARIADB;
        }

        @Override
        String newNamespaceUrl() {
            return create(database -> "CREATE DATABASE " + database + " CHARACTER SET utf8mb4", this::withDatabase);
        }

        private String withDatabase(String database) {
            int query = base.indexOf('?');
            String head = query < 0 ? base : base.substring(0, query);
            String tail = query < 0 ? "" : base.substring(query);
            int slash = head.indexOf('/', head.indexOf("//") + 2);
            return (slash < 0 ? head : head.substring(0, slash)) + "/" + database + tail;
        }

        @Override
        void drop(String url) throws SQLException {
            String head = url.contains("?") ? url.substring(0, url.indexOf('?')) : url;
            onServer("DROP DATABASE IF EXISTS " + head.substring(head.lastIndexOf('/') + 1));
        }
    }
}
