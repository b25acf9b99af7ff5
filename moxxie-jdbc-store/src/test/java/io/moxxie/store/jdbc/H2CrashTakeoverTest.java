package io.moxxie.store.jdbc;

/** Crash and takeover of a drain between two service instances on one H2 database. */
class H2CrashTakeoverTest extends CrashTakeoverTestBase {
    @Override
    protected TestDatabase openDatabase() {
        return TestDatabase.h2();
    }
}
