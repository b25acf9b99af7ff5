package io.moxxie.store.jdbc;

/** Crash and takeover of a drain between two service instances on one PostgreSQL database. */
class PostgresCrashTakeoverTest extends CrashTakeoverTestBase {
    @Override
    protected TestDatabase openDatabase() {
        return TestDatabase.postgres();
    }
}
