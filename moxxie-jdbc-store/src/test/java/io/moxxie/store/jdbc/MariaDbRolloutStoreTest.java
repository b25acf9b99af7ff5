package io.moxxie.store.jdbc;

/** The rollout contract and the rollout tables on MariaDB (127.0.0.1:3306 or MOXXIE_TEST_MARIADB_URL), a fresh database. */
class MariaDbRolloutStoreTest extends JdbcRolloutStoreTestBase {
    @Override
    protected TestDatabase openDatabase() {
        return TestDatabase.mariadb();
    }
}
