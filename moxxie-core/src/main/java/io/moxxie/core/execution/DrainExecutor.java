package io.moxxie.core.execution;

import io.moxxie.core.Checks;
import io.moxxie.core.execution.internal.DrainRun;
import io.moxxie.core.execution.internal.ExecutorParts;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.plan.DrainPlanner;
import io.moxxie.core.spi.DrainRecord;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.spi.HypervisorClient;
import io.moxxie.core.spi.MaintenanceStore;
import io.moxxie.core.time.Scheduler;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Carries drains out: bounded concurrency overall and per target, {@code always-on} first then larger
 * guests first, a freed slot refilled at once, task polling with backoff, verification on the target,
 * automatic start of {@code always-on} guests found stopped, retries of transient errors and of failed
 * migrations on the next-best target, re-planning when a target goes offline, time limits, cancellation.
 * Every state change is written to the {@link MaintenanceStore} as it happens, through a write-behind journal (which
 * keeps what the store could not take and writes it again, in order: see {@link #storeOutage()}), and published to
 * listeners.
 *
 * <p>Usually used through {@link io.moxxie.core.service.MaintenanceService}. Thread-safe. Its parts live in
 * {@code io.moxxie.core.execution.internal} (not public API).
 */
public final class DrainExecutor {
    private final ExecutorParts parts;

    /**
     * @param nodesInMaintenance read when guests must be re-planned mid-drain: nodes that take no new placements
     */
    public DrainExecutor(HypervisorClient client, MaintenanceStore store, Scheduler scheduler, DrainPlanner planner,
                         ExecutorConfig config, Supplier<Set<String>> nodesInMaintenance) {
        this.parts = new ExecutorParts(client, store, scheduler, planner, config, nodesInMaintenance);
    }

    public void addListener(DrainListener listener) {
        parts.listeners().add(Checks.notNull("listener", listener));
    }

    public void removeListener(DrainListener listener) {
        parts.listeners().remove(listener);
    }

    public ExecutorConfig config() {
        return parts.config();
    }

    /**
     * Whether the store is behind: a state change of a drain it could not take is kept, with every change after it, and
     * written again in order until it takes them; meanwhile no drain starts a new move. Empty while every change
     * handed over is in the store.
     */
    public Optional<StoreOutage> storeOutage() {
        return parts.writeBehind().outage();
    }

    /**
     * Records a change of a node's maintenance record made for drain {@code drainId}, in order with that drain's state
     * changes: written at once while the store takes writes, else kept and written again once it does.
     *
     * @param what  what it records, for the log while the store does not take it
     * @param write the change ({@link MaintenanceStore#recordDrainStarted}, {@link MaintenanceStore#recordDrainFinished})
     * @throws IllegalArgumentException an argument is null
     */
    public void recordMaintenance(String drainId, String what, Consumer<MaintenanceStore> write) {
        parts.writeBehind().maintenance(drainId, what, write);
    }

    /**
     * Starts carrying out a drain already recorded in the store, and returns at once.
     *
     * @param drain         the drain as recorded (its owner is this process)
     * @param guests        its guests as recorded; pending ones are moved, finished ones are left as they are,
     *                      in-progress ones (after a crash) are resolved by where the guest actually is
     * @param preconditions the precondition answers the plan was made with, by vmid
     * @param checkedAt     when those answers were read
     * @param onFinish      called once with the final status when the drain ends (not when abandoned)
     */
    public RunningDrain start(DrainRecord drain, List<GuestProgress> guests, Map<Integer, MigrationPreconditions> preconditions,
                              Instant checkedAt, Consumer<DrainStatus> onFinish) {
        return start(drain, guests, preconditions, checkedAt, null, null, onFinish);
    }

    /**
     * {@link #start(DrainRecord, List, Map, Instant, Consumer)} with the cluster view the drain was planned on, read
     * at {@code viewAt}: the first moves start on it while it is younger than {@link ExecutorConfig#clusterViewMaxAge()}
     * instead of reading the cluster again. Both null when there is none.
     *
     * @throws IllegalArgumentException only one of {@code view} and {@code viewAt} was given
     */
    public RunningDrain start(DrainRecord drain, List<GuestProgress> guests, Map<Integer, MigrationPreconditions> preconditions,
                              Instant checkedAt, ClusterSnapshot view, Instant viewAt, Consumer<DrainStatus> onFinish) {
        if ((view == null) != (viewAt == null)) throw new IllegalArgumentException("view and viewAt must be given together, were "
                + (view == null ? "null" : "a view") + " and " + viewAt);
        // An auto drain stays auto in the store: it runs as many slots as one source may, and its controller (built from
        // this executor's link model) decides how many of them stream at once.
        int concurrency = drain.request().concurrency().resolve(ExecutorConfig.AUTO_MAX_PER_SOURCE);
        return DrainRun.start(parts, drain, concurrency, guests, preconditions, checkedAt, view, viewAt, onFinish);
    }
}
