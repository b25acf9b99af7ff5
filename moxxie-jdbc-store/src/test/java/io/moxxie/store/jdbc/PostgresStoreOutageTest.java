package io.moxxie.store.jdbc;

import com.zaxxer.hikari.HikariDataSource;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;

/**
 * The outage on PostgreSQL as it happens: a database of this test alone ({@code moxxie_outage_<random>}, never the shared
 * one) stops accepting connections ({@code ALTER DATABASE … ALLOW_CONNECTIONS false}) and its open connections are
 * terminated ({@code pg_terminate_backend}, that database's only); then it is allowed again.
 */
class PostgresStoreOutageTest extends StoreOutageTestBase {
    private final String base = TestDatabase.env("MOXXIE_TEST_PG_URL", "jdbc:postgresql://127.0.0.1:5432/test");
    private final String user = TestDatabase.env("MOXXIE_TEST_PG_USER", "postgres");
    private final String password = TestDatabase.env("MOXXIE_TEST_PG_PASSWORD", "");
    private final String database = "moxxie_outage_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    private HikariDataSource pool;

    @Override
    protected DataSource open() {
        TestDatabase.requireReachable("PostgreSQL", base, user, password, "MOXXIE_TEST_PG_URL");
        admin("CREATE DATABASE " + database);
        // Refusals come from the server here: each attempt during the outage waits this long, so keep it short.
        pool = pool(urlOf(database), user, password, 1_500);
        return pool;
    }

    @Override
    protected void takeDown() {
        admin("ALTER DATABASE " + database + " ALLOW_CONNECTIONS false",
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + database + "' AND pid <> pg_backend_pid()");
    }

    @Override
    protected void bringBack() {
        admin("ALTER DATABASE " + database + " ALLOW_CONNECTIONS true");
    }

    @Override
    protected void cleanUp() {
        if (pool != null) pool.close();
        admin("DROP DATABASE IF EXISTS " + database + " WITH (FORCE)");
    }

    /** Statements on the server's base database, about this test's database only. */
    private void admin(String... sql) {
        try (Connection c = DriverManager.getConnection(base, user, password); Statement s = c.createStatement()) {
            for (String statement : sql) s.execute(statement);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private String urlOf(String db) {
        int query = base.indexOf('?');
        String head = query < 0 ? base : base.substring(0, query);
        String tail = query < 0 ? "" : base.substring(query);
        return head.substring(0, head.lastIndexOf('/') + 1) + db + tail;
    }
}
