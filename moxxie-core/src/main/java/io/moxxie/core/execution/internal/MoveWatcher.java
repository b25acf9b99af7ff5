package io.moxxie.core.execution.internal;

import io.moxxie.core.execution.ExecutorConfig;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.model.Node;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.spi.HypervisorClient;
import io.moxxie.core.spi.MigrationProgress;
import io.moxxie.core.spi.TaskRef;
import io.moxxie.core.time.Scheduler;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;
import java.util.function.DoubleConsumer;

/**
 * Follows a drain's moves in flight by reading the cluster view, shared: one read per round serves every
 * guest in flight, and a round is due when the first of them is expected to finish. A move has succeeded
 * when its guest is on the target and unlocked — which is what success means, whatever a task says. The
 * task itself is read only when the view is ambiguous (the guest unlocked but still on its source: not yet
 * started, or failed), to tell the two apart and to get the hypervisor's error message.
 *
 * <p>When to look: its {@link TransferModel} predicts when each move ends; a move's first check comes just after its
 * predicted end (and within a minute of its start, unless moves that ended say it cannot be done by then), so checks
 * land just after moves end: few requests, and a freed slot noticed within seconds. A move found not done is looked
 * at again after a tenth of its time so far, backing off — or, when every slot counts ({@code precise}) and ends
 * follow memory, just after its predicted end if that comes sooner. When every slot counts, the model is learned
 * from every end and a drain starts from the factor the executor's last such drain learned (the same cluster's links).
 *
 * <p>A live migration found not done after {@link #PROGRESS_AFTER} — in an auto drain, after its expected set-up — is
 * also asked for its progress ({@link HypervisorClient#migrationProgress}; Proxmox: one read of its task log from the
 * first line not read yet):
 * when it reports bytes remaining and a rate, the next
 * look comes just after they say the copy ends (within {@link #FIRST_CHECK_CAP}) instead of after a guessed backoff,
 * and the picture takes the reported remaining bytes. A move whose read reported nothing (still in its set-up, or a
 * hypervisor that reports none) is asked again only {@link #PROGRESS_RETRY} later: where there is nothing to read, a
 * move costs a request a minute at most on asking. The last progress read, and when each move should end, are shown
 * per guest ({@link #inFlight}).
 *
 * <p>The watcher is a drain's one reader of progress: an auto drain's controller ({@link AutoConcurrency}) is told each
 * round's reads ({@link StreamObserver}) before the moves the round found done free their slots, instead of reading
 * every stream's task log on a clock of its own (the guide's soft drain: 44 requests instead of 165).
 *
 * <p>The same picture, run forward, tells the drain when the moves would end if it started another now
 * ({@link #projectedEnds}): the start order keeps their ends apart (see {@link DefaultStartOrder}).
 *
 * <p>Waits that need not be prompt (a guest shut down ahead of its turn) take the rounds' views ({@link #nextView}).
 *
 * <p>Threading: every mutable field, the model and the watches' fields are guarded by {@code this}; hypervisor calls,
 * scheduling and completing the moves' futures happen outside it. Under its lock it calls nothing but the model and
 * the {@code learned} consumer.
 */
public final class MoveWatcher {
    private static final Duration SETTLE = Duration.ofSeconds(60);
    /** However long a move is expected to take, it is looked at within this time of its start, then as it backs off. */
    private static final Duration FIRST_CHECK_CAP = Duration.ofSeconds(60);
    /** A check comes this long after the predicted end: the cluster view needs a moment to show the move. */
    private static final Duration CHECK_MARGIN = Duration.ofMillis(500);
    /**
     * A live migration found not done is asked for its progress once it has run this long: a shorter one is looked at
     * again within seconds anyway, mostly in a round read for other moves too, so a read would cost a request and save
     * none (measured: the guide's soft drain over HTTP took 4.00 requests per guest asking from the second miss on,
     * 3.83 asking never); a longer one is looked at up to {@code pollMaxDelay} apart, and an operator watches its bar.
     */
    private static final Duration PROGRESS_AFTER = Duration.ofSeconds(60);
    /** A suspect (see {@link #readSuspects}) is read again no sooner than this. */
    private static final Duration SUSPECT_REREAD = Duration.ofSeconds(3);
    /** A live migration whose progress read reported none is asked again no sooner than this (at a look that misses it). */
    private static final Duration PROGRESS_RETRY = Duration.ofSeconds(60);

