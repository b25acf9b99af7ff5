package io.moxxie.core.execution.internal;

import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.execution.ExecutorConfig;
import io.moxxie.core.execution.RunningDrain;
import io.moxxie.core.execution.VmStatus;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Concurrency;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.model.Node;
import io.moxxie.core.model.Operation;
import io.moxxie.core.plan.DrainPlanner;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.plan.PlanEntry;
import io.moxxie.core.spi.DrainRecord;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.spi.HypervisorException;
import io.moxxie.core.spi.MigrationProgress;
import io.moxxie.core.spi.TaskRef;
import io.moxxie.core.time.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import java.util.function.UnaryOperator;
import java.util.stream.LongStream;

import static io.moxxie.core.execution.internal.Limit.human;

/**
 * One drain being carried out: its queue and migration slots. Pending guests wait in a queue; {@link #pump()} starts
 * as many as the limits allow (overall and per target), in the order its {@link StartOrder} gives, and shuts guests
 * for an offline move down ahead of their turn; each guest's move is a {@link GuestMove}; when a migration is over its
 * slot is refilled at once. The members of a group (an anti-affinity group, a positive HA rule) start within the
 * group's {@link DisruptionBudgets disruption budget}; guests the hypervisor moves along with one it migrates (a
 * positive HA rule's members) are taken out of the queue and followed to where it put them. A failed move is retried
 * on another target (re-planned by a {@link Replanner}); targets that went offline are dropped. Cancel, the drain's
 * time limit and abandon stop it. The guests' entries and messages are its {@link Outcomes}; what changes is recorded
 * and told through its {@link DrainJournal}. While the store does not take the drain's changes, no new move starts
 * (see {@link #pump()}); the drain's end is reported (status, listeners, {@code onFinish}) only once the store holds
 * it.
 *
 * <p>Threading: every mutable field is guarded by {@code this} (the methods that must be called under it assert it),
 * and so are the {@link Outcomes} and the {@link StartOrder}. Calls to the hypervisor, the journal (the store, the
 * write-behind queue, the listeners) and anything that runs a move's steps are made outside the lock; so the journal's
 * callbacks ({@code resume}, {@code reportEnd}, the fence's {@code abandon}), which take the lock themselves, may run
 * in whichever thread hands it a change. Under the lock, the run may read its {@link MoveWatcher} (which takes its own
 * lock and never calls back into the run under it), and saves its changes to the journal right where it makes them
 * ({@link DrainJournal#save}, {@link DrainJournal#write}: they only take their place in the write-behind queue), which
 * {@link DrainJournal#flush} writes after the lock, in that order: the store's last entry of a guest, and its last
 * record, are the run's last.
 */
public final class DrainRun implements RunningDrain {
    private static final Logger log = LoggerFactory.getLogger(DrainRun.class);

    private final ExecutorConfig config;
    private final ExecutorParts parts;
    private final Scheduler scheduler;
    private final Consumer<DrainStatus> onFinish;
    private final String drainId;
    private final String node;
    private final DrainRequest request;
    private final Instant deadline;
    /** Migrations that may run at once, and into one target at once. */
    private final int concurrency;
    private final int perTargetLimit;
    /** {@code maxConcurrent: "auto"}: which live moves may start, from the progress of those in flight; null for a fixed concurrency. */
    private final AutoConcurrency auto;
    private final PreconditionCache preconditions;
    private final MoveWatcher watcher;
    private final DrainJournal journal;
    private final GuestMove moves;
    private final Replanner replanner;
    private final Operation operation;

    // Guarded by this.
    private final Outcomes outcomes;
    private final StartOrder startOrder;
    private final TreeSet<GuestProgress> queue;
    /** Guests with work under way: preparing, migrating, or being started after their move. */
    private final Set<Integer> inFlight = new HashSet<>();
    /** Guests holding a migration slot: only these count against the concurrency limits. */
    private final Set<Integer> slots = new HashSet<>();
    /** Guests being shut down ahead of their offline move, and those already shut down for it (as found down). */
    private final Set<Integer> preparing = new HashSet<>();
    private final Map<Integer, Guest> prepared = new HashMap<>();
    /** Guests shut down for a move that will not happen now (cancel, drain time limit), being started again where they are. */
    private final Set<Integer> restarting = new HashSet<>();
    /**
     * Guests whose failed move is being re-planned on another target: kept in flight until they are queued again or
     * failed, so that a cancel meanwhile does not end the drain with their entry in progress.
     */
    private final Set<Integer> replanning = new HashSet<>();
    private final Map<String, Integer> perTarget = new HashMap<>();
    private final Map<Integer, Set<String>> triedTargets = new HashMap<>();
    /** The nodes this drain sent a migrate request of the guest to, until its move ends: a guest found there has moved. */
    private final Map<Integer, Set<String>> askedTargets = new HashMap<>();
    private final Set<String> droppedTargets = new HashSet<>();
    private final Map<Integer, Integer> failedAttempts = new HashMap<>();
    /** What the guests in flight wait for: the limit they run against, and the migration task once it runs. */
    private final Map<Integer, Limit> limits = new HashMap<>();
    private final Map<Integer, TaskRef> tasks = new HashMap<>();
    /** The groups' budgets, from the drain's first cluster view (none until it is read). */
    private DisruptionBudgets budgets = DisruptionBudgets.NONE;
    /** Guests the hypervisor moves along with a guest this drain migrates, by that guest: settled when its move ends. */
    private final Map<Integer, List<Integer>> comigrating = new HashMap<>();
    /** The skipped entries of guests the hypervisor moved along anyway: restored if it turns out it did not. */
    private final Map<Integer, GuestProgress> skippedBefore = new HashMap<>();
    private Scheduler.Cancellable deadlineTask;
    private boolean cancelled;
    private boolean abandoned;
    /** No more work: every guest is done and the end is handed to the journal. */
    private boolean finished;
    /** The end is in the store and reported (status, listeners, onFinish). */
    private boolean ended;
    /** New moves wait for the store to take the drain's changes again (see {@link #pump()}). */
    private boolean paused;
    private boolean deadlinePassed;

