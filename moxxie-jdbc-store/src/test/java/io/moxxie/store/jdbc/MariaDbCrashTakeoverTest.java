package io.moxxie.store.jdbc;

/** Crash and takeover of a drain between two service instances on one MariaDB database. */
class MariaDbCrashTakeoverTest extends CrashTakeoverTestBase {
    @Override
    protected TestDatabase openDatabase() {
        return TestDatabase.mariadb();
    }
}