    private final Async async;
    private final Scheduler scheduler;
    private final HypervisorClient client;
    private final ExecutorConfig config;
    private final BooleanSupplier abandoned;
    /** Told the factor whenever a move ended and ends follow memory: the next drain starts from it. */
    private final DoubleConsumer learned;
    /** Told each round's progress reads (null: none follows them). */
    private final StreamObserver streams;

    /**
     * Follows the streams of a drain's live moves through the watcher's reads (the one reader of their progress): an
     * auto drain's controller.
     */
    interface StreamObserver {
        /**
         * One round's progress reads, by vmid (read together: the rates are the streams' at one moment), told before
         * the moves the same round found done end (so the slots they free are handed on knowing what the round read).
         *
         * @param copying the live moves in flight after the round that are past their expected set-up (those the round
         *                found done not counted): the streams sharing the source's link, as far as the watcher knows
         */
        void observed(Map<Integer, MigrationProgress> round, int copying);

        /** Whether the stream of {@code vmid} is still worth a read of its own (not known busy yet). */
        boolean unsure(int vmid);
    }

    // Guarded by this.
    private final TransferModel model;
    private final Map<Integer, Watch> watches = new LinkedHashMap<>();
    /**
     * The least a container's restart move of this drain was seen to take, seconds (null: none seen yet): a restart
     * that ended after a look that missed it took longer than until that look. A restart copies no memory (shared
     * storage): it lasts the container's shutdown, a fixed cost and its start, whatever its memory, so the next one is
     * not first looked at before as long, where the link's picture would have its memory copied (which looked at the
     * guide's containers twice each before they were done). Only a look that missed counts: a restart found done at its
     * first look may have ended well before, and a first look after it would hold its slot.
     */
    private Double restartAtLeast;
    private ClusterSnapshot lastView;
    private Instant lastViewAt;
    private CompletableFuture<ClusterSnapshot> viewInFlight;
    /** Cluster reads begun so far, and the number of the one in flight: which reads began after a given moment. */
    private long readsStarted;
    private long viewInFlightRead;
    private final List<CompletableFuture<ClusterSnapshot>> viewWaiters = new ArrayList<>();
    private Scheduler.Cancellable round;
    private Instant roundAt;
    private boolean roundRunning;

    /**
     * @param abandoned     whether the drain was given up (rounds stop)
     * @param precise       every slot counts (the drain runs no more moves than the streams that fill the source's
     *                      link): an end noticed late leaves the link under-used, so the picture is learned from every
     *                      end and a move missed early is looked at again just after its predicted end. Otherwise the
     *                      cautious rules: the factor moves by small steps, from 1.
     * @param initialFactor the factor to start from when precise (what an earlier such drain learned; 1 for none)
     * @param learned       told the factor as moves end, when precise and while ends follow memory (see {@link #endsFollowMemory})
     */
    MoveWatcher(Async async, HypervisorClient client, ExecutorConfig config, BooleanSupplier abandoned, boolean precise,
                double initialFactor, DoubleConsumer learned) {
        this(async, client, config, abandoned, precise, initialFactor, learned, null);
    }

    /**
     * @param streams told what each round read of the live moves' progress (null: nobody follows the streams, and
     *                progress is asked only after {@link #PROGRESS_AFTER}); when set, a look that misses a live move past
     *                its expected set-up asks for its progress, so that the streams are followed from their pass 0 on
     */
    MoveWatcher(Async async, HypervisorClient client, ExecutorConfig config, BooleanSupplier abandoned, boolean precise,
                double initialFactor, DoubleConsumer learned, StreamObserver streams) {
        this.streams = streams;
        this.model = new TransferModel(config, precise, initialFactor);
        this.learned = learned;
        this.async = async;
        this.scheduler = async.scheduler();
        this.client = client;
        this.config = config;
        this.abandoned = abandoned;
    }

    /**
     * For a wait that need not be prompt: the next cluster view read for anyone (the rounds of the moves in flight),
     * or one read after {@code atMost} if none comes sooner.
     */
    CompletableFuture<ClusterSnapshot> nextView(Duration atMost) {
        CompletableFuture<ClusterSnapshot> next = new CompletableFuture<>();
        synchronized (this) {
            viewWaiters.add(next);
        }
        Scheduler.Cancellable timer = scheduler.schedule(atMost, () -> view(Duration.ofSeconds(1)).whenComplete((view, error) -> {
            if (error != null) next.completeExceptionally(error);
            else next.complete(view);
        }));
        next.whenComplete((view, error) -> timer.cancel());
        return next;
    }

