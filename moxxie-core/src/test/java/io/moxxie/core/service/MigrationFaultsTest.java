package io.moxxie.core.service;

import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.execution.ExecutorConfig;
import io.moxxie.core.execution.VmStatus;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Concurrency;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.model.PowerState;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.simulation.MigrationModel;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.simulation.SimulatedCluster.MigrationRecord;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.spi.HypervisorClient;
import io.moxxie.core.spi.HypervisorException;
import io.moxxie.core.spi.MigrationCommand;
import io.moxxie.core.spi.TaskRef;
import io.moxxie.core.spi.TransientHypervisorException;
import io.moxxie.core.testing.DelegatingHypervisorClient;
import io.moxxie.core.testing.LogCapture;
import io.moxxie.core.testing.TestClusters;
import io.moxxie.core.testing.TestClusters.Env;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/** Faults of a real cluster during a move, injected into the simulated guide cluster, in virtual time. */
class MigrationFaultsTest {

    private static List<MigrationRecord> movesOf(Env env, int vmid) {
        return env.cluster.migrations().stream().filter(m -> m.vmid() == vmid).toList();
    }

    @Test
    void aMigrationWhoseAnswerWasLostSucceededWhenTheGuestIsFoundOnTheTargetThisDrainAskedFor() {
        Env env = new Env();
        env.cluster.loseMigrationAnswers(8210, 1);
        DrainStatus s = env.service.drain(DrainRequest.soft("hv7")).status();
        env.runUntilIdle();

        DrainStatus done = env.service.status("hv7", s.drainId());
        List<MigrationRecord> moves = movesOf(env, 8210);
        assertThat(moves).as("moved once, by the request whose answer was lost").hasSize(1);
        assertThat(moves.get(0).successful()).isTrue();
        VmStatus v = done.vm(8210);
        assertThat(v.status()).isEqualTo(GuestState.COMPLETED);
        assertThat(v.error()).isNull();
        assertThat(v.targetNode()).isEqualTo(moves.get(0).target()).isEqualTo(env.nodeOf(8210));
        assertThat(env.guest(8210).status()).isEqualTo(PowerState.RUNNING);
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
    }

    @Test
    void aLostAnswerOnARetrysReplacementTargetCountsThatTargetAsAskedFor() {
        Env env = new Env(c -> c, svc -> svc.executorConfig(ExecutorConfig.builder().retriesOnNewTarget(2).build()));
        // The planned target refuses the move; the retry's replacement carries it out, but its answer is lost.
        env.cluster.failMigrations(8211, 1, "migration aborted (duration 00:00:02): storage migration failed");
        env.cluster.loseMigrationAnswers(8211, 1);
        DrainStatus s = env.service.drain(DrainRequest.soft("hv7")).status();
        env.runUntilIdle();

        DrainStatus done = env.service.status("hv7", s.drainId());
        List<MigrationRecord> moves = movesOf(env, 8211);
        assertThat(moves).hasSize(2);
        assertThat(moves.get(0).successful()).isFalse();
        assertThat(moves.get(1).successful()).isTrue();
        assertThat(moves.get(1).target()).isNotEqualTo(moves.get(0).target());
        VmStatus v = done.vm(8211);
        assertThat(v.status()).as("%s", v.error()).isEqualTo(GuestState.COMPLETED);
        assertThat(v.targetNode()).isEqualTo(moves.get(1).target()).isEqualTo(env.nodeOf(8211));
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
    }

    @Test
    void aLostAnswerOfAMoveThatEndedAtOnceIsCompletedWithoutAnotherMove() {
        Env env = new Env(c -> c.model(MigrationModel.INSTANT), svc -> svc);
        env.cluster.loseMigrationAnswers(8213, 1);
        DrainStatus s = env.service.drain(DrainRequest.soft("hv7")).status();
        env.runUntilIdle();

        DrainStatus done = env.service.status("hv7", s.drainId());
        assertThat(movesOf(env, 8213)).hasSize(1);
        assertThat(done.vm(8213).status()).as("%s", done.vm(8213).error()).isEqualTo(GuestState.COMPLETED);
        assertThat(done.vm(8213).targetNode()).isEqualTo(env.nodeOf(8213));
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
    }

