package io.moxxie.store.jdbc;

/** The rollout contract and the rollout tables on PostgreSQL (127.0.0.1:5432 or MOXXIE_TEST_PG_URL), a fresh schema. */
class PostgresRolloutStoreTest extends JdbcRolloutStoreTestBase {
    @Override
    protected TestDatabase openDatabase() {
        return TestDatabase.postgres();
    }
}
