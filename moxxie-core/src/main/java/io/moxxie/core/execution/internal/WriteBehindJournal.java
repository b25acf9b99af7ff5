package io.moxxie.core.execution.internal;

import io.moxxie.core.Checks;
import io.moxxie.core.execution.StoreOutage;
import io.moxxie.core.spi.DrainRecord;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.spi.MaintenanceStore;
import io.moxxie.core.time.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * The write-behind journal between running drains and the {@link MaintenanceStore}, one per executor (in its
 * {@link ExecutorParts}): every state change of a drain (a guest's progress and the drain's record, handed over by the
 * run's {@link DrainJournal}; the node's maintenance record, by the service through
 * {@link io.moxxie.core.execution.DrainExecutor#recordMaintenance}) is handed to it, and it writes them to the store in
 * the order they were handed over. A change the store could not take (it threw: unreachable, failing over,
 * refusing) is not dropped: it stays at the head of the queue, with everything handed over after it, and is written
 * again with backoff ({@link #RETRY_INITIAL_DELAY} doubling up to {@link #RETRY_MAX_DELAY}) until the store takes it;
 * then the rest follows, in order. While that is so the journal reports an {@link #outage()}: since when, why, and
 * how many changes wait.
 *
 * <p>A write the store <em>refuses by its ownership fence</em> ({@code updateGuest} / {@code updateDrain} answering
 * {@code false}: another process owns the drain now) is different: it is never repeated; the changes of that drain
 * still queued are dropped and the writer's {@code onFenced} is called, so that the run stops working on the drain.
 *
 * <p>{@link #afterWritten} lets a run report something (the end of a drain) only once every change handed over before
 * is in the store: a drain never reports an end its store does not hold.
 *
 * <p>While the store is healthy a change is written at once in the thread that hands it over (so a write is in the
 * store when the call returns, as without a journal), unless another thread is writing: that one writes it after its
 * own. During an outage it is queued and the call returns at once, and the retries run on the {@link Scheduler}. One
 * store write at a time. A caller that changes its state under a lock of its own queues the change under it
 * ({@link #queueGuest}, {@link #queueDrain}: its place in the order is the order of its changes) and {@link #flush}es
 * after letting the lock go.
 *
 * <p>The queue lives in memory: when the process dies during an outage the changes waiting are lost, and the process
 * that takes the drain over resolves every unfinished guest by where it actually is in the cluster (see
 * {@code MaintenanceService.start()}).
 *
 * <p>Threading: thread-safe; its lock guards the queue and the outage only, and is never held while it writes the store
 * or runs a callback. Callbacks ({@code onFenced}, {@link #afterWritten} and {@link #whenCaughtUp} actions) run in the
 * thread that wrote the change, which may be one that handed over a change of another drain (or the scheduler's, for a
 * retry): a caller writes ({@link #flush} and every call but the two {@code queue} ones) holding no lock of its own (a
 * run never does, see {@link DrainJournal}).
 */
public final class WriteBehindJournal {
    private static final Logger log = LoggerFactory.getLogger(WriteBehindJournal.class);
    /** First wait before a change the store could not take is written again. */
    public static final Duration RETRY_INITIAL_DELAY = Duration.ofSeconds(1);
    /** Longest wait between two attempts: how long after the store is back the journal catches up, at most. */
    public static final Duration RETRY_MAX_DELAY = Duration.ofSeconds(10);

    private final MaintenanceStore store;
    private final Scheduler scheduler;
    private final Duration initialDelay;
    private final Duration maxDelay;

    // Guarded by this.
    private final Deque<Entry> queue = new ArrayDeque<>();
    private final List<Runnable> caughtUp = new ArrayList<>();
    private boolean writing;
    private Instant outageSince;
    private String outageReason;
    private Duration nextDelay;
    private int failedAttempts;

    public WriteBehindJournal(MaintenanceStore store, Scheduler scheduler) {
        this(store, scheduler, RETRY_INITIAL_DELAY, RETRY_MAX_DELAY);
    }

    /** @throws IllegalArgumentException a delay is not positive, or {@code maxDelay} is shorter than {@code initialDelay} */
    public WriteBehindJournal(MaintenanceStore store, Scheduler scheduler, Duration initialDelay, Duration maxDelay) {
        this.store = Checks.notNull("store", store);
        this.scheduler = Checks.notNull("scheduler", scheduler);
        this.initialDelay = Checks.positive("initialDelay", initialDelay);
        this.maxDelay = Checks.positive("maxDelay", maxDelay);
        if (maxDelay.compareTo(initialDelay) < 0) {
            throw new IllegalArgumentException("maxDelay must be at least initialDelay (" + initialDelay + "), was " + maxDelay);
        }
        this.nextDelay = initialDelay;
    }

    /** Records a guest's progress ({@link MaintenanceStore#updateGuest}, fenced by {@code owner}). */
    public void guest(GuestProgress progress, String owner, Runnable onFenced) {
        queueGuest(progress, owner, onFenced);
        flush();
    }

    /** Records a drain's status and message ({@link MaintenanceStore#updateDrain}, fenced by its owner). */
    public void drain(DrainRecord record, Runnable onFenced) {
        queueDrain(record, onFenced);
        flush();
    }

    /**
     * {@link #guest} without writing yet: the change takes its place in the order now, and is written at the next
     * {@link #flush} (or any other write). Only takes this journal's lock, so a caller may queue under a lock of its own
     * the changes it makes under it (in the order it makes them), and flush after letting it go.
     */
    public void queueGuest(GuestProgress progress, String owner, Runnable onFenced) {
        Checks.notNull("progress", progress);
        Checks.notNull("owner", owner);
        queue(new Entry(progress.drainId(), "progress of VM " + progress.vmid() + " (" + progress.status().wireName() + ")",
                s -> s.updateGuest(progress, owner), Checks.notNull("onFenced", onFenced), null));
    }

    /** {@link #drain} without writing yet: see {@link #queueGuest}. */
    public void queueDrain(DrainRecord record, Runnable onFenced) {
        Checks.notNull("record", record);
        queue(new Entry(record.drainId(), "state of the drain (" + record.status().wireName() + ")",
                s -> s.updateDrain(record), Checks.notNull("onFenced", onFenced), null));
    }

    /**
     * Records a change of a node's maintenance record made for drain {@code drainId} (these writes are not fenced:
     * each changes only its own columns).
     */
    public void maintenance(String drainId, String what, Consumer<MaintenanceStore> write) {
        Checks.notNull("drainId", drainId);
        Checks.notNull("write", write);
        append(new Entry(drainId, Checks.notNull("what", what), s -> {
            write.accept(s);
            return true;
        }, null, null));
    }

    /**
     * Runs {@code action} once every change of drain {@code drainId} handed over before this call is in the store; never
     * if one of them is refused by the ownership fence.
     */
    public void afterWritten(String drainId, Runnable action) {
        append(new Entry(Checks.notNull("drainId", drainId), null, null, null, Checks.notNull("action", action)));
    }

    /** The store has not taken a change yet: since when, why, how many wait. Empty while the journal is caught up. */
    public synchronized Optional<StoreOutage> outage() {
        if (outageSince == null) return Optional.empty();
        return Optional.of(new StoreOutage(outageSince, outageReason, pendingWrites()));
    }

    /**
     * Whether the store is behind: a change it could not take waits to be written again. What {@code outage().isPresent()}
     * says, without counting the queue (a run asks on every start of a move).
     */
    public synchronized boolean behind() {
        return outageSince != null;
    }

    /** Changes handed over and not in the store yet (zero while healthy and idle). */
    public synchronized int pending() {
        return pendingWrites();
    }

    /** Under the lock: the queue's changes, without the actions waiting among them. */
    private int pendingWrites() {
        assert Thread.holdsLock(this);
        return (int) queue.stream().filter(e -> e.action == null).count();
    }

    /** Runs {@code action} once the journal is caught up after an outage (at once, in this thread, if there is none). */
    public void whenCaughtUp(Runnable action) {
        Checks.notNull("action", action);
        synchronized (this) {
            if (outageSince != null) {
                caughtUp.add(action);
                return;
            }
        }
        action.run();
    }

    // ------------------------------------------------------------------ writing

    private void append(Entry e) {
        queue(e);
        flush();
    }

    private synchronized void queue(Entry e) {
        queue.addLast(e);
    }

    /**
     * Writes what is queued, in order, in this thread: at once while the store is healthy. During an outage the retry
     * writes it; while another thread writes, that thread writes it after its own.
     */
    public void flush() {
        synchronized (this) {
            if (writing || outageSince != null) return;
            writing = true;
        }
        writeQueued();
    }

    private void retry() {
        synchronized (this) {
            if (writing) return;
            writing = true;
        }
        writeQueued();
    }

    /** Writes the queue, oldest first, until it is empty or the store fails. Called with {@code writing} set. */
    private void writeQueued() {
        while (true) {
            Entry e;
            List<Runnable> resumed = List.of();
            synchronized (this) {
                e = queue.peekFirst();
                if (e == null) {
                    writing = false;
                    if (outageSince != null) {
                        Duration down = Duration.between(outageSince, scheduler.now());
                        log.info("The maintenance store takes writes again; the journal is caught up after {} s ({} failed attempts)",
                                down.toSeconds(), failedAttempts);
                        outageSince = null;
                        outageReason = null;
                        failedAttempts = 0;
                        nextDelay = initialDelay;
                        resumed = List.copyOf(caughtUp);
                        caughtUp.clear();
                    }
                }
            }
            if (e == null) {
                resumed.forEach(WriteBehindJournal::runSafely);
                return;
            }
            if (e.action != null) {
                synchronized (this) {
                    queue.pollFirst();
                }
                runSafely(e.action);
                continue;
            }
            boolean taken;
            try {
                taken = e.write.write(store);
            } catch (RuntimeException failure) {
                Duration delay = failed(e, failure);
                scheduler.schedule(delay, this::retry);
                return;
            }
            synchronized (this) {
                queue.pollFirst();
            }
            if (!taken) {
                dropDrain(e.drainId);
                runSafely(e.onFenced);
            }
        }
    }

    /** Keeps {@code e} at the head, records the outage; returns the wait before the next attempt. */
    private Duration failed(Entry e, RuntimeException failure) {
        String reason = failure.getMessage() == null ? failure.getClass().getSimpleName() : failure.getMessage();
        Duration delay;
        boolean first;
        int waiting;
        synchronized (this) {
            writing = false;
            first = outageSince == null;
            if (first) outageSince = scheduler.now();
            outageReason = reason;
            failedAttempts++;
            delay = nextDelay;
            Duration doubled = nextDelay.multipliedBy(2);
            nextDelay = doubled.compareTo(maxDelay) > 0 ? maxDelay : doubled;
            waiting = pendingWrites();
        }
        if (first) {
            log.error("The maintenance store did not take the {} of drain {}: {}. Kept with {} change(s) in order; writing again in {} ms "
                    + "and on until the store takes it", e.what, e.drainId, reason, waiting, delay.toMillis());
        } else {
            log.debug("The maintenance store still does not take writes ({} change(s) waiting): {}", waiting, reason);
        }
        return delay;
    }

    private void dropDrain(String drainId) {
        int dropped;
        synchronized (this) {
            int before = queue.size();
            queue.removeIf(x -> x.drainId.equals(drainId));
            dropped = before - queue.size();
        }
        log.warn("Drain {} is owned by another process now: its state changes are no longer written ({} queued ones dropped)",
                drainId, dropped);
    }

    private static void runSafely(Runnable r) {
        try {
            r.run();
        } catch (RuntimeException ex) {
            log.error("A callback of the drain journal failed", ex);
        }
    }

    @FunctionalInterface
    private interface Write {
        /** @return {@code false} when the ownership fence refused it */
        boolean write(MaintenanceStore store);
    }

    /** A change to write ({@code write}), or an action to run when reached ({@code action}). */
    private record Entry(String drainId, String what, Write write, Runnable onFenced, Runnable action) {
    }

    @Override
    public String toString() {
        Optional<StoreOutage> o = outage();
        return "WriteBehindJournal[" + o.map(x -> "behind since " + x.since() + ", " + x.pendingWrites() + " waiting").orElse("caught up") + "]";
    }
}
