package io.moxxie.core.execution.internal;

import io.moxxie.core.execution.ExecutorConfig;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.model.Node;
import io.moxxie.core.model.PowerState;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.spi.HypervisorAuthenticationException;
import io.moxxie.core.spi.HypervisorClient;
import io.moxxie.core.spi.HypervisorException;
import io.moxxie.core.spi.MigrationCommand;
import io.moxxie.core.spi.TaskRef;
import io.moxxie.core.spi.TaskState;
import io.moxxie.core.time.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.UnaryOperator;

import static io.moxxie.core.execution.internal.Limit.earlier;
import static io.moxxie.core.execution.internal.Limit.human;
import static io.moxxie.core.execution.internal.Limit.shorter;

/**
 * How one guest moves, as a chain of asynchronous steps on the scheduler: resolve where it is (waiting out a config
 * lock), check its preconditions, shut it down for an offline move, migrate, follow the move (the
 * {@link MoveWatcher}), and end in the power state it had (an {@code always-on} guest must run). Also the two
 * partial chains the run needs: a shutdown ahead of the guest's turn, and a start again where it is when its move
 * will not happen. A step that fails completes the chain with a {@link GuestFailure} saying how the run follows it up.
 *
 * <p>Threading: one instance serves a drain's moves; it has no mutable state (final fields only). The steps of one
 * move run one after another on the scheduler's threads; the drain's state is read and changed only through
 * {@link Drain}, whose methods take the run's lock.
 */
final class GuestMove {
    /** A drain's story is told by one logger, the run's. */
    private static final Logger log = LoggerFactory.getLogger(DrainRun.class);
    private static final Duration LOCK_POLL = Duration.ofSeconds(10);

    /** What a move needs from its drain. Implemented by {@link DrainRun}: every method is thread-safe. */
    interface Drain {
        /** The run was given up: moves stop at their next step. */
        boolean abandoned();

        /** Fewer moves hold a migration slot than the drain may run. */
        boolean slotFree();

        /** Some move holds a migration slot. */
        boolean migrating();

        /** Changes the guest's entry and returns the new entry (not recorded yet). */
        GuestProgress update(int vmid, UnaryOperator<GuestProgress> change);

        /** The guest's migration runs as {@code task}: recorded at once. */
        void taskStarted(int vmid, TaskRef task);

        /** A migrate request of the guest to {@code target} is being sent. */
        void migrationRequested(int vmid, String target);

        /** Whether this drain sent a migrate request of the guest to {@code node} (this attempt or an earlier one). */
        boolean askedFor(int vmid, String node);
    }

    private final Drain drain;
    private final ExecutorConfig config;
    private final HypervisorClient client;
    private final Async async;
    private final Scheduler scheduler;
    private final MoveWatcher watcher;
    private final PreconditionCache preconditions;
    private final DrainJournal journal;
    private final Instant drainDeadline;

    GuestMove(Drain drain, ExecutorParts parts, MoveWatcher watcher, PreconditionCache preconditions, DrainJournal journal,
              Instant drainDeadline) {
        this.drain = drain;
        this.config = parts.config;
        this.client = parts.client;
        this.async = parts.async;
        this.scheduler = async.scheduler();
        this.watcher = watcher;
        this.preconditions = preconditions;
        this.journal = journal;
        this.drainDeadline = drainDeadline;
    }

    /** The limit a move started now runs against: the migration time limit, or the drain's if that comes first. */
    Limit limitFromNow() {
        Instant migrationDeadline = scheduler.now().plus(config.migrationTimeout());
        return migrationDeadline.isBefore(drainDeadline)
                ? new Limit(migrationDeadline, "migration time limit of " + human(config.migrationTimeout()) + " (migrationTimeout)")
                : new Limit(drainDeadline, "drain time limit of " + human(config.drainTimeout()) + " (drainTimeout)");
    }