    private DrainRun(ExecutorParts parts, DrainRecord record, int concurrency, List<GuestProgress> initial,
                     Map<Integer, MigrationPreconditions> planningPreconditions, Instant preconditionsAt, Consumer<DrainStatus> onFinish) {
        this.config = parts.config;
        this.parts = parts;
        this.operation = record.operation();
        this.scheduler = parts.async.scheduler();
        this.onFinish = onFinish;
        this.drainId = record.drainId();
        this.node = record.node();
        this.request = record.request();
        this.deadline = record.startedAt().plus(config.drainTimeout());
        this.concurrency = concurrency;
        // The per-target limit spreads streams over targets; an undrain or a drain to one named target has only one.
        boolean singleTarget = record.operation() == Operation.UNDRAIN || request.targetNode().isPresent();
        boolean autoDrain = request.concurrency().kind() == Concurrency.Kind.AUTO;
        this.perTargetLimit = singleTarget ? Integer.MAX_VALUE : config.perTargetLimit(autoDrain ? config.autoConcurrency() : concurrency);
        this.auto = autoDrain ? new AutoConcurrency(config, parts.busyGuests()) : null;
        this.preconditions = new PreconditionCache(planningPreconditions, preconditionsAt);
        // When every slot counts, the watcher notices ends promptly; it starts from the speed the executor's last such
        // drain learned (the links are the same cluster's).
        // An auto drain's controller follows the streams through the watcher's progress reads (one reader per drain).
        this.watcher = new MoveWatcher(parts.async, parts.client, config, this::abandoned, concurrency <= config.streamsFillingLink(),
                parts.learnedSpeed(), parts::learnedSpeed, auto == null ? null : new MoveWatcher.StreamObserver() {
                    @Override
                    public void observed(Map<Integer, MigrationProgress> round, int copying) {
                        streamsObserved(round, copying);
                    }

                    @Override
                    public boolean unsure(int vmid) {
                        synchronized (DrainRun.this) {
                            return auto.unsure(vmid);
                        }
                    }
                });
        this.journal = new DrainJournal(parts, drainId, node, record.owner(), this::abandoned, this::abandon);
        this.moves = new GuestMove(new MoveHost(), parts, watcher, preconditions, journal, deadline);
        this.replanner = new Replanner(parts, record.operation(), request);
        this.outcomes = new Outcomes(this, record);
        this.startOrder = parts.startOrders.create(config, concurrency, watcher);
        this.queue = new TreeSet<>(startOrder.queueOrder());
        synchronized (this) {
            for (GuestProgress g : initial) {
                // A guest in progress when the previous owner died is moved again only if it is still on its source:
                // resolving where it is comes first in every move. Taken over after a cancel: only the moves its owner
                // had started are seen through; the rest never start.
                boolean notStarted = record.cancelRequested() && g.status() == GuestState.PENDING;
                GuestProgress p = g.status() == GuestState.IN_PROGRESS ? g.pendingAgain(g.targetNode(), g.migrationType())
                        : notStarted ? g.withNote("not started: drain cancelled") : g;
                outcomes.put(p);
                if (p.status() == GuestState.PENDING && !notStarted) queue.add(p);
            }
        }
    }

    /**
     * Starts carrying out a drain and returns at once.
     *
     * @param concurrency the migrations the drain may run at once, resolved from its request
     * @param view        the cluster view the drain was planned on, read at {@code viewAt}: the first moves start on it
     *                    while it is young enough; both {@code null} when there is none
     * @param onFinish    called once with the final status when the drain ends (not when abandoned)
     */
    public static DrainRun start(ExecutorParts parts, DrainRecord record, int concurrency, List<GuestProgress> guests,
                                 Map<Integer, MigrationPreconditions> preconditions, Instant preconditionsAt,
                                 ClusterSnapshot view, Instant viewAt, Consumer<DrainStatus> onFinish) {
        DrainRun run = new DrainRun(parts, record, concurrency, guests, preconditions, preconditionsAt, onFinish);
        if (view != null) run.watcher.seed(view, viewAt);
        run.begin(view);
        return run;
    }

    /** {@code view}: the cluster view the drain was planned on, or null (taken over): then one is read before any move starts. */
    private void begin(ClusterSnapshot view) {
        if (view != null) learnRules(view);
        DrainStatus started;
        int toMove;
        synchronized (this) {
            started = outcomes.status();
            toMove = queue.size();
        }
        journal.withDrainMdc(() -> log.info("{} ({} guests: {} to move, {} skipped, {} failed at planning)", started.message(),
                started.totalVMs(), toMove, started.skippedVMs(), started.failedVMs()));
        journal.tell(l -> l.drainStarted(started));
        Scheduler.Cancellable task = scheduler.schedule(Duration.between(scheduler.now(), deadline), this::onDrainDeadline);
        synchronized (this) {
            deadlineTask = task;
        }
        if (view != null) {
            pump();
            return;
        }
        // Taken over: the groups' budgets come from the cluster's rules, read before the first move starts.
        watcher.view(Duration.ZERO).whenComplete((snapshot, error) -> {
            if (abandoned()) return;
            if (snapshot != null) learnRules(snapshot);
            else journal.withDrainMdc(() -> log.warn("Drain {}: the cluster's placement rules could not be read ({}); moves start without "
                    + "the groups' disruption budgets", drainId, Async.unwrap(error).toString()));
            pump();
        });
    }

    /**
     * Takes the groups' budgets from the placement rules of {@code view} (the hypervisor's and the tags'), and, for a
     * drain that moves HA guests while the hypervisor's HA stack rebalances by itself, the warning its messages carry.
     */
    private void learnRules(ClusterSnapshot view) {
        DisruptionBudgets b = DisruptionBudgets.of(parts.planner.rules(view));
        synchronized (this) {
            budgets = b;
            boolean movesHa = queue.stream().anyMatch(GuestProgress::haManaged);
            if (view.haAutoRebalance() && operation == Operation.DRAIN && movesHa) {
                outcomes.notice(DrainPlanner.haAutoRebalanceWarning(node));
                recordDrain();
            }
        }
        journal.flush();
    }

    @Override
    public String drainId() {
        return drainId;
    }

    @Override
    public String node() {
        return node;
    }

    /**
     * The drain as it stands now, consistent (taken under the run's lock); while cancelling, what it waits for. Its
     * {@code etaSeconds} come from the watcher's migration model: the moves in flight go on (with the remaining bytes
     * their hypervisor reported, when it did), the guests still to move follow in queue order in the drain's slots
     * (none when cancelled: those stay). Each guest whose migration the watcher follows has its own {@code etaSeconds}
     * and, while a live migration reports progress, its {@code transferredBytes} and {@code remainingBytes}.
     */
    @Override
    public synchronized DrainStatus status() {
        Instant now = scheduler.now();
        Instant expectedEnd = null;
        Map<Integer, MoveWatcher.InFlight> watched = Map.of();
        if (!finished && !abandoned) {
            watched = watcher.inFlight();
            LongStream.Builder queued = LongStream.builder();
            // Guests holding a slot the watcher does not follow yet (their migration is being started) come first. Only
            // slots: a guest shut down ahead of its turn, or being re-planned, is in the queue (or will be) already.
            for (int vmid : slots) {
                if (!watched.containsKey(vmid)) queued.add(outcomes.get(vmid).memory());
            }
            if (!cancelled) for (GuestProgress g : queue) queued.add(g.memory());
            expectedEnd = watcher.projectedDrainEnd(concurrency, queued.build().toArray());
        }
        DrainStatus status = outcomes.status(cancelling() ? cancellingMessage() : null, now, expectedEnd,
                cancelled ? Map.of() : waitingForGroups());
        if (watched.isEmpty()) return status;
        List<VmStatus> vms = new ArrayList<>(status.vmStatus().size());
        for (VmStatus v : status.vmStatus()) {
            MoveWatcher.InFlight f = v.status() == GuestState.IN_PROGRESS ? watched.get(v.vmid()) : null;
            if (f == null) {
                vms.add(v);
                continue;
            }
            // Whole seconds, rounded up, as elapsedSeconds.
            long ms = Duration.between(now, f.expectedEnd()).toMillis();
            VmStatus.Builder b = v.toBuilder().etaSeconds(ms <= 0 ? 0 : (ms + 999) / 1000);
            if (f.progress() != null) b.transferredBytes(f.progress().transferred()).remainingBytes(f.progress().remaining());
            vms.add(b.build());
        }
        return status.toBuilder().vmStatus(vms).build();
    }

