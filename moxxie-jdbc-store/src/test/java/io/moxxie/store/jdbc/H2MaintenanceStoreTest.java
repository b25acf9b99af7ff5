package io.moxxie.store.jdbc;

/** The store contract and the database tests on H2, the embedded default (a file in target/). */
class H2MaintenanceStoreTest extends JdbcMaintenanceStoreTestBase {
    @Override
    protected TestDatabase openDatabase() {
        return TestDatabase.h2();
    }
}