    /**
     * A migrate request whose answer was lost, and the drain cancelled while it looks at the cluster to judge it: the
     * guest is found where it was asked to go — a move in flight, seen through (verified there and running) although no
     * new move starts — and while the drain looked, its status said so.
     */
    @Test
    void aLostAnswerJudgedAfterACancelIsSeenThroughWhereTheGuestWent() {
        AtomicBoolean lost = new AtomicBoolean();
        AtomicReference<String> drainId = new AtomicReference<>();
        AtomicReference<DrainStatus> whileLooking = new AtomicReference<>();
        AtomicReference<MaintenanceService> service = new AtomicReference<>();
        java.util.concurrent.atomic.AtomicInteger slowReads = new java.util.concurrent.atomic.AtomicInteger();
        Env env = new Env(c -> c.model(MigrationModel.INSTANT), svc -> svc);
        HypervisorClient client = new DelegatingHypervisorClient(env.cluster) {
            @Override
            public TaskRef migrate(MigrationCommand command) {
                try {
                    return super.migrate(command);
                } catch (HypervisorException e) {
                    lost.set(command.guest().vmid() == 8213);
                    throw e;
                }
            }

            /** The read that judges the lost answer: the drain is cancelled meanwhile, and the read takes a few seconds (retried). */
            @Override
            public io.moxxie.core.model.ClusterSnapshot snapshot() {
                if (lost.compareAndSet(true, false)) {
                    whileLooking.set(service.get().cancel("hv7", drainId.get()));
                    slowReads.set(3);
                }
                if (slowReads.getAndDecrement() > 0) throw new io.moxxie.core.spi.TransientHypervisorException("502 Bad Gateway");
                return super.snapshot();
            }
        };
        service.set(TestClusters.service(env.cluster, client, env.store).build());
        service.get().start();
        env.cluster.loseMigrationAnswers(8213, 1);
        drainId.set(service.get().drain(DrainRequest.soft("hv7")).drainId());
        env.runUntilIdle();

        assertThat(whileLooking.get()).as("cancelled while the drain looked at the cluster").isNotNull();
        assertThat(whileLooking.get().message()).contains("VM 8213 (cache-01) choosing another target after its move to ")
                .contains(" failed");
        DrainStatus done = service.get().status("hv7", drainId.get());
        assertThat(done.status()).isEqualTo(DrainState.CANCELLED);
        assertThat(movesOf(env, 8213)).hasSize(1);
        VmStatus v = done.vm(8213);
        assertThat(v.status()).as("%s", v.error()).isEqualTo(GuestState.COMPLETED);
        assertThat(v.targetNode()).isEqualTo(movesOf(env, 8213).get(0).target()).isEqualTo(env.nodeOf(8213));
        assertThat(env.guest(8213).status()).isEqualTo(PowerState.RUNNING);
    }

    @Test
    void aGuestFoundOnANodeNobodyAskedForIsStillMovedBySomeoneElse() {
        Env env = new Env();
        env.cluster.loseMigrationAnswers(8212, 1);
        DrainStatus s = env.service.drain(DrainRequest.soft("hv7")).status();
        String asked = s.vm(8212).targetNode();
        String other = List.of("hv8", "hv9", "hv10").stream().filter(n -> !n.equals(asked)).findFirst().orElseThrow();
        // An operator moves it by hand before the drain gets to it.
        env.cluster.relocate(8212, other);
        env.runUntilIdle();

        VmStatus v = env.service.status("hv7", s.drainId()).vm(8212);
        assertThat(v.status()).isEqualTo(GuestState.FAILED);
        assertThat(v.error()).contains("is now on " + other).contains("moved by someone else");
    }

    @Test
    void aCancelledDrainWaitingOnATaskThatNeverEndsSaysWhatItWaitsForAndUntilWhen() {
        Env env = new Env();
        env.cluster.hangNextMigration(8201);
        DrainStatus s = env.service.drain(DrainRequest.soft("hv7")).status();
        env.scheduler.runFor(Duration.ofMinutes(10));
        DrainStatus before = env.service.status("hv7", s.drainId());
        assertThat(before.status()).isEqualTo(DrainState.IN_PROGRESS);
        assertThat(before.vm(8201).status()).isEqualTo(GuestState.IN_PROGRESS);
        GuestProgress hung = env.store.guests(s.drainId()).stream().filter(g -> g.vmid() == 8201).findFirst().orElseThrow();
        assertThat(hung.taskId()).startsWith("UPID:hv7:");
        Instant limit = hung.startedAt().plus(Duration.ofMinutes(30));

        env.service.cancel("hv7", s.drainId());
        DrainStatus cancelling = env.service.status("hv7", s.drainId());
        assertThat(cancelling.status()).as("the move in flight has not ended").isEqualTo(DrainState.IN_PROGRESS);
        assertThat(cancelling.message()).startsWith("Cancelling: no new moves start; waiting for 1 move in flight to end: VM 8201 (db-prod-01) migrating to ")
                .contains(hung.taskId() + " on hv7")
                .contains("until " + limit)
                .contains("migration time limit of 30m (migrationTimeout)")
                .contains("Progress: 14/15 completed");
        assertThat(env.store.drain(s.drainId()).orElseThrow().message()).as("recorded: another instance shows it too")
                .isEqualTo(cancelling.message());
        env.scheduler.runFor(Duration.ofMinutes(5));
        assertThat(env.service.status("hv7", s.drainId()).message()).isEqualTo(cancelling.message());

        env.runUntilIdle();
        DrainStatus done = env.service.status("hv7", s.drainId());
        assertThat(done.status()).isEqualTo(DrainState.CANCELLED);
        assertThat(done.completedAt()).isBetween(limit, limit.plusSeconds(60));
        assertThat(done.vm(8201).status()).isEqualTo(GuestState.FAILED);
        assertThat(done.vm(8201).error()).contains("migration time limit of 30m").contains(hung.taskId());
        assertThat(done.message()).startsWith("Drain of hv7 cancelled");
    }

