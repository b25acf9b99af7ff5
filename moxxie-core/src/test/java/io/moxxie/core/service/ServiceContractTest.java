package io.moxxie.core.service;

import io.moxxie.core.DrainConflictException;
import io.moxxie.core.InvalidTargetException;
import io.moxxie.core.NotFoundException;
import io.moxxie.core.ValidationException;
import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.model.Concurrency;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.model.Operation;
import io.moxxie.core.plan.DrainPlan;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.plan.PlanEntry;
import io.moxxie.core.plan.PreflightException;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.DrainRecord;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.spi.HypervisorClient;
import io.moxxie.core.spi.HypervisorUnavailableException;
import io.moxxie.core.spi.MaintenanceStore;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.testing.DelegatingHypervisorClient;
import io.moxxie.core.testing.DelegatingMaintenanceStore;
import io.moxxie.core.testing.TestClusters.Env;
import io.moxxie.core.testing.TestClusters;
import io.moxxie.core.testing.UnreachableHypervisor;
import io.moxxie.core.time.RealTimeScheduler;
import io.moxxie.core.time.Scheduler;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
/**
 * What an embedding application relies on from the service beyond a drain's own course: what {@code close()} releases
 * and stops, a drain addressed with the wrong node, a cancel of a drain that ended, maintenance mode around a drain
 * that is refused or still running, the maintenance record while Proxmox is unreachable, and what counts as a node out
 * of service.
 */
class ServiceContractTest {

    /** A client of a cluster that brings no time of its own, as a real Proxmox client. */
    private static final class NoTimeSource extends DelegatingHypervisorClient {
        NoTimeSource(HypervisorClient delegate) {
            super(delegate);
        }

        @Override
        public Optional<Scheduler> timeSource() {
            return Optional.empty();
        }
    }

    // ------------------------------------------------------------------ close

    @Test
    void aServiceThatMadeItsOwnSchedulerStopsItsThreadsAtCloseAndLeavesAGivenOneRunning() throws Exception {
        SimulatedCluster cluster = TestClusters.guideCluster(new VirtualScheduler()).build();
        MaintenanceService own = MaintenanceService.builder(new NoTimeSource(cluster), new InMemoryMaintenanceStore()).ownerId("own").build();
        assertThat(own.scheduler()).isInstanceOf(RealTimeScheduler.class);
        CountDownLatch ran = new CountDownLatch(1);
        own.scheduler().execute(ran::countDown);
        assertThat(ran.await(30, TimeUnit.SECONDS)).isTrue();

        own.close();
        assertThatThrownBy(() -> own.scheduler().execute(() -> { })).as("its pool is shut down")
                .isInstanceOf(RejectedExecutionException.class);

        try (RealTimeScheduler given = RealTimeScheduler.create(1, 1.0)) {
            MaintenanceService service = MaintenanceService.builder(new NoTimeSource(cluster), new InMemoryMaintenanceStore())
                    .scheduler(given).ownerId("given").build();
            assertThat(service.scheduler()).isSameAs(given);
            service.close();
            CountDownLatch after = new CountDownLatch(1);
            given.execute(after::countDown);
            assertThat(after.await(30, TimeUnit.SECONDS)).as("the caller's scheduler still runs").isTrue();
        }
    }

    @Test
    void aClosedServiceStartsNoMigrationOfItsDrainAndLeavesItForAnotherInstanceToFinish() {
        Env env = new Env(c -> c, s -> s.lease(Duration.ofSeconds(30)));
        String drainId = env.service.drain(DrainRequest.hard("hv7")).drainId();
        env.scheduler.runFor(Duration.ofSeconds(20));
        assertThat(env.service.activeDrains()).hasSize(1);

        env.service.close();
        Instant closedAt = env.scheduler.now();
        assertThat(env.service.isStarted()).isFalse();
        assertThat(env.service.activeDrains()).isEmpty();
        env.scheduler.runFor(Duration.ofMinutes(10));
        assertThat(env.cluster.migrations()).as("nothing started after close").noneMatch(m -> m.startedAt().isAfter(closedAt));
        assertThat(env.service.status("hv7", drainId).status()).as("read from the store").isEqualTo(DrainState.IN_PROGRESS);

        MaintenanceService next = TestClusters.service(env.cluster, env.store).ownerId("next").build();
        next.start();
        env.runUntilIdle();
        assertThat(env.scheduler.runUntil(() -> next.status("hv7", drainId).status().finished(), Duration.ofHours(2))).isTrue();
        assertThat(next.status("hv7", drainId).status()).isEqualTo(DrainState.COMPLETED);
        assertThat(env.cluster.currentSnapshot().guestsOn("hv7")).isEmpty();
        next.close();
    }

