package io.moxxie.core.testing;

import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.NodeMaintenance;
import io.moxxie.core.spi.DrainRecord;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.spi.MaintenanceStore;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * A {@link MaintenanceStore} that hands every call to another, the three partial writes of a node's record included (so
 * the delegate's own single-statement versions are the ones used): a test's wrapper extends it and overrides only the
 * calls it changes. Thread-safe if the delegate and the overrides are.
 */
public abstract class DelegatingMaintenanceStore implements MaintenanceStore {
    protected final MaintenanceStore delegate;

    protected DelegatingMaintenanceStore(MaintenanceStore delegate) {
        this.delegate = delegate;
    }

    @Override
    public Optional<NodeMaintenance> maintenance(String node) {
        return delegate.maintenance(node);
    }

    @Override
    public List<NodeMaintenance> maintenanceStates() {
        return delegate.maintenanceStates();
    }

    @Override
    public void saveMaintenance(NodeMaintenance state) {
        delegate.saveMaintenance(state);
    }

    @Override
    public void createDrain(DrainRecord drain, List<GuestProgress> guests) {
        delegate.createDrain(drain, guests);
    }

    @Override
    public boolean updateDrain(DrainRecord drain) {
        return delegate.updateDrain(drain);
    }

    @Override
    public boolean updateGuest(GuestProgress guest, String owner) {
        return delegate.updateGuest(guest, owner);
    }

    @Override
    public Optional<DrainRecord> drain(String drainId) {
        return delegate.drain(drainId);
    }

    @Override
    public List<GuestProgress> guests(String drainId) {
        return delegate.guests(drainId);
    }

    @Override
    public List<DrainRecord> drains(String node, int limit) {
        return delegate.drains(node, limit);
    }

    @Override
    public List<DrainRecord> unfinishedDrains() {
        return delegate.unfinishedDrains();
    }

    @Override
    public boolean renewLease(String drainId, String owner, Instant leaseExpiresAt) {
        return delegate.renewLease(drainId, owner, leaseExpiresAt);
    }

    @Override
    public Optional<DrainRecord> takeOver(String drainId, String newOwner, Instant now, Instant leaseExpiresAt) {
        return delegate.takeOver(drainId, newOwner, now, leaseExpiresAt);
    }

    @Override
    public void requestCancel(String drainId) {
        delegate.requestCancel(drainId);
    }

    @Override
    public void saveMaintenanceMode(String node, boolean inMaintenance, String reason, Instant started, Instant ended, Instant at) {
        delegate.saveMaintenanceMode(node, inMaintenance, reason, started, ended, at);
    }

    @Override
    public void recordDrainStarted(String node, String drainId, List<Integer> vmList, Instant at) {
        delegate.recordDrainStarted(node, drainId, vmList, at);
    }

    @Override
    public void recordDrainFinished(String node, String drainId, DrainState state, Instant at) {
        delegate.recordDrainFinished(node, drainId, state, at);
    }
}