    /** A cluster view read elsewhere at {@code readAt} (the one the drain was planned on), to be reused while young enough. */
    synchronized void seed(ClusterSnapshot view, Instant readAt) {
        if (lastView == null || lastViewAt.isBefore(readAt)) {
            lastView = view;
            lastViewAt = readAt;
        }
    }

    /** The cluster view, read at most {@code maxAge} ago; concurrent callers share one read. */
    CompletableFuture<ClusterSnapshot> view(Duration maxAge) {
        CompletableFuture<ClusterSnapshot> fetch;
        synchronized (this) {
            Instant now = scheduler.now();
            if (lastView != null && !lastViewAt.plus(maxAge).isBefore(now)) return CompletableFuture.completedFuture(lastView);
            if (viewInFlight != null) return viewInFlight;
            fetch = newFetch();
        }
        return read(fetch);
    }

    /**
     * A cluster view whose read began after this call: after a request whose outcome is unknown, a view read before
     * it (or while it was being sent) says nothing about it. Shared with a read asked since, if there is one.
     */
    CompletableFuture<ClusterSnapshot> viewReadFromNow() {
        long readsBefore;
        synchronized (this) {
            readsBefore = readsStarted;
        }
        return viewReadAfter(readsBefore);
    }

    private CompletableFuture<ClusterSnapshot> viewReadAfter(long readsBefore) {
        CompletableFuture<ClusterSnapshot> earlier;
        CompletableFuture<ClusterSnapshot> fetch = null;
        synchronized (this) {
            if (viewInFlight != null && viewInFlightRead > readsBefore) return viewInFlight;
            earlier = viewInFlight;
            if (earlier == null) fetch = newFetch();
        }
        if (fetch != null) return read(fetch);
        return earlier.handle((view, error) -> null).thenCompose(x -> viewReadAfter(readsBefore));
    }

    /** Under the lock: a read about to begin, shared by whoever asks for a view until it ends. */
    private CompletableFuture<ClusterSnapshot> newFetch() {
        viewInFlight = new CompletableFuture<>();
        viewInFlightRead = ++readsStarted;
        return viewInFlight;
    }

    private CompletableFuture<ClusterSnapshot> read(CompletableFuture<ClusterSnapshot> fetch) {
        Instant askedAt = scheduler.now();
        async.call(client::snapshot).whenComplete((snapshot, error) -> {
            List<CompletableFuture<ClusterSnapshot>> waiting = List.of();
            synchronized (this) {
                if (viewInFlight == fetch) viewInFlight = null;
                if (snapshot != null) {
                    lastView = snapshot;
                    lastViewAt = askedAt;
                    waiting = List.copyOf(viewWaiters);
                    viewWaiters.clear();
                }
            }
            // Waiters first: a guest found down for its offline move is ready before the round frees slots.
            for (CompletableFuture<ClusterSnapshot> w : waiting) w.complete(snapshot);
            if (error != null) fetch.completeExceptionally(error);
            else fetch.complete(snapshot);
        });
        return fetch;
    }

    /**
     * Completes with the guest once it is on its target, unlocked; fails with a {@link GuestFailure} when the
     * move failed, its target went away, or {@code deadline} passed.
     */
    CompletableFuture<Guest> watch(GuestProgress p, TaskRef task, Instant deadline, String limitName) {
        Instant now = scheduler.now();
        Watch w;
        synchronized (this) {
            w = new Watch(p, task, deadline, limitName, model.start(p.vmid(), p.memory(), now));
            w.due = deadline;
            watches.put(p.vmid(), w);
            retime();
        }
        scheduleRound();
        return w.result;
    }

    /** Stops all rounds (the drain was abandoned). */
    synchronized void stop() {
        if (round != null) round.cancel();
        round = null;
        for (int vmid : watches.keySet()) model.remove(vmid);
        watches.clear();
    }

    // ---------------------------------------------------------------- the picture, for the start order

    /**
     * Whether every slot counts: the drain runs no more moves than the streams that fill the source's link (see the
     * constructor's {@code precise}). Fixed at construction, so no lock.
     */
    boolean everySlotCounts() {
        return model.precise();
    }