    /** Under the lock: the queued guests that wait for their group's budget, with what they wait for. */
    private Map<Integer, String> waitingForGroups() {
        assert Thread.holdsLock(this);
        Map<DisruptionBudgets.Group, Integer> busy = budgets.inFlight(busyMembers());
        if (busy.isEmpty()) return Map.of();
        Map<Integer, String> out = new HashMap<>();
        for (GuestProgress g : queue) {
            if (preparing.contains(g.vmid()) || prepared.containsKey(g.vmid())) continue;
            budgets.full(g.vmid(), busy).ifPresent(group -> out.put(g.vmid(), DisruptionBudgets.waiting(group, busy.get(group))));
        }
        return out;
    }

    /** Under the lock: the guests the drain has in flight or down for their move, which count against their groups' budgets. */
    private List<Integer> busyMembers() {
        assert Thread.holdsLock(this);
        List<Integer> out = new ArrayList<>(inFlight);
        out.addAll(prepared.keySet());
        return out;
    }

    /** Whether the drain has ended: its final status is in the store (not merely decided). */
    @Override
    public synchronized boolean isFinished() {
        return ended;
    }

    /**
     * Stops starting new moves at once; moves in flight finish, and guests already shut down for a move that will not
     * happen now are started again where they are. The drain then ends {@code cancelled}.
     */
    @Override
    public void cancel() {
        int inFlightNow;
        Map<GuestProgress, Guest> toRestore;
        synchronized (this) {
            if (finished || abandoned || cancelled) return;
            cancelled = true;
            toRestore = stopStarting(g -> outcomes.get(g.vmid()).withNote("not started: drain cancelled"), new ArrayList<>());
            inFlightNow = inFlight.size();
            if (inFlightNow > 0) {
                outcomes.message(cancellingMessage());
                recordDrain();
            }
        }
        journal.withDrainMdc(() -> log.info("Drain {} of node {} cancelled; {} migrations in flight will finish, {} guests shut down for their move"
                + " are started again", drainId, node, inFlightNow - toRestore.size(), toRestore.size()));
        journal.flush();
        toRestore.forEach(this::restoreAfterStop);
        maybeFinish();
    }

    /**
     * Under the lock, when the drain stops (cancel, drain time limit): empties the queue. The guests shut down ahead of
     * their move and waiting in it for a slot are returned, to be started again where they are (they stay in flight
     * until started); every other queued guest's entry becomes {@code end} of its queued entry, saved and added to
     * {@code ended}.
     */
    private Map<GuestProgress, Guest> stopStarting(UnaryOperator<GuestProgress> end, List<GuestProgress> ended) {
        assert Thread.holdsLock(this);
        Map<GuestProgress, Guest> down = new LinkedHashMap<>();
        for (var e : new ArrayList<>(prepared.entrySet())) {
            GuestProgress g = outcomes.get(e.getKey());
            if (!queue.remove(g)) continue;
            prepared.remove(e.getKey());
            inFlight.add(e.getKey());
            restarting.add(e.getKey());
            down.put(g, e.getValue());
        }
        for (GuestProgress g : queue) {
            GuestProgress entry = end.apply(g);
            outcomes.put(entry);
            journal.save(entry);
            ended.add(entry);
        }
        queue.clear();
        return down;
    }

    /** Under the lock: cancelled, and moves in flight have not ended yet. */
    private boolean cancelling() {
        assert Thread.holdsLock(this);
        return cancelled && !finished && !abandoned && !inFlight.isEmpty();
    }

    /**
     * Under the lock: what a cancelled drain waits for — each guest in flight, the hypervisor task an operator could
     * stop, and until when at the latest (the limit its move runs against) — and the progress so far.
     */
    private String cancellingMessage() {
        assert Thread.holdsLock(this);
        List<String> waits = new ArrayList<>();
        for (int vmid : new TreeSet<>(inFlight)) {
            GuestProgress g = outcomes.get(vmid);
            StringBuilder w = new StringBuilder("VM ").append(vmid);
            if (!g.name().isEmpty()) w.append(" (").append(g.name()).append(')');
            TaskRef task = tasks.get(vmid);
            if (replanning.contains(vmid)) w.append(" choosing another target after its move to ").append(g.targetNode()).append(" failed");
            else if (restarting.contains(vmid)) w.append(" being started again on ").append(g.sourceNode()).append(" (shut down for its move)");
            else if (preparing.contains(vmid)) w.append(" shutting down for its move to ").append(g.targetNode());
            else if (slots.contains(vmid)) w.append(" migrating to ").append(g.targetNode());
            else w.append(" finishing its move to ").append(g.targetNode());
            if (task != null && slots.contains(vmid)) w.append(", task ").append(task.id()).append(" on ").append(task.node());
            Limit limit = limits.get(vmid);
            if (limit != null) w.append(", until ").append(limit.at()).append(" at the latest (").append(limit.name()).append(')');
            waits.add(w.toString());
        }
        return "Cancelling: no new moves start; waiting for " + waits.size() + (waits.size() == 1 ? " move" : " moves")
                + " in flight to end: " + String.join("; ", waits) + ". " + outcomes.progressMessage();
    }

    /** Under the lock: the drain's message as it stands (progress, or what a cancel waits for). */
    private String currentMessage() {
        assert Thread.holdsLock(this);
        return cancelling() ? cancellingMessage() : outcomes.progressMessage();
    }

    /**
     * Stops all work on this drain without writing anything more: used when this process lost the drain's
     * lease to another, or is shutting down. The store keeps the drain as it was, for another process to take over
     * ({@code MaintenanceService.start()} and its heartbeat).
     */
    @Override
    public void abandon() {
        Scheduler.Cancellable task;
        synchronized (this) {
            abandoned = true;
            task = deadlineTask;
        }
        watcher.stop();
        if (task != null) task.cancel();
    }

    private synchronized boolean abandoned() {
        return abandoned;
    }

