package io.moxxie.core.store;

import io.moxxie.core.spi.RolloutStore;

/** The in-memory store against the {@link RolloutStoreContract}. One instance is all a process can share. */
class InMemoryRolloutStoreTest extends RolloutStoreContract {
    @Override
    protected RolloutStore createStore() {
        return new InMemoryMaintenanceStore();
    }
}