    /** Whether moves of this drain have been seen to end, and their ends follow memory: see {@link TransferModel#followsMemory()}. */
    synchronized boolean endsFollowMemory() {
        return model.followsMemory();
    }

    /** The vmids of the moves being watched. */
    synchronized Set<Integer> watching() {
        return Set.copyOf(watches.keySet());
    }

    /**
     * A watched move as the status shows it: the progress its hypervisor last reported (null: none), and when it
     * should end — from that progress's remaining bytes and rate when it has both, else from the picture.
     */
    record InFlight(MigrationProgress progress, Instant expectedEnd) {
    }

    /** The watched moves by vmid: see {@link InFlight}. A read: the picture is not moved forward. */
    synchronized Map<Integer, InFlight> inFlight() {
        Instant now = scheduler.now();
        Map<Integer, InFlight> out = new LinkedHashMap<>();
        for (Watch w : watches.values()) {
            Instant end = reportedEnd(w.lastProgress);
            if (end == null) end = model.predictedEnd(w.move, now);
            out.put(w.progress.vmid(), new InFlight(w.lastProgress, end.isBefore(now) ? now : end));
        }
        return out;
    }

    /** When the copy ends if it goes on at the reported rate; null without remaining bytes and a rate. */
    private static Instant reportedEnd(MigrationProgress p) {
        if (p == null || p.remaining() <= 0 || p.rate().orElse(0) <= 0) return null;
        return p.at().plusMillis((long) Math.ceil(p.remaining() / p.rate().getAsDouble() * 1000));
    }

    /** See {@link TransferModel#projectedDrainEnd}: the watched moves go on, the {@code queued} ones follow in {@code slots}. */
    synchronized Instant projectedDrainEnd(int slots, long... queued) {
        return model.projectedDrainEnd(scheduler.now(), slots, queued);
    }

    /** See {@link TransferModel#projectedEnds}: moves of {@code newMemory} bytes each started now, then the watched moves. */
    synchronized List<Instant> projectedEnds(long... newMemory) {
        return model.projectedEnds(scheduler.now(), newMemory);
    }

    // ---------------------------------------------------------------- rounds

    /** Re-times the first check of every move not checked yet, after the picture changed. Under the lock. */
    private void retime() {
        Instant now = scheduler.now();
        double rate = model.streamRate(now);
        for (Watch w : watches.values()) {
            if (w.misses > 0) continue;
            Instant predicted = model.predictedEnd(w.move, rate, now);
            if (restartAtLeast != null && w.progress.migrationType() == MigrationType.RESTART) {
                Instant floor = w.move.startedAt.plusMillis((long) (restartAtLeast * 1000));
                if (floor.isAfter(predicted)) predicted = floor;
            }
            // A little after the predicted end: the picture is rough, and a check that comes too early costs a round.
            // A long move is looked at within FIRST_CHECK_CAP, unless moves that ended say it cannot be done by then.
            Instant cap = w.move.startedAt.plus(FIRST_CHECK_CAP);
            Instant afterFloor = checkAfter(w, model.floor(w.move));
            Instant capped = Limit.earlier(checkAfter(w, predicted), afterFloor.isAfter(cap) ? afterFloor : cap);
            w.due = Limit.earlier(capped.isBefore(now) ? now : capped, w.deadline);
        }
    }

    private static Instant checkAfter(Watch w, Instant predicted) {
        return predicted.plus(CHECK_MARGIN).plusMillis(Duration.between(w.move.startedAt, predicted).toMillis() * 3 / 100);
    }

    private void scheduleRound() {
        synchronized (this) {
            if (roundRunning || watches.isEmpty()) return;
            Instant earliest = watches.values().stream().map(x -> x.due).min(Instant::compareTo).orElseThrow();
            if (round != null && !roundAt.isAfter(earliest)) return;
            if (round != null) round.cancel();
            roundAt = earliest;
            round = scheduler.schedule(Duration.between(scheduler.now(), earliest), this::runRound);
        }
    }

