package io.moxxie.core.execution;

import io.moxxie.core.spi.GuestProgress;

import io.moxxie.core.internal.Async;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.Node;
import io.moxxie.core.spi.HypervisorClient;
import io.moxxie.core.spi.TaskRef;
import io.moxxie.core.spi.TaskState;
import io.moxxie.core.time.Scheduler;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
 * <p>When to look: the watcher keeps, for every move in flight, an estimate of the memory it has left to copy,
 * under the same picture as DESIGN.md's migration model — a fixed overhead, then a transfer at
 * {@link ExecutorConfig#expectedMigrationRate()} per stream at most, the moves in flight sharing
 * {@link ExecutorConfig#expectedLinkBandwidth()} equally. The next round is due when the first move is predicted
 * to end. Both rates are scaled by one factor learned as the drain goes: a move found done well before its predicted end
 * speeds the picture up a little, a move not done at its predicted end slows it down a little. When every slot counts
 * ({@link #precise}: no more moves than the streams that fill the link, maxConcurrent 3 with the defaults), a move found
 * done before its predicted end speeds the picture up by as much as that end shows (its transfer took at most the time
 * until it was found done), and a drain starts from the factor the executor's last such drain learned (the same
 * cluster's links). No move is predicted
 * to take less than 90 % of the fastest move no larger than it that the drain has seen end; and once the moves that
 * ended are seen to take about as long as each other whatever their memory (some clusters take a minute for any move,
 * however small), none is predicted to end before the fastest of them. So checks land just after moves end: few
 * requests, and a freed slot noticed within seconds. A move found not done is looked at again after a tenth of its
 * time so far, backing off — or, when every slot counts and ends follow memory, just after its predicted end if that
 * comes sooner.
 *
 * <p>The same picture, run forward, tells the drain when the moves would end if it started another now
 * ({@link #projectedEnds}): it keeps their ends apart (see {@code DrainRun.EndSpacing}).
 *
 * <p>Waits that need not be prompt (a guest shut down ahead of its turn) take the rounds' views ({@link #nextView}).
 *
 * <p>Thread-safe: state under {@code this}, hypervisor calls outside.
 */
final class MoveWatcher {
    private static final Duration SETTLE = Duration.ofSeconds(60);
    /** However long a move is expected to take, it is looked at within this time of its start, then as it backs off. */
    private static final Duration FIRST_CHECK_CAP = Duration.ofSeconds(60);
    /** A check comes this long after the predicted end: the cluster view needs a moment to show the move. */
    private static final Duration CHECK_MARGIN = Duration.ofMillis(500);
    /** A move found done before its predicted end speeds the picture up by at most this factor at once. */
    private static final double MAX_SPEED_UP = 1.25;
    private static final double MIN_FACTOR = 0.05;
    private static final double MAX_FACTOR = 20;

    private final Async async;
    private final Scheduler scheduler;
    private final HypervisorClient client;
    private final ExecutorConfig config;
    private final BooleanSupplier abandoned;
    private final Map<Integer, Watch> watches = new LinkedHashMap<>();
    private ClusterSnapshot lastView;
    private Instant lastViewAt;
    private CompletableFuture<ClusterSnapshot> viewInFlight;
    private final List<CompletableFuture<ClusterSnapshot>> viewWaiters = new ArrayList<>();
    private Scheduler.Cancellable round;
    private Instant roundAt;
    private boolean roundRunning;
    private double factor = 1.0;
    private Instant lastAdvance;
    /**
     * The moves of this drain that ended, as a staircase: memory → the shortest duration of any ended move of at
     * most that memory, strictly decreasing with memory (so a lookup is one {@code floorEntry}).
     */
    private final java.util.TreeMap<Long, Double> fastestUpTo = new java.util.TreeMap<>();
    /** The smallest and largest memory of the moves that ended, and their shortest and longest durations (seconds). */
    private long endedMemoryMin = Long.MAX_VALUE, endedMemoryMax;
    private double endedSecondsMin = Double.MAX_VALUE, endedSecondsMax;

    /** Told the factor whenever a move ended and ends follow memory: the next drain starts from it. */
    private final DoubleConsumer learned;

    /**
     * Whether every slot counts (the drain runs no more moves than the streams that fill the source's link): then an end
     * noticed late leaves the link under-used, so the picture is learned from every end and a move missed early is looked
     * at again just after its predicted end (see the class comment). Otherwise the cautious rules: the factor moves by
     * small steps, from 1.
     */
    private final boolean precise;

    /**
     * @param abandoned     whether the drain was given up (rounds stop)
     * @param precise       see {@link #precise}
     * @param initialFactor the factor to start from when precise (what an earlier such drain learned; 1 for none)
     * @param learned       told the factor as moves end, when precise and while ends follow memory (see {@link #endsFollowMemory})
     */
    MoveWatcher(Async async, HypervisorClient client, ExecutorConfig config, BooleanSupplier abandoned, boolean precise,
                double initialFactor, DoubleConsumer learned) {
        this.precise = precise;
        this.factor = precise ? Math.max(MIN_FACTOR, Math.min(MAX_FACTOR, initialFactor)) : 1.0;
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
            fetch = new CompletableFuture<>();
            viewInFlight = fetch;
        }
        Instant askedAt = scheduler.now();
        async.call(client::snapshot).whenComplete((snapshot, error) -> {
            List<CompletableFuture<ClusterSnapshot>> waiting = List.of();
            synchronized (this) {
                viewInFlight = null;
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
        Watch w = new Watch(p, task, deadline, limitName, scheduler.now());
        w.transferFrom = w.startedAt.plus(config.expectedMigrationOverhead());
        w.remaining = p.memory();
        w.due = deadline;
        synchronized (this) {
            advance();
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
        watches.clear();
    }

    // ---------------------------------------------------------------- the estimate

    /** Moves every estimate forward to now, under the equal-share picture. Under the lock. */
    private void advance() {
        Instant now = scheduler.now();
        if (lastAdvance == null) {
            lastAdvance = now;
            return;
        }
        double dt = Duration.between(lastAdvance, now).toNanos() / 1e9;
        lastAdvance = now;
        if (dt <= 0) return;
        double rate = streamRate();
        for (Watch w : watches.values()) {
            double transferSeconds = Math.min(dt, Math.max(0, Duration.between(w.transferFrom, now).toNanos() / 1e9));
            w.remaining = Math.max(0, w.remaining - rate * transferSeconds);
        }
    }

    /** Bytes per second one move in transfer gets now: its stream cap, or its share of the link. */
    private double streamRate() {
        Instant now = scheduler.now();
        long transferring = watches.values().stream().filter(w -> !w.transferFrom.isAfter(now)).count();
        double link = config.expectedLinkBandwidth() * factor;
        double stream = config.expectedMigrationRate() * factor;
        return transferring == 0 ? stream : Math.min(stream, link / transferring);
    }

    /** When the move is predicted to end, if the picture holds. Under the lock. */
    private Instant predictedEnd(Watch w) {
        return predictedEnd(w, streamRate());
    }

    /**
     * When the move is predicted to end at a stream rate of {@code rate}: the equal-share picture, but never sooner
     * than 90 % of the fastest move no larger than it that this drain has seen end (a bigger move is not faster on
     * the same links; some clusters take a minute for any move, however small).
     */
    private Instant predictedEnd(Watch w, double rate) {
        Instant now = scheduler.now();
        Instant from = w.transferFrom.isAfter(now) ? w.transferFrom : now;
        Instant end = from.plusMillis((long) Math.ceil(w.remaining / rate * 1000));
        Instant floor = floor(w);
        return floor.isAfter(end) ? floor : end;
    }

    /** The soonest the move can end, from the moves that ended: see {@link #predictedEnd(Watch, double)}. Under the lock. */
    private Instant floor(Watch w) {
        return w.startedAt.plusMillis((long) (floorSeconds(w.progress.memory()) * 1000));
    }

    /** The shortest a move of {@code memory} bytes can take, from the moves that ended, seconds (0: nothing known). Under the lock. */
    private double floorSeconds(long memory) {
        return Math.max(0.9 * fastestNoLargerThan(memory), sizeIndependentFloor());
    }

    /**
     * When the moves that ended took about as long as each other although their memory differed by 4 times or more,
     * this cluster's moves do not take time in proportion to memory (a fixed cost dominates): then no move is predicted
     * to end before the fastest of them, however small it is. 0 while that is not seen. Under the lock.
     */
    private double sizeIndependentFloor() {
        boolean sizeIndependent = endedMemoryMin > 0 && endedMemoryMax / 4 >= endedMemoryMin && endedSecondsMax <= 1.2 * endedSecondsMin;
        return sizeIndependent ? endedSecondsMin : 0;
    }

    /**
     * Whether moves of this drain have been seen to end, and not as moves that take about as long as each other whatever
     * their memory (see {@link #sizeIndependentFloor}): then the picture says something about when a move will end.
     */
    synchronized boolean endsFollowMemory() {
        return followsMemory();
    }

    /** {@link #endsFollowMemory()}, under the lock. */
    private boolean followsMemory() {
        return endedMemoryMax > 0 && sizeIndependentFloor() == 0;
    }

    /** The vmids of the moves being watched. */
    synchronized Set<Integer> watching() {
        return Set.copyOf(watches.keySet());
    }

    /**
     * When the moves being watched, and moves of {@code newMemory} bytes each started now, are predicted to end: the
     * equal-share picture run forward, each move that ends being followed at once by another that outlasts them all
     * (a drain refills its slots), and no move ending sooner than the moves that ended say it can (see {@link #floor}).
     * The new moves' ends come first, in order, then the watched moves' in no particular order.
     */
    synchronized List<Instant> projectedEnds(long... newMemory) {
        advance();
        Instant now = scheduler.now();
        double overhead = config.expectedMigrationOverhead().toNanos() / 1e9;
        int n = newMemory.length + watches.size();
        double[] copyFrom = new double[n], left = new double[n], floor = new double[n], end = new double[n];
        int i = 0;
        for (long memory : newMemory) {
            copyFrom[i] = overhead;
            left[i] = memory;
            floor[i] = floorSeconds(memory);
            i++;
        }
        for (Watch w : watches.values()) {
            copyFrom[i] = Math.max(0, Duration.between(now, w.transferFrom).toNanos() / 1e9);
            left[i] = w.remaining;
            floor[i] = Duration.between(now, floor(w)).toNanos() / 1e9;
            i++;
        }
        Arrays.fill(end, -1);
        double t = 0, stream = config.expectedMigrationRate() * factor, link = config.expectedLinkBandwidth() * factor;
        // Each slot: a move copying from copyFrom until left is 0; then a follower, in overhead until followerFrom.
        double[] followerFrom = new double[n];
        for (int done = 0; done < n; ) {
            int copying = 0;
            for (int j = 0; j < n; j++) {
                if (end[j] < 0 ? copyFrom[j] <= t : followerFrom[j] <= t) copying++;
            }
            double rate = copying == 0 ? stream : Math.min(stream, link / copying);
            double step = Double.POSITIVE_INFINITY;
            for (int j = 0; j < n; j++) {
                if (end[j] >= 0) {
                    if (followerFrom[j] > t) step = Math.min(step, followerFrom[j] - t);
                } else {
                    step = Math.min(step, copyFrom[j] > t ? copyFrom[j] - t : left[j] / rate);
                }
            }
            for (int j = 0; j < n; j++) {
                if (end[j] < 0 && copyFrom[j] <= t) left[j] -= rate * step;
            }
            t += step;
            for (int j = 0; j < n; j++) {
                if (end[j] < 0 && copyFrom[j] <= t && left[j] <= 1) {
                    end[j] = t;
                    followerFrom[j] = t + overhead;
                    done++;
                }
            }
        }
        List<Instant> ends = new ArrayList<>(n);
        for (int j = 0; j < n; j++) ends.add(now.plusMillis((long) Math.ceil(Math.max(end[j], floor[j]) * 1000)));
        return ends;
    }

    /** Re-times the first check of every move not checked yet, after the picture changed. Under the lock. */
    private void retime() {
        Instant now = scheduler.now();
        double rate = streamRate();
        for (Watch w : watches.values()) {
            if (w.misses > 0) continue;
            Instant predicted = predictedEnd(w, rate);
            // A little after the predicted end: the picture is rough, and a check that comes too early costs a round.
            // A long move is looked at within FIRST_CHECK_CAP, unless moves that ended say it cannot be done by then.
            Instant cap = w.startedAt.plus(FIRST_CHECK_CAP);
            Instant afterFloor = checkAfter(w, floor(w));
            Instant capped = min(checkAfter(w, predicted), afterFloor.isAfter(cap) ? afterFloor : cap);
            w.due = min(capped.isBefore(now) ? now : capped, w.deadline);
        }
    }

    private static Instant checkAfter(Watch w, Instant predicted) {
        return predicted.plus(CHECK_MARGIN).plusMillis(Duration.between(w.startedAt, predicted).toMillis() * 3 / 100);
    }

    /**
     * A move found done before its predicted end: the picture was too slow. It ended by now, so its transfer took at
     * most the time from its start of transfer to now, against the picture's time to its predicted end: the picture is
     * sped up by that ratio (at most {@link #MAX_SPEED_UP} at once). Not after a look found it not done past its
     * predicted end (its picture was then reset, see {@link #learnFromMiss}). Under the lock.
     */
    private void learnFromDone(Watch w) {
        Instant now = scheduler.now();
        Instant predicted = predictedEnd(w);
        if (!precise) {
            // Cautious: only a move found done well before its predicted end, with no look in between, and by a small step.
            if (w.misses == 0 && predicted.isAfter(now.plus(config.pollInitialDelay()))) factor = Math.min(MAX_FACTOR, factor * 1.08);
            return;
        }
        if (w.pastPredicted || !predicted.isAfter(now)) return;
        double copyPredicted = Duration.between(w.transferFrom, predicted).toMillis();
        double copyAtMost = Math.max(1, Duration.between(w.transferFrom, now).toMillis());
        double speedUp = Math.min(MAX_SPEED_UP, copyPredicted / copyAtMost);
        if (speedUp > 1) factor = Math.min(MAX_FACTOR, factor * speedUp);
    }

    /** A move not done when predicted: the picture was too fast; keep a little left to copy. Under the lock. */
    private void learnFromMiss(Watch w) {
        if (w.remaining <= 0) {
            w.pastPredicted = true;
            factor = Math.max(MIN_FACTOR, factor * 0.93);
            w.remaining = 0.05 * Math.max(1, w.progress.memory());
        }
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
                    for (Watch w : current) checks.add(check(w, snapshot));
                    return CompletableFuture.allOf(checks.toArray(CompletableFuture[]::new));
                })
                .whenComplete((x, error) -> {
                    synchronized (this) {
                        roundRunning = false;
                    }
                    scheduleRound();
                });
    }

    /** Judges one move against the view; {@code snapshot} is null when the cluster could not be read. */
    private CompletableFuture<Void> check(Watch w, ClusterSnapshot snapshot) {
        Instant now = scheduler.now();
        GuestProgress p = w.progress;
        boolean due = !w.due.isAfter(now);
        if (snapshot != null) {
            Guest g = snapshot.guest(p.vmid()).orElse(null);
            if (g == null) return finish(w, null, new GuestFailure("VM " + p.vmid() + " disappeared during its migration", GuestFailure.Kind.FINAL));
            if (g.node().equals(p.targetNode()) && g.lock() == null) return finish(w, g, null);
            boolean targetUp = snapshot.node(p.targetNode()).map(Node::online).orElse(false);
            if (!targetUp) {
                return finish(w, null, new GuestFailure("target node " + p.targetNode() + " went offline during the migration",
                        GuestFailure.Kind.TARGET_UNAVAILABLE));
            }
            boolean ambiguous = g.lock() == null && !g.node().equals(p.targetNode()) && w.task.tracked() && !w.taskSucceeded;
            if (due && ambiguous) {
                return async.call(() -> client.task(w.task)).handle((state, error) -> {
                    if (state != null && state.finished()) {
                        if (!state.successful()) {
                            finish(w, null, new GuestFailure(state.message(), GuestFailure.Kind.RETRY_ELSEWHERE));
                            return null;
                        }
                        w.taskSucceeded = true;
                        w.settleBy = min(scheduler.now().plus(SETTLE), w.deadline);
                    }
                    afterMiss(w, g);
                    return null;
                });
            }
        }
        if (due) afterMiss(w, snapshot == null ? null : snapshot.guest(p.vmid()).orElse(null));
        return CompletableFuture.completedFuture(null);
    }

    /** The move is not done at a due check: fail on a limit, or check again after a backoff. */
    private void afterMiss(Watch w, Guest seen) {
        Instant now = scheduler.now();
        String where = seen == null ? "" : " but VM " + w.progress.vmid() + " is still on " + seen.node() + ", not on " + w.progress.targetNode();
        if (w.taskSucceeded && !now.isBefore(w.settleBy)) {
            finish(w, null, new GuestFailure("the migration reported success" + where, GuestFailure.Kind.FINAL));
            return;
        }
        if (!now.isBefore(w.deadline)) {
            String task = w.task.tracked() ? "; task " + w.task.id() + " may still be running on " + w.task.node() : "";
            finish(w, null, new GuestFailure("exceeded the " + w.limitName + where + task, GuestFailure.Kind.FINAL));
            return;
        }
        synchronized (this) {
            advance();
            learnFromMiss(w);
            w.misses++;
            w.lastMiss = now;
            // Missed by a little, most likely: look again soon (a tenth of the time so far), backing off if not. When ends
            // follow memory and the picture puts the end before that look (a long move looked at early, within
            // FIRST_CHECK_CAP), look just after the predicted end instead — but not within a second.
            Duration soon = max(Duration.ofSeconds(1), min(w.backoff, Duration.between(w.startedAt, now).dividedBy(10)));
            Instant next = now.plus(soon);
            if (precise && followsMemory()) {
                Instant predicted = checkAfter(w, predictedEnd(w));
                Instant earliest = now.plus(Duration.ofSeconds(1));
                if (predicted.isBefore(next)) next = predicted.isBefore(earliest) ? earliest : predicted;
            }
            w.due = min(next, w.deadline);
            w.backoff = min(Duration.ofMillis(w.backoff.toMillis() * 3 / 2), config.pollMaxDelay());
        }
    }

    private CompletableFuture<Void> finish(Watch w, Guest guest, Throwable failure) {
        synchronized (this) {
            if (watches.get(w.progress.vmid()) != w) return CompletableFuture.completedFuture(null);
            advance();
            if (guest != null) {
                learnFromDone(w);
                double seconds = (w.misses > 0
                        ? (Duration.between(w.startedAt, w.lastMiss).toMillis() + Duration.between(w.startedAt, scheduler.now()).toMillis()) / 2
                        : Duration.between(w.startedAt, scheduler.now()).toMillis()) / 1e3;
                recordEnded(w.progress.memory(), seconds);
                if (precise && followsMemory()) learned.accept(factor);
            }
            watches.remove(w.progress.vmid());
            retime();
        }
        scheduleRound();
        if (failure != null) w.result.completeExceptionally(failure);
        else w.result.complete(guest);
        return CompletableFuture.completedFuture(null);
    }

    /** The shortest duration of an ended move of at most {@code memory} bytes, seconds; 0 when there is none. */
    private double fastestNoLargerThan(long memory) {
        Map.Entry<Long, Double> e = fastestUpTo.floorEntry(memory);
        return e == null ? 0 : e.getValue();
    }

    private void recordEnded(long memory, double seconds) {
        endedMemoryMin = Math.min(endedMemoryMin, memory);
        endedMemoryMax = Math.max(endedMemoryMax, memory);
        endedSecondsMin = Math.min(endedSecondsMin, seconds);
        endedSecondsMax = Math.max(endedSecondsMax, seconds);
        Map.Entry<Long, Double> below = fastestUpTo.floorEntry(memory);
        if (below != null && below.getValue() <= seconds) return;
        fastestUpTo.put(memory, seconds);
        // Entries above it that are no faster are now dominated.
        Map.Entry<Long, Double> above = fastestUpTo.higherEntry(memory);
        while (above != null && above.getValue() >= seconds) {
            fastestUpTo.remove(above.getKey());
            above = fastestUpTo.higherEntry(memory);
        }
    }

    private static Instant min(Instant a, Instant b) {
        return a.isBefore(b) ? a : b;
    }

    private static Duration min(Duration a, Duration b) {
        return a.compareTo(b) <= 0 ? a : b;
    }

    private static Duration max(Duration a, Duration b) {
        return a.compareTo(b) >= 0 ? a : b;
    }

    private final class Watch {
        final GuestProgress progress;
        final TaskRef task;
        final Instant deadline;
        final String limitName;
        final Instant startedAt;
        final CompletableFuture<Guest> result = new CompletableFuture<>();
        Instant due;
        Duration backoff = config.pollInitialDelay();
        boolean taskSucceeded;
        /** Found not done past its predicted end (its estimate was reset): its end teaches nothing more. */
        boolean pastPredicted;
        Instant settleBy;
        int misses;
        Instant lastMiss;
        Instant transferFrom;
        double remaining;

        Watch(GuestProgress progress, TaskRef task, Instant deadline, String limitName, Instant startedAt) {
            this.progress = progress;
            this.task = task;
            this.deadline = deadline;
            this.limitName = limitName;
            this.startedAt = startedAt;
        }
    }
}
