package io.moxxie.store.jdbc;

import com.zaxxer.hikari.HikariDataSource;

import javax.sql.DataSource;

/**
 * The outage where the server cannot be told to refuse connections (embedded H2, a MariaDB shared with others): a
 * pool on a database of this test alone, behind a {@link RefusingDataSource} that refuses new connections for the
 * outage's duration.
 */
abstract class RefusingStoreOutageTestBase extends StoreOutageTestBase {
    TestDatabase db;
    private HikariDataSource pool;
    private RefusingDataSource refusing;

    /** A database of this test alone. */
    protected abstract TestDatabase database();

    /** What the outage does to the connections already open, beyond refusing new ones: nothing unless overridden. */
    protected void dropOpenConnections() throws Exception {
    }

    @Override
    protected DataSource open() {
        db = database();
        pool = pool(db.url(), db.user(), db.password(), 10_000);
        refusing = new RefusingDataSource(pool);
        return refusing;
    }

    @Override
    protected void takeDown() throws Exception {
        refusing.down = true;
        dropOpenConnections();
    }

    @Override
    protected void bringBack() {
        if (refusing != null) refusing.down = false;
    }

    @Override
    protected void cleanUp() {
        if (pool != null) pool.close();
        if (db != null) db.close();
    }
}