    private void runRound() {
        synchronized (this) {
            round = null;
            if (roundRunning || watches.isEmpty()) return;
            roundRunning = true;
        }
        if (abandoned.getAsBoolean()) {
            stop();
            return;
        }
        view(Duration.ZERO).handle((snapshot, error) -> snapshot)
                .thenCompose(snapshot -> {
                    List<CompletableFuture<Void>> checks = new ArrayList<>();
                    List<Watch> current;
                    synchronized (this) {
                        current = List.copyOf(watches.values());
                    }
                    Round round = new Round();
                    for (Watch w : current) checks.add(check(w, snapshot, round));
                    return CompletableFuture.allOf(checks.toArray(CompletableFuture[]::new))
                            .thenCompose(x -> readSuspects(current, round)).thenRun(() -> endRound(current, round));
                })
                .whenComplete((x, error) -> {
                    synchronized (this) {
                        roundRunning = false;
                    }
                    scheduleRound();
                });
    }

    /**
     * What one round found: the moves found done, by vmid, each with its end (run after the round's progress reads are
     * told), and those reads.
     */
    private static final class Round {
        final Map<Integer, Runnable> done = new LinkedHashMap<>();
        final Map<Integer, MigrationProgress> progress = new java.util.concurrent.ConcurrentHashMap<>();
    }

    /**
     * For an auto drain's controller, in a round that found a move done (a slot is about to be handed on): the progress
     * of the live moves in flight that the picture says should have ended by now, and that the observer still wants
     * ({@link StreamObserver#unsure}), read with the round's. A move running past the end its memory gives it is
     * re-sending what its guest dirtied — the busy guest the controller must know of before it admits another stream;
     * one on time costs no read. Not read twice within {@link #SUSPECT_REREAD}.
     */
    private CompletableFuture<Void> readSuspects(List<Watch> looked, Round round) {
        if (streams == null || round.done.isEmpty()) return CompletableFuture.completedFuture(null);
        Instant now = scheduler.now();
        Instant setUpDone = now.minus(config.expectedMigrationOverhead());
        List<Watch> suspects = new ArrayList<>();
        synchronized (this) {
            model.advance(now);
            for (Watch w : looked) {
                if (!copying(w, round, setUpDone) || round.progress.containsKey(w.progress.vmid())) continue;
                if (model.predictedEnd(w.move, now).isAfter(now)) continue;
                if (w.progressAskedAt != null && now.isBefore(w.progressAskedAt.plus(SUSPECT_REREAD))) continue;
                suspects.add(w);
            }
        }
        List<CompletableFuture<Void>> reads = new ArrayList<>();
        for (Watch w : suspects) {
            if (!streams.unsure(w.progress.vmid())) continue;
            reads.add(async.call(() -> client.migrationProgress(w.task)).handle((progress, error) -> {
                if (progress != null) progress.ifPresent(x -> round.progress.put(w.progress.vmid(), x));
                tookProgress(w, progress == null ? Optional.empty() : progress, now);
                return null;
            }));
        }
        return CompletableFuture.allOf(reads.toArray(CompletableFuture[]::new));
    }

    /** After a round's looks: its progress reads told, then the moves it found done end. */
    private void endRound(List<Watch> looked, Round round) {
        if (streams != null && !round.progress.isEmpty()) {
            Instant setUpDone = scheduler.now().minus(config.expectedMigrationOverhead());
            int copying = 0;
            synchronized (this) {
                for (Watch w : looked) if (copying(w, round, setUpDone)) copying++;
            }
            streams.observed(Map.copyOf(round.progress), copying);
        }
        for (Runnable r : round.done.values()) r.run();
    }

    /**
     * Under the lock: whether {@code w} is a live move still followed that the round did not find done, past its
     * expected set-up ({@code setUpDone}: its start at the latest) — a stream copying over the source's link.
     */
    private boolean copying(Watch w, Round round, Instant setUpDone) {
        int vmid = w.progress.vmid();
        return live(w) && !round.done.containsKey(vmid) && watches.get(vmid) == w && !w.move.startedAt.isAfter(setUpDone);
    }

    private static boolean live(Watch w) {
        return w.progress.type() == GuestType.QEMU && w.progress.migrationType() == MigrationType.ONLINE && w.task.tracked();
    }