    @Test
    void aHandleAskedOfAClosedServiceCompletesExceptionallyAtOnceAndOneOfAFinishedDrainWithItsStatus() {
        Env env = new Env();
        MaintenanceService other = TestClusters.service(env.cluster, env.store).ownerId("other").build();
        DrainHandle running = env.service.drain(DrainRequest.soft("hv7"));
        CompletableFuture<DrainStatus> waiting = other.handle("hv7", running.drainId()).completion();
        assertThat(waiting).isNotDone();

        other.close();
        assertThat(waiting).isCompletedExceptionally();
        assertThat(other.handle("hv7", running.drainId()).completion()).as("asked after close").isCompletedExceptionally();

        env.runUntilIdle();
        DrainHandle finished = other.handle("hv7", running.drainId());
        assertThat(finished.completion()).isCompletedWithValueMatching(s -> s.status() == DrainState.COMPLETED);
        assertThat(finished.operation()).isEqualTo(Operation.DRAIN);
        assertThatThrownBy(() -> other.handle("hv8", running.drainId())).isInstanceOf(NotFoundException.class);
    }

    // ------------------------------------------------------------------ a drain addressed by node and id

    @Test
    void aDrainIsOnlyFoundUnderItsOwnNodeAndACancelNamingAnotherNodeCancelsNothing() {
        Env env = new Env();
        String drainId = env.service.drain(DrainRequest.hard("hv7")).drainId();
        env.scheduler.runFor(Duration.ofSeconds(10));

        assertThatThrownBy(() -> env.service.cancel("hv8", drainId)).isInstanceOf(NotFoundException.class).hasMessageContaining(drainId);
        assertThatThrownBy(() -> env.service.status("hv8", drainId)).isInstanceOf(NotFoundException.class);
        assertThatThrownBy(() -> env.service.cancel("hv7", " ")).isInstanceOf(NotFoundException.class);
        assertThatThrownBy(() -> env.service.status("hv7", null)).isInstanceOf(NotFoundException.class);
        assertThat(env.store.drain(drainId).orElseThrow().cancelRequested()).isFalse();

        env.runUntilIdle();
        assertThat(env.service.status("hv7", drainId).status()).as("it ran to its end").isEqualTo(DrainState.COMPLETED);
    }