    // ------------------------------------------------------------------ slots

    /**
     * Starts what the limits allow (see {@link #fill}), then records and tells what started, outside the lock.
     *
     * <p>While the store does not take the drain's state changes (the {@link WriteBehindJournal} is behind), no new
     * move starts — no guest is shut down ahead either — and moves under way go on, their outcomes kept in the journal;
     * when it has caught up, the drain goes on. Why pause rather than go on: what the store holds is what another
     * process resumes from, and while the store is away this process cannot renew its lease either; a move started
     * then is work the store knows nothing of, by a process that may no longer own the drain when the store is back.
     * The drain's time limits keep running meanwhile.
     */
    private void pump() {
        List<Start> toStart = new ArrayList<>();
        List<GuestProgress> toPrepare = new ArrayList<>();
        // Read before the lock (the run never calls its journal under it): an outage that begins after this read is
        // caught below, when the starts' own writes are not taken; one that ends is seen by whenCaughtUp.
        boolean storeBehind = journal.storeBehind();
        boolean pausedNow = false;
        int inFlightNow;
        String waiting = null;
        synchronized (this) {
            if (finished || abandoned) return;
            if (!cancelled) {
                if (storeBehind && !queue.isEmpty()) {
                    pausedNow = !paused;
                    paused = true;
                } else {
                    paused = false;
                    fill(toStart, toPrepare);
                    for (GuestProgress g : toPrepare) journal.save(g);
                    for (Start s : toStart) if (s.announce()) journal.save(s.progress());
                }
            }
            inFlightNow = inFlight.size();
            if (log.isDebugEnabled() && !cancelled && !queue.isEmpty()) waiting = waitingReason();
        }
        if (waiting != null) {
            String w = waiting;
            journal.withDrainMdc(() -> log.debug(w));
        }
        if (pausedNow) {
            journal.withDrainMdc(() -> log.warn("The maintenance store does not take drain {}'s progress: no new migration starts until it "
                    + "does ({} in flight go on)", drainId, inFlightNow));
            journal.whenCaughtUp(this::resume);
        }
        journal.flush();
        if ((!toPrepare.isEmpty() || !toStart.isEmpty()) && journal.storeBehind()) {
            // The store went away with these very writes: the moves wait with the rest (their writes stay in the journal).
            putBack(toStart, toPrepare);
            pump();
            return;
        }
        for (GuestProgress g : toPrepare) {
            journal.tell(l -> l.guestStarted(drainId, g));
            scheduler.execute(() -> prepareAhead(g));
        }
        for (Start s : toStart) {
            if (log.isDebugEnabled()) {
                GuestProgress g = s.progress();
                journal.withGuestMdc(g.vmid(), () -> log.debug("VM {} ({}) takes a migration slot: to {} ({}, attempt {})", g.vmid(),
                        g.name(), g.targetNode(), g.migrationType().wireName(), g.attempts()));
            }
            if (s.announce()) journal.tell(l -> l.guestStarted(drainId, s.progress()));
            scheduler.execute(() -> runGuest(s.progress()));
        }
        maybeFinish();
    }

    /** Undoes the start of moves that had not begun: back in the queue, pending (or still down, for a guest shut down ahead). */
    private void putBack(List<Start> toStart, List<GuestProgress> toPrepare) {
        synchronized (this) {
            for (Start s : toStart) {
                int vmid = s.progress().vmid();
                inFlight.remove(vmid);
                releaseSlot(vmid);
                GuestProgress cur = outcomes.get(vmid);
                if (s.announce()) {
                    cur = notStarted(cur);
                    outcomes.put(cur);
                    journal.save(cur);
                }
                queue.add(cur);
            }
            for (GuestProgress g : toPrepare) {
                // A guest to shut down ahead stayed in the queue: only its entry goes back to pending.
                preparing.remove(g.vmid());
                inFlight.remove(g.vmid());
                GuestProgress p = notStarted(outcomes.get(g.vmid()));
                outcomes.put(p);
                journal.save(p);
            }
        }
        journal.flush();
    }

    private static GuestProgress notStarted(GuestProgress g) {
        int attempts = Math.max(0, g.attempts() - 1);
        return g.toBuilder().status(GuestState.PENDING).attempts(attempts).error(null)
                .startedAt(attempts == 0 ? null : g.startedAt()).completedAt(null).build();
    }

    /** The store has caught up: the drain starts moves again. */
    private void resume() {
        boolean wasPaused;
        synchronized (this) {
            wasPaused = paused;
        }
        if (wasPaused) journal.withDrainMdc(() -> log.info("The maintenance store has every change of drain {}: starting migrations again", drainId));
        pump();
    }

    /**
     * Under the lock, at DEBUG: why the guests left in the queue wait (every slot busy, their target's lanes full, a
     * shutdown ahead), for the operator asking why a drain with guests left moves only some.
     */
    private String waitingReason() {
        assert Thread.holdsLock(this);
        StringBuilder b = new StringBuilder();
        b.append(queue.size()).append(" guest(s) wait: ").append(slots.size()).append(" of ").append(concurrency)
                .append(" migration slots busy");
        if (perTargetLimit != Integer.MAX_VALUE) {
            b.append(", at most ").append(perTargetLimit).append(" moves into one target (now ").append(new TreeMap<>(perTarget))
                    .append(')');
        }
        int shown = 0;
        for (GuestProgress g : queue) {
            if (shown++ == 3) {
                b.append("; …");
                break;
            }
            b.append(shown == 1 ? "; next: " : ", ").append("VM ").append(g.vmid()).append(" -> ").append(g.targetNode());
            if (preparing.contains(g.vmid())) b.append(" (shutting down)");
            else if (perTarget.getOrDefault(g.targetNode(), 0) >= perTargetLimit) b.append(" (target's lanes full)");
        }
        return b.toString();
    }

    /** A guest taking a slot; {@code announce}: its start is recorded and told (not done yet when it was shut down ahead). */
    private record Start(GuestProgress progress, boolean announce) {
    }