    /** The guide cluster as seen through a client whose first migrate request of {@code vmid} is refused. */
    private static HypervisorClient refusingFirstMigrate(SimulatedCluster cluster, int vmid) {
        AtomicBoolean refused = new AtomicBoolean();
        return new DelegatingHypervisorClient(cluster) {
            @Override
            public TaskRef migrate(MigrationCommand command) {
                if (command.guest().vmid() == vmid && refused.compareAndSet(false, true)) {
                    throw new HypervisorException("migration to " + command.target() + " refused: storage 'local-lvm' is busy");
                }
                return delegate.migrate(command);
            }
        };
    }

    @Test
    void aDrainCancelledWhileAFailedMoveIsReplannedEndsCancelledWithNoEntryInProgress() {
        try (LogCapture log = new LogCapture()) {
            Env env = new Env();
            MaintenanceService service = TestClusters.service(env.cluster, refusingFirstMigrate(env.cluster, 8201), env.store).build();
            service.start();
            DrainStatus s = service.drain(DrainRequest.soft("hv7")).status();
            String firstTarget = s.vm(8201).targetNode();
            // Cancelled between the failure and the retry's new target: while the cluster is read again to choose it.
            assertThat(env.scheduler.runUntil(() -> log.text().contains("retrying on another target"), Duration.ofHours(1))).isTrue();
            assertThat(service.status("hv7", s.drainId()).vm(8201).status()).isEqualTo(GuestState.IN_PROGRESS);
            service.cancel("hv7", s.drainId());
            env.runUntilIdle();

            DrainStatus done = service.status("hv7", s.drainId());
            assertThat(done.status()).isEqualTo(DrainState.CANCELLED);
            assertThat(done.vmStatus()).noneMatch(v -> v.status() == GuestState.IN_PROGRESS);
            assertThat(env.store.guests(s.drainId())).as("recorded").noneMatch(g -> g.status() == GuestState.IN_PROGRESS);
            VmStatus v = done.vm(8201);
            assertThat(v.status()).isEqualTo(GuestState.FAILED);
            assertThat(v.error()).contains("refused").contains(firstTarget).contains("not retried: drain cancelled");
            assertThat(movesOf(env, 8201)).as("not tried again after the cancel").isEmpty();
            assertThat(env.nodeOf(8201)).isEqualTo("hv7");
            assertThat(env.guest(8201).status()).isEqualTo(PowerState.RUNNING);
            assertThat(done.failedVMs()).isEqualTo(1);
            assertThat(done.message()).startsWith("Drain of hv7 cancelled").contains("1 failed");
        }
    }
    /**
     * The guide cluster, one move at a time, seen through a client that refuses 8201's first migrate request (8201, the
     * largest always-on guest, moves first) and then runs {@code afterRefusal} once, at the refusal.
     */
    private static MaintenanceService refusingFirstMoveThen(Env env, ExecutorConfig config, Runnable afterRefusal,
                                                            Supplier<RuntimeException> snapshotFault) {
        AtomicBoolean refused = new AtomicBoolean();
        HypervisorClient client = new DelegatingHypervisorClient(env.cluster) {
            @Override
            public TaskRef migrate(MigrationCommand command) {
                if (command.guest().vmid() == 8201 && refused.compareAndSet(false, true)) {
                    afterRefusal.run();
                    throw new HypervisorException("migration to " + command.target() + " refused: storage 'local-lvm' is busy");
                }
                return delegate.migrate(command);
            }

            @Override
            public ClusterSnapshot snapshot() {
                RuntimeException fault = refused.get() ? snapshotFault.get() : null;
                if (fault != null) throw fault;
                return delegate.snapshot();
            }
        };
        MaintenanceService service = TestClusters.service(env.cluster, client, env.store).executorConfig(config).build();
        service.start();
        return service;
    }

