package io.moxxie.core.store;

import io.moxxie.core.DrainConflictException;
import io.moxxie.core.spi.DrainRecord;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.Checks;
import io.moxxie.core.model.NodeMaintenance;
import io.moxxie.core.spi.MaintenanceStore;
import io.moxxie.core.spi.RolloutRecord;
import io.moxxie.core.spi.RolloutStep;
import io.moxxie.core.spi.RolloutStore;

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
 * A {@link MaintenanceStore} and {@link RolloutStore} in memory: for tests, benchmarks and single-process use where losing state
 * on restart is acceptable. Thread-safe (one lock; every method is short).
 */
public final class InMemoryMaintenanceStore implements MaintenanceStore, RolloutStore {
    private final Map<String, NodeMaintenance> maintenance = new TreeMap<>();
    private final Map<String, DrainRecord> drains = new LinkedHashMap<>();
    private final Map<String, Map<Integer, GuestProgress>> guests = new HashMap<>();
    private final Map<String, RolloutRecord> rollouts = new LinkedHashMap<>();
    private final Map<String, TreeMap<Integer, RolloutStep>> steps = new HashMap<>();

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

    @Override
    public synchronized void createRollout(RolloutRecord rollout, List<RolloutStep> list) {
        Checks.notNull("rollout", rollout);
        if (rollouts.containsKey(rollout.rolloutId())) {
            throw new IllegalArgumentException("rolloutId " + rollout.rolloutId() + " exists already");
        }
        rollouts.put(rollout.rolloutId(), rollout);
        TreeMap<Integer, RolloutStep> byIndex = new TreeMap<>();
        for (RolloutStep s : list) byIndex.put(s.index(), s);
        steps.put(rollout.rolloutId(), byIndex);
    }

    @Override
    public synchronized boolean updateRollout(RolloutRecord rollout) {
        RolloutRecord current = rollouts.get(rollout.rolloutId());
        if (current == null || !java.util.Objects.equals(current.owner(), rollout.owner())) return false;
        rollouts.put(rollout.rolloutId(), current.withState(rollout.state(), rollout.message(), rollout.completedAt()));
        return true;
    }

    @Override
    public synchronized boolean updateStep(RolloutStep step, String owner) {
        RolloutRecord r = rollouts.get(step.rolloutId());
        if (r == null) throw new IllegalArgumentException("no rollout " + step.rolloutId());
        if (!java.util.Objects.equals(r.owner(), owner)) return false;
        TreeMap<Integer, RolloutStep> byIndex = steps.get(step.rolloutId());
        if (!byIndex.containsKey(step.index())) {
            throw new IllegalArgumentException("no step " + step.index() + " in rollout " + step.rolloutId());
        }
        byIndex.put(step.index(), step);
        return true;
    }

    @Override
    public synchronized Optional<RolloutRecord> rollout(String rolloutId) {
        return Optional.ofNullable(rollouts.get(rolloutId));
    }

    @Override
    public synchronized List<RolloutStep> steps(String rolloutId) {
        TreeMap<Integer, RolloutStep> byIndex = steps.get(rolloutId);
        return byIndex == null ? List.of() : List.copyOf(byIndex.values());
    }

    @Override
    public synchronized List<RolloutRecord> rollouts(int limit) {
        List<RolloutRecord> out = new ArrayList<>(rollouts.values());
        java.util.Collections.reverse(out); // newest first; insertion order breaks ties of createdAt
        out.sort(Comparator.comparing(RolloutRecord::createdAt).reversed());
        return List.copyOf(out.subList(0, Math.min(limit, out.size())));
    }

    @Override
    public synchronized List<RolloutRecord> unfinishedRollouts() {
        return rollouts.values().stream().filter(r -> !r.ended()).toList();
    }

    @Override
    public synchronized boolean renewRolloutLease(String rolloutId, String owner, Instant leaseExpiresAt) {
        RolloutRecord r = rollouts.get(rolloutId);
        if (r == null || r.ended() || !owner.equals(r.owner())) return false;
        rollouts.put(rolloutId, r.withOwner(owner, leaseExpiresAt));
        return true;
    }

    @Override
    public synchronized Optional<RolloutRecord> takeOverRollout(String rolloutId, String newOwner, Instant now, Instant leaseExpiresAt) {
        RolloutRecord r = rollouts.get(rolloutId);
        if (r == null || r.ended()) return Optional.empty();
        boolean expired = r.leaseExpiresAt() == null || r.leaseExpiresAt().isBefore(now);
        if (!expired && !newOwner.equals(r.owner())) return Optional.empty();
        RolloutRecord taken = r.withOwner(newOwner, leaseExpiresAt);
        rollouts.put(rolloutId, taken);
        return Optional.of(taken);
    }

    @Override
    public synchronized void requestRolloutPause(String rolloutId, boolean paused) {
        request(rolloutId, r -> r.withRequests(paused, r.cancelRequested(), r.continueNode()));
    }

    @Override
    public synchronized void requestRolloutCancel(String rolloutId) {
        request(rolloutId, r -> r.withRequests(r.pauseRequested(), true, r.continueNode()));
    }

    @Override
    public synchronized void requestRolloutContinue(String rolloutId, String node) {
        request(rolloutId, r -> r.withRequests(r.pauseRequested(), r.cancelRequested(), node));
    }

    /** Records an operator's request on a rollout that has not ended (one that has keeps its record as it ended). */
    private void request(String rolloutId, java.util.function.UnaryOperator<RolloutRecord> change) {
        RolloutRecord r = rollouts.get(rolloutId);
        if (r != null && !r.ended()) rollouts.put(rolloutId, change.apply(r));
    }
}
