package io.moxxie.core.execution;

import io.moxxie.core.spi.GuestProgress;

import io.moxxie.core.spi.DrainRecord;

import io.moxxie.core.internal.Async;
import io.moxxie.core.Checks;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.plan.DrainPlanner;
import io.moxxie.core.spi.HypervisorClient;
import io.moxxie.core.spi.MaintenanceStore;
import io.moxxie.core.time.Scheduler;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * Carries drains out: bounded concurrency overall and per target, {@code always-on} first then larger
 * guests first, a freed slot refilled at once, task polling with backoff, verification on the target,
 * automatic start of {@code always-on} guests found stopped, retries of transient errors and of failed
 * migrations on the next-best target, re-planning when a target goes offline, time limits, cancellation.
 * Every state change is written to the {@link MaintenanceStore} as it happens, through the {@link WriteBehindJournal} (which
 * keeps what the store could not take and writes it again, in order), and published to listeners.
 *
 * <p>Usually used through {@link io.moxxie.core.service.MaintenanceService}. Thread-safe.
 */
public final class DrainExecutor {
    private final HypervisorClient client;
    private final MaintenanceStore store;
    private final DrainPlanner planner;
    private final ExecutorConfig config;
    private final Async async;
    private final WriteBehindJournal journal;
    private final List<DrainListener> listeners = new CopyOnWriteArrayList<>();
    private final Supplier<Set<String>> nodesInMaintenance;
    /**
     * How much faster than {@link ExecutorConfig#expectedMigrationRate()} and {@link ExecutorConfig#expectedLinkBandwidth()}
     * the last drain's moves went (1 until a drain has learned it): the next drain starts from it.
     */
    private volatile double learnedSpeed = 1.0;

    /**
     * @param nodesInMaintenance read when guests must be re-planned mid-drain: nodes that take no new placements
     */
    public DrainExecutor(HypervisorClient client, MaintenanceStore store, Scheduler scheduler, DrainPlanner planner,
                         ExecutorConfig config, Supplier<Set<String>> nodesInMaintenance) {
        this.client = Checks.notNull("client", client);
        this.store = Checks.notNull("store", store);
        this.planner = Checks.notNull("planner", planner);
        this.config = Checks.notNull("config", config);
        this.nodesInMaintenance = Checks.notNull("nodesInMaintenance", nodesInMaintenance);
        // While the hypervisor is known to be down, a drain's calls wait for it (up to the drain's time limit) rather than
        // spend their retries: the moves' own time limits are judged once it answers again.
        this.async = new Async(Checks.notNull("scheduler", scheduler), config.maxRetries(), config.retryInitialDelay(), config.retryMaxDelay(),
                config.drainTimeout());
        this.journal = new WriteBehindJournal(store, scheduler);
    }

    public void addListener(DrainListener listener) {
        listeners.add(Checks.notNull("listener", listener));
    }

    public void removeListener(DrainListener listener) {
        listeners.remove(listener);
    }

    public ExecutorConfig config() {
        return config;
    }

    /** Where every drain's state changes go on their way to the store (kept and written again while it is away). */
    public WriteBehindJournal journal() {
        return journal;
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
    public DrainRun start(DrainRecord drain, List<GuestProgress> guests, Map<Integer, MigrationPreconditions> preconditions,
                          Instant checkedAt, Consumer<DrainStatus> onFinish) {
        return start(drain, guests, preconditions, checkedAt, null, null, onFinish);
    }

    /**
     * {@link #start(DrainRecord, List, Map, Instant, Consumer)} with the cluster view the drain was planned on, read
     * at {@code viewAt}: the first moves start on it while it is younger than {@link ExecutorConfig#clusterViewMaxAge()}
     * instead of reading the cluster again. Both null when there is none.
     */
    public DrainRun start(DrainRecord drain, List<GuestProgress> guests, Map<Integer, MigrationPreconditions> preconditions,
                          Instant checkedAt, ClusterSnapshot view, Instant viewAt, Consumer<DrainStatus> onFinish) {
        if ((view == null) != (viewAt == null)) throw new IllegalArgumentException("view and viewAt must be given together, were "
                + (view == null ? "null" : "a view") + " and " + viewAt);
        DrainRun run = new DrainRun(this, drain, guests, preconditions, checkedAt, onFinish);
        if (view != null) run.seedView(view, viewAt);
        run.begin();
        return run;
    }

    HypervisorClient client() {
        return client;
    }

    double learnedSpeed() {
        return learnedSpeed;
    }

    void learnedSpeed(double factor) {
        learnedSpeed = factor;
    }

    MaintenanceStore store() {
        return store;
    }

    DrainPlanner planner() {
        return planner;
    }

    Async async() {
        return async;
    }

    Set<String> nodesInMaintenance() {
        return nodesInMaintenance.get();
    }

    List<DrainListener> listeners() {
        return listeners;
    }
}