    /**
     * Moves the guest and brings it to the power state it must have. {@code migrationOver} runs when the migration
     * itself is over (its slot can go to the next guest while this one is verified and started).
     */
    CompletableFuture<Guest> run(GuestProgress p, Limit limit, Runnable migrationOver) {
        journal.withGuestMdc(p.vmid(), () -> log.info("Migrating VM {} ({}) from {} to {} ({}, attempt {}): Migration started", p.vmid(), p.name(),
                p.sourceNode(), p.targetNode(), p.migrationType().wireName(), p.attempts()));
        return resolve(p, limit, scheduler.now().plus(config.lockWaitTimeout()))
                .thenCompose(guest -> arrived(p, guest)
                        ? CompletableFuture.completedFuture(guest)
                        : prepare(p, guest, limit).thenCompose(g -> migrate(p, g, limit)))
                .thenApply(guest -> {
                    migrationOver.run();
                    return guest;
                })
                .thenCompose(guest -> ensurePower(p, guest, limit));
    }

    /** The limit a shutdown ahead started now runs against: a lock wait, the shutdown and a stop, within the drain's. */
    Limit shutdownLimitFromNow() {
        Instant now = scheduler.now();
        return new Limit(earlier(now.plus(config.lockWaitTimeout()).plus(config.shutdownTimeout()).plus(config.powerTimeout()), drainDeadline),
                "shutdown time limit of " + human(config.shutdownTimeout()) + " (shutdownTimeout)");
    }

    /** Shuts a guest down for its offline move before it takes a slot; the shutdown uses no migration bandwidth. */
    CompletableFuture<Guest> shutDownAhead(GuestProgress p, Limit limit) {
        Instant now = scheduler.now();
        return resolve(p, limit, now.plus(config.lockWaitTimeout()))
                .thenCompose(g -> arrived(p, g) || !g.running() ? CompletableFuture.completedFuture(g) : shutDown(p, g, limit, true));
    }

    /** A guest shut down for a move that will not happen now (cancel, drain time limit): started again where it is. */
    CompletableFuture<Guest> startAgain(GuestProgress p, Guest g) {
        return g.running() || !p.wasRunning() ? CompletableFuture.completedFuture(g)
                : async.call(() -> client.start(g)).thenCompose(task -> awaitTask(task,
                        new Limit(scheduler.now().plus(config.powerTimeout()), "start timeout"))).thenApply(x -> g);
    }

    /**
     * Whether the guest is where this move or an earlier one of this drain asked it to go: then it has moved (a request
     * whose answer was lost, for instance), and what is left is to bring it to the power state it must have.
     */
    private boolean arrived(GuestProgress p, Guest g) {
        return g.node().equals(p.targetNode()) || drain.askedFor(p.vmid(), g.node());
    }

    /**
     * Reads where the guest is and whether its target still takes guests (one cluster read gives both); waits
     * out a config lock (a backup, or a migration a dead owner started). A guest found on a node no move of this drain
     * asked it to go to was moved by someone else.
     */
    private CompletableFuture<Guest> resolve(GuestProgress p, Limit limit, Instant lockDeadline) {
        checkAbandoned();
        return watcher.view(config.clusterViewMaxAge()).thenCompose(snapshot -> {
            Guest g = snapshot.guest(p.vmid()).orElseThrow(() -> new GuestFailure("VM " + p.vmid() + " no longer exists", GuestFailure.Kind.FINAL));
            boolean arrived = arrived(p, g);
            if (arrived && g.lock() == null) {
                if (!g.node().equals(p.targetNode())) {
                    journal.withGuestMdc(p.vmid(), () -> log.info("VM {} is on {}, where this drain asked it to go before: it has moved",
                            p.vmid(), g.node()));
                }
                return CompletableFuture.completedFuture(g);
            }
            if (!g.node().equals(p.sourceNode()) && !arrived) {
                throw new GuestFailure("VM " + p.vmid() + " is now on " + g.node() + ", not on " + p.sourceNode()
                        + " (moved by someone else during the drain?)", GuestFailure.Kind.FINAL);
            }
            if (!targetAvailable(snapshot, p.targetNode())) {
                throw new GuestFailure("target node " + p.targetNode() + " is offline or gone", GuestFailure.Kind.TARGET_UNAVAILABLE);
            }
            if (g.lock() == null) return CompletableFuture.completedFuture(g);
            Instant now = scheduler.now();
            Instant until = earlier(lockDeadline, limit.at());
            if (!now.isBefore(until)) {
                throw new GuestFailure("VM " + p.vmid() + " is locked (" + g.lock() + ") for longer than "
                        + (lockDeadline.isBefore(limit.at()) ? "the lock wait limit of " + human(config.lockWaitTimeout()) + " (lockWaitTimeout)" : "the " + limit.name()), GuestFailure.Kind.FINAL);
            }
            journal.withGuestMdc(p.vmid(), () -> log.info("VM {} is locked ({}), waiting", p.vmid(), g.lock()));
            return async.delay(shorter(LOCK_POLL, Duration.between(now, until))).thenCompose(x -> resolve(p, limit, lockDeadline));
        });
    }

