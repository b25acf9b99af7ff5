package io.moxxie.store.jdbc;

/** The rollout contract and the rollout tables on H2, the embedded default (a file in target/). */
class H2RolloutStoreTest extends JdbcRolloutStoreTestBase {
    @Override
    protected TestDatabase openDatabase() {
        return TestDatabase.h2();
    }
}