    /**
     * Drains hv7 one guest at a time until it ends, and checks that 8201, whose first migrate request was refused,
     * failed with that refusal followed by {@code why}; returns the drain's final status.
     */
    private static DrainStatus drainOneAtATimeUntil8201Fails(Env env, MaintenanceService service, String why) {
        DrainStatus s = service.drain(oneAtATime()).status();
        String firstTarget = s.vm(8201).targetNode();
        env.runUntilIdle();
        DrainStatus done = service.status("hv7", s.drainId());
        VmStatus v = done.vm(8201);
        assertThat(v.status()).isEqualTo(GuestState.FAILED);
        assertThat(v.error()).isEqualTo("migration to " + firstTarget + " refused: storage 'local-lvm' is busy " + why);
        return done;
    }

    private static DrainRequest oneAtATime() {
        return DrainRequest.builder("hv7").concurrency(Concurrency.fixed(1)).build();
    }

    @Test
    void aFailedMoveWhoseRetryCannotReadTheClusterFailsSayingWhy() {
        Env env = new Env();
        AtomicBoolean unreadable = new AtomicBoolean();
        MaintenanceService service = refusingFirstMoveThen(env, ExecutorConfig.builder().build(), () -> unreadable.set(true),
                () -> unreadable.getAndSet(false) ? new HypervisorException("500 Internal Server Error: cluster filesystem not ready") : null);
        DrainStatus done = drainOneAtATimeUntil8201Fails(env, service, "(and the cluster could not be read to choose another target: "
                + "500 Internal Server Error: cluster filesystem not ready)");
        assertThat(movesOf(env, 8201)).as("not tried elsewhere").isEmpty();
        assertThat(env.nodeOf(8201)).isEqualTo("hv7");
        assertThat(done.status()).isEqualTo(DrainState.FAILED);
        assertThat(done.completedVMs()).as("the others moved (three maint-ok guests stay)").isEqualTo(11);
    }

    @Test
    void aFailedMoveOfAGuestDeletedMeanwhileIsNotRetriedAndSaysTheGuestIsGone() {
        Env env = new Env();
        MaintenanceService service = refusingFirstMoveThen(env, ExecutorConfig.builder().build(), () -> env.cluster.delete(8201), () -> null);
        DrainStatus done = drainOneAtATimeUntil8201Fails(env, service, "(and the VM no longer exists)");
        assertThat(done.status()).isEqualTo(DrainState.FAILED);
        assertThat(done.completedVMs()).isEqualTo(11);
        assertThat(env.store.guests(done.drainId())).as("recorded").filteredOn(g -> g.vmid() == 8201)
                .singleElement().satisfies(g -> assertThat(g.status()).isEqualTo(GuestState.FAILED));
    }

    @Test
    void aFailedMovesRetryPlacesNothingOnANodePutInMaintenanceSinceTheDrainStarted() {
        Env env = new Env();
        // While 8201's first move is refused, an operator puts the other nodes in maintenance (through another instance
        // sharing the store): the retry must not choose one of them.
        MaintenanceService service = refusingFirstMoveThen(env, ExecutorConfig.builder().build(), () -> {
            for (String n : List.of("hv8", "hv9", "hv10")) env.service.enableMaintenance(n, "firmware", false);
        }, () -> null);
        DrainStatus done = drainOneAtATimeUntil8201Fails(env, service,
                "(no other target: No suitable target node found: every other node is unavailable; in maintenance: hv10, hv8, hv9)");
        assertThat(movesOf(env, 8201)).as("not tried elsewhere").isEmpty();
        assertThat(env.nodeOf(8201)).isEqualTo("hv7");
    }

