package io.moxxie.store.jdbc;

/** The outage on embedded H2: nothing to fail over, so the DataSource refuses connections for its duration. */
class H2StoreOutageTest extends RefusingStoreOutageTestBase {
    @Override
    protected TestDatabase database() {
        return TestDatabase.h2();
    }
}
