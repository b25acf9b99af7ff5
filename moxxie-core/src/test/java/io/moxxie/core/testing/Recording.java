package io.moxxie.core.testing;

import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.model.NodeMaintenance;
import io.moxxie.core.spi.DrainRecord;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.spi.HypervisorClient;
import io.moxxie.core.spi.MaintenanceStore;
import io.moxxie.core.spi.MigrationCommand;
import io.moxxie.core.spi.TaskRef;
import io.moxxie.core.spi.TaskState;
import io.moxxie.core.time.Scheduler;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * One process's view of the shared hypervisor and store, recorded: which calls it made, when, and (for store writes)
 * what the store answered. Two services on one cluster and one store, each through its own {@link Recording}, can then
 * be told apart. Thread-safe (calls are appended under a lock).
 */
public final class Recording {
    /** One call: when (scheduler time), which method, and for a fenced store write whether the store took it. */
    public record Call(Instant at, String method, boolean accepted) {
    }

    private final Scheduler scheduler;
    private final List<Call> calls = new ArrayList<>();

    public Recording(Scheduler scheduler) {
        this.scheduler = scheduler;
    }

    public synchronized List<Call> calls() {
        return List.copyOf(calls);
    }

    /** Calls of {@code method} made at or after {@code from}. */
    public synchronized List<Call> since(Instant from, String... methods) {
        List<String> wanted = List.of(methods);
        return calls.stream().filter(c -> !c.at().isBefore(from) && (wanted.isEmpty() || wanted.contains(c.method()))).toList();
    }

    private synchronized void record(String method, boolean accepted) {
        calls.add(new Call(scheduler.now(), method, accepted));
    }

    private <T> T call(String method, Supplier<T> call) {
        record(method, true);
        return call.get();
    }

    /** The hypervisor, every call recorded by method name. */
    public HypervisorClient client(HypervisorClient inner) {
        return new HypervisorClient() {
            @Override
            public ClusterSnapshot snapshot() {
                return call("snapshot", inner::snapshot);
            }

            @Override
            public Optional<Guest> guest(int vmid) {
                return call("guest", () -> inner.guest(vmid));
            }

            @Override
            public MigrationPreconditions preconditions(Guest guest) {
                return call("preconditions", () -> inner.preconditions(guest));
            }

            @Override
            public TaskRef migrate(MigrationCommand command) {
                return call("migrate", () -> inner.migrate(command));
            }

            @Override
            public TaskState task(TaskRef task) {
                return call("task", () -> inner.task(task));
            }

            @Override
            public TaskRef start(Guest guest) {
                return call("start", () -> inner.start(guest));
            }

            @Override
            public TaskRef shutdown(Guest guest, Duration timeout) {
                return call("shutdown", () -> inner.shutdown(guest, timeout));
            }

            @Override
            public TaskRef stop(Guest guest) {
                return call("stop", () -> inner.stop(guest));
            }

            @Override
            public void setTags(Guest guest, List<String> tags) {
                call("setTags", () -> {
                    inner.setTags(guest, tags);
                    return null;
                });
            }
        };
    }

    /** The store, every call recorded; a fenced write ({@code updateDrain}, {@code updateGuest}, {@code renewLease}) with the store's answer. */
    public MaintenanceStore store(MaintenanceStore inner) {
        return new MaintenanceStore() {
            private boolean fenced(String method, boolean accepted) {
                record(method, accepted);
                return accepted;
            }

            @Override
            public Optional<NodeMaintenance> maintenance(String node) {
                return call("maintenance", () -> inner.maintenance(node));
            }

            @Override
            public List<NodeMaintenance> maintenanceStates() {
                return call("maintenanceStates", inner::maintenanceStates);
            }

            @Override
            public void saveMaintenance(NodeMaintenance state) {
                call("saveMaintenance", () -> {
                    inner.saveMaintenance(state);
                    return null;
                });
            }

            @Override
            public void createDrain(DrainRecord drain, List<GuestProgress> guests) {
                call("createDrain", () -> {
                    inner.createDrain(drain, guests);
                    return null;
                });
            }

            @Override
            public boolean updateDrain(DrainRecord drain) {
                return fenced("updateDrain", inner.updateDrain(drain));
            }

            @Override
            public boolean updateGuest(GuestProgress guest, String owner) {
                return fenced("updateGuest", inner.updateGuest(guest, owner));
            }

            @Override
            public Optional<DrainRecord> drain(String drainId) {
                return call("drain", () -> inner.drain(drainId));
            }

            @Override
            public List<GuestProgress> guests(String drainId) {
                return call("guests", () -> inner.guests(drainId));
            }

            @Override
            public List<DrainRecord> drains(String node, int limit) {
                return call("drains", () -> inner.drains(node, limit));
            }

            @Override
            public List<DrainRecord> unfinishedDrains() {
                return call("unfinishedDrains", inner::unfinishedDrains);
            }

            @Override
            public boolean renewLease(String drainId, String owner, Instant leaseExpiresAt) {
                return fenced("renewLease", inner.renewLease(drainId, owner, leaseExpiresAt));
            }

            @Override
            public Optional<DrainRecord> takeOver(String drainId, String newOwner, Instant now, Instant leaseExpiresAt) {
                return call("takeOver", () -> inner.takeOver(drainId, newOwner, now, leaseExpiresAt));
            }

            @Override
            public void requestCancel(String drainId) {
                call("requestCancel", () -> {
                    inner.requestCancel(drainId);
                    return null;
                });
            }

            @Override
            public void saveMaintenanceMode(String node, boolean inMaintenance, String reason, Instant started, Instant ended, Instant at) {
                call("saveMaintenanceMode", () -> {
                    inner.saveMaintenanceMode(node, inMaintenance, reason, started, ended, at);
                    return null;
                });
            }

            @Override
            public void recordDrainStarted(String node, String drainId, List<Integer> vmList, Instant at) {
                call("recordDrainStarted", () -> {
                    inner.recordDrainStarted(node, drainId, vmList, at);
                    return null;
                });
            }

            @Override
            public void recordDrainFinished(String node, String drainId, DrainState state, Instant at) {
                call("recordDrainFinished", () -> {
                    inner.recordDrainFinished(node, drainId, state, at);
                    return null;
                });
            }
        };
    }
}