    /**
     * Judges one move against the view; {@code snapshot} is null when the cluster could not be read. A move found done
     * is ended with the round ({@link #endRound}).
     */
    private CompletableFuture<Void> check(Watch w, ClusterSnapshot snapshot, Round round) {
        Instant now = scheduler.now();
        GuestProgress p = w.progress;
        boolean due;
        boolean taskSucceeded;
        synchronized (this) {
            due = !w.due.isAfter(now);
            taskSucceeded = w.taskSucceeded;
        }
        if (snapshot != null) {
            Guest g = snapshot.guest(p.vmid()).orElse(null);
            if (g == null) return finish(w, null, new GuestFailure("VM " + p.vmid() + " disappeared during its migration", GuestFailure.Kind.FINAL));
            if (g.node().equals(p.targetNode()) && g.lock() == null) {
                if (streams == null) return finish(w, g, null);
                round.done.put(p.vmid(), () -> finish(w, g, null));
                return CompletableFuture.completedFuture(null);
            }
            boolean targetUp = snapshot.node(p.targetNode()).map(Node::online).orElse(false);
            if (!targetUp) {
                return finish(w, null, new GuestFailure("target node " + p.targetNode() + " went offline during the migration",
                        GuestFailure.Kind.TARGET_UNAVAILABLE));
            }
            boolean ambiguous = g.lock() == null && !g.node().equals(p.targetNode()) && w.task.tracked() && !taskSucceeded;
            if (due && ambiguous) {
                return async.call(() -> client.task(w.task)).handle((state, error) -> {
                    if (state != null && state.finished()) {
                        if (!state.successful()) {
                            finish(w, null, new GuestFailure(state.message(), GuestFailure.Kind.RETRY_ELSEWHERE));
                            return null;
                        }
                        synchronized (this) {
                            w.taskSucceeded = true;
                            w.settleBy = Limit.earlier(scheduler.now().plus(SETTLE), w.deadline);
                        }
                    }
                    afterMiss(w, g);
                    return null;
                });
            }
        }
        Guest seen = snapshot == null ? null : snapshot.guest(p.vmid()).orElse(null);
        if (due && seen != null && asksProgress(w, now)) {
            // Still migrating: what the hypervisor reports tells when to look again, rather than a guess.
            return async.call(() -> client.migrationProgress(w.task)).handle((progress, error) -> {
                if (progress != null) progress.ifPresent(x -> round.progress.put(p.vmid(), x));
                tookProgress(w, progress == null ? Optional.empty() : progress, now);
                afterMiss(w, seen);
                return null;
            });
        }
        if (due) afterMiss(w, seen);
        return CompletableFuture.completedFuture(null);
    }

    /**
     * Whether a look that misses {@code w} asks for its progress: a live migration of a VM that has run for
     * {@link #PROGRESS_AFTER} (for an auto drain's controller: its expected set-up, after which its stream copies), whose
     * last read reported progress or was not lately.
     */
    private synchronized boolean asksProgress(Watch w, Instant now) {
        Duration after = streams != null ? config.expectedMigrationOverhead() : PROGRESS_AFTER;
        if (!live(w) || now.isBefore(w.move.startedAt.plus(after))) return false;
        return w.progressAskedAt == null || w.lastProgress != null || !now.isBefore(w.progressAskedAt.plus(PROGRESS_RETRY));
    }

    /** The progress read at {@code now} (empty: none reported, or the read failed): kept, and the picture takes it. */
    private synchronized void tookProgress(Watch w, Optional<MigrationProgress> progress, Instant now) {
        w.progressAskedAt = now;
        w.lastProgress = progress.orElse(null);
        w.progressFresh = true;
        if (w.lastProgress != null && w.lastProgress.remaining() > 0) {
            model.advance(now);
            model.measured(w.move, w.lastProgress.remaining());
        }
    }