    @Test
    void cancellingADrainThatEndedAnswersItsStatusAndAsksNothing() {
        Env env = new Env();
        MaintenanceService other = TestClusters.service(env.cluster, env.store).ownerId("other").build();
        String drainId = env.service.drain(DrainRequest.soft("hv7")).drainId();
        env.runUntilIdle();

        DrainStatus answer = other.cancel("hv7", drainId);
        assertThat(answer.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(answer.drainId()).isEqualTo(drainId);
        assertThat(env.store.drain(drainId).orElseThrow().cancelRequested()).as("no cancel recorded").isFalse();
        assertThat(env.service.cancel("hv7", drainId).status()).isEqualTo(DrainState.COMPLETED);
    }

    @Test
    void anInstanceNotStartedOnlyAsksForTheCancelOfAnOrphanedDrainAndTheFirstStartedOneEndsIt() {
        Env env = new Env(c -> c, s -> s.lease(Duration.ofSeconds(30)));
        String drainId = orphanedAfterTwentySeconds(env);
        env.scheduler.runFor(Duration.ofMinutes(5)); // the lease has expired: nobody owns the drain

        MaintenanceService idle = TestClusters.service(env.cluster, env.store).ownerId("idle").build();
        DrainStatus asked = idle.cancel("hv7", drainId);
        assertThat(asked.status()).isEqualTo(DrainState.IN_PROGRESS);
        assertThat(idle.activeDrains()).as("not started: it takes nothing over").isEmpty();
        assertThat(env.store.drain(drainId).orElseThrow().cancelRequested()).isTrue();
        assertThat(env.store.drain(drainId).orElseThrow().owner()).isEqualTo("test-owner");

        MaintenanceService next = TestClusters.service(env.cluster, env.store).ownerId("next").build();
        next.start();
        env.runUntilIdle();
        assertThat(next.status("hv7", drainId).status()).isEqualTo(DrainState.CANCELLED);
        assertThat(env.store.drain(drainId).orElseThrow().owner()).isEqualTo("next");
        next.close();
    }

    @Test
    void theOwnersCancelTakesEffectAtOnceAndNoMoveStartsAfterIt() {
        Env env = new Env();
        String drainId = env.service.drain(DrainRequest.builder("hv7").mode(DrainMode.HARD)
                .concurrency(Concurrency.fixed(1)).build()).drainId();
        env.scheduler.runFor(Duration.ofSeconds(10));
        Instant asked = env.scheduler.now();

        DrainStatus answer = env.service.cancel("hv7", drainId);
        assertThat(answer.message()).as("the run itself cancelled, not a request left for the next heartbeat")
                .startsWith("Cancelling: no new moves start; waiting for 1 move");
        env.runUntilIdle();
        assertThat(env.service.status("hv7", drainId).status()).isEqualTo(DrainState.CANCELLED);
        assertThat(env.cluster.migrations()).as("moves started after the cancel").noneMatch(m -> m.startedAt().isAfter(asked));
    }

    @Test
    void aHandleAskedJustAsItsDrainEndsIsAlreadyComplete() {
        Env env = new Env();
        String drainId = env.service.drain(DrainRequest.soft("hv7")).drainId();
        DrainRecord running = env.store.drain(drainId).orElseThrow();
        env.runUntilIdle();
        assertThat(env.store.drain(drainId).orElseThrow().status()).isEqualTo(DrainState.COMPLETED);

        // Another instance, not started (no heartbeat would complete the handle later), reads the drain still running
        // and registers the handle's completion just after the drain ended.
        AtomicBoolean stale = new AtomicBoolean(true);
        MaintenanceStore racing = new DelegatingMaintenanceStore(env.store) {
            @Override
            public Optional<DrainRecord> drain(String id) {
                return stale.getAndSet(false) ? Optional.of(running) : delegate.drain(id);
            }
        };
        MaintenanceService other = TestClusters.service(env.cluster, racing).ownerId("other").build();
        DrainHandle h = other.handle("hv7", drainId);
        assertThat(stale).as("the first read was the stale one").isFalse();
        assertThat(h.completion()).isCompletedWithValueMatching(s -> s.status() == DrainState.COMPLETED && s.drainId().equals(drainId));
    }

    @Test
    void aDryRunWithATargetThatCannotTakeGuestsIsRefusedBeforeTheHypervisorIsAskedAboutAGuest() {
        VirtualScheduler scheduler = new VirtualScheduler();
        SimulatedCluster cluster = TestClusters.guideCluster(scheduler).build();
        AtomicInteger asked = new AtomicInteger();
        HypervisorClient proxmox = new DelegatingHypervisorClient(cluster) {
            @Override
            public MigrationPreconditions preconditions(Guest guest) {
                asked.incrementAndGet();
                return delegate.preconditions(guest);
            }
        };
        MaintenanceService service = TestClusters.service(cluster, proxmox, new InMemoryMaintenanceStore()).build();
        service.enableMaintenance("hv9", "fan", false);
        assertThatThrownBy(() -> service.plan(DrainRequest.builder("hv7").targetNode("hv9").build()))
                .isInstanceOf(InvalidTargetException.class).hasMessageContaining("hv9");
        assertThat(asked).as("preconditions asked").hasValue(0);
        assertThat(service.plan(DrainRequest.builder("hv7").targetNode("hv8").build()).moves()).isNotEmpty()
                .allSatisfy(e -> assertThat(e.targetNode()).isEqualTo("hv8"));
        assertThat(asked.get()).isPositive();
    }

    @Test
    void aDrainRecordsEachPlannedGuestWithItsPlansReasonAsNoteOrError() {
        Env env = new Env(c -> c.guest(TestClusters.qemu(9900, "huge", "hv8", 250, "")).guest(TestClusters.qemu(9950, "maint", "hv8", 2, "maint-ok"))
                        .guest(TestClusters.qemu(9960, "ignored", "hv8", 2, "plb_ignore_balancer")),
                s -> s);
        Map<Integer, GuestProgress> stored = new HashMap<>();
        MaintenanceStore created = new DelegatingMaintenanceStore(env.store) {
            @Override
            public void createDrain(DrainRecord drain, List<GuestProgress> guests) {
                guests.forEach(g -> stored.put(g.vmid(), g));
                delegate.createDrain(drain, guests);
            }
        };
        env.service.close();
        MaintenanceService service = TestClusters.service(env.cluster, created).build();
        service.start();
        DrainRequest request = DrainRequest.builder("hv8").force(true).build();
        DrainPlan plan = service.plan(request);
        Instant at = env.scheduler.now();
        service.drain(request);

        assertThat(plan.entries()).extracting(PlanEntry::action)
                .contains(PlanEntry.Action.MOVE, PlanEntry.Action.SKIP,
                        PlanEntry.Action.BLOCK);
        assertThat(plan.moves()).as("a move the plan explains").anyMatch(e -> e.reason() != null);
        for (PlanEntry e : plan.entries()) {
            GuestProgress g = stored.get(e.vmid());
            switch (e.action()) {
                case MOVE -> {
                    assertThat(g.status()).isEqualTo(GuestState.PENDING);
                    assertThat(g.note()).as("note of %s", e.vmid()).isEqualTo(e.reason());
                    assertThat(g.error()).isNull();
                    assertThat(g.completedAt()).isNull();
                    assertThat(g.targetNode()).isEqualTo(e.targetNode());
                    assertThat(g.migrationType()).isEqualTo(e.migrationType());
                }
                case SKIP -> {
                    assertThat(g.status()).isEqualTo(GuestState.SKIPPED);
                    assertThat(g.error()).as("why %s stays", e.vmid()).isEqualTo(e.reason()).isNotNull();
                    assertThat(g.note()).isNull();
                    assertThat(g.completedAt()).isEqualTo(at);
                }
                case BLOCK -> {
                    assertThat(g.status()).isEqualTo(GuestState.FAILED);
                    assertThat(g.error()).as("why %s cannot move", e.vmid()).isEqualTo(e.reason()).contains("not enough memory");
                    assertThat(g.note()).isNull();
                    assertThat(g.completedAt()).isEqualTo(at);
                }
            }
            assertThat(g.alwaysOn()).as("always-on %s", e.vmid()).isEqualTo(e.alwaysOn());
        }
    }

    @Test
    void aStartedInstanceCancellingAnOrphanedDrainTakesItOverAtOnceAndAnswersItsRun() {
        Env env = new Env(c -> c, s -> s.lease(Duration.ofSeconds(30)));
        String drainId = orphanedAfterTwentySeconds(env);
        MaintenanceService next = startedBeforeTheLeaseRunsOut(env, env.store, drainId);

        DrainStatus answer = next.cancel("hv7", drainId);
        assertThat(env.store.drain(drainId).orElseThrow().owner()).as("taken over by the cancel itself").isEqualTo("next");
        assertThat(next.activeDrains()).extracting(DrainStatus::drainId).containsExactly(drainId);
        assertThat(answer.status()).isEqualTo(DrainState.IN_PROGRESS);
        assertThat(answer).as("the run's status, as a read right after shows it").isEqualTo(next.status("hv7", drainId));
        env.runUntilIdle();
        assertThat(next.status("hv7", drainId).status()).isEqualTo(DrainState.CANCELLED);
        next.close();
    }

    @Test
    void aCancelWhoseTakeoverAnotherInstanceWinsAnswersTheDrainAsRecordedWithItsCancelAsked() {
        Env env = new Env(c -> c, s -> s.lease(Duration.ofSeconds(30)));
        String drainId = orphanedAfterTwentySeconds(env);
        // Between the cancel's read of the expired lease and its takeover, another instance takes the drain over (the
        // cancel is this instance's only takeover: see startedBeforeTheLeaseRunsOut).
        MaintenanceStore racing = new DelegatingMaintenanceStore(env.store) {
            @Override
            public Optional<DrainRecord> takeOver(String id, String newOwner, Instant now, Instant leaseExpiresAt) {
                delegate.takeOver(id, "faster", now, now.plus(Duration.ofMinutes(10)));
                return delegate.takeOver(id, newOwner, now, leaseExpiresAt);
            }
        };
        MaintenanceService next = startedBeforeTheLeaseRunsOut(env, racing, drainId);

        DrainStatus answer = next.cancel("hv7", drainId);
        assertThat(answer.drainId()).isEqualTo(drainId);
        assertThat(answer.status()).isEqualTo(DrainState.IN_PROGRESS);
        assertThat(next.activeDrains()).as("the other instance runs it").isEmpty();
        DrainRecord stored = env.store.drain(drainId).orElseThrow();
        assertThat(stored.owner()).isEqualTo("faster");
        assertThat(stored.cancelRequested()).as("the cancel is recorded for its owner to carry out").isTrue();
        next.close();
    }

    // ------------------------------------------------------------------ maintenance mode around a drain

    @Test
    void maintenanceWithADrainTheEmptyCheckRefusesLeavesTheNodeAsItWas() {
        Env env = new Env(c -> c.guest(TestClusters.qemu(9900, "huge", "hv8", 250, "")), s -> s);
        assertThatThrownBy(() -> env.service.enableMaintenance("hv8", "firmware", true)).isInstanceOf(PreflightException.class)
                .hasMessageContaining("9900");
        MaintenanceView after = env.service.maintenance("hv8");
        assertThat(after.inMaintenance()).isFalse();
        assertThat(after.lastDrainId()).isNull();
        assertThat(env.store.drains("hv8", 5)).isEmpty();
    }

    @Test
    void maintenanceWithADrainLinksTheDrainAndItsUndrainIsRefusedWhileTheDrainRuns() {
        Env env = new Env();
        MaintenanceView on = env.service.enableMaintenance("hv7", "kernel", true);
        assertThat(on.inMaintenance()).isTrue();
        assertThat(on.reason()).isEqualTo("kernel");
        String drainId = env.store.drains("hv7", 1).get(0).drainId();
        assertThat(on.lastDrainId()).isEqualTo(drainId);
        assertThat(on.drainStatus()).isEqualTo(DrainState.IN_PROGRESS);
        env.scheduler.runFor(Duration.ofSeconds(30));

        assertThatThrownBy(() -> env.service.disableMaintenance("hv7", true)).isInstanceOfSatisfying(DrainConflictException.class,
                e -> assertThat(e.activeDrainId()).isEqualTo(drainId));
        MaintenanceView still = env.service.maintenance("hv7");
        assertThat(still.inMaintenance()).as("refused before anything changed").isTrue();
        assertThat(still.maintenanceEnded()).isNull();

        env.runUntilIdle();
        MaintenanceView off = env.service.disableMaintenance("hv7", true);
        assertThat(off.inMaintenance()).isFalse();
        assertThat(off.drainStatus()).as("the undrain runs").isEqualTo(DrainState.IN_PROGRESS);
        assertThat(env.store.drains("hv7", 1).get(0).operation()).isEqualTo(Operation.UNDRAIN);
        env.runUntilIdle();
        assertThat(env.service.maintenance("hv7").drainStatus()).isEqualTo(DrainState.COMPLETED);
        assertThat(env.service.maintenance("hv7").vmsOnNode()).isEqualTo(TestClusters.HV7_GUESTS.size());
    }

    @Test
    void maintenanceWithoutADrainNeedsNoStartedServiceButWithOneItDoes() {
        VirtualScheduler scheduler = new VirtualScheduler();
        SimulatedCluster cluster = TestClusters.guideCluster(scheduler).build();
        MaintenanceService service = TestClusters.service(cluster, new InMemoryMaintenanceStore()).build();
        assertThat(service.enableMaintenance("hv9", "fan", false).inMaintenance()).isTrue();
        assertThatThrownBy(() -> service.disableMaintenance("hv9", true)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("disableMaintenance(undrain)");
        assertThat(service.maintenance("hv9").inMaintenance()).as("nothing changed").isTrue();
        assertThat(service.disableMaintenance("hv9", false).inMaintenance()).isFalse();
        assertThatThrownBy(() -> service.enableMaintenance("hv9", "fan", true)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("enableMaintenance(drain)");
        assertThat(service.maintenance("hv9").inMaintenance()).isFalse();
        assertThatThrownBy(() -> service.enableMaintenance("hv99", null, false)).isInstanceOf(NotFoundException.class);
        assertThatThrownBy(() -> service.disableMaintenance("hv99", false)).isInstanceOf(NotFoundException.class);
    }

    @Test
    void whileProxmoxIsUnreachableTheMaintenanceRecordIsAnsweredWithoutAGuestCount() {
        VirtualScheduler scheduler = new VirtualScheduler();
        SimulatedCluster cluster = TestClusters.guideCluster(scheduler).build();
        UnreachableHypervisor proxmox = new UnreachableHypervisor(cluster, scheduler::now);
        MaintenanceService service = TestClusters.service(cluster, proxmox, new InMemoryMaintenanceStore()).build();
        service.enableMaintenance("hv9", "fan", false);
        proxmox.outage(scheduler.now(), scheduler.now().plus(Duration.ofHours(1)));

        MaintenanceView seen = service.maintenance("hv9");
        assertThat(seen.inMaintenance()).isTrue();
        assertThat(seen.reason()).isEqualTo("fan");
        assertThat(seen.maintenanceStarted()).isEqualTo(scheduler.now());
        assertThat(seen.vmsOnNode()).isEqualTo(MaintenanceView.UNKNOWN);
        assertThatThrownBy(() -> service.maintenance("hv8")).as("no record to answer with")
                .isInstanceOf(HypervisorUnavailableException.class);
        assertThatThrownBy(() -> service.maintenance("hv 8")).isInstanceOfSatisfying(ValidationException.class,
                e -> assertThat(e.field()).isEqualTo("node"));
    }

    // ------------------------------------------------------------------ nodes out of service

    @Test
    void aNodeIsOutOfServiceWhileOfflineInMaintenanceOrBeingDrainedOrUndrainedSayingWhich() {
        Env env = new Env();
        assertThat(env.service.nodesOutOfService(env.cluster.currentSnapshot())).isEmpty();

        String drainId = env.service.drain(DrainRequest.soft("hv7")).drainId();
        env.service.enableMaintenance("hv9", null, false);
        env.service.enableMaintenance("hv8", "fan", false);
        env.cluster.setNodeOnline("hv10", false);
        assertThat(env.service.nodesOutOfService(env.cluster.currentSnapshot())).containsExactly(
                Map.entry("hv7", "being drained (drain " + drainId + ")"),
                Map.entry("hv8", "in maintenance (fan)"),
                Map.entry("hv9", "in maintenance"),
                Map.entry("hv10", "offline"));

        env.cluster.setNodeOnline("hv10", true);
        env.service.disableMaintenance("hv8", false);
        env.service.disableMaintenance("hv9", false);
        env.runUntilIdle();
        assertThat(env.service.nodesOutOfService(env.cluster.currentSnapshot())).as("a drained node is back in service").isEmpty();
        String undrainId = env.service.undrain("hv7").drainId();
        assertThat(env.service.nodesOutOfService(env.cluster.currentSnapshot()))
                .containsExactly(Map.entry("hv7", "being undrained (undrain " + undrainId + ")"));
        env.runUntilIdle();
        assertThat(env.service.nodesOutOfService(env.cluster.currentSnapshot())).isEmpty();
    }

    @Test
    void theDrainHistoryShowsARunningDrainAsItIsNowAndRefusesABadNodeOrLimit() {
        Env env = new Env();
        String first = env.service.drain(DrainRequest.soft("hv7")).drainId();
        env.runUntilIdle();
        String undrain = env.service.undrain("hv7").drainId();
        env.scheduler.runFor(Duration.ofSeconds(30));

        assertThat(env.service.drains("hv7", 10)).extracting(DrainStatus::drainId).containsExactly(undrain, first);
        DrainStatus live = env.service.drains("hv7", 1).get(0);
        assertThat(live).usingRecursiveComparison().isEqualTo(env.service.status("hv7", undrain));
        assertThat(live.completedVMs()).as("moves done so far, not the store's first record").isPositive();
        assertThatThrownBy(() -> env.service.drains("hv7", 0)).isInstanceOfSatisfying(ValidationException.class,
                e -> assertThat(e.field()).isEqualTo("limit"));
        assertThatThrownBy(() -> env.service.drains("hv 7", 5)).isInstanceOfSatisfying(ValidationException.class,
                e -> assertThat(e.field()).isEqualTo("node"));
    }

    /** Starts a hard drain of hv7 and closes its service 20 s in: the drain is left to its lease. */
    /**
     * Another instance, "next", on {@code store}, started while the orphaned drain's lease still runs, a minute ago: the
     * lease has run out since, between two of its heartbeats (9 min apart), so nothing has taken the drain over yet.
     */
    private static MaintenanceService startedBeforeTheLeaseRunsOut(Env env, MaintenanceStore store, String drainId) {
        MaintenanceService next = TestClusters.service(env.cluster, store).ownerId("next").lease(Duration.ofMinutes(10))
                .heartbeatInterval(Duration.ofMinutes(9)).build();
        next.start();
        env.scheduler.runFor(Duration.ofMinutes(1));
        assertThat(env.store.drain(drainId).orElseThrow().owner()).as("not taken over yet").isEqualTo("test-owner");
        return next;
    }

    private static String orphanedAfterTwentySeconds(Env env) {
        String drainId = env.service.drain(DrainRequest.hard("hv7")).drainId();
        env.scheduler.runFor(Duration.ofSeconds(20));
        env.service.close();
        return drainId;
    }
}