    private static boolean targetAvailable(ClusterSnapshot snapshot, String target) {
        return snapshot.node(target).map(Node::online).orElse(false);
    }

    /** Checks preconditions, and for an offline move of a running guest shuts it down first. */
    private CompletableFuture<Guest> prepare(GuestProgress p, Guest guest, Limit limit) {
        CompletableFuture<MigrationPreconditions> pre = preconditions.fresh(p.vmid(), scheduler.now(), config.preconditionMaxAge())
                .map(CompletableFuture::completedFuture)
                .orElseGet(() -> async.call(() -> client.preconditions(guest)).thenApply(fetched -> {
                    preconditions.put(p.vmid(), fetched);
                    return fetched;
                }));
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
        journal.withGuestMdc(p.vmid(), () -> log.info("Shutting down VM {} ({}) for its offline migration (timeout {})", p.vmid(), p.name(),
                human(config.shutdownTimeout())));
        // The shutdown's own task is not followed: whether the guest is down is what counts, and the cluster view
        // (shared with the moves in flight) shows it; a guest still up after the timeout is stopped.
        Instant shutdownDeadline = earlier(scheduler.now().plus(config.shutdownTimeout()).plus(config.powerTimeout()), limit.at());
        return async.call(() -> client.shutdown(guest, config.shutdownTimeout()))
                .thenCompose(task -> ahead && drain.migrating() ? awaitStopWithRounds(p.vmid(), shutdownDeadline)
                        : awaitPower(p.vmid(), PowerState.STOPPED, shutdownDeadline))
                .thenCompose(g -> {
                    if (!g.running()) return CompletableFuture.completedFuture(g);
                    journal.withGuestMdc(p.vmid(), () -> log.warn("VM {} did not shut down within {}, stopping it", p.vmid(), human(config.shutdownTimeout())));
                    return async.call(() -> client.stop(g))
                            .thenCompose(task -> awaitTask(task, limit))
                            .thenCompose(s -> awaitPower(p.vmid(), PowerState.STOPPED, earlier(scheduler.now().plus(config.powerTimeout()), limit.at())))
                            .thenApply(stopped -> {
                                if (stopped.running()) throw new GuestFailure("VM " + p.vmid() + " could not be stopped for its offline migration", GuestFailure.Kind.FINAL);
                                return stopped;
                            });
                });
    }

    private CompletableFuture<Guest> migrate(GuestProgress p, Guest guest, Limit limit) {
        checkAbandoned();
        MigrationPreconditions pc = preconditions.orUnrestricted(p.vmid());
        MigrationType type = guest.running() ? p.migrationType() : MigrationType.OFFLINE;
        MigrationCommand cmd = new MigrationCommand(guest, p.targetNode(), type, pc.localDisks(), config.shutdownTimeout());
        drain.migrationRequested(p.vmid(), p.targetNode());
        return async.call(() -> client.migrate(cmd))
                .exceptionally(e -> {
                    Throwable cause = Async.unwrap(e);
                    if (cause instanceof HypervisorException && !(cause instanceof HypervisorAuthenticationException)) {
                        throw new GuestFailure(cause.getMessage(), GuestFailure.Kind.RETRY_ELSEWHERE, true);
                    }
                    throw new CompletionException(cause);
                })
                .thenCompose(task -> {
                    drain.taskStarted(p.vmid(), task);
                    return watcher.watch(p, task, limit.at(), limit.name());
                });
    }

