package io.moxxie.core.store;

import io.moxxie.core.spi.MaintenanceStore;

/** The in-memory store against the {@link MaintenanceStoreContract}. One instance is all a process can share. */
class InMemoryMaintenanceStoreTest extends MaintenanceStoreContract {
    @Override
    protected MaintenanceStore createStore() {
        return new InMemoryMaintenanceStore();
    }
}
