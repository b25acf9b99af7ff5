package io.moxxie.store.jdbc;

/** The store contract and the database tests on PostgreSQL (127.0.0.1:5432 or MOXXIE_TEST_PG_URL), a fresh schema. */
class PostgresMaintenanceStoreTest extends JdbcMaintenanceStoreTestBase {
    @Override
    protected TestDatabase openDatabase() {
        return TestDatabase.postgres();
    }
}
