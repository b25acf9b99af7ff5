package io.moxxie.core.execution;

import io.moxxie.core.spi.GuestProgress;

import io.moxxie.core.spi.DrainRecord;

import io.moxxie.core.model.GuestState;

import io.moxxie.core.model.Operation;

import io.moxxie.core.model.DrainState;

import io.moxxie.core.InvalidTargetException;
import io.moxxie.core.internal.Async;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.model.Node;
import io.moxxie.core.model.PowerState;
import io.moxxie.core.plan.DrainPlan;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.plan.PlanEntry;
import io.moxxie.core.plan.PlanningInput;
import io.moxxie.core.spi.HypervisorAuthenticationException;
import io.moxxie.core.spi.HypervisorException;
import io.moxxie.core.spi.MigrationCommand;
import io.moxxie.core.spi.TaskRef;
import io.moxxie.core.spi.TaskState;
import io.moxxie.core.time.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * One drain being carried out. Created by {@link DrainExecutor#start}; its state is readable at any time
 * through {@link #status()}.
 *
 * <p>How it works: pending guests wait in a queue in execution order; {@link #pump()} starts as many as
 * the concurrency limits allow, skipping over guests whose target is saturated; each guest's move is a chain
 * of asynchronous steps on the scheduler (resolve where it is, wait out a lock, check preconditions, shut
 * down for an offline move, migrate, follow the task, verify on the target, restore its power state); when
 * it ends, its slot is refilled at once. All mutable state is guarded by {@code this}; hypervisor, store and
 * listener calls happen outside the lock.
 */
public final class DrainRun {
    private static final Logger log = LoggerFactory.getLogger(DrainRun.class);
    private static final Duration LOCK_POLL = Duration.ofSeconds(10);

    private final DrainExecutor executor;
    private final ExecutorConfig config;
    private final Async async;
    private final Scheduler scheduler;
    private final Consumer<DrainStatus> onFinish;
    private final Map<Integer, MigrationPreconditions> preconditions;
    private final Instant preconditionsAt;

    private DrainRecord record;
    private final Map<Integer, GuestProgress> guests = new LinkedHashMap<>();
    private final TreeSet<GuestProgress> queue = new TreeSet<>(executionOrder());
    /** Guests with work under way: preparing, migrating, or being started after their move. */
    private final Set<Integer> inFlight = new HashSet<>();
    /** Guests holding a migration slot: only these count against the concurrency limits. */
    private final Set<Integer> slots = new HashSet<>();
    /** Guests being shut down ahead of their offline move, and those already shut down for it. */
    private final Set<Integer> preparing = new HashSet<>();
    private final Set<Integer> prepared = new HashSet<>();
    /** Guests whose move failed and that wait for the cluster read that picks their next target: the drain is not over. */
    private final Set<Integer> retrying = new HashSet<>();
    private final Map<String, Integer> perTarget = new HashMap<>();
    private final Map<Integer, Set<String>> triedTargets = new HashMap<>();
    private final Set<String> droppedTargets = new HashSet<>();
    private final Map<Integer, Integer> failedAttempts = new HashMap<>();
    private final MoveWatcher watcher;
    private boolean takeSmallNext;
    /** Migrations that may run at once, and into one target at once. */
    private final int concurrency;
    private final int perTargetLimit;
    /** Whether a start keeps the moves' ends apart (see {@link EndSpacing}): only when every slot is needed to fill the link. */
    private final boolean spaceEnds;
    private int doneCount;
    private int failedCount;
    private final Instant deadline;
    private Scheduler.Cancellable deadlineTask;
    private boolean cancelled;
    private boolean abandoned;
    private boolean finished;
    private boolean deadlinePassed;

    DrainRun(DrainExecutor executor, DrainRecord record, List<GuestProgress> initial,
             Map<Integer, MigrationPreconditions> preconditions, Instant preconditionsAt, Consumer<DrainStatus> onFinish) {
        this.executor = executor;
        this.config = executor.config();
        this.async = executor.async();
        this.scheduler = async.scheduler();
        this.record = record;
        this.onFinish = onFinish;
        this.preconditions = new HashMap<>(preconditions);
        this.preconditionsAt = preconditionsAt;
        this.deadline = record.startedAt().plus(config.drainTimeout());
        // The per-target limit spreads streams over targets; an undrain or a drain to one named target has only one.
        boolean singleTarget = record.operation() == Operation.UNDRAIN || record.request().targetNode().isPresent();
        this.concurrency = record.request().effectiveConcurrency(config.autoConcurrency());
        this.perTargetLimit = singleTarget ? Integer.MAX_VALUE : config.perTargetLimit(concurrency);
        int streamsFillingLink = config.streamsFillingLink();
        this.spaceEnds = concurrency >= 2 && concurrency <= streamsFillingLink;
        // When every slot counts, the watcher notices ends promptly; it starts from the speed the executor's last such
        // drain learned (the links are the same cluster's).
        this.watcher = new MoveWatcher(async, executor.client(), config, this::abandoned, concurrency <= streamsFillingLink,
                executor.learnedSpeed(), executor::learnedSpeed);
        for (GuestProgress g : initial) {
            // A guest in progress when the previous owner died is moved again only if it is still on its source:
            // resolving where it is comes first in every move.
            GuestProgress p = g.status() == GuestState.IN_PROGRESS ? g.pendingAgain(g.targetNode(), g.migrationType()) : g;
            put(p);
            if (p.status() == GuestState.PENDING) queue.add(p);
        }
    }

    /** {@code always-on} first, then larger memory first, then vmid. */
    static Comparator<GuestProgress> executionOrder() {
        return Comparator.comparing((GuestProgress g) -> !g.alwaysOn())
                .thenComparing(Comparator.comparingLong(GuestProgress::memory).reversed())
                .thenComparingInt(GuestProgress::vmid);
    }

    void seedView(ClusterSnapshot view, Instant readAt) {
        watcher.seed(view, readAt);
    }

    void begin() {
        DrainStatus started = status();
        withDrainMdc(() -> log.info("{} ({} guests: {} to move, {} skipped, {} failed at planning)", record.message(),
                started.totalVMs(), queue.size(), started.skippedVMs(), started.failedVMs()));
        notifyListeners(l -> l.drainStarted(started));
        Duration left = Duration.between(scheduler.now(), deadline);
        deadlineTask = scheduler.schedule(left, this::onDrainDeadline);
        pump();
    }

    public String drainId() {
        return record.drainId();
    }

    public String node() {
        return record.node();
    }

    /** The drain as it stands now, consistent (taken under the run's lock). */
    public synchronized DrainStatus status() {
        return DrainStatus.of(record, List.copyOf(guests.values()));
    }

    public synchronized boolean isFinished() {
        return finished;
    }

    /** Stops starting new moves at once; moves in flight finish. The drain then ends {@code cancelled}. */
    public void cancel() {
        List<GuestProgress> notStarted = new ArrayList<>();
        List<GuestProgress> down;
        synchronized (this) {
            if (finished || abandoned || cancelled) return;
            cancelled = true;
            for (GuestProgress g : queue) {
                GuestProgress noted = guests.get(g.vmid()).withNote("not started: drain cancelled");
                put(noted);
                notStarted.add(noted);
            }
            down = takePrepared();
            queue.clear();
        }
        // Written, so that the drain read back from the store says why these guests did not move.
        for (GuestProgress g : notStarted) save(g);
        for (GuestProgress g : down) startAgain(g);
        withDrainMdc(() -> log.info("Drain {} of node {} cancelled; {} migrations in flight will finish", drainId(), node(), inFlightCount()));
        maybeFinish();
    }

    /**
     * Stops all work on this drain without writing anything more: used when this process lost the drain's
     * lease to another, or is shutting down. The store keeps the drain as it was, for {@code recover()}.
     */
    public void abandon() {
        synchronized (this) {
            abandoned = true;
        }
        watcher.stop();
        if (deadlineTask != null) deadlineTask.cancel();
    }

    synchronized boolean abandoned() {
        return abandoned;
    }

    private synchronized boolean migrating() {
        return !slots.isEmpty();
    }

    private synchronized boolean slotFree() {
        return slots.size() < concurrency;
    }

    private synchronized int inFlightCount() {
        return inFlight.size();
    }

    // ------------------------------------------------------------------ scheduling

    /**
     * Starts what the limits allow, skipping guests whose target is saturated. A slot is held only while a guest
     * migrates: a guest that must be shut down for an offline move is shut down ahead, while it is among the next
     * {@code maxConcurrent} in line, and takes a slot once it is down.
     *
     * <p>Order: {@code always-on} guests first, largest first. After them, slots are filled alternately with the
     * largest and the smallest guest left: the source's link is shared, and a large transfer keeps it busy while
     * small moves spend their fixed overhead (setup, switch-over) — largest-first alone ends with a tail of small
     * moves that leave the link idle (measured in BENCHMARKS.md). When every slot is needed to fill the link, a guest
     * whose move would end together with a move in flight gives its turn to a smaller one that would not (see
     * {@link EndSpacing}).
     */
    private void pump() {
        List<GuestProgress> toStart = new ArrayList<>();
        List<GuestProgress> toPrepare = new ArrayList<>();
        synchronized (this) {
            if (finished || abandoned) return;
            if (!cancelled) fill(toStart, toPrepare);
        }
        for (GuestProgress g : toPrepare) {
            save(g);
            notifyListeners(l -> l.guestStarted(drainId(), g));
            scheduler.execute(() -> prepareAhead(g));
        }
        for (GuestProgress g : toStart) {
            if (!prepared.contains(g.vmid())) {
                save(g);
                notifyListeners(l -> l.guestStarted(drainId(), g));
            }
            scheduler.execute(() -> runGuest(g));
        }
        maybeFinish();
    }

    /**
     * Under the lock: picks the guests to start now and those to shut down ahead. Guests already down for their
     * offline move start first (each second they wait is downtime). Then it walks the queue in start order (see
     * {@link StartOrder}); the guests that would take the free slots and the two after them are "next in line", and
     * those of them that need a shutdown get it now if a lane of their target is left for them. A lane is claimed by a
     * move under way or by a guest down (or going down) for its move: a guest is not shut down to wait for another
     * move into its target to end, and a running guest does not take the lane a stopped one is waiting for. A guest
     * starts when a slot is free, its target has a lane for it and, if it needed a shutdown, it is down.
     */
    private void fill(List<GuestProgress> toStart, List<GuestProgress> toPrepare) {
        int freeSlots = concurrency - slots.size();
        // Next in line: the guests that would take the free slots, and the next two (a shutdown takes a while).
        int nextInLine = freeSlots + 2;
        Map<String, Integer> targets = new HashMap<>(perTarget);
        Map<String, Integer> claimed = new HashMap<>(perTarget);
        List<GuestProgress> down = new ArrayList<>();
        for (Set<Integer> set : List.of(preparing, prepared)) {
            for (int vmid : set) {
                GuestProgress g = guests.get(vmid);
                if (!queue.contains(g)) continue;
                claimed.merge(g.targetNode(), 1, Integer::sum);
                if (set == prepared) down.add(g);
            }
        }
        List<GuestProgress> starting = new ArrayList<>();
        down.sort(executionOrder());
        for (GuestProgress g : down) {
            if (freeSlots == 0 || targets.getOrDefault(g.targetNode(), 0) >= perTargetLimit) continue;
            freeSlots--;
            targets.merge(g.targetNode(), 1, Integer::sum);
            starting.add(g);
        }
        StartOrder order = new StartOrder(takeSmallNext);
        EndSpacing spacing = spaceEnds && watcher.endsFollowMemory() ? new EndSpacing(starting) : null;
        for (int position = 1; order.hasNext() && (freeSlots > 0 || position <= nextInLine); position++) {
            GuestProgress g = guests.get(order.next().vmid());
            if (preparing.contains(g.vmid()) || prepared.contains(g.vmid()) || starting.contains(g)) continue;
            boolean laneLeft = claimed.getOrDefault(g.targetNode(), 0) < perTargetLimit;
            if (needsShutdown(g)) {
                // Down only when its move can follow soon: among the next in line, and a lane of its target left for it.
                if (position > nextInLine || !laneLeft) continue;
                claimed.merge(g.targetNode(), 1, Integer::sum);
                GuestProgress started = g.started(g.targetNode(), g.migrationType(), g.attempts() + 1, scheduler.now());
                put(started);
                preparing.add(g.vmid());
                inFlight.add(g.vmid());
                toPrepare.add(started);
                continue;
            }
            if (freeSlots == 0 || targets.getOrDefault(g.targetNode(), 0) >= perTargetLimit) continue;
            GuestProgress chosen = spacing == null ? g : spacing.choose(g, x -> !needsShutdown(x)
                    && !starting.contains(x) && !preparing.contains(x.vmid()) && !prepared.contains(x.vmid())
                    && targets.getOrDefault(x.targetNode(), 0) < perTargetLimit);
            freeSlots--;
            targets.merge(chosen.targetNode(), 1, Integer::sum);
            claimed.merge(chosen.targetNode(), 1, Integer::sum);
            starting.add(chosen);
            if (spacing != null) spacing.add(chosen);
            if (!g.alwaysOn()) takeSmallNext = !order.lastFromSmallEnd();
        }
        for (GuestProgress g : starting) {
            queue.remove(g);
            inFlight.add(g.vmid());
            slots.add(g.vmid());
            perTarget.merge(g.targetNode(), 1, Integer::sum);
            GuestProgress started = prepared.contains(g.vmid()) ? g
                    : g.started(g.targetNode(), g.migrationType(), g.attempts() + 1, scheduler.now());
            put(started);
            toStart.add(started);
        }
    }

    /**
     * The queue in start order without copying it: {@code always-on} guests from the large end, then the other guests
     * from the large and the small end in turn, two iterators meeting in the middle.
     */
    private final class StartOrder {
        private final java.util.Iterator<GuestProgress> up = queue.iterator();
        private final java.util.Iterator<GuestProgress> down = queue.descendingIterator();
        private final int total = queue.size();
        private GuestProgress upNext = up.hasNext() ? up.next() : null;
        private GuestProgress downNext = down.hasNext() ? down.next() : null;
        private int taken;
        private boolean small;
        private boolean lastFromSmall;

        StartOrder(boolean smallFirst) {
            this.small = smallFirst;
        }

        boolean hasNext() {
            return taken < total;
        }

        GuestProgress next() {
            GuestProgress g;
            lastFromSmall = small && !upNext.alwaysOn();
            if (lastFromSmall) {
                g = downNext;
                downNext = down.hasNext() ? down.next() : null;
            } else {
                g = upNext;
                upNext = up.hasNext() ? up.next() : null;
            }
            taken++;
            if (!g.alwaysOn()) small = !small;
            return g;
        }

        boolean lastFromSmallEnd() {
            return lastFromSmall;
        }
    }

    /**
     * Keeps the moves' ends apart. Each move begins with a fixed overhead (setup) during which its slot copies nothing,
     * and a move starts when another ends: moves that end close together make their successors' overheads overlap.
     * When the drain has no more slots than the streams that fill the source's link (maxConcurrent 3 with the
     * defaults), two slots in their overhead at once leave the link half idle.
     *
     * <p>So the guest in line starts only if its move is predicted to end at least the overhead and a quarter apart
     * from every move holding a slot (the watcher's picture run forward: {@link MoveWatcher#projectedEnds}). If not,
     * the smallest guest whose move would end apart starts in its place — the guest in line keeps its turn for the
     * next slot — or, if none would, the guest whose move would end farthest from the others. {@code always-on} guests
     * stay first: among them, the largest that would end apart. Small moves are predicted well and fit between the
     * ends of the long ones; without this, moves of similar sizes started together end together, again and again.
     *
     * <p>Used once moves of the drain have ended and taken time by their memory: before, the picture is a guess; where
     * every move takes about as long whatever its size, choosing by size changes nothing.
     */
    private final class EndSpacing {
        /** Sizes looked at past the guest in line, at most: guests of one size end together. */
        private static final int MAX_SIZES = 32;
        /** How far apart ends must be: the overhead and a quarter (an end is noticed a moment after it, and the picture is rough). */
        private final Duration apart = config.expectedMigrationOverhead().multipliedBy(5).dividedBy(4);
        /** Memory of the moves holding a slot that the watcher does not follow yet, and of those starting now. */
        private final List<Long> notWatched = new ArrayList<>();

        EndSpacing(List<GuestProgress> starting) {
            Set<Integer> watched = watcher.watching();
            for (int vmid : slots) {
                if (!watched.contains(vmid)) notWatched.add(guests.get(vmid).memory());
            }
            for (GuestProgress g : starting) notWatched.add(g.memory());
        }

        /** {@code inLine}, or the guest that should go before it (see above); {@code eligible}: guests that may start now. */
        GuestProgress choose(GuestProgress inLine, java.util.function.Predicate<GuestProgress> eligible) {
            Duration bestGap = gap(inLine);
            if (bestGap.compareTo(apart) >= 0) return inLine;
            GuestProgress best = inLine;
            // always-on guests come first in the queue, largest first: walked from their large end; the others from the small end.
            java.util.Iterator<GuestProgress> it = inLine.alwaysOn() ? queue.iterator() : queue.descendingIterator();
            long lastMemory = inLine.memory();
            for (int sizes = 0; it.hasNext() && sizes < MAX_SIZES; ) {
                GuestProgress x = it.next();
                if (x.alwaysOn() != inLine.alwaysOn()) break;
                if (x == inLine || !eligible.test(x) || x.memory() == lastMemory) continue;
                lastMemory = x.memory();
                sizes++;
                Duration gap = gap(x);
                if (gap.compareTo(apart) >= 0) return x;
                if (gap.compareTo(bestGap) > 0) {
                    best = x;
                    bestGap = gap;
                }
            }
            return best;
        }

        /** How far from the nearest predicted end of a move holding a slot {@code g}'s move would end if started now. */
        private Duration gap(GuestProgress g) {
            long[] memory = new long[notWatched.size() + 1];
            memory[0] = g.memory();
            for (int i = 0; i < notWatched.size(); i++) memory[i + 1] = notWatched.get(i);
            List<Instant> ends = watcher.projectedEnds(memory);
            Duration nearest = Duration.ofDays(1);
            for (int i = 1; i < ends.size(); i++) {
                Duration d = Duration.between(ends.get(i), ends.get(0)).abs();
                if (d.compareTo(nearest) < 0) nearest = d;
            }
            return nearest;
        }

        void add(GuestProgress started) {
            notWatched.add(started.memory());
        }
    }

    private static boolean needsShutdown(GuestProgress g) {
        return g.migrationType() == MigrationType.OFFLINE && g.wasRunning();
    }

    /** Shuts a guest down for its offline move before it takes a slot; the shutdown uses no migration bandwidth. */
    private void prepareAhead(GuestProgress p) {
        Instant now = scheduler.now();
        Limit limit = new Limit(min(now.plus(config.lockWaitTimeout()).plus(config.shutdownTimeout()).plus(config.powerTimeout()), deadline),
                "shutdown time limit of " + human(config.shutdownTimeout()) + " (shutdownTimeout)");
        resolve(p, limit, now.plus(config.lockWaitTimeout()))
                .thenCompose(g -> g.node().equals(p.targetNode()) || !g.running() ? CompletableFuture.completedFuture(g) : shutDown(p, g, limit, true))
                .whenComplete((g, error) -> {
                    boolean stopRequested;
                    synchronized (this) {
                        preparing.remove(p.vmid());
                        stopRequested = cancelled || deadlinePassed;
                        if (error == null && !stopRequested) prepared.add(p.vmid());
                    }
                    if (abandoned()) return;
                    if (error != null) {
                        onGuestDone(p, null, error);
                    } else if (stopRequested) {
                        restoreAfterStop(p, g);
                    } else {
                        synchronized (this) {
                            inFlight.remove(p.vmid());
                        }
                        pump();
                    }
                });
    }

    /** A guest shut down for a move that will not happen now (cancel, drain time limit): started again where it is. */
    private void restoreAfterStop(GuestProgress p, Guest g) {
        CompletableFuture<Guest> restored = g.running() || !p.wasRunning() ? CompletableFuture.completedFuture(g)
                : async.call(() -> executor.client().start(g)).thenCompose(task -> awaitTask(task,
                        new Limit(scheduler.now().plus(config.powerTimeout()), "start timeout"))).thenApply(x -> g);
        restored.whenComplete((x, error) -> {
            GuestProgress updated;
            synchronized (this) {
                inFlight.remove(p.vmid());
                GuestProgress cur = guests.get(p.vmid());
                String note = error == null ? "shut down for its move, started again on " + g.node() + " (drain stopped before it moved)"
                        : "shut down for its move; could not be started again on " + g.node() + ": " + Async.unwrap(error).getMessage();
                updated = cur.status() == GuestState.IN_PROGRESS ? cur.withStatus(GuestState.PENDING).withNote(note) : cur.withNote(note);
                put(updated);
            }
            save(updated);
            maybeFinish();
        });
    }

    /**
     * Under the lock, when the drain stops starting moves: the guests in the queue already shut down for their offline
     * move, taken back in flight until they run again (see {@link #startAgain}).
     */
    private List<GuestProgress> takePrepared() {
        List<GuestProgress> down = new ArrayList<>();
        for (GuestProgress g : queue) {
            if (prepared.remove(g.vmid())) {
                inFlight.add(g.vmid());
                down.add(g);
            }
        }
        return down;
    }

    /** A guest shut down for a move that will not happen now, waiting for a slot: started again where it is. */
    private void startAgain(GuestProgress p) {
        watcher.view(config.clusterViewMaxAge()).whenComplete((view, error) -> {
            Optional<Guest> g = error == null ? view.guest(p.vmid()) : Optional.empty();
            if (g.isPresent()) {
                restoreAfterStop(p, g.get());
                return;
            }
            synchronized (this) {
                inFlight.remove(p.vmid());
            }
            maybeFinish();
        });
    }

    private void maybeFinish() {
        DrainStatus finalStatus;
        synchronized (this) {
            if (finished || abandoned || !queue.isEmpty() || !inFlight.isEmpty() || !retrying.isEmpty()) return;
            finished = true;
            boolean anyFailed = guests.values().stream().anyMatch(g -> g.status() == GuestState.FAILED);
            DrainState state = cancelled ? DrainState.CANCELLED : anyFailed ? DrainState.FAILED : DrainState.COMPLETED;
            record = record.withStatus(state, finalMessage(state), scheduler.now());
            finalStatus = DrainStatus.of(record, List.copyOf(guests.values()));
        }
        if (deadlineTask != null) deadlineTask.cancel();
        writeDrain();
        withDrainMdc(() -> {
            if (finalStatus.status() == DrainState.COMPLETED) log.info(finalStatus.message());
            else log.warn(finalStatus.message());
        });
        notifyListeners(l -> l.drainFinished(finalStatus));
        if (onFinish != null) onFinish.accept(finalStatus);
    }

    private String finalMessage(DrainState state) {
        String op = record.operation() == Operation.DRAIN ? "Drain" : "Undrain";
        long moved = guests.values().stream().filter(g -> g.status() == GuestState.COMPLETED).count();
        long skipped = guests.values().stream().filter(g -> g.status() == GuestState.SKIPPED).count();
        List<GuestProgress> failed = guests.values().stream().filter(g -> g.status() == GuestState.FAILED).toList();
        String counts = moved + " migrated, " + skipped + " skipped, " + failed.size() + " failed";
        return switch (state) {
            case COMPLETED -> op + " of " + node() + " completed: " + counts;
            case CANCELLED -> op + " of " + node() + " cancelled: " + counts + ", "
                    + guests.values().stream().filter(g -> g.status() == GuestState.PENDING).count() + " not started";
            default -> op + " of " + node() + " failed: " + counts + " (" + failed.stream()
                    .map(g -> g.vmid() + ": " + g.error()).reduce((a, b) -> a + "; " + b).orElse("") + ")";
        };
    }

    private void onDrainDeadline() {
        List<GuestProgress> failedNow = new ArrayList<>();
        List<GuestProgress> down;
        synchronized (this) {
            if (finished || abandoned) return;
            deadlinePassed = true;
            String msg = "drain time limit of " + human(config.drainTimeout()) + " (drainTimeout) reached before this guest was started";
            for (GuestProgress g : queue) {
                GuestProgress f = g.failed(msg, scheduler.now());
                put(f);
                failedNow.add(f);
            }
            down = takePrepared();
            queue.clear();
        }
        for (GuestProgress f : failedNow) {
            save(f);
            notifyListeners(l -> l.guestFailed(drainId(), f));
        }
        for (GuestProgress g : down) startAgain(g);
        maybeFinish();
    }

    // ------------------------------------------------------------------ one guest

    private void runGuest(GuestProgress p) {
        Instant migrationDeadline = scheduler.now().plus(config.migrationTimeout());
        Limit limit = migrationDeadline.isBefore(deadline)
                ? new Limit(migrationDeadline, "migration time limit of " + human(config.migrationTimeout()) + " (migrationTimeout)")
                : new Limit(deadline, "drain time limit of " + human(config.drainTimeout()) + " (drainTimeout)");
        withGuestMdc(p.vmid(), () -> log.info("Migrating VM {} ({}) from {} to {} ({}, attempt {})", p.vmid(), p.name(),
                p.sourceNode(), p.targetNode(), p.migrationType().wireName(), p.attempts()));
        resolve(p, limit, scheduler.now().plus(config.lockWaitTimeout()))
                .thenCompose(guest -> guest.node().equals(p.targetNode())
                        ? CompletableFuture.completedFuture(guest)
                        : prepare(p, guest, limit).thenCompose(g -> move(p, g, limit)))
                .thenApply(guest -> {
                    // The migration is over: its slot goes to the next guest while this one is verified and started.
                    releaseSlot(p.vmid());
                    pump();
                    return guest;
                })
                .thenCompose(guest -> ensurePower(p, guest, limit))
                .whenComplete((guest, error) -> onGuestDone(p, guest, error));
    }

    /**
     * Reads where the guest is and whether its target still takes guests (one cluster read gives both); waits
     * out a config lock (a backup, or a migration a dead owner started).
     */
    private CompletableFuture<Guest> resolve(GuestProgress p, Limit limit, Instant lockDeadline) {
        checkAbandoned();
        return watcher.view(config.clusterViewMaxAge()).thenCompose(snapshot -> {
            Guest g = snapshot.guest(p.vmid()).orElseThrow(() -> new GuestFailure("VM " + p.vmid() + " no longer exists", GuestFailure.Kind.FINAL));
            if (g.node().equals(p.targetNode()) && g.lock() == null) return CompletableFuture.completedFuture(g);
            if (!g.node().equals(p.sourceNode()) && !g.node().equals(p.targetNode())) {
                throw new GuestFailure("VM " + p.vmid() + " is now on " + g.node() + ", not on " + p.sourceNode()
                        + " (moved by someone else during the drain?)", GuestFailure.Kind.FINAL);
            }
            if (!targetAvailable(snapshot, p.targetNode())) {
                throw new GuestFailure("target node " + p.targetNode() + " is offline or gone", GuestFailure.Kind.TARGET_UNAVAILABLE);
            }
            if (g.lock() == null) return CompletableFuture.completedFuture(g);
            Instant now = scheduler.now();
            Instant until = lockDeadline.isBefore(limit.at) ? lockDeadline : limit.at;
            if (!now.isBefore(until)) {
                throw new GuestFailure("VM " + p.vmid() + " is locked (" + g.lock() + ") for longer than "
                        + (lockDeadline.isBefore(limit.at) ? "the lock wait limit of " + human(config.lockWaitTimeout()) + " (lockWaitTimeout)" : "the " + limit.name), GuestFailure.Kind.FINAL);
            }
            withGuestMdc(p.vmid(), () -> log.info("VM {} is locked ({}), waiting", p.vmid(), g.lock()));
            return async.delay(min(LOCK_POLL, Duration.between(now, until))).thenCompose(x -> resolve(p, limit, lockDeadline));
        });
    }

    private static boolean targetAvailable(ClusterSnapshot snapshot, String target) {
        return snapshot.node(target).map(Node::online).orElse(false);
    }

    /** Checks preconditions, and for an offline move of a running guest shuts it down first. */
    private CompletableFuture<Guest> prepare(GuestProgress p, Guest guest, Limit limit) {
        CompletableFuture<MigrationPreconditions> pre;
        MigrationPreconditions cached = preconditions.get(p.vmid());
        boolean fresh = cached != null && preconditionsAt != null
                && Duration.between(preconditionsAt, scheduler.now()).compareTo(config.preconditionMaxAge()) <= 0;
        pre = fresh ? CompletableFuture.completedFuture(cached) : async.call(() -> executor.client().preconditions(guest))
                .thenApply(fetched -> {
                    synchronized (this) {
                        preconditions.put(p.vmid(), fetched);
                    }
                    return fetched;
                });
        return pre.thenCompose(pc -> {
            if (!pc.allows(p.targetNode())) {
                throw new GuestFailure("not allowed on " + p.targetNode() + ": " + pc.notAllowed().get(p.targetNode()), GuestFailure.Kind.RETRY_ELSEWHERE);
            }
            if (!pc.canMove()) throw new GuestFailure("cannot migrate: uses local resources " + String.join(", ", pc.blockers()), GuestFailure.Kind.FINAL);
            if (p.migrationType() == MigrationType.ONLINE && guest.running() && !pc.canMoveLive()) {
                throw new GuestFailure("cannot live-migrate: uses " + String.join(", ", pc.liveBlockers()), GuestFailure.Kind.FINAL);
            }
            if (p.migrationType() == MigrationType.OFFLINE && guest.running()) return shutDown(p, guest, limit, false);
            return CompletableFuture.completedFuture(guest);
        });
    }

    /**
     * Shuts the guest down and waits until it is down. {@code ahead}: shut down ahead of its turn; while moves are in
     * flight it is looked at with their rounds (see {@link #awaitStopWithRounds}).
     */
    private CompletableFuture<Guest> shutDown(GuestProgress p, Guest guest, Limit limit, boolean ahead) {
        withGuestMdc(p.vmid(), () -> log.info("Shutting down VM {} ({}) for its offline migration (timeout {})", p.vmid(), p.name(),
                human(config.shutdownTimeout())));
        // The shutdown's own task is not followed: whether the guest is down is what counts, and the cluster view
        // (shared with the moves in flight) shows it; a guest still up after the timeout is stopped.
        Instant shutdownDeadline = min(scheduler.now().plus(config.shutdownTimeout()).plus(config.powerTimeout()), limit.at);
        return async.call(() -> executor.client().shutdown(guest, config.shutdownTimeout()))
                .thenCompose(task -> ahead && migrating() ? awaitStopWithRounds(p.vmid(), shutdownDeadline)
                        : awaitPower(p.vmid(), PowerState.STOPPED, shutdownDeadline))
                .thenCompose(g -> {
                    if (!g.running()) return CompletableFuture.completedFuture(g);
                    withGuestMdc(p.vmid(), () -> log.warn("VM {} did not shut down within {}, stopping it", p.vmid(), human(config.shutdownTimeout())));
                    return async.call(() -> executor.client().stop(g))
                            .thenCompose(task -> awaitTask(task, limit))
                            .thenCompose(s -> awaitPower(p.vmid(), PowerState.STOPPED, min(scheduler.now().plus(config.powerTimeout()), limit.at)))
                            .thenApply(stopped -> {
                                if (stopped.running()) throw new GuestFailure("VM " + p.vmid() + " could not be stopped for its offline migration", GuestFailure.Kind.FINAL);
                                return stopped;
                            });
                });
    }

    private CompletableFuture<Guest> move(GuestProgress p, Guest guest, Limit limit) {
        checkAbandoned();
        MigrationPreconditions pc = preconditions.getOrDefault(p.vmid(), MigrationPreconditions.unrestricted(p.vmid()));
        MigrationType type = guest.running() ? p.migrationType() : MigrationType.OFFLINE;
        MigrationCommand cmd = new MigrationCommand(guest, p.targetNode(), type, pc.localDisks(), config.shutdownTimeout());
        return async.call(() -> executor.client().migrate(cmd))
                .exceptionally(e -> {
                    Throwable cause = Async.unwrap(e);
                    if (cause instanceof HypervisorException && !(cause instanceof HypervisorAuthenticationException)) {
                        throw new GuestFailure(cause.getMessage(), GuestFailure.Kind.RETRY_ELSEWHERE);
                    }
                    throw new java.util.concurrent.CompletionException(cause);
                })
                .thenCompose(task -> {
                    recordTask(p.vmid(), task);
                    return watcher.watch(p, task, limit.at, limit.name);
                });
    }

    /** After the move: the guest ends in the power state it had; an always-on guest must run. */
    private CompletableFuture<Guest> ensurePower(GuestProgress p, Guest guest, Limit limit) {
        boolean mustRun = (p.wasRunning() || p.alwaysOn()) && !guest.template();
        if (!mustRun || guest.running()) return CompletableFuture.completedFuture(guest);
        boolean unexpected = p.alwaysOn() && p.migrationType() != MigrationType.OFFLINE;
        withGuestMdc(p.vmid(), () -> {
            if (p.alwaysOn()) log.warn("Always-on VM {} ({}) is stopped after migration, starting it", p.vmid(), p.name());
            else log.info("VM {} ({}) was running before its {} migration, starting it on {}", p.vmid(), p.name(),
                    p.migrationType().wireName(), guest.node());
        });
        Instant powerDeadline = min(scheduler.now().plus(config.powerTimeout()), limit.at);
        // Running in the cluster view (shared with the moves in flight) is what counts; the start task is read only
        // when the guest is not running at the first look, for its error message.
        return async.call(() -> executor.client().start(guest))
                .thenCompose(task -> awaitPower(p.vmid(), PowerState.RUNNING, scheduler.now().plus(config.pollInitialDelay()))
                        .thenCompose(g -> g.running() ? CompletableFuture.completedFuture(g)
                                : awaitTask(task, new Limit(powerDeadline, "start timeout of " + human(config.powerTimeout())))
                                .thenCompose(state -> {
                                    if (!state.successful()) throw new GuestFailure(startFailure(p, guest, state.message()), GuestFailure.Kind.FINAL);
                                    return awaitPower(p.vmid(), PowerState.RUNNING, powerDeadline);
                                })))
                .thenApply(g -> {
                    if (!g.running()) throw new GuestFailure(startFailure(p, guest, "still " + g.status().wireName() + " after "
                            + human(config.powerTimeout())), GuestFailure.Kind.FINAL);
                    withGuestMdc(p.vmid(), () -> log.info(p.alwaysOn() ? "Successfully started always-on VM {}" : "Successfully started VM {}", p.vmid()));
                    GuestProgress noted;
                    synchronized (this) {
                        noted = guests.get(p.vmid()).withNote(unexpected ? "found stopped after migration; started again"
                                : noteOr(guests.get(p.vmid()).note(), "started again on " + g.node()));
                        put(noted);
                    }
                    if (unexpected) notifyListeners(l -> l.guestRestarted(drainId(), noted));
                    return g;
                });
    }

    private static String noteOr(String note, String fallback) {
        return note == null ? fallback : note;
    }

    private static String startFailure(GuestProgress p, Guest g, String why) {
        return (p.alwaysOn() ? "always-on " : "") + "VM " + p.vmid() + " is stopped on " + g.node()
                + " after migration and could not be started: " + why;
    }

    private CompletableFuture<TaskState> awaitTask(TaskRef task, Limit limit) {
        return pollTask(task, limit, config.pollInitialDelay());
    }

    /** Waits, reads the task, and goes on until it has stopped; the limit is judged after a last read, never before. */
    private CompletableFuture<TaskState> pollTask(TaskRef task, Limit limit, Duration wait) {
        Duration untilLimit = Duration.between(scheduler.now(), limit.at);
        return async.delay(min(wait, untilLimit))
                .thenCompose(x -> {
                    checkAbandoned();
                    return async.call(() -> executor.client().task(task));
                })
                .thenCompose(state -> {
                    if (state.finished()) return CompletableFuture.completedFuture(state);
                    if (!scheduler.now().isBefore(limit.at)) {
                        throw new GuestFailure("exceeded the " + limit.name + "; task " + task.id() + " may still be running on "
                                + task.node(), GuestFailure.Kind.FINAL);
                    }
                    return pollTask(task, limit, min(wait.multipliedBy(2), config.pollMaxDelay()));
                });
    }

    /** Waits until the guest is in {@code wanted} power state or {@code until}, reading the shared cluster view with backoff. */
    private CompletableFuture<Guest> awaitPower(int vmid, PowerState wanted, Instant until) {
        return awaitPower(vmid, wanted, until, config.pollInitialDelay());
    }

    private CompletableFuture<Guest> awaitPower(int vmid, PowerState wanted, Instant until, Duration wait) {
        return async.delay(min(wait, Duration.between(scheduler.now(), until)))
                .thenCompose(x -> watcher.view(Duration.ofSeconds(1)))
                .thenCompose(view -> {
                    Guest g = guestIn(view, vmid);
                    if (inPowerState(g, wanted) || !scheduler.now().isBefore(until)) return CompletableFuture.completedFuture(g);
                    return awaitPower(vmid, wanted, until, min(wait.multipliedBy(2), config.pollMaxDelay()));
                });
    }

    private static Guest guestIn(ClusterSnapshot view, int vmid) {
        return view.guest(vmid).orElseThrow(() -> new GuestFailure("VM " + vmid + " no longer exists", GuestFailure.Kind.FINAL));
    }

    private static boolean inPowerState(Guest g, PowerState wanted) {
        return wanted == PowerState.RUNNING ? g.running() : g.status() == PowerState.STOPPED;
    }

    /**
     * Waits for a guest shut down ahead of its turn: it is looked at with the rounds of the moves in flight (its
     * slot can only free at one), and at the latest after pollMaxDelay — or pollInitialDelay while a slot is free.
     */
    private CompletableFuture<Guest> awaitStopWithRounds(int vmid, Instant until) {
        Duration wait = slotFree() ? config.pollInitialDelay() : config.pollMaxDelay();
        return watcher.nextView(min(wait, Duration.between(scheduler.now(), until)))
                .thenCompose(view -> {
                    Guest g = guestIn(view, vmid);
                    if (inPowerState(g, PowerState.STOPPED) || !scheduler.now().isBefore(until)) return CompletableFuture.completedFuture(g);
                    return awaitStopWithRounds(vmid, until);
                });
    }

    private void recordTask(int vmid, TaskRef task) {
        GuestProgress updated;
        synchronized (this) {
            updated = guests.get(vmid).withTask(task.id());
            put(updated);
        }
        save(updated);
    }

    // ------------------------------------------------------------------ outcomes

    private void onGuestDone(GuestProgress started, Guest guest, Throwable error) {
        int vmid = started.vmid();
        Throwable cause = error == null ? null : Async.unwrap(error);
        if (cause instanceof Abandoned || abandoned()) return;
        if (cause == null) {
            GuestProgress done;
            String progress;
            synchronized (this) {
                release(started);
                done = guests.get(vmid).completed(guest.node(), scheduler.now());
                put(done);
                progress = progressMessage();
                record = record.withMessage(progress);
            }
            save(done);
            writeDrain();
            withGuestMdc(vmid, () -> log.info("Migrated VM {} ({}) to {}. {}", vmid, done.name(), done.targetNode(), progress));
            notifyListeners(l -> l.guestCompleted(drainId(), done));
            pump();
            return;
        }
        String message = cause instanceof GuestFailure || cause instanceof HypervisorException
                ? cause.getMessage() : cause.getClass().getSimpleName() + ": " + cause.getMessage();
        GuestFailure.Kind kind = cause instanceof GuestFailure gf ? gf.kind : GuestFailure.Kind.FINAL;
        if (!(cause instanceof GuestFailure) && !(cause instanceof HypervisorException)) {
            withGuestMdc(vmid, () -> log.error("Unexpected error migrating VM {}", vmid, cause));
        }
        boolean retry;
        synchronized (this) {
            release(started);
            triedTargets.computeIfAbsent(vmid, k -> new HashSet<>()).add(started.targetNode());
            int failures = kind == GuestFailure.Kind.RETRY_ELSEWHERE ? failedAttempts.merge(vmid, 1, Integer::sum) : 0;
            retry = kind != GuestFailure.Kind.FINAL && !cancelled && !deadlinePassed && failures <= config.retriesOnNewTarget();
            if (retry) retrying.add(vmid);
        }
        if (retry) {
            withGuestMdc(vmid, () -> log.warn("Failed to migrate VM {} ({}) to {}: {}; retrying on another target", vmid,
                    started.name(), started.targetNode(), message));
            retryElsewhere(started, message);
        } else {
            fail(started, message);
        }
    }

    private void release(GuestProgress started) {
        inFlight.remove(started.vmid());
        prepared.remove(started.vmid());
        releaseSlot(started.vmid());
    }

    private synchronized void releaseSlot(int vmid) {
        if (slots.remove(vmid)) perTarget.merge(guests.get(vmid).targetNode(), -1, Integer::sum);
    }

    private void fail(GuestProgress started, String message) {
        GuestProgress failed;
        String progress;
        synchronized (this) {
            failed = guests.get(started.vmid()).failed(message, scheduler.now());
            put(failed);
            progress = progressMessage();
            record = record.withMessage(progress);
        }
        save(failed);
        writeDrain();
        withGuestMdc(started.vmid(), () -> log.error("Failed to migrate VM {} ({}) from {} to {}: {}", started.vmid(), started.name(),
                started.sourceNode(), started.targetNode(), message));
        notifyListeners(l -> l.guestFailed(drainId(), failed));
        pump();
    }

    /**
     * A migration failed in a way another target may not: look at the cluster again, drop targets that went
     * offline (re-planning every guest that was going there), and put this guest back with its next-best target.
     */
    private void retryElsewhere(GuestProgress started, String message) {
        // A fresh view, shared with a round of the watcher that may be reading the cluster at this moment.
        watcher.view(Duration.ZERO).whenComplete((snapshot, err) -> {
            if (abandoned()) return;
            boolean stopped;
            synchronized (this) {
                retrying.remove(started.vmid());
                stopped = cancelled || deadlinePassed;
            }
            if (stopped) {
                // Cancelled (or out of time) while the next target was being looked for: it ends as it would have had
                // the stop come before its move failed.
                fail(started, message);
                return;
            }
            if (err != null) {
                fail(started, message + " (and the cluster could not be read to choose another target: " + Async.unwrap(err).getMessage() + ")");
                return;
            }
            dropUnavailableTargets(snapshot);
            Set<String> exclude;
            synchronized (this) {
                exclude = new HashSet<>(droppedTargets);
                if (record.request().targetNode().isEmpty()) exclude.addAll(triedTargets.getOrDefault(started.vmid(), Set.of()));
            }
            Optional<Guest> current = snapshot.guest(started.vmid());
            if (current.isEmpty()) {
                fail(started, message + " (and the VM no longer exists)");
                return;
            }
            Map<Integer, PlanEntry> replanned = replan(snapshot, List.of(current.get()), exclude);
            PlanEntry e = replanned.get(started.vmid());
            if (e == null || e.action() != PlanEntry.Action.MOVE) {
                fail(started, message + (e == null ? "" : " (no other target: " + e.reason() + ")"));
                return;
            }
            GuestProgress again;
            synchronized (this) {
                if (cancelled || finished) return;
                again = guests.get(started.vmid()).pendingAgain(e.targetNode(), e.migrationType());
                put(again);
                queue.add(again);
            }
            // Written with its new target: a process taking the drain over moves it there, not where it failed.
            save(again);
            withGuestMdc(started.vmid(), () -> log.info("VM {} will be retried on {}", started.vmid(), e.targetNode()));
            pump();
        });
    }

    /** Targets that are offline now, or gone: no new move goes there, and pending guests planned there are re-planned. */
    private void dropUnavailableTargets(ClusterSnapshot snapshot) {
        List<Guest> toReplan = new ArrayList<>();
        Set<String> exclude;
        synchronized (this) {
            Set<String> newlyDropped = new HashSet<>();
            for (GuestProgress g : queue) {
                if (g.targetNode() == null || droppedTargets.contains(g.targetNode())) continue;
                Optional<Node> n = snapshot.node(g.targetNode());
                if (n.isEmpty() || !n.get().online()) newlyDropped.add(g.targetNode());
            }
            if (newlyDropped.isEmpty()) return;
            droppedTargets.addAll(newlyDropped);
            exclude = new HashSet<>(droppedTargets);
            for (GuestProgress g : queue) {
                if (droppedTargets.contains(g.targetNode())) snapshot.guest(g.vmid()).ifPresent(toReplan::add);
            }
        }
        withDrainMdc(() -> log.warn("Target node(s) {} unavailable: dropped, re-planning {} pending guest(s)", exclude, toReplan.size()));
        Map<Integer, PlanEntry> plan = replan(snapshot, toReplan, exclude);
        List<GuestProgress> failedNow = new ArrayList<>();
        List<GuestProgress> replanned = new ArrayList<>();
        synchronized (this) {
            for (Guest g : toReplan) {
                GuestProgress old = guests.get(g.vmid());
                if (old == null || !queue.remove(old)) continue;
                PlanEntry e = plan.get(g.vmid());
                if (e != null && e.action() == PlanEntry.Action.MOVE) {
                    GuestProgress moved = old.pendingAgain(e.targetNode(), e.migrationType());
                    put(moved);
                    queue.add(moved);
                    replanned.add(moved);
                } else {
                    GuestProgress f = old.failed("target " + old.targetNode() + " went offline and no other target fits"
                            + (e == null ? "" : ": " + e.reason()), scheduler.now());
                    put(f);
                    failedNow.add(f);
                }
            }
        }
        for (GuestProgress g : replanned) save(g);
        for (GuestProgress f : failedNow) {
            save(f);
            notifyListeners(l -> l.guestFailed(drainId(), f));
        }
    }

    private Map<Integer, PlanEntry> replan(ClusterSnapshot snapshot, List<Guest> toPlan, Set<String> exclude) {
        Map<String, Long> reserved = new HashMap<>();
        Set<String> unavailable = new HashSet<>(executor.nodesInMaintenance());
        unavailable.addAll(exclude);
        Map<Integer, MigrationPreconditions> pre;
        synchronized (this) {
            for (int vmid : inFlight) {
                GuestProgress g = guests.get(vmid);
                reserved.merge(g.targetNode(), g.memory(), Long::sum);
            }
            for (GuestProgress g : queue) reserved.merge(g.targetNode(), g.memory(), Long::sum);
            pre = new HashMap<>(preconditions);
        }
        PlanningInput input = record.operation() == Operation.UNDRAIN
                ? PlanningInput.undrain(snapshot, record.request(), toPlan, unavailable, pre)
                : new PlanningInput(snapshot, record.request(), toPlan, unavailable, pre, reserved, false);
        Map<Integer, PlanEntry> out = new HashMap<>();
        try {
            DrainPlan plan = executor.planner().plan(input);
            for (PlanEntry e : plan.entries()) out.put(e.vmid(), e);
        } catch (InvalidTargetException e) {
            for (Guest g : toPlan) out.put(g.vmid(), PlanEntry.block(g, MigrationType.ONLINE, e.getMessage(), false));
        }
        return out;
    }

    private String progressMessage() {
        return "Progress: " + doneCount + "/" + guests.size() + " completed" + (failedCount > 0 ? ", " + failedCount + " failed" : "");
    }

    /** Replaces a guest's entry, keeping the done and failed counts (progress is reported after every move). */
    private void put(GuestProgress g) {
        GuestProgress old = guests.put(g.vmid(), g);
        if (old != null) count(old, -1);
        count(g, 1);
    }

    private void count(GuestProgress g, int delta) {
        if (g.status() == GuestState.COMPLETED || g.status() == GuestState.SKIPPED) doneCount += delta;
        else if (g.status() == GuestState.FAILED) failedCount += delta;
    }

    // ------------------------------------------------------------------ persistence and listeners

    private void save(GuestProgress g) {
        if (abandoned()) return;
        try {
            if (!executor.store().updateGuest(g, record.owner())) {
                withDrainMdc(() -> log.warn("Drain {} is now owned by another process; this process stops working on it", drainId()));
                abandon();
            }
        } catch (RuntimeException e) {
            withGuestMdc(g.vmid(), () -> log.error("Could not record the progress of VM {} in drain {}: {}", g.vmid(), drainId(), e.getMessage()));
        }
    }

    private void writeDrain() {
        DrainRecord r;
        synchronized (this) {
            if (abandoned) return;
            r = record;
        }
        try {
            if (!executor.store().updateDrain(r)) {
                withDrainMdc(() -> log.warn("Drain {} is now owned by another process; this process stops working on it", drainId()));
                abandon();
            }
        } catch (RuntimeException e) {
            withDrainMdc(() -> log.error("Could not record the state of drain {}: {}", drainId(), e.getMessage()));
        }
    }

    private void notifyListeners(Consumer<DrainListener> event) {
        if (abandoned()) return;
        for (DrainListener l : executor.listeners()) {
            try {
                event.accept(l);
            } catch (RuntimeException e) {
                log.warn("Drain listener {} failed: {}", l, e.toString());
            }
        }
    }

    private void checkAbandoned() {
        if (abandoned()) throw new Abandoned();
    }

    /** Runs {@code r} (a log call) with the drain id and node in the MDC; work runs on shared threads, so it is put back after. */
    private void withDrainMdc(Runnable r) {
        MDC.put("drainId", drainId());
        MDC.put("node", node());
        try {
            r.run();
        } finally {
            MDC.remove("drainId");
            MDC.remove("node");
        }
    }

    private void withGuestMdc(int vmid, Runnable r) {
        MDC.put("vmid", Integer.toString(vmid));
        try {
            withDrainMdc(r);
        } finally {
            MDC.remove("vmid");
        }
    }

    private static Duration min(Duration a, Duration b) {
        Duration m = a.compareTo(b) <= 0 ? a : b;
        return m.isNegative() ? Duration.ZERO : m;
    }

    private static Instant min(Instant a, Instant b) {
        return a.isBefore(b) ? a : b;
    }

    static String human(Duration d) {
        if (d.toHours() > 0 && d.toMinutesPart() == 0 && d.toSecondsPart() == 0) return d.toHours() + "h";
        if (d.toMinutes() > 0 && d.toSecondsPart() == 0) return d.toMinutes() + "m";
        return d.toSeconds() + "s";
    }

    private record Limit(Instant at, String name) {
    }

    private static final class Abandoned extends RuntimeException {
        Abandoned() {
            super("drain abandoned", null, false, false);
        }
    }
}
