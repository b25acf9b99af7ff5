package io.moxxie.core.execution.internal;

import io.moxxie.core.Checks;
import io.moxxie.core.execution.DrainListener;
import io.moxxie.core.execution.ExecutorConfig;
import io.moxxie.core.plan.DrainPlanner;
import io.moxxie.core.spi.HypervisorClient;
import io.moxxie.core.spi.MaintenanceStore;
import io.moxxie.core.time.Scheduler;

import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

/**
 * What every drain of one executor shares: the hypervisor, the store, the planner (for re-planning), the
 * configuration, the retrying {@link Async}, the {@link WriteBehindJournal} every store write goes through, how each
 * drain orders its starts, the listeners, and the speed the last drain learned.
 *
 * <p>Threading: thread-safe. The collaborators are final and thread-safe by their contracts; the listeners are a
 * copy-on-write list; the learned speed is volatile (a drain that ends hands it to the next one to start).
 */
public final class ExecutorParts {
    final HypervisorClient client;
    final MaintenanceStore store;
    final DrainPlanner planner;
    final ExecutorConfig config;
    final Async async;
    final WriteBehindJournal writeBehind;
    final StartOrder.Factory startOrders;
    private final Supplier<Set<String>> nodesInMaintenance;
    private final List<DrainListener> listeners = new CopyOnWriteArrayList<>();
    /**
     * How much faster than {@link ExecutorConfig#expectedMigrationRate()} and {@link ExecutorConfig#expectedLinkBandwidth()}
     * the last drain's moves went (1 until a drain has learned it): the next drain starts from it.
     */
    private volatile double learnedSpeed = 1.0;
    /** Guests whose live moves were seen busy (re-sending much of their memory, or throttled): {@link AutoConcurrency}. */
    private final java.util.Set<Integer> busyGuests = java.util.concurrent.ConcurrentHashMap.newKeySet();

    /** @param nodesInMaintenance read when guests must be re-planned mid-drain: nodes that take no new placements */
    public ExecutorParts(HypervisorClient client, MaintenanceStore store, Scheduler scheduler, DrainPlanner planner,
                         ExecutorConfig config, Supplier<Set<String>> nodesInMaintenance) {
        this(client, store, scheduler, planner, config, nodesInMaintenance, DefaultStartOrder::new);
    }

    /** @param startOrders makes each drain's start order (the default: {@link DefaultStartOrder}) */
    ExecutorParts(HypervisorClient client, MaintenanceStore store, Scheduler scheduler, DrainPlanner planner,
                  ExecutorConfig config, Supplier<Set<String>> nodesInMaintenance, StartOrder.Factory startOrders) {
        this.startOrders = Checks.notNull("startOrders", startOrders);
        this.client = Checks.notNull("client", client);
        this.store = Checks.notNull("store", store);
        this.planner = Checks.notNull("planner", planner);
        this.config = Checks.notNull("config", config);
        this.nodesInMaintenance = Checks.notNull("nodesInMaintenance", nodesInMaintenance);
        // While the hypervisor is known to be down, a drain's calls wait for it (up to the drain's time limit) rather than
        // spend their retries: the moves' own time limits are judged once it answers again.
        this.async = new Async(Checks.notNull("scheduler", scheduler), config.maxRetries(), config.retryInitialDelay(), config.retryMaxDelay(),
                config.drainTimeout());
        this.writeBehind = new WriteBehindJournal(store, scheduler);
    }

    public ExecutorConfig config() {
        return config;
    }

    /** Where every store write of the executor's drains goes (kept and written again, in order, while the store is away). */
    public WriteBehindJournal writeBehind() {
        return writeBehind;
    }

    /** The listeners every drain tells; add and remove at any time. */
    public List<DrainListener> listeners() {
        return listeners;
    }

    Set<String> nodesInMaintenance() {
        return nodesInMaintenance.get();
    }

    double learnedSpeed() {
        return learnedSpeed;
    }

    java.util.Set<Integer> busyGuests() {
        return busyGuests;
    }

    void learnedSpeed(double factor) {
        learnedSpeed = factor;
    }
}
