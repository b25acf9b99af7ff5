package io.moxxie.store.jdbc;

import com.zaxxer.hikari.HikariDataSource;

import javax.sql.DataSource;

/** The outage on embedded H2: nothing to fail over, so the DataSource refuses connections for its duration. */
class H2StoreOutageTest extends StoreOutageTestBase {
    private final TestDatabase db = TestDatabase.h2();
    private HikariDataSource pool;
    private RefusingDataSource refusing;

    @Override
    protected DataSource open() {
        pool = pool(db.url(), db.user(), db.password(), 10_000);
        refusing = new RefusingDataSource(pool);
        return refusing;
    }

    @Override
    protected void takeDown() {
        refusing.down = true;
    }

    @Override
    protected void bringBack() {
        if (refusing != null) refusing.down = false;
    }

    @Override
    protected void cleanUp() {
        if (pool != null) pool.close();
        db.close();
    }
}