    /** After the move: the guest ends in the power state it had; an always-on guest must run. */
    private CompletableFuture<Guest> ensurePower(GuestProgress p, Guest guest, Limit limit) {
        boolean mustRun = (p.wasRunning() || p.alwaysOn()) && !guest.template();
        if (!mustRun || guest.running()) return CompletableFuture.completedFuture(guest);
        boolean unexpected = p.alwaysOn() && p.migrationType() != MigrationType.OFFLINE;
        journal.withGuestMdc(p.vmid(), () -> {
            // "(always-on guests …)": the guide finds this line with grep "always-on" | grep -i warn, case-sensitively.
            if (p.alwaysOn()) log.warn("Always-on VM {} ({}) is stopped after migration, starting it (always-on guests must run)", p.vmid(), p.name());
            else log.info("VM {} ({}) was running before its {} migration, starting it on {}", p.vmid(), p.name(),
                    p.migrationType().wireName(), guest.node());
        });
        Instant powerDeadline = earlier(scheduler.now().plus(config.powerTimeout()), limit.at());
        // Running in the cluster view (shared with the moves in flight) is what counts; the start task is read only
        // when the guest is not running at the first look, for its error message.
        return async.call(() -> client.start(guest))
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
                    journal.withGuestMdc(p.vmid(), () -> log.info(p.alwaysOn() ? "Successfully started always-on VM {}" : "Successfully started VM {}", p.vmid()));
                    GuestProgress noted = drain.update(p.vmid(), cur -> cur.withNote(unexpected ? "found stopped after migration; started again"
                            : noteOr(cur.note(), "started again on " + g.node())));
                    if (unexpected) journal.tell(l -> l.guestRestarted(p.drainId(), noted));
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
        Duration untilLimit = Duration.between(scheduler.now(), limit.at());
        return async.delay(shorter(wait, untilLimit))
                .thenCompose(x -> {
                    checkAbandoned();
                    return async.call(() -> client.task(task));
                })
                .thenCompose(state -> {
                    if (state.finished()) return CompletableFuture.completedFuture(state);
                    if (!scheduler.now().isBefore(limit.at())) {
                        throw new GuestFailure("exceeded the " + limit.name() + "; task " + task.id() + " may still be running on "
                                + task.node(), GuestFailure.Kind.FINAL);
                    }
                    return pollTask(task, limit, shorter(wait.multipliedBy(2), config.pollMaxDelay()));
                });
    }

    /** Waits until the guest is in {@code wanted} power state or {@code until}, reading the shared cluster view with backoff. */
    private CompletableFuture<Guest> awaitPower(int vmid, PowerState wanted, Instant until) {
        return awaitPower(vmid, wanted, until, config.pollInitialDelay());
    }

    private CompletableFuture<Guest> awaitPower(int vmid, PowerState wanted, Instant until, Duration wait) {
        return async.delay(shorter(wait, Duration.between(scheduler.now(), until)))
                .thenCompose(x -> watcher.view(Duration.ofSeconds(1)))
                .thenCompose(view -> {
                    Guest g = guestIn(view, vmid);
                    if (inPowerState(g, wanted) || !scheduler.now().isBefore(until)) return CompletableFuture.completedFuture(g);
                    return awaitPower(vmid, wanted, until, shorter(wait.multipliedBy(2), config.pollMaxDelay()));
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
        Duration wait = drain.slotFree() ? config.pollInitialDelay() : config.pollMaxDelay();
        return watcher.nextView(shorter(wait, Duration.between(scheduler.now(), until)))
                .thenCompose(view -> {
                    Guest g = guestIn(view, vmid);
                    if (inPowerState(g, PowerState.STOPPED) || !scheduler.now().isBefore(until)) return CompletableFuture.completedFuture(g);
                    return awaitStopWithRounds(vmid, until);
                });
    }

    private void checkAbandoned() {
        if (drain.abandoned()) throw new Abandoned();
    }

    /** Ends a move's chain when its drain was given up: nothing more is done or recorded. */
    static final class Abandoned extends RuntimeException {
        Abandoned() {
            super("drain abandoned", null, false, false);
        }
    }
}
