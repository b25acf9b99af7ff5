package io.moxxie.core.testing;

import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.NodeMaintenance;
import io.moxxie.core.spi.DrainRecord;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.spi.MaintenanceStore;
import io.moxxie.core.spi.StoreUnavailableException;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * A {@link MaintenanceStore} that goes away for a while, as a database server that fails over: while down,
 * every call (reads and the three kinds of write: drain record, guest progress, maintenance state) throws
 * {@link StoreUnavailableException} and changes nothing. Counts the calls refused, by kind. Thread-safe.
 */
public final class OutageStore implements MaintenanceStore {
    public enum Kind { DRAIN, GUEST, MAINTENANCE, READ, LEASE }

    private final MaintenanceStore delegate;
    private final Supplier<Instant> clock;
    private volatile Instant downFrom = Instant.MAX;
    private volatile Instant downUntil = Instant.MAX;
    private final ConcurrentHashMap<Kind, AtomicInteger> refused = new ConcurrentHashMap<>();
    private volatile Runnable afterCreateDrain = () -> { };

    public OutageStore(MaintenanceStore delegate, Supplier<Instant> clock) {
        this.delegate = delegate;
        this.clock = clock;
    }

    /** Down from {@code from} (inclusive) until {@code until} (exclusive), by the clock. */
    public void outage(Instant from, Instant until) {
        this.downFrom = from;
        this.downUntil = until;
    }

    /** Runs {@code r} after each drain created (e.g. to make the store go away right after). */
    public void afterCreateDrain(Runnable r) {
        this.afterCreateDrain = r;
    }

    private boolean down() {
        Instant now = clock.get();
        return !now.isBefore(downFrom) && now.isBefore(downUntil);
    }

    public int refused(Kind kind) {
        return refused.getOrDefault(kind, new AtomicInteger()).get();
    }

    private void check(Kind kind, String table) {
        if (!down()) return;
        refused.computeIfAbsent(kind, k -> new AtomicInteger()).incrementAndGet();
        throw new StoreUnavailableException("Cannot reach the database at jdbc:test://outage to write " + table + ": Connection refused");
    }

    @Override
    public Optional<NodeMaintenance> maintenance(String node) {
        check(Kind.READ, "node_maintenance");
        return delegate.maintenance(node);
    }

    @Override
    public List<NodeMaintenance> maintenanceStates() {
        check(Kind.READ, "node_maintenance");
        return delegate.maintenanceStates();
    }

    @Override
    public void saveMaintenance(NodeMaintenance state) {
        check(Kind.MAINTENANCE, "node_maintenance");
        delegate.saveMaintenance(state);
    }

    @Override
    public void saveMaintenanceMode(String node, boolean inMaintenance, String reason, Instant started, Instant ended, Instant at) {
        check(Kind.MAINTENANCE, "node_maintenance");
        delegate.saveMaintenanceMode(node, inMaintenance, reason, started, ended, at);
    }

    @Override
    public void recordDrainStarted(String node, String drainId, List<Integer> vmList, Instant at) {
        check(Kind.MAINTENANCE, "node_maintenance");
        delegate.recordDrainStarted(node, drainId, vmList, at);
    }

    @Override
    public void recordDrainFinished(String node, String drainId, DrainState state, Instant at) {
        check(Kind.MAINTENANCE, "node_maintenance");
        delegate.recordDrainFinished(node, drainId, state, at);
    }

    @Override
    public void createDrain(DrainRecord drain, List<GuestProgress> guests) {
        check(Kind.DRAIN, "drain");
        delegate.createDrain(drain, guests);
        afterCreateDrain.run();
    }

    @Override
    public boolean updateDrain(DrainRecord drain) {
        check(Kind.DRAIN, "drain");
        return delegate.updateDrain(drain);
    }

    @Override
    public boolean updateGuest(GuestProgress guest, String owner) {
        check(Kind.GUEST, "drain_guest");
        return delegate.updateGuest(guest, owner);
    }

    @Override
    public Optional<DrainRecord> drain(String drainId) {
        check(Kind.READ, "drain");
        return delegate.drain(drainId);
    }

    @Override
    public List<GuestProgress> guests(String drainId) {
        check(Kind.READ, "drain_guest");
        return delegate.guests(drainId);
    }

    @Override
    public List<DrainRecord> drains(String node, int limit) {
        check(Kind.READ, "drain");
        return delegate.drains(node, limit);
    }

    @Override
    public List<DrainRecord> unfinishedDrains() {
        check(Kind.READ, "drain");
        return delegate.unfinishedDrains();
    }

    @Override
    public boolean renewLease(String drainId, String owner, Instant leaseExpiresAt) {
        check(Kind.LEASE, "drain");
        return delegate.renewLease(drainId, owner, leaseExpiresAt);
    }

    @Override
    public Optional<DrainRecord> takeOver(String drainId, String newOwner, Instant now, Instant leaseExpiresAt) {
        check(Kind.LEASE, "drain");
        return delegate.takeOver(drainId, newOwner, now, leaseExpiresAt);
    }

    @Override
    public void requestCancel(String drainId) {
        check(Kind.DRAIN, "drain");
        delegate.requestCancel(drainId);
    }
}