    /** The move is not done at a due check: fail on a limit, or check again after a backoff. */
    private void afterMiss(Watch w, Guest seen) {
        Instant now = scheduler.now();
        String where = seen == null ? "" : " but VM " + w.progress.vmid() + " is still on " + seen.node() + ", not on " + w.progress.targetNode();
        boolean settled;
        synchronized (this) {
            settled = w.taskSucceeded && !now.isBefore(w.settleBy);
        }
        if (settled) {
            finish(w, null, new GuestFailure("the migration reported success" + where, GuestFailure.Kind.FINAL));
            return;
        }
        if (!now.isBefore(w.deadline)) {
            String task = w.task.tracked() ? "; task " + w.task.id() + " may still be running on " + w.task.node() : "";
            finish(w, null, new GuestFailure("exceeded the " + w.limitName + where + task, GuestFailure.Kind.FINAL));
            return;
        }
        synchronized (this) {
            model.advance(now);
            model.learnFromMiss(w.move);
            w.misses++;
            w.lastMiss = now;
            // Missed by a little, most likely: look again soon (a tenth of the time so far), backing off if not. When ends
            // follow memory and the picture puts the end before that look (a long move looked at early, within
            // FIRST_CHECK_CAP), look just after the predicted end instead — but not within a second.
            boolean live = w.progress.migrationType() == MigrationType.ONLINE;
            Duration sinceStart = Duration.between(w.move.startedAt, now);
            // A move that copies no memory (a container's restart, an offline move) ends when its guest's shutdown and
            // start do, which the link's picture cannot tell: look again after a third of its time so far, not a tenth.
            Duration soon = live ? max(Duration.ofSeconds(1), min(w.backoff, sinceStart.dividedBy(10)))
                    : max(Duration.ofSeconds(1), max(w.backoff, sinceStart.dividedBy(3)));
            Instant next = now.plus(soon);
            Instant reported = w.progressFresh ? reportedEnd(w.lastProgress) : null;
            w.progressFresh = false;
            if (reported != null) {
                // Its progress was just read: a little after the copy should end (as a first check is: the rate changes as
                // other moves start and end), not within a second, and within FIRST_CHECK_CAP.
                Instant after = checkAfter(w, reported);
                Instant earliest = now.plus(Duration.ofSeconds(1));
                next = Limit.earlier(after.isBefore(earliest) ? earliest : after, now.plus(FIRST_CHECK_CAP));
            } else if (live && model.precise() && model.followsMemory()) {
                Instant predicted = checkAfter(w, model.predictedEnd(w.move, now));
                Instant earliest = now.plus(Duration.ofSeconds(1));
                if (predicted.isBefore(next)) next = predicted.isBefore(earliest) ? earliest : predicted;
            }
            w.due = Limit.earlier(next, w.deadline);
            w.backoff = min(Duration.ofMillis(w.backoff.toMillis() * 3 / 2), config.pollMaxDelay());
        }
    }

    private CompletableFuture<Void> finish(Watch w, Guest guest, Throwable failure) {
        synchronized (this) {
            if (watches.get(w.progress.vmid()) != w) return CompletableFuture.completedFuture(null);
            Instant now = scheduler.now();
            model.advance(now);
            // Only a live move copies memory over the link: a move that copies none (a stopped guest, a container's
            // restart with shared storage) takes seconds whatever its size and would teach the picture a link speed it
            // does not have.
            double seconds = (w.misses > 0
                    ? (Duration.between(w.move.startedAt, w.lastMiss).toMillis() + Duration.between(w.move.startedAt, now).toMillis()) / 2
                    : Duration.between(w.move.startedAt, now).toMillis()) / 1e3;
            if (guest != null && w.progress.migrationType() == MigrationType.RESTART && w.misses > 0) {
                double atLeast = Duration.between(w.move.startedAt, w.lastMiss).toMillis() / 1e3;
                restartAtLeast = restartAtLeast == null ? atLeast : Math.min(restartAtLeast, atLeast);
            }
            if (guest != null && w.progress.migrationType() == MigrationType.ONLINE) {
                model.learnFromDone(w.move, now, w.misses > 0);
                model.recordEnded(w.progress.memory(), seconds);
                if (model.precise() && model.followsMemory()) learned.accept(model.factor());
            }
            watches.remove(w.progress.vmid());
            model.remove(w.progress.vmid());
            retime();
        }
        scheduleRound();
        if (failure != null) w.result.completeExceptionally(failure);
        else w.result.complete(guest);
        return CompletableFuture.completedFuture(null);
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    private static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    /** One move being followed: its picture in the model, and when and how it is looked at. Fields guarded by the watcher. */
    private final class Watch {
        final GuestProgress progress;
        final TaskRef task;
        final Instant deadline;
        final String limitName;
        final TransferModel.Move move;
        final CompletableFuture<Guest> result = new CompletableFuture<>();
        Instant due;
        Duration backoff = config.pollInitialDelay();
        boolean taskSucceeded;
        Instant settleBy;
        int misses;
        Instant lastMiss;
        /** The last progress read (null: none reported), and when it was asked for (null: never). */
        MigrationProgress lastProgress;
        Instant progressAskedAt;
        /** The progress was read at this look: the next look follows it. */
        boolean progressFresh;

        Watch(GuestProgress progress, TaskRef task, Instant deadline, String limitName, TransferModel.Move move) {
            this.progress = progress;
            this.task = task;
            this.deadline = deadline;
            this.limitName = limitName;
            this.move = move;
        }
    }
}
