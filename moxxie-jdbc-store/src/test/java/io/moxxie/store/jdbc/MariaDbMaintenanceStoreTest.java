package io.moxxie.store.jdbc;

/** The store contract and the database tests on MariaDB (127.0.0.1:3306 or MOXXIE_TEST_MARIADB_URL), a fresh database. */
class MariaDbMaintenanceStoreTest extends JdbcMaintenanceStoreTestBase {
    @Override
    protected TestDatabase openDatabase() {
        return TestDatabase.mariadb();
    }
}