    /**
     * The drain's time limit passes while a failed move looks at the cluster for another target (the reads fail
     * transiently and are retried): the guest is not retried, and says why; the guests that never started fail at the limit.
     */
    @Test
    void aFailedMoveIsNotRetriedOnceTheDrainsTimeLimitPassedWhileItChoseAnotherTarget() {
        Env env = new Env();
        AtomicReference<Instant> refusedAt = new AtomicReference<>();
        ExecutorConfig config = ExecutorConfig.builder().drainTimeout(Duration.ofMinutes(3)).retryInitialDelay(Duration.ofMinutes(1))
                .retryMaxDelay(Duration.ofMinutes(1)).maxRetries(10).build();
        MaintenanceService service = refusingFirstMoveThen(env, config, () -> refusedAt.set(env.scheduler.now()),
                () -> env.scheduler.now().isBefore(refusedAt.get().plus(Duration.ofMinutes(5)))
                        ? new TransientHypervisorException("502 Bad Gateway") : null);
        DrainStatus done = drainOneAtATimeUntil8201Fails(env, service, "(not retried: drain time limit of 3m (drainTimeout) reached)");
        assertThat(done.completedAt()).as("ended once the re-planning read was answered").isAfterOrEqualTo(refusedAt.get().plus(Duration.ofMinutes(5)));
        assertThat(movesOf(env, 8201)).isEmpty();
        assertThat(env.nodeOf(8201)).isEqualTo("hv7");
        assertThat(done.status()).isEqualTo(DrainState.FAILED);
        assertThat(done.vmStatus()).filteredOn(x -> x.vmid() != 8201 && x.status() != GuestState.SKIPPED)
                .allSatisfy(x -> assertThat(x.error()).isEqualTo("drain time limit of 3m (drainTimeout) reached before this guest was started"));
    }

    @Test
    void aGuestThatCannotMoveLiveAnyMoreAtItsTurnFailsWithoutAMigrateRequest() {
        // Preconditions are read again at each guest's turn (none kept from the plan).
        Env env = new Env(c -> c, svc -> svc.executorConfig(ExecutorConfig.builder().preconditionMaxAge(Duration.ZERO).build()));
        DrainStatus s = env.service.drain(oneAtATime()).status();
        assertThat(s.vm(8210).migrationType()).isEqualTo(MigrationType.ONLINE);
        // After planning, a mapped device is added to app-01: it can still move, but not live.
        env.cluster.preconditions(new MigrationPreconditions(8210, Map.of(), List.of("hostpci1 (mapped)"),
                List.of(), false));
        env.runUntilIdle();

        DrainStatus done = env.service.status("hv7", s.drainId());
        VmStatus v = done.vm(8210);
        assertThat(v.status()).isEqualTo(GuestState.FAILED);
        assertThat(v.error()).isEqualTo("cannot live-migrate: uses hostpci1 (mapped)");
        assertThat(v.attempts()).as("not tried on another target: no target can take it live").isEqualTo(1);
        assertThat(movesOf(env, 8210)).isEmpty();
        assertThat(env.nodeOf(8210)).isEqualTo("hv7");
        assertThat(env.guest(8210).status()).isEqualTo(PowerState.RUNNING);
    }

    /**
     * The precondition answers read for the plan serve a move while they are at most {@code preconditionMaxAge} old,
     * that age included: with 0, the first move (started at the planning instant) asks nothing again, every later one asks.
     */
    @Test
    void planningPreconditionsServeTheMovesStartedWhileTheyAreAtMostPreconditionMaxAgeOld() {
        Env env = new Env(c -> c, svc -> svc.executorConfig(ExecutorConfig.builder().preconditionMaxAge(Duration.ZERO).build()));
        DrainStatus s = env.service.drain(oneAtATime()).status();
        long afterPlanning = env.cluster.calls().get("preconditions");
        env.runUntilIdle();

        DrainStatus done = env.service.status("hv7", s.drainId());
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(done.completedVMs()).isEqualTo(12);
        assertThat(env.cluster.calls().get("preconditions") - afterPlanning).as("asked again by every move but the first").isEqualTo(11L);
    }

    @Test
    void aStoppedGuestStartedBeforeItsTurnIsShutDownForItsOfflineMove() {
        Env env = new Env();
        DrainStatus s = env.service.drain(oneAtATime()).status();
        assertThat(s.vm(8500).migrationType()).isEqualTo(MigrationType.OFFLINE);
        // Someone starts old-app after the plan: it is running when its turn comes.
        env.cluster.start(env.guest(8500));
        env.scheduler.runFor(Duration.ofSeconds(5));
        assertThat(env.guest(8500).status()).isEqualTo(PowerState.RUNNING);
        env.runUntilIdle();

        DrainStatus done = env.service.status("hv7", s.drainId());
        VmStatus v = done.vm(8500);
        assertThat(v.status()).as("%s", v.error()).isEqualTo(GuestState.COMPLETED);
        assertThat(v.attempts()).isEqualTo(1);
        assertThat(movesOf(env, 8500)).singleElement().satisfies(m -> {
            assertThat(m.type()).isEqualTo(MigrationType.OFFLINE);
            assertThat(m.successful()).isTrue();
        });
        assertThat(env.cluster.calls().get("shutdown")).as("old-app's shutdown, at its turn").isEqualTo(1L);
        assertThat(env.nodeOf(8500)).isEqualTo(v.targetNode());
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
    }
}