    /**
     * Under the lock: picks the guests to start now and those to shut down ahead. A slot is held only while a guest
     * migrates: a guest that must be shut down for an offline move is shut down ahead, while it is among the next in
     * line, and takes a slot once it is down. Guests already down start first (each second they wait is downtime).
     * Then it walks the queue in start order (see {@link StartOrder}); the guests that would take the free slots and
     * the two after them are "next in line", and those of them that need a shutdown get it now if a lane of their
     * target is left for them. A lane is claimed by a move under way or by a guest down (or going down) for its move:
     * a guest is not shut down to wait for another move into its target to end, and a running guest does not take the
     * lane a stopped one is waiting for. A guest starts when a slot is free, its target has a lane for it and, if it
     * needed a shutdown, it is down.
     */
    private void fill(List<Start> toStart, List<GuestProgress> toPrepare) {
        assert Thread.holdsLock(this);
        int freeSlots = concurrency - slots.size();
        // Next in line: the guests that would take the free slots, and the next two (a shutdown takes a while).
        int nextInLine = freeSlots + 2;
        Map<String, Integer> targets = new HashMap<>(perTarget);
        Map<String, Integer> claimed = new HashMap<>(perTarget);
        List<GuestProgress> down = new ArrayList<>();
        for (Set<Integer> set : List.of(preparing, prepared.keySet())) {
            for (int vmid : set) {
                GuestProgress g = outcomes.get(vmid);
                if (!queue.contains(g)) continue;
                claimed.merge(g.targetNode(), 1, Integer::sum);
                if (set != preparing) down.add(g);
            }
        }
        List<GuestProgress> starting = new ArrayList<>();
        down.sort(startOrder.queueOrder());
        for (GuestProgress g : down) {
            if (freeSlots == 0 || targets.getOrDefault(g.targetNode(), 0) >= perTargetLimit) continue;
            freeSlots--;
            targets.merge(g.targetNode(), 1, Integer::sum);
            starting.add(g);
        }
        List<GuestProgress> holdingSlots = new ArrayList<>(slots.size());
        for (int vmid : slots) holdingSlots.add(outcomes.get(vmid));
        // Members of a group in flight (or down for their move), by group: a guest whose group is at its budget waits.
        Map<DisruptionBudgets.Group, Integer> busy = budgets.inFlight(busyMembers());
        int live = 0;
        for (GuestProgress g : holdingSlots) if (isLive(g)) live++;
        StartOrder.Pass order = startOrder.pass(queue, holdingSlots, starting);
        for (int position = 1; order.hasNext() && (freeSlots > 0 || position <= nextInLine); position++) {
            GuestProgress g = outcomes.get(order.next().vmid());
            if (preparing.contains(g.vmid()) || prepared.containsKey(g.vmid()) || starting.contains(g)) continue;
            if (budgets.full(g.vmid(), busy).isPresent()) continue;
            boolean laneLeft = claimed.getOrDefault(g.targetNode(), 0) < perTargetLimit;
            if (needsShutdown(g)) {
                // Down only when its move can follow soon: among the next in line, and a lane of its target left for it.
                if (position > nextInLine || !laneLeft) continue;
                claimed.merge(g.targetNode(), 1, Integer::sum);
                budgets.count(g.vmid(), busy);
                GuestProgress started = g.started(g.targetNode(), g.migrationType(), g.attempts() + 1, scheduler.now());
                outcomes.put(started);
                preparing.add(g.vmid());
                inFlight.add(g.vmid());
                toPrepare.add(started);
                continue;
            }
            if (freeSlots == 0 || targets.getOrDefault(g.targetNode(), 0) >= perTargetLimit) continue;
            int liveNow = live;
            if (!admitted(g, liveNow)) continue;
            GuestProgress chosen = order.choose(g, x -> !needsShutdown(x)
                    && !starting.contains(x) && !preparing.contains(x.vmid()) && !prepared.containsKey(x.vmid())
                    && targets.getOrDefault(x.targetNode(), 0) < perTargetLimit && budgets.full(x.vmid(), busy).isEmpty()
                    && admitted(x, liveNow));
            budgets.count(chosen.vmid(), busy);
            if (isLive(chosen)) live++;
            freeSlots--;
            targets.merge(chosen.targetNode(), 1, Integer::sum);
            claimed.merge(chosen.targetNode(), 1, Integer::sum);
            starting.add(chosen);
            order.started(g, chosen);
        }
        for (GuestProgress g : starting) {
            queue.remove(g);
            inFlight.add(g.vmid());
            slots.add(g.vmid());
            perTarget.merge(g.targetNode(), 1, Integer::sum);
            boolean isDown = prepared.containsKey(g.vmid());
            GuestProgress started = isDown ? g : g.started(g.targetNode(), g.migrationType(), g.attempts() + 1, scheduler.now());
            outcomes.put(started);
            if (auto != null && isLive(g)) auto.started(g.vmid(), g.memory());
            toStart.add(new Start(started, !isDown));
        }
    }

    /** A live move: a running qemu guest copied by a QEMU pre-copy stream (the plan moves only those {@code ONLINE}). */
    private static boolean isLive(GuestProgress g) {
        return g.migrationType() == MigrationType.ONLINE;
    }

    /** Whether the auto controller lets {@code g} start while {@code live} live moves hold or take slots (always, for a fixed concurrency). */
    private boolean admitted(GuestProgress g, int live) {
        return auto == null || !isLive(g) || auto.admits(g.vmid(), live);
    }

    private static boolean needsShutdown(GuestProgress g) {
        return g.migrationType() == MigrationType.OFFLINE && g.wasRunning();
    }

    private synchronized void releaseSlot(int vmid) {
        if (auto != null) auto.ended(vmid);
        if (slots.remove(vmid)) perTarget.merge(outcomes.get(vmid).targetNode(), -1, Integer::sum);
    }

    /** Under the lock: the guest's work is over (for now). */
    private void release(GuestProgress started) {
        assert Thread.holdsLock(this);
        inFlight.remove(started.vmid());
        prepared.remove(started.vmid());
        limits.remove(started.vmid());
        tasks.remove(started.vmid());
        releaseSlot(started.vmid());
    }

    // ------------------------------------------------------------------ moves

    /**
     * An auto drain: a round of the watcher's looks read the progress of these live moves (see
     * {@link MoveWatcher.StreamObserver}); when the controller's answer may have changed, the queue is walked again.
     */
    private void streamsObserved(Map<Integer, MigrationProgress> round, int copying) {
        boolean changed;
        synchronized (this) {
            if (abandoned || finished) return;
            changed = auto.observe(round, copying);
        }
        if (changed) pump();
    }

    private void runGuest(GuestProgress p) {
        Limit limit = moves.limitFromNow();
        synchronized (this) {
            limits.put(p.vmid(), limit);
        }
        moves.run(p, limit, () -> {
            // The migration is over: its slot goes to the next guest while this one is verified and started.
            releaseSlot(p.vmid());
            pump();
        }).whenComplete((guest, error) -> onGuestDone(p, guest, error));
    }

