package io.moxxie.core.store;

import io.moxxie.core.DrainConflictException;
import io.moxxie.core.spi.DrainRecord;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.Checks;
import io.moxxie.core.model.NodeMaintenance;
import io.moxxie.core.spi.MaintenanceStore;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * A {@link MaintenanceStore} in memory: for tests, benchmarks and single-process use where losing state
 * on restart is acceptable. Thread-safe (one lock; every method is short).
 */
public final class InMemoryMaintenanceStore implements MaintenanceStore {
    private final Map<String, NodeMaintenance> maintenance = new TreeMap<>();
    private final Map<String, DrainRecord> drains = new LinkedHashMap<>();
    private final Map<String, Map<Integer, GuestProgress>> guests = new HashMap<>();

    @Override
    public synchronized Optional<NodeMaintenance> maintenance(String node) {
        return Optional.ofNullable(maintenance.get(node));
    }

    @Override
    public synchronized List<NodeMaintenance> maintenanceStates() {
        return List.copyOf(maintenance.values());
    }

    @Override
    public synchronized void saveMaintenance(NodeMaintenance state) {
        Checks.notNull("state", state);
        maintenance.put(state.node(), state);
    }

    @Override
    public synchronized void createDrain(DrainRecord drain, List<GuestProgress> list) {
        Checks.notNull("drain", drain);
        if (drains.containsKey(drain.drainId())) throw new IllegalArgumentException("drainId " + drain.drainId() + " exists already");
        for (DrainRecord d : drains.values()) {
            if (d.node().equals(drain.node()) && !d.status().finished()) throw new DrainConflictException(d.node(), d.drainId());
        }
        drains.put(drain.drainId(), drain);
        Map<Integer, GuestProgress> byId = new LinkedHashMap<>();
        for (GuestProgress g : list) byId.put(g.vmid(), g);
        guests.put(drain.drainId(), byId);
    }

    @Override
    public synchronized boolean updateDrain(DrainRecord drain) {
        DrainRecord current = drains.get(drain.drainId());
        if (current == null || !java.util.Objects.equals(current.owner(), drain.owner())) return false;
        drains.put(drain.drainId(), drain.withOwner(current.owner(), current.leaseExpiresAt())
                .withCancel(current.cancelRequested() || drain.cancelRequested()));
        return true;
    }

    @Override
    public synchronized boolean updateGuest(GuestProgress guest, String owner) {
        Map<Integer, GuestProgress> byId = guests.get(guest.drainId());
        if (byId == null) throw new IllegalArgumentException("no drain " + guest.drainId());
        if (!java.util.Objects.equals(drains.get(guest.drainId()).owner(), owner)) return false;
        byId.put(guest.vmid(), guest);
        return true;
    }

    @Override
    public synchronized Optional<DrainRecord> drain(String drainId) {
        return Optional.ofNullable(drains.get(drainId));
    }

    @Override
    public synchronized List<GuestProgress> guests(String drainId) {
        Map<Integer, GuestProgress> byId = guests.get(drainId);
        return byId == null ? List.of() : List.copyOf(byId.values());
    }

    @Override
    public synchronized List<DrainRecord> drains(String node, int limit) {
        List<DrainRecord> out = new ArrayList<>();
        for (DrainRecord d : drains.values()) {
            if (d.node().equals(node)) out.add(d);
        }
        // Insertion order breaks ties between drains started in the same instant.
        List<DrainRecord> insertion = new ArrayList<>(out);
        out.sort(Comparator.comparing(DrainRecord::startedAt).thenComparing(insertion::indexOf).reversed());
        return List.copyOf(out.subList(0, Math.min(limit, out.size())));
    }

    @Override
    public synchronized List<DrainRecord> unfinishedDrains() {
        return drains.values().stream().filter(d -> !d.status().finished()).toList();
    }

    @Override
    public synchronized boolean renewLease(String drainId, String owner, Instant leaseExpiresAt) {
        DrainRecord d = drains.get(drainId);
        if (d == null || d.status().finished() || !owner.equals(d.owner())) return false;
        drains.put(drainId, d.withOwner(owner, leaseExpiresAt));
        return true;
    }

    @Override
    public synchronized Optional<DrainRecord> takeOver(String drainId, String newOwner, Instant now, Instant leaseExpiresAt) {
        DrainRecord d = drains.get(drainId);
        if (d == null || d.status().finished()) return Optional.empty();
        boolean expired = d.leaseExpiresAt() == null || d.leaseExpiresAt().isBefore(now);
        if (!expired && !newOwner.equals(d.owner())) return Optional.empty();
        DrainRecord taken = d.withOwner(newOwner, leaseExpiresAt);
        drains.put(drainId, taken);
        return Optional.of(taken);
    }

    @Override
    public synchronized void saveMaintenanceMode(String node, boolean inMaintenance, String reason, Instant started, Instant ended,
                                                 Instant at) {
        MaintenanceStore.super.saveMaintenanceMode(node, inMaintenance, reason, started, ended, at);
    }

    @Override
    public synchronized void recordDrainStarted(String node, String drainId, List<Integer> vmList, Instant at) {
        MaintenanceStore.super.recordDrainStarted(node, drainId, vmList, at);
    }

    @Override
    public synchronized void recordDrainFinished(String node, String drainId, io.moxxie.core.model.DrainState state, Instant at) {
        MaintenanceStore.super.recordDrainFinished(node, drainId, state, at);
    }

    @Override
    public synchronized void requestCancel(String drainId) {
        DrainRecord d = drains.get(drainId);
        if (d != null && !d.status().finished()) drains.put(drainId, d.withCancelRequested());
    }
}
