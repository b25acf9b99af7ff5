package io.moxxie.core.execution;

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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;

/**
 * Follows a drain's moves in flight by reading the cluster view, shared: one read per round serves every
 * guest in flight, and a round is due when the first of them is expected to finish. A move has succeeded
 * when its guest is on the target and unlocked — which is what success means, whatever a task says. The
 * task itself is read only when the view is ambiguous (the guest unlocked but still on its source: not yet
 * started, or failed), to tell the two apart and to get the hypervisor's error message.
 *
 * <p>Expected durations start from {@link ExecutorConfig#expectedMigrationRate()} and
 * {@link ExecutorConfig#expectedMigrationOverhead()} and are corrected by what the drain observes, so that
 * checks land just after moves end: few requests, and a freed slot noticed within seconds.
 *
 * <p>Thread-safe: state under {@code this}, hypervisor calls outside.
 */
final class MoveWatcher {
    private static final Duration SETTLE = Duration.ofSeconds(60);

    private final Async async;
    private final Scheduler scheduler;
    private final HypervisorClient client;
    private final ExecutorConfig config;
    private final BooleanSupplier abandoned;
    private final Map<Integer, Watch> watches = new LinkedHashMap<>();
    private ClusterSnapshot lastView;
    private Instant lastViewAt;
    private CompletableFuture<ClusterSnapshot> viewInFlight;
    private Scheduler.Cancellable round;
    private Instant roundAt;
    private boolean roundRunning;
    private double factor = 1.0;

    MoveWatcher(Async async, HypervisorClient client, ExecutorConfig config, BooleanSupplier abandoned) {
        this.async = async;
        this.scheduler = async.scheduler();
        this.client = client;
        this.config = config;
        this.abandoned = abandoned;
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
            synchronized (this) {
                viewInFlight = null;
                if (snapshot != null) {
                    lastView = snapshot;
                    lastViewAt = askedAt;
                }
            }
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
        Duration expected = expected(p.memory());
        w.due = min(scheduler.now().plus(max(expected, config.pollInitialDelay())), deadline);
        synchronized (this) {
            watches.put(p.vmid(), w);
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

    private synchronized Duration expected(long memory) {
        double seconds = config.expectedMigrationOverhead().toNanos() / 1e9 + memory / config.expectedMigrationRate();
        return Duration.ofMillis((long) (seconds * factor * 1000));
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
            w.misses++;
            w.lastMiss = now;
            w.due = min(now.plus(w.backoff), w.deadline);
            w.backoff = min(Duration.ofMillis(w.backoff.toMillis() * 3 / 2), config.pollMaxDelay());
        }
    }

    private CompletableFuture<Void> finish(Watch w, Guest guest, Throwable failure) {
        synchronized (this) {
            if (watches.get(w.progress.vmid()) != w) return CompletableFuture.completedFuture(null);
            watches.remove(w.progress.vmid());
            if (guest != null) learn(w);
        }
        scheduleRound();
        if (failure != null) w.result.completeExceptionally(failure);
        else w.result.complete(guest);
        return CompletableFuture.completedFuture(null);
    }

    /**
     * Corrects the expected durations: a move found done at its first check was probably over-estimated
     * (shrink a little); one that needed more checks took at least until the last miss (grow towards it).
     */
    private void learn(Watch w) {
        double baseSeconds = Math.max(0.001, config.expectedMigrationOverhead().toNanos() / 1e9
                + w.progress.memory() / config.expectedMigrationRate());
        if (w.misses == 0) {
            factor = Math.max(0.2, factor * 0.9);
        } else {
            double observed = Duration.between(w.startedAt, w.lastMiss).toNanos() / 1e9;
            double detected = Duration.between(w.startedAt, scheduler.now()).toNanos() / 1e9;
            double wanted = (observed + detected) / 2 / baseSeconds;
            factor = Math.min(20, 0.5 * factor + 0.5 * wanted);
        }
        // Moves in flight that have not been checked yet were timed with the old estimate: time them again.
        for (Watch other : watches.values()) {
            if (other.misses > 0) continue;
            Instant due = other.startedAt.plus(max(expected(other.progress.memory()), config.pollInitialDelay()));
            other.due = min(due.isBefore(scheduler.now()) ? scheduler.now() : due, other.deadline);
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
        Instant settleBy;
        int misses;
        Instant lastMiss;

        Watch(GuestProgress progress, TaskRef task, Instant deadline, String limitName, Instant startedAt) {
            this.progress = progress;
            this.task = task;
            this.deadline = deadline;
            this.limitName = limitName;
            this.startedAt = startedAt;
        }
    }
}