    private void prepareAhead(GuestProgress p) {
        Limit limit = moves.shutdownLimitFromNow();
        synchronized (this) {
            limits.put(p.vmid(), limit);
        }
        moves.shutDownAhead(p, limit).whenComplete((g, error) -> {
            boolean stopRequested;
            synchronized (this) {
                preparing.remove(p.vmid());
                limits.remove(p.vmid());
                stopRequested = cancelled || deadlinePassed;
                if (error == null && !stopRequested) prepared.put(p.vmid(), g);
                if (error == null && stopRequested) restarting.add(p.vmid());
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
        moves.startAgain(p, g).whenComplete((x, error) -> {
            synchronized (this) {
                inFlight.remove(p.vmid());
                restarting.remove(p.vmid());
                GuestProgress cur = outcomes.get(p.vmid());
                String note = error == null ? "shut down for its move, started again on " + g.node() + " (drain stopped before it moved)"
                        : "shut down for its move; could not be started again on " + g.node() + ": " + Async.unwrap(error).getMessage();
                GuestProgress updated = cur.status() == GuestState.IN_PROGRESS ? cur.withStatus(GuestState.PENDING).withNote(note) : cur.withNote(note);
                outcomes.put(updated);
                journal.save(updated);
            }
            journal.flush();
            maybeFinish();
        });
    }

    /** What the moves change in the run, each under its lock. */
    private final class MoveHost implements GuestMove.Drain {
        @Override
        public boolean abandoned() {
            return DrainRun.this.abandoned();
        }

        @Override
        public boolean slotFree() {
            synchronized (DrainRun.this) {
                return slots.size() < concurrency;
            }
        }

        @Override
        public boolean migrating() {
            synchronized (DrainRun.this) {
                return !slots.isEmpty();
            }
        }

        @Override
        public GuestProgress update(int vmid, UnaryOperator<GuestProgress> change) {
            synchronized (DrainRun.this) {
                GuestProgress updated = change.apply(outcomes.get(vmid));
                outcomes.put(updated);
                return updated;
            }
        }

        @Override
        public void taskStarted(int vmid, TaskRef task) {
            synchronized (DrainRun.this) {
                tasks.put(vmid, task);
                GuestProgress withTask = outcomes.get(vmid).withTask(task.id());
                outcomes.put(withTask);
                journal.save(withTask);
                if (cancelling()) {
                    outcomes.message(cancellingMessage());
                    recordDrain();
                }
            }
            journal.flush();
            if (!task.comigrated().isEmpty()) takeAlong(vmid, task);
        }

        @Override
        public void migrationRequested(int vmid, String target) {
            synchronized (DrainRun.this) {
                askedTargets.computeIfAbsent(vmid, k -> new HashSet<>()).add(target);
            }
        }

        @Override
        public boolean askedFor(int vmid, String node) {
            synchronized (DrainRun.this) {
                return askedTargets.getOrDefault(vmid, Set.of()).contains(node);
            }
        }
    }

    // ------------------------------------------------------------------ outcomes

    private void onGuestDone(GuestProgress started, Guest guest, Throwable error) {
        int vmid = started.vmid();
        Throwable cause = error == null ? null : Async.unwrap(error);
        if (cause instanceof GuestMove.Abandoned || abandoned()) return;
        List<Integer> along;
        synchronized (this) {
            along = comigrating.remove(vmid);
        }
        if (along != null) settleComigrated(started, guest, along);
        if (cause == null) {
            GuestProgress done;
            String progress;
            synchronized (this) {
                release(started);
                askedTargets.remove(vmid);
                done = outcomes.get(vmid).completed(guest.node(), scheduler.now());
                outcomes.put(done);
                progress = outcomes.progressMessage();
                outcomes.message(currentMessage());
                journal.save(done);
                recordDrain();
            }
            journal.flush();
            journal.withGuestMdc(vmid, () -> log.info("Migrated VM {} ({}) to {}: Migration completed{}. {}", vmid, done.name(), done.targetNode(),
                    took(done), progress));
            journal.tell(l -> l.guestCompleted(drainId, done));
            pump();
            return;
        }
        String message = cause instanceof GuestFailure || cause instanceof HypervisorException
                ? cause.getMessage() : cause.getClass().getSimpleName() + ": " + cause.getMessage();
        GuestFailure.Kind kind = cause instanceof GuestFailure gf ? gf.kind : GuestFailure.Kind.FINAL;
        boolean outcomeUnknown = cause instanceof GuestFailure gf && gf.requestOutcomeUnknown;
        if (!(cause instanceof GuestFailure) && !(cause instanceof HypervisorException)) {
            journal.withGuestMdc(vmid, () -> log.error("Unexpected error migrating VM {}", vmid, cause));
        }
        boolean retry;
        synchronized (this) {
            release(started);
            triedTargets.computeIfAbsent(vmid, k -> new HashSet<>()).add(started.targetNode());
            int failures = kind == GuestFailure.Kind.RETRY_ELSEWHERE ? failedAttempts.merge(vmid, 1, Integer::sum) : 0;
            retry = kind != GuestFailure.Kind.FINAL && !cancelled && !deadlinePassed && failures <= config.retriesOnNewTarget();
            // In flight until its entry ends (fail) or it is queued again (requeue): another thread's maybeFinish must
            // not end the drain in between, with this entry still in progress, whether it is re-planned or failed.
            inFlight.add(vmid);
            if (retry) replanning.add(vmid);
        }
        if (retry) {
            journal.withGuestMdc(vmid, () -> log.warn("Failed to migrate VM {} ({}) to {}: Migration failed: {}; retrying on another target", vmid,
                    started.name(), started.targetNode(), message));
            retryElsewhere(started, message, outcomeUnknown);
        } else {
            fail(started, message);
        }
    }

    private void fail(GuestProgress started, String message) {
        GuestProgress failed;
        synchronized (this) {
            // The end of the guest's failed move or of its re-planning (see onGuestDone): recorded before the drain may finish.
            inFlight.remove(started.vmid());
            replanning.remove(started.vmid());
            askedTargets.remove(started.vmid());
            failed = outcomes.get(started.vmid()).failed(message, scheduler.now());
            outcomes.put(failed);
            outcomes.message(currentMessage());
            journal.save(failed);
            recordDrain();
        }
        journal.flush();
        journal.withGuestMdc(started.vmid(), () -> log.error("Failed to migrate VM {} ({}) from {} to {}: Migration failed: {}", started.vmid(), started.name(),
                started.sourceNode(), started.targetNode(), message));
        journal.tell(l -> l.guestFailed(drainId, failed));
        pump();
    }

    /** " in 1m 2s" from the guest's start to its end, or nothing when either is unknown. */
    private static String took(GuestProgress g) {
        if (g.startedAt() == null || g.completedAt() == null) return "";
        return " in " + human(Duration.between(g.startedAt(), g.completedAt()));
    }

    /**
     * Under the lock: records the drain as it is now, in order with every other change (see {@link DrainJournal#flush}):
     * the store's last record is the run's last (seen before that order: a drain that logged "completed" stored as in
     * progress with an old progress message); once the end is decided, it is the last.
     */
    private void recordDrain() {
        assert Thread.holdsLock(this);
        if (!abandoned && !finished) journal.write(outcomes.record());
    }

    /**
     * Decides the end when nothing is left to do, and hands it to the journal; it is reported (status, log, listeners,
     * onFinish) only once the store holds it and every change before it.
     */
    private void maybeFinish() {
        DrainRecord finalRecord;
        Scheduler.Cancellable task;
        synchronized (this) {
            if (finished || abandoned || !queue.isEmpty() || !inFlight.isEmpty()) return;
            finished = true;
            finalRecord = outcomes.finalRecord(cancelled, scheduler.now());
            journal.write(finalRecord);
            task = deadlineTask;
        }
        journal.flush();
        if (task != null) task.cancel();
        journal.afterWritten(() -> reportEnd(finalRecord));
    }

    private void reportEnd(DrainRecord finalRecord) {
        DrainStatus finalStatus;
        synchronized (this) {
            if (abandoned || ended) return;
            ended = true;
            finalStatus = outcomes.end(finalRecord);
        }
        journal.withDrainMdc(() -> {
            if (finalStatus.status() == DrainState.COMPLETED) log.info(finalStatus.message());
            else log.warn(finalStatus.message());
        });
        journal.tell(l -> l.drainFinished(finalStatus));
        if (onFinish != null) onFinish.accept(finalStatus);
    }

    private void onDrainDeadline() {
        List<GuestProgress> failedNow = new ArrayList<>();
        Map<GuestProgress, Guest> toRestore;
        synchronized (this) {
            if (finished || abandoned) return;
            deadlinePassed = true;
            String msg = "drain time limit of " + human(config.drainTimeout()) + " (drainTimeout) reached before this guest was started";
            toRestore = stopStarting(g -> g.failed(msg, scheduler.now()), failedNow);
        }
        journal.flush();
        for (GuestProgress f : failedNow) journal.tell(l -> l.guestFailed(drainId, f));
        toRestore.forEach(this::restoreAfterStop);
        maybeFinish();
    }

    // ------------------------------------------------------------------ guests the hypervisor moves along

    /**
     * The hypervisor moves {@code task.comigrated()} along with {@code leader} (a positive HA rule): those of this drain
     * still queued leave the queue and are in flight as moved by this drain — no migrate request of theirs is ever
     * sent — until {@link #settleComigrated} finds where they went. A guest the plan skipped (e.g. {@code maint-ok} in
     * a soft drain) that the hypervisor moves along all the same is recorded the same way, so that the undrain brings it
     * back with the others. Guests not in the drain are the hypervisor's affair.
     */
    private void takeAlong(int leader, TaskRef task) {
        List<GuestProgress> along = new ArrayList<>();
        synchronized (this) {
            GuestProgress l = outcomes.get(leader);
            for (int vmid : task.comigrated()) {
                GuestProgress q = outcomes.get(vmid);
                if (q == null || preparing.contains(vmid) || inFlight.contains(vmid)) continue;
                boolean skipped = q.status() == GuestState.SKIPPED;
                if (skipped) skippedBefore.put(vmid, q);
                else if (!queue.remove(q)) continue;
                prepared.remove(vmid);
                MigrationType type = q.migrationType() != null ? q.migrationType() : l.migrationType();
                GuestProgress moving = q.started(l.targetNode(), type, q.attempts() + 1, scheduler.now())
                        .withNote("moved by the hypervisor along with VM " + leader + " (positive HA resource-affinity)"
                                + (skipped ? "; the plan had it stay: " + q.error() : ""));
                outcomes.put(moving);
                journal.save(moving);
                inFlight.add(vmid);
                askedTargets.computeIfAbsent(vmid, k -> new HashSet<>()).add(l.targetNode());
                along.add(moving);
            }
            if (!along.isEmpty()) comigrating.put(leader, along.stream().map(GuestProgress::vmid).toList());
        }
        journal.flush();
        if (along.isEmpty()) return;
        journal.withGuestMdc(leader, () -> log.info("VM {}'s migration moves VM(s) {} along (positive HA resource-affinity): not migrated again",
                leader, along.stream().map(GuestProgress::vmid).toList()));
        for (GuestProgress g : along) journal.tell(l -> l.guestStarted(drainId, g));
    }

    /**
     * {@code leader}'s move ended ({@code arrived}: where it is now, null if it failed): the guests moved along with it
     * are followed to the node the hypervisor put them on and recorded moved there; one still unlocked on its source
     * was not moved and takes its own turn (or, when the drain stops, is not started).
     */
    private void settleComigrated(GuestProgress leader, Guest arrived, List<Integer> along) {
        watcher.view(Duration.ZERO).whenComplete((snapshot, error) -> {
            if (abandoned()) return;
            for (int vmid : along) {
                GuestProgress p;
                synchronized (this) {
                    p = outcomes.get(vmid);
                }
                Guest g = snapshot == null ? null : snapshot.guest(vmid).orElse(null);
                if (g != null && g.node().equals(p.sourceNode()) && g.lock() == null) {
                    GuestProgress wasSkipped;
                    synchronized (this) {
                        wasSkipped = skippedBefore.remove(vmid);
                        if (wasSkipped != null) {
                            inFlight.remove(vmid);
                            outcomes.put(wasSkipped);
                            journal.save(wasSkipped);
                        }
                    }
                    if (wasSkipped != null) {
                        journal.flush();
                        continue;
                    }
                    journal.withGuestMdc(vmid, () -> log.info("VM {} was not moved along with VM {}: it takes its own turn", vmid, leader.vmid()));
                    if (!requeue(p, p.targetNode(), p.migrationType())) {
                        synchronized (this) {
                            inFlight.remove(vmid);
                            GuestProgress n = outcomes.get(vmid).withStatus(GuestState.PENDING).withNote("not started: " + stopReason());
                            outcomes.put(n);
                            journal.save(n);
                        }
                        journal.flush();
                    }
                    continue;
                }
                String target = g != null && g.lock() == null ? g.node() : arrived != null ? arrived.node() : p.targetNode();
                GuestProgress watched = target.equals(p.targetNode()) ? p : p.toBuilder().targetNode(target).build();
                Limit limit = moves.limitFromNow();
                synchronized (this) {
                    skippedBefore.remove(vmid);
                    outcomes.put(watched);
                    limits.put(vmid, limit);
                }
                watcher.watch(watched, TaskRef.untracked("moved along with VM " + leader.vmid(), watched.sourceNode()), limit.at(), limit.name())
                        .whenComplete((guest, err) -> onGuestDone(watched, guest, err));
            }
            pump();
        });
    }

    // ------------------------------------------------------------------ retries and re-planning

    /**
     * A migration failed in a way another target may not: look at the cluster again, drop targets that went
     * offline (re-planning every guest that was going there), and put this guest back with its next-best target —
     * or, when it is found where this drain asked it to go (a request whose answer was lost), with that node, to be
     * verified there.
     *
     * @param outcomeUnknown the migrate request itself failed: judge by a view read after it, not one already under way
     */
    private void retryElsewhere(GuestProgress started, String message, boolean outcomeUnknown) {
        // A fresh view, shared with a round of the watcher that may be reading the cluster at this moment.
        (outcomeUnknown ? watcher.viewReadFromNow() : watcher.view(Duration.ZERO)).whenComplete((snapshot, err) -> {
            if (abandoned()) return;
            if (err != null) {
                fail(started, message + " (and the cluster could not be read to choose another target: " + Async.unwrap(err).getMessage() + ")");
                return;
            }
            dropUnavailableTargets(snapshot);
            Set<String> exclude;
            synchronized (this) {
                exclude = new HashSet<>(droppedTargets);
                // A drain with one target (an undrain: the node itself; a named targetNode) retries there.
                if (operation != Operation.UNDRAIN && request.targetNode().isEmpty()) {
                    exclude.addAll(triedTargets.getOrDefault(started.vmid(), Set.of()));
                }
            }
            Optional<Guest> current = snapshot.guest(started.vmid());
            if (current.isEmpty()) {
                fail(started, message + " (and the VM no longer exists)");
                return;
            }
            String now = current.get().node();
            boolean arrived;
            synchronized (this) {
                arrived = askedTargets.getOrDefault(started.vmid(), Set.of()).contains(now);
            }
            if (arrived) {
                if (!requeue(started, now, started.migrationType())) {
                    // It moved, by a request whose answer was lost: a move in flight, finished even when the drain stops.
                    finishArrived(started, now);
                    return;
                }
                journal.withGuestMdc(started.vmid(), () -> log.info("VM {} is on {}, where this drain asked it to go: its move is verified there",
                        started.vmid(), now));
                pump();
                return;
            }
            Map<Integer, PlanEntry> replanned = replan(snapshot, List.of(current.get()), exclude);
            PlanEntry e = replanned.get(started.vmid());
            if (e == null || e.action() != PlanEntry.Action.MOVE) {
                fail(started, message + (e == null ? "" : " (no other target: " + e.reason() + ")"));
                return;
            }
            if (!requeue(started, e.targetNode(), e.migrationType())) {
                String why;
                synchronized (this) {
                    why = stopReason();
                }
                fail(started, message + " (not retried: " + why + ")");
                return;
            }
            journal.withGuestMdc(started.vmid(), () -> log.info("VM {} will be retried on {}", started.vmid(), e.targetNode()));
            pump();
        });
    }

    /**
     * Puts the guest back in the queue for {@code target}, ending its re-planning; false when the drain was cancelled
     * or ran out of time meanwhile (then the guest stays in flight: its caller ends its entry).
     */
    private boolean requeue(GuestProgress started, String target, MigrationType type) {
        synchronized (this) {
            if (cancelled || deadlinePassed || finished) return false;
            inFlight.remove(started.vmid());
            replanning.remove(started.vmid());
            GuestProgress again = outcomes.get(started.vmid()).pendingAgain(target, type);
            outcomes.put(again);
            queue.add(again);
            // Written with its new target: a process taking the drain over moves it there, not where it failed.
            journal.save(again);
        }
        journal.flush();
        return true;
    }

    /** Under the lock: why no new move starts. */
    private String stopReason() {
        assert Thread.holdsLock(this);
        return cancelled ? "drain cancelled" : "drain time limit of " + human(config.drainTimeout()) + " (drainTimeout) reached";
    }

    /**
     * A guest found where this drain asked it to go while the drain stops: its move is verified there and it is brought
     * to its power state, outside the slots (no new migration starts), as a move in flight would be.
     */
    private void finishArrived(GuestProgress started, String at) {
        GuestProgress again;
        synchronized (this) {
            if (finished) return;
            replanning.remove(started.vmid());
            GuestProgress cur = outcomes.get(started.vmid());
            again = cur.pendingAgain(at, cur.migrationType()).started(at, cur.migrationType(), cur.attempts(), scheduler.now());
            outcomes.put(again);
            journal.save(again);
        }
        journal.flush();
        scheduler.execute(() -> runGuest(again));
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
        journal.withDrainMdc(() -> log.warn("Target node(s) {} unavailable: dropped, re-planning {} pending guest(s)", exclude, toReplan.size()));
        Map<Integer, PlanEntry> plan = replan(snapshot, toReplan, exclude);
        List<GuestProgress> failedNow = new ArrayList<>();
        synchronized (this) {
            List<GuestProgress> replanned = new ArrayList<>();
            for (Guest g : toReplan) {
                GuestProgress old = outcomes.get(g.vmid());
                if (old == null || !queue.remove(old)) continue;
                PlanEntry e = plan.get(g.vmid());
                if (e != null && e.action() == PlanEntry.Action.MOVE) {
                    GuestProgress moved = old.pendingAgain(e.targetNode(), e.migrationType());
                    outcomes.put(moved);
                    queue.add(moved);
                    replanned.add(moved);
                } else {
                    GuestProgress f = old.failed("target " + old.targetNode() + " went offline and no other target fits"
                            + (e == null ? "" : ": " + e.reason()), scheduler.now());
                    outcomes.put(f);
                    failedNow.add(f);
                }
            }
            // Written with their new targets, like a requeued guest (see requeue).
            for (GuestProgress g : replanned) journal.save(g);
            for (GuestProgress f : failedNow) journal.save(f);
        }
        journal.flush();
        for (GuestProgress f : failedNow) journal.tell(l -> l.guestFailed(drainId, f));
    }

    /**
     * Plans {@code toPlan} again around {@code exclude}, counting the memory this drain's other moves will take, and
     * with the guests of those moves where they go: a re-planned guest keeps off the node a member of its
     * anti-affinity group is on its way to.
     */
    private Map<Integer, PlanEntry> replan(ClusterSnapshot snapshot, List<Guest> toPlan, Set<String> exclude) {
        Map<String, Long> reserved = new HashMap<>();
        Map<Integer, String> going = new HashMap<>();
        synchronized (this) {
            for (int vmid : inFlight) {
                // A guest being re-planned goes to no target yet (its entry names the one that failed).
                if (replanning.contains(vmid)) continue;
                GuestProgress g = outcomes.get(vmid);
                reserved.merge(g.targetNode(), g.memory(), Long::sum);
                going.put(vmid, g.targetNode());
            }
            for (GuestProgress g : queue) {
                reserved.merge(g.targetNode(), g.memory(), Long::sum);
                going.put(g.vmid(), g.targetNode());
            }
        }
        List<Guest> placed = snapshot.guests().stream().map(g -> {
            String target = going.get(g.vmid());
            return target == null || target.equals(g.node()) ? g : g.withNode(target);
        }).toList();
        ClusterSnapshot planned = new ClusterSnapshot(snapshot.takenAt(), snapshot.nodes(), placed, snapshot.rules(), snapshot.haAutoRebalance());
        return replanner.replan(planned, toPlan, exclude, reserved, preconditions.copy());
    }
}
