package io.moxxie.core.service;

import io.moxxie.core.model.Concurrency;

import io.moxxie.core.DrainConflictException;
import io.moxxie.core.InvalidTargetException;
import io.moxxie.core.NotFoundException;
import io.moxxie.core.plan.PreflightException;
import io.moxxie.core.execution.DrainListener;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.execution.ExecutorConfig;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.Operation;
import io.moxxie.core.execution.VmStatus;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.NodeMaintenance;
import io.moxxie.core.model.PowerState;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.simulation.SimulatedCluster.MigrationRecord;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.HypervisorClient;
import io.moxxie.core.spi.TaskRef;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.testing.DelegatingHypervisorClient;
import io.moxxie.core.testing.LogCapture;
import io.moxxie.core.testing.TestClusters;
import io.moxxie.core.testing.TestClusters.Env;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;
import java.util.Collections;

import static io.moxxie.core.testing.TestClusters.HV7_GUESTS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The guide's examples and workflow patterns, against the simulated guide cluster in virtual time. */
class DrainWorkflowTest {
    private static final Set<Integer> MAINT_OK_ONLY = Set.of(8300, 8301, 8215);
    private static final Set<Integer> ALWAYS_ON = Set.of(8200, 8201, 8202, 8214, 8400, 8600);

    private static MigrationRecord lastMove(Env env, int vmid) {
        return env.cluster.migrations().stream().filter(m -> m.vmid() == vmid && m.successful()).reduce((a, b) -> b).orElseThrow();
    }

    @Test
    void softDrainLeavesMaintOkGuestsOnTheNodeAndLiveMigratesTheRest() {
        Env env = new Env();
        DrainStatus started = env.service.drain(DrainRequest.builder("hv7").concurrency(Concurrency.fixed(3)).build()).status();
        assertThat(started.status()).isEqualTo(DrainState.IN_PROGRESS);
        assertThat(started.message()).isEqualTo("Draining node hv7 (soft mode)");
        assertThat(started.totalVMs()).isEqualTo(15);
        // As the guide's example response: a soft drain starts at 0/15, the guests the tag policy keeps are skipped, not
        // completed, and their status says why, as the dry run does.
        assertThat(started.completedVMs()).isZero();
        assertThat(started.skippedVMs()).isEqualTo(3);
        assertThat(started.vm(8215).note()).isEqualTo(started.vm(8215).reason()).contains("maint-ok");

        env.runUntilIdle();
        DrainStatus done = env.service.status("hv7", started.drainId());
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(done.completedVMs()).isEqualTo(12);
        assertThat(done.failedVMs()).isZero();
        assertThat(done.skippedVMs()).isEqualTo(3);
        assertThat(done.completedAt()).isNotNull();
        for (int vmid : HV7_GUESTS) {
            if (MAINT_OK_ONLY.contains(vmid)) {
                assertThat(env.nodeOf(vmid)).as("maint-ok %s stays", vmid).isEqualTo("hv7");
                assertThat(done.vm(vmid).status()).isEqualTo(GuestState.SKIPPED);
                assertThat(done.vm(vmid).reason()).contains("maint-ok");
            } else {
                assertThat(env.nodeOf(vmid)).as("%s leaves", vmid).isNotEqualTo("hv7");
                assertThat(done.vm(vmid).targetNode()).isEqualTo(env.nodeOf(vmid));
            }
        }
        assertThat(lastMove(env, 8200).type()).isEqualTo(MigrationType.ONLINE);
        assertThat(lastMove(env, 8214).type()).as("always-on wins over maint-ok").isEqualTo(MigrationType.ONLINE);
        assertThat(lastMove(env, 8400).type()).isEqualTo(MigrationType.RESTART);
        assertThat(done.vm(8400).note()).contains("restart mode");
        assertThat(lastMove(env, 8500).type()).isEqualTo(MigrationType.OFFLINE);
        assertThat(env.guest(8500).status()).as("a stopped guest stays stopped").isEqualTo(PowerState.STOPPED);
        assertThat(env.cluster.migrations()).allMatch(MigrationRecord::successful);
    }

    @Test
    void hardDrainEmptiesTheNodeAndMovesMaintOkOfflineRestoringTheirPowerState() {
        Env env = new Env();
        DrainStatus s = env.service.drain(DrainRequest.builder("hv7").mode(DrainMode.HARD).concurrency(Concurrency.fixed(5)).build()).status();
        assertThat(s.message()).isEqualTo("Draining node hv7 (hard mode)");
        env.runUntilIdle();
        DrainStatus done = env.service.status("hv7", s.drainId());
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(done.skippedVMs()).isZero();
        assertThat(env.cluster.currentSnapshot().guestsOn("hv7")).isEmpty();
        for (int vmid : MAINT_OK_ONLY) {
            assertThat(lastMove(env, vmid).type()).isEqualTo(MigrationType.OFFLINE);
            assertThat(env.guest(vmid).status()).as("%s was running, runs again", vmid).isEqualTo(PowerState.RUNNING);
        }
        for (int vmid : List.of(8200, 8201, 8202, 8214)) assertThat(lastMove(env, vmid).type()).isEqualTo(MigrationType.ONLINE);
        assertThat(env.guest(8500).status()).isEqualTo(PowerState.STOPPED);
    }

    @Test
    void alwaysOnGuestsAreRunningAfterEitherDrain() {
        for (DrainMode mode : DrainMode.values()) {
            Env env = new Env();
            env.service.drain(DrainRequest.builder("hv7").mode(mode).build());
            env.runUntilIdle();
            List<Guest> alwaysOn = env.service.guests("always-on", null);
            assertThat(alwaysOn).extracting(Guest::vmid).containsAll(ALWAYS_ON);
            assertThat(alwaysOn).allSatisfy(g -> {
                assertThat(g.node()).isNotEqualTo("hv7");
                assertThat(g.status()).isEqualTo(PowerState.RUNNING);
            });
        }
    }

    @Test
    void maintenanceWithDrainThenDisableWithUndrainReturnsTheGuests() {
        Env env = new Env();
        MaintenanceView m = env.service.enableMaintenance("hv7", "Planned maintenance", true);
        assertThat(m.inMaintenance()).isTrue();
        assertThat(m.reason()).isEqualTo("Planned maintenance");
        assertThat(m.lastDrainId()).isNotNull();
        assertThat(m.drainStatus()).isEqualTo(DrainState.IN_PROGRESS);
        env.runUntilIdle();
        MaintenanceView drained = env.service.maintenance("hv7");
        assertThat(drained.drainStatus()).isEqualTo(DrainState.COMPLETED);
        assertThat(drained.vmsOnNode()).isEqualTo(3);
        NodeMaintenance row = env.store.maintenance("hv7").orElseThrow();
        assertThat(row.vmList()).containsExactlyInAnyOrderElementsOf(HV7_GUESTS);
        assertThat(env.service.nodes()).filteredOn(n -> n.node().equals("hv7")).singleElement()
                .satisfies(n -> assertThat(n.status()).isEqualTo("maintenance"));

        MaintenanceView off = env.service.disableMaintenance("hv7", true);
        assertThat(off.inMaintenance()).isFalse();
        assertThat(off.maintenanceEnded()).isNotNull();
        String undrainId = off.lastDrainId();
        assertThat(undrainId).isNotEqualTo(m.lastDrainId());
        env.runUntilIdle();
        DrainStatus undrain = env.service.status("hv7", undrainId);
        assertThat(undrain.operation()).isEqualTo(Operation.UNDRAIN);
        assertThat(undrain.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(undrain.undrainOf()).isEqualTo(m.lastDrainId());
        for (int vmid : HV7_GUESTS) assertThat(env.nodeOf(vmid)).as("%s back", vmid).isEqualTo("hv7");
        assertThat(env.service.guests("always-on", null)).allMatch(g -> g.status() == PowerState.RUNNING);
        assertThat(env.service.maintenance("hv7").drainStatus()).isEqualTo(DrainState.COMPLETED);
    }

    @Test
    void undrainLeavesGuestsMovedOrDeletedSinceTheDrainAlone() {
        Env env = new Env();
        String drainId = env.service.drain(DrainRequest.soft("hv7")).drainId();
        env.runUntilIdle();
        String movedTo = env.nodeOf(8210).equals("hv8") ? "hv9" : "hv8";
        env.cluster.relocate(8210, movedTo);
        env.cluster.delete(8213);
        DrainStatus u = env.service.undrain("hv7").status();
        env.runUntilIdle();
        DrainStatus done = env.service.status("hv7", u.drainId());
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(done.undrainOf()).isEqualTo(drainId);
        assertThat(done.vm(8210).status()).isEqualTo(GuestState.SKIPPED);
        assertThat(done.vm(8210).reason()).contains("now on " + movedTo);
        assertThat(done.vm(8213).reason()).contains("no longer exists");
        assertThat(env.nodeOf(8210)).isEqualTo(movedTo);
        assertThat(env.nodeOf(8200)).isEqualTo("hv7");
    }

    /** Example 1 / Pattern 1: soft drain, maintenance, (patch and reboot), maintenance off, node after node. */
    @Test
    void rollingSecurityPatchingDrainsEveryNodeInTurnWithoutStoppingAlwaysOnGuests() {
        Env env = new Env();
        Set<Integer> everRestarted = new java.util.HashSet<>();
        env.service.addListener(new DrainListener() {
            @Override
            public void guestRestarted(String drainId, GuestProgress guest) {
                everRestarted.add(guest.vmid());
            }
        });
        for (String node : List.of("hv7", "hv8", "hv9", "hv10")) {
            DrainStatus s = env.service.drain(DrainRequest.soft(node)).status();
            env.runUntilIdle();
            DrainStatus done = env.service.status(node, s.drainId());
            assertThat(done.status()).as("drain of %s", node).isEqualTo(DrainState.COMPLETED);
            assertThat(done.completedVMs() + done.skippedVMs()).isEqualTo(done.totalVMs());
            env.service.enableMaintenance(node, "Security patching", false);
            assertThat(env.cluster.currentSnapshot().guestsOn(node)).allSatisfy(g -> assertThat(env.service.planner().policy().isMaintOk(g)
                    && !env.service.planner().policy().isAlwaysOn(g)).isTrue());
            env.service.disableMaintenance(node, false);
            assertThat(env.service.guests("always-on", null)).allMatch(g -> g.status() == PowerState.RUNNING);
        }
        assertThat(everRestarted).isEmpty();
        assertThat(env.service.nodes()).extracting(NodeView::status).containsOnly("online");
    }

    @Test
    void aGuestThatIgnoresShutdownIsStoppedAfterTheTimeoutThenMovedAndStartedAgain() {
        Env env = new Env(c -> c, s -> s.executorConfig(ExecutorConfig.builder().shutdownTimeout(Duration.ofSeconds(45)).build()));
        env.cluster.ignoreShutdown(8300);
        DrainStatus s = env.service.drain(DrainRequest.hard("hv7")).status();
        env.runUntilIdle();
        assertThat(env.service.status("hv7", s.drainId()).vm(8300).status()).isEqualTo(GuestState.COMPLETED);
        assertThat(env.cluster.calls()).containsKey("shutdown");
        assertThat(lastMove(env, 8300).type()).isEqualTo(MigrationType.OFFLINE);
        assertThat(lastMove(env, 8300).startedAt()).isAfterOrEqualTo(env.service.status("hv7", s.drainId()).vm(8300).startedAt().plusSeconds(45));
        assertThat(env.guest(8300).status()).isEqualTo(PowerState.RUNNING);
    }

    @Test
    void emergencyEvacuationThenMaintenanceKeepsNewPlacementsOffTheNode() {
        Env env = new Env();
        env.service.drain(DrainRequest.hard("hv7"));
        env.runUntilIdle();
        env.service.enableMaintenance("hv7", "Hardware failure", false);
        DrainStatus next = env.service.drain(DrainRequest.hard("hv8")).status();
        env.runUntilIdle();
        assertThat(env.service.status("hv8", next.drainId()).status()).isEqualTo(DrainState.COMPLETED);
        assertThat(env.cluster.currentSnapshot().guestsOn("hv7")).isEmpty();
        assertThat(env.service.nodes()).extracting(NodeView::status).contains("maintenance");
    }

    // ------------------------------------------------------------------ faults

    @Test
    void aGuestWhoseMigrationFailsFailsTheDrainButTheOthersComplete() {
        Env env = new Env(c -> c, s -> s);
        env.cluster.failMigrations(8210, 10, "can't migrate VM which uses local devices: hostpci0");
        try (LogCapture log = new LogCapture()) {
            DrainStatus s = env.service.drain(DrainRequest.hard("hv7")).status();
            env.runUntilIdle();
            DrainStatus done = env.service.status("hv7", s.drainId());
            assertThat(done.status()).isEqualTo(DrainState.FAILED);
            assertThat(done.failedVMs()).isEqualTo(1);
            assertThat(done.completedVMs()).isEqualTo(14);
            VmStatus failed = done.vm(8210);
            assertThat(failed.status()).isEqualTo(GuestState.FAILED);
            assertThat(failed.error()).isEqualTo("can't migrate VM which uses local devices: hostpci0");
            assertThat(failed.attempts()).as("tried once more on the next-best target").isEqualTo(2);
            assertThat(env.cluster.migrations().stream().filter(m -> m.vmid() == 8210).map(MigrationRecord::target).distinct())
                    .hasSize(2);
            assertThat(done.message()).contains("failed").contains("8210");
            assertThat(log.text()).contains("Failed to migrate VM 8210 (app-01)");
        }
    }

    @Test
    void aMigrationThatFailsOnceIsRetriedOnTheNextBestTarget() {
        Env env = new Env();
        env.cluster.failMigrations(8201, 1, "migration aborted");
        DrainStatus s = env.service.drain(DrainRequest.soft("hv7")).status();
        env.runUntilIdle();
        DrainStatus done = env.service.status("hv7", s.drainId());
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        List<MigrationRecord> moves = env.cluster.migrations().stream().filter(m -> m.vmid() == 8201).toList();
        assertThat(moves).hasSize(2);
        assertThat(moves.get(0).successful()).isFalse();
        assertThat(moves.get(1).target()).isNotEqualTo(moves.get(0).target());
        assertThat(done.vm(8201).targetNode()).isEqualTo(moves.get(1).target());
    }

    @Test
    void transientErrorsOnTenPercentOfCallsAreRetriedAndTheDrainCompletes() {
        Env env = new Env();
        env.cluster.transientFailureRate(0.10);
        DrainStatus s = env.service.drain(DrainRequest.hard("hv7")).status();
        env.runUntilIdle();
        assertThat(env.service.status("hv7", s.drainId()).status()).isEqualTo(DrainState.COMPLETED);
        assertThat(env.cluster.currentSnapshot().guestsOn("hv7")).isEmpty();
        for (int vmid : HV7_GUESTS) assertThat(env.cluster.successfulMigrations(vmid)).as("%s once", vmid).isEqualTo(1);
    }

    @Test
    void anAlwaysOnGuestFoundStoppedAfterMigrationIsStartedLoggedAndCompleted() {
        Env env = new Env();
        env.cluster.stopAfterMigration(8200);
        List<GuestProgress> restarted = new ArrayList<>();
        env.service.addListener(new DrainListener() {
            @Override
            public void guestRestarted(String drainId, GuestProgress guest) {
                restarted.add(guest);
            }
        });
        try (LogCapture log = new LogCapture()) {
            DrainStatus s = env.service.drain(DrainRequest.soft("hv7")).status();
            env.runUntilIdle();
            DrainStatus done = env.service.status("hv7", s.drainId());
            assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
            assertThat(done.vm(8200).status()).isEqualTo(GuestState.COMPLETED);
            assertThat(done.vm(8200).note()).contains("found stopped after migration");
            assertThat(env.guest(8200).status()).isEqualTo(PowerState.RUNNING);
            assertThat(restarted).extracting(GuestProgress::vmid).containsExactly(8200);
            assertThat(log.text()).contains("WARN").contains("Always-on VM 8200 (web-prod-01) is stopped after migration, starting it")
                    .contains("Successfully started always-on VM 8200");
        }
    }

    /**
     * A guest that ran before its move runs after it; its entry keeps the note of how it moved when it has one (a
     * guest shut down for an offline move), and otherwise says where it was started again.
     */
    @Test
    void aGuestFoundStoppedAfterItsMoveIsStartedAgainAndItsEntryKeepsTheMovesOwnNote() {
        Env env = new Env();
        env.cluster.stopAfterMigration(8210);
        DrainStatus s = env.service.drain(DrainRequest.hard("hv7")).status();
        String offlineNote = "tagged maint-ok: shut down, moved offline, started again";
        assertThat(s.vm(8301).note()).isEqualTo(offlineNote);
        assertThat(s.vm(8210).note()).isNull();
        env.runUntilIdle();

        DrainStatus done = env.service.status("hv7", s.drainId());
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(done.vm(8210).note()).isEqualTo("started again on " + env.nodeOf(8210));
        assertThat(env.guest(8210).status()).isEqualTo(PowerState.RUNNING);
        assertThat(done.vm(8301).note()).isEqualTo(offlineNote);
        assertThat(env.guest(8301).status()).isEqualTo(PowerState.RUNNING);
        assertThat(lastMove(env, 8301).type()).isEqualTo(MigrationType.OFFLINE);
    }

    /**
     * A guest found stopped after its move is started (the start takes 2 s) and looked at after {@code pollInitialDelay}:
     * at 1 s it is not running yet, its start task is read and it is looked at again; at 3 s it runs. Either way it is
     * seen running, and its entry completed, within 6 s of the start, not at the power time limit (2 min).
     */
    @ParameterizedTest(name = "pollInitialDelay {0} s")
    @ValueSource(ints = {1, 3})
    void aGuestStartedAgainAfterItsMoveIsSeenRunningSecondsAfterItsStart(int pollInitialDelay) {
        VirtualScheduler scheduler = new VirtualScheduler();
        SimulatedCluster cluster = TestClusters.guideCluster(scheduler).build();
        Map<Integer, Instant> startAsked = new ConcurrentHashMap<>();
        HypervisorClient client = new DelegatingHypervisorClient(cluster) {
            @Override
            public TaskRef start(Guest guest) {
                startAsked.put(guest.vmid(), scheduler.now());
                return delegate.start(guest);
            }
        };
        MaintenanceService service = TestClusters.service(cluster, client, new InMemoryMaintenanceStore())
                .executorConfig(ExecutorConfig.builder().pollInitialDelay(Duration.ofSeconds(pollInitialDelay)).build()).build();
        service.start();
        cluster.stopAfterMigration(8210);
        DrainStatus s = service.drain(DrainRequest.soft("hv7")).status();
        scheduler.runUntilIdle();

        VmStatus v = service.status("hv7", s.drainId()).vm(8210);
        assertThat(v.status()).isEqualTo(GuestState.COMPLETED);
        assertThat(startAsked).containsOnlyKeys(8210);
        assertThat(Duration.between(startAsked.get(8210), v.completedAt())).isLessThanOrEqualTo(Duration.ofSeconds(6));
    }

    /** Three nodes; on hv1 a 128-GiB guest that migrates for minutes and a 4-GiB {@code maint-ok} one. */
    private static SimulatedCluster bigAndBatchOnHv1(VirtualScheduler scheduler) {
        return SimulatedCluster.builder(scheduler).node("hv1", 256 * TestClusters.GIB, 32)
                .node("hv2", 256 * TestClusters.GIB, 32).node("hv3", 256 * TestClusters.GIB, 32)
                .guest(TestClusters.qemu(100, "big", "hv1", 128, "")).guest(TestClusters.qemu(101, "batch", "hv1", 4, "maint-ok")).build();
    }

    /**
     * Two slots: a large guest migrates live while a maint-ok one is shut down ahead of its offline move with the other
     * slot free. The shutdown takes 10 s; the guest is looked at every pollInitialDelay (2 s) while a slot is free, not
     * every pollMaxDelay (15 s here), and its move starts as soon as it is seen down: within 12 s of the shutdown.
     */
    @Test
    void aGuestShutDownAheadWithASlotFreeMovesAsSoonAsItIsDown() {
        VirtualScheduler scheduler = new VirtualScheduler();
        SimulatedCluster cluster = bigAndBatchOnHv1(scheduler);
        Map<Integer, Instant> shutdownAsked = new ConcurrentHashMap<>();
        HypervisorClient client = new DelegatingHypervisorClient(cluster) {
            @Override
            public TaskRef shutdown(Guest guest, Duration timeout) {
                shutdownAsked.put(guest.vmid(), scheduler.now());
                return delegate.shutdown(guest, timeout);
            }
        };
        MaintenanceService service = TestClusters.service(cluster, client, new InMemoryMaintenanceStore())
                .executorConfig(ExecutorConfig.builder().pollMaxDelay(Duration.ofSeconds(15)).build()).build();
        service.start();
        DrainStatus s = service.drain(DrainRequest.builder("hv1").mode(DrainMode.HARD).concurrency(Concurrency.fixed(2)).build()).status();
        scheduler.runUntilIdle();

        DrainStatus done = service.status("hv1", s.drainId());
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        MigrationRecord bigMove = cluster.migrations().stream().filter(m -> m.vmid() == 100).findFirst().orElseThrow();
        MigrationRecord batchMove = cluster.migrations().stream().filter(m -> m.vmid() == 101).findFirst().orElseThrow();
        assertThat(batchMove.type()).isEqualTo(MigrationType.OFFLINE);
        assertThat(batchMove.startedAt()).as("while big migrates").isBefore(bigMove.finishedAt());
        assertThat(Duration.between(shutdownAsked.get(101), batchMove.startedAt())).isLessThanOrEqualTo(Duration.ofSeconds(12));
    }

    /**
     * One slot: a large guest migrates live for minutes while the maint-ok guest after it is shut down ahead. With no
     * slot free it can only move when the large one ends, so it is looked at with the large move's looks, and on its own
     * at most every pollMaxDelay (10 s), not every pollInitialDelay (2 s).
     */
    @Test
    void aGuestShutDownAheadWithNoSlotFreeIsLookedAtWithTheMovesInFlight() {
        VirtualScheduler scheduler = new VirtualScheduler();
        SimulatedCluster cluster = bigAndBatchOnHv1(scheduler);
        List<Instant> reads = Collections.synchronizedList(new ArrayList<>());
        HypervisorClient client = new DelegatingHypervisorClient(cluster) {
            @Override
            public ClusterSnapshot snapshot() {
                reads.add(scheduler.now());
                return delegate.snapshot();
            }
        };
        MaintenanceService service = TestClusters.service(cluster, client, new InMemoryMaintenanceStore()).build();
        service.start();
        DrainStatus s = service.drain(DrainRequest.builder("hv1").mode(DrainMode.HARD).concurrency(Concurrency.fixed(1)).build()).status();
        scheduler.runUntilIdle();

        assertThat(service.status("hv1", s.drainId()).status()).isEqualTo(DrainState.COMPLETED);
        MigrationRecord bigMove = cluster.migrations().stream().filter(m -> m.vmid() == 100).findFirst().orElseThrow();
        // Asked to shut down as big starts (one pass fills the slot and the look-ahead); its shutdown takes 10 s: the
        // cluster is read at 10 s, not at 2, 4, 6 and 8 s.
        Instant shutdownAsked = bigMove.startedAt();
        assertThat(reads).filteredOn(t -> t.isAfter(shutdownAsked) && t.isBefore(shutdownAsked.plusSeconds(10))).isEmpty();
        assertThat(reads).contains(shutdownAsked.plusSeconds(10));
    }

    /** A guest whose start after its move reports success but that is still seen stopped fails at the power time limit, saying so. */
    @Test
    void aGuestStillStoppedAfterASuccessfulStartFailsAtThePowerTimeLimit() {
        VirtualScheduler scheduler = new VirtualScheduler();
        SimulatedCluster cluster = TestClusters.guideCluster(scheduler).build();
        HypervisorClient client = new DelegatingHypervisorClient(cluster) {
            @Override
            public ClusterSnapshot snapshot() {
                ClusterSnapshot real = delegate.snapshot();
                List<Guest> shown = real.guests().stream()
                        .map(g -> g.vmid() == 8210 && !g.node().equals("hv7") ? g.withStatus(PowerState.STOPPED) : g).toList();
                return new ClusterSnapshot(real.takenAt(), real.nodes(), shown, real.rules(), real.haAutoRebalance());
            }
        };
        MaintenanceService service = TestClusters.service(cluster, client, new InMemoryMaintenanceStore()).build();
        service.start();
        DrainStatus s = service.drain(DrainRequest.soft("hv7")).status();
        scheduler.runUntilIdle();

        VmStatus v = service.status("hv7", s.drainId()).vm(8210);
        assertThat(v.status()).isEqualTo(GuestState.FAILED);
        assertThat(v.error()).isEqualTo("VM 8210 is stopped on " + cluster.currentSnapshot().guest(8210).orElseThrow().node()
                + " after migration and could not be started: still stopped after 2m");
    }

    /** An always-on guest found stopped before the drain is moved offline and then started: always-on guests run. */
    @Test
    void aStoppedAlwaysOnGuestIsMovedAndStarted() {
        Env env = new Env(c -> c.guest(TestClusters.stoppedQemu(8701, "spare-web", "hv7", 2, "always-on")), svc -> svc);
        DrainStatus s = env.service.drain(DrainRequest.soft("hv7")).status();
        env.runUntilIdle();
        VmStatus v = env.service.status("hv7", s.drainId()).vm(8701);
        assertThat(v.status()).isEqualTo(GuestState.COMPLETED);
        assertThat(lastMove(env, 8701).type()).isEqualTo(MigrationType.OFFLINE);
        assertThat(env.guest(8701).status()).isEqualTo(PowerState.RUNNING);
    }

    /** A template tagged always-on is moved like any stopped guest: Proxmox cannot start a template, so nothing tries to. */
    @Test
    void anAlwaysOnTemplateIsMovedAndNotStarted() {
        Env env = new Env(c -> c.guest(TestClusters.template(8700, "tpl-debian", "hv7", 2).toBuilder()
                .tags(List.of("always-on")).build()), svc -> svc);
        DrainStatus s = env.service.drain(DrainRequest.soft("hv7")).status();
        assertThat(s.vm(8700).status()).isEqualTo(GuestState.PENDING);
        env.runUntilIdle();

        DrainStatus done = env.service.status("hv7", s.drainId());
        VmStatus tpl = done.vm(8700);
        assertThat(tpl.status()).as("%s", tpl.error()).isEqualTo(GuestState.COMPLETED);
        assertThat(env.nodeOf(8700)).isEqualTo(tpl.targetNode()).isNotEqualTo("hv7");
        assertThat(env.guest(8700).status()).isEqualTo(PowerState.STOPPED);
        assertThat(lastMove(env, 8700).type()).isEqualTo(MigrationType.OFFLINE);
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
    }

    @Test
    void anAlwaysOnGuestThatCannotBeStartedFailsItsEntry() {
        Env env = new Env();
        env.cluster.stopAfterMigration(8201).failStarts(8201, 5, "kvm: failed to allocate memory");
        DrainStatus s = env.service.drain(DrainRequest.soft("hv7")).status();
        env.runUntilIdle();
        VmStatus v = env.service.status("hv7", s.drainId()).vm(8201);
        assertThat(v.status()).isEqualTo(GuestState.FAILED);
        assertThat(v.error()).contains("always-on VM 8201").contains("could not be started").contains("failed to allocate memory");
    }

    @Test
    void aTargetThatGoesOfflineMidDrainIsDroppedAndItsGuestsReplanned() {
        Env env = new Env();
        DrainStatus s = env.service.drain(DrainRequest.builder("hv7").mode(DrainMode.HARD).concurrency(Concurrency.fixed(2)).build()).status();
        env.scheduler.runFor(Duration.ofSeconds(5));
        VmStatus inFlight = env.service.status("hv7", s.drainId()).vmStatus().stream()
                .filter(v -> v.status() == GuestState.IN_PROGRESS && v.vmid() != 8600).findFirst().orElseThrow();
        String lost = inFlight.targetNode();
        env.cluster.nodeOfflineAfter(lost, Duration.ofSeconds(10));
        Instant offlineAt = env.scheduler.now().plusSeconds(10);
        env.runUntilIdle();

        DrainStatus done = env.service.status("hv7", s.drainId());
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(env.cluster.migrations()).anySatisfy(m -> {
            assertThat(m.vmid()).isEqualTo(inFlight.vmid());
            assertThat(m.successful()).isFalse();
            assertThat(m.message()).contains("went offline");
        });
        assertThat(done.vm(inFlight.vmid()).targetNode()).isNotEqualTo(lost);
        assertThat(env.cluster.migrations()).filteredOn(m -> m.target().equals(lost) && !m.startedAt().isBefore(offlineAt)).isEmpty();
        assertThat(done.vmStatus()).filteredOn(v -> v.completedAt() != null && v.completedAt().isAfter(offlineAt))
                .allSatisfy(v -> assertThat(v.targetNode()).isNotEqualTo(lost));
        assertThat(env.cluster.currentSnapshot().guestsOn("hv7")).isEmpty();
    }

    @Test
    void cancelStopsNewMigrationsAtOnceAndLetsThoseInFlightFinish() {
        Env env = new Env();
        DrainStatus s = env.service.drain(DrainRequest.hard("hv7")).status();
        env.scheduler.runFor(Duration.ofSeconds(15));
        int inFlight = env.cluster.activeMigrations();
        assertThat(inFlight).isPositive();
        Instant cancelledAt = env.scheduler.now();
        env.service.cancel("hv7", s.drainId());
        env.runUntilIdle();
        DrainStatus done = env.service.status("hv7", s.drainId());
        assertThat(done.status()).isEqualTo(DrainState.CANCELLED);
        // It ends when the moves in flight end, not at some later timer (the drain time limit is 12 h).
        Instant lastMoveEnd = env.cluster.migrations().stream().map(MigrationRecord::finishedAt).max(Instant::compareTo).orElseThrow();
        assertThat(done.completedAt()).isBetween(lastMoveEnd, lastMoveEnd.plusSeconds(60));
        assertThat(env.cluster.migrations()).noneMatch(m -> m.startedAt().isAfter(cancelledAt));
        assertThat(done.vmStatus()).anyMatch(v -> v.status() == GuestState.PENDING);
        assertThat(done.vmStatus()).noneMatch(v -> v.status() == GuestState.IN_PROGRESS);
        assertThat(done.message()).contains("cancelled");
    }

    @Test
    void eachMoveHasATimeLimitAndRunningIntoItFailsTheEntrySayingWhich() {
        Env env = new Env(c -> c, s -> s.executorConfig(ExecutorConfig.builder().migrationTimeout(Duration.ofSeconds(30)).build()));
        DrainStatus s = env.service.drain(DrainRequest.soft("hv7")).status();
        env.runUntilIdle();
        VmStatus big = env.service.status("hv7", s.drainId()).vm(8201); // 32 GiB at 0.6 GB/s takes ~62 s
        assertThat(big.status()).isEqualTo(GuestState.FAILED);
        assertThat(big.error()).contains("migration time limit of 30s (migrationTimeout)");
        // 8 GiB next to two others takes ~26 s: done before the limit, though the poll that sees it comes at 30 s.
        assertThat(env.service.status("hv7", s.drainId()).vm(8200).status()).isEqualTo(GuestState.COMPLETED);
    }

    @Test
    void theWholeDrainHasATimeLimit() {
        Env env = new Env(c -> c, s -> s.executorConfig(ExecutorConfig.builder().drainTimeout(Duration.ofSeconds(90)).build()));
        DrainStatus s = env.service.drain(DrainRequest.builder("hv7").concurrency(Concurrency.serial()).build()).status();
        env.runUntilIdle();
        DrainStatus done = env.service.status("hv7", s.drainId());
        assertThat(done.status()).isEqualTo(DrainState.FAILED);
        assertThat(done.vmStatus()).anyMatch(v -> v.error() != null && v.error().contains("drain time limit of 90s (drainTimeout)"));
    }

    @Test
    void aLockedGuestIsWaitedForThenMoved() {
        Env env = new Env();
        env.cluster.lock(8210, "backup");
        env.scheduler.schedule(Duration.ofMinutes(3), () -> env.cluster.lock(8210, null));
        DrainStatus s = env.service.drain(DrainRequest.soft("hv7")).status();
        env.runUntilIdle();
        assertThat(env.service.status("hv7", s.drainId()).vm(8210).status()).isEqualTo(GuestState.COMPLETED);
    }

    @Test
    void aGuestLockedForTooLongFailsNamingTheLock() {
        Env env = new Env(c -> c, s -> s.executorConfig(ExecutorConfig.builder().lockWaitTimeout(Duration.ofMinutes(2)).build()));
        env.cluster.lock(8210, "backup");
        DrainStatus s = env.service.drain(DrainRequest.soft("hv7")).status();
        env.runUntilIdle();
        VmStatus v = env.service.status("hv7", s.drainId()).vm(8210);
        assertThat(v.status()).isEqualTo(GuestState.FAILED);
        assertThat(v.error()).contains("locked (backup)").contains("lockWaitTimeout");
    }

    @Test
    void haManagedGuestsAreJudgedByWhereTheyRun() {
        Env env = new Env();
        DrainStatus s = env.service.drain(DrainRequest.soft("hv7")).status();
        env.runUntilIdle();
        VmStatus ha = env.service.status("hv7", s.drainId()).vm(8600);
        assertThat(ha.status()).isEqualTo(GuestState.COMPLETED);
        assertThat(env.nodeOf(8600)).isEqualTo(ha.targetNode());
    }

    // ------------------------------------------------------------------ concurrency

    @Test
    void neverMoreThanMaxConcurrentOrThePerTargetLimitAndSlotsAreRefilledAtOnce() {
        Env env = new Env(c -> c, s -> s.executorConfig(ExecutorConfig.builder().perTargetLimit(1).build()));
        env.service.drain(DrainRequest.builder("hv7").mode(DrainMode.HARD).concurrency(Concurrency.fixed(3)).build());
        env.runUntilIdle();
        assertThat(env.cluster.peakConcurrentMigrations()).isEqualTo(3);
        assertThat(env.cluster.peakMigrationsPerTarget().values()).allMatch(p -> p <= 1);
        // No waves: a wave executor starts a batch only when nothing is in flight; here most starts after
        // the first three happen while other migrations still run.
        List<MigrationRecord> moves = env.cluster.migrations().stream()
                .sorted(java.util.Comparator.comparing(MigrationRecord::startedAt)).toList();
        List<Long> othersInFlight = moves.subList(3, moves.size()).stream()
                .map(m -> moves.stream().filter(o -> o != m && o.startedAt().isBefore(m.startedAt()) && o.finishedAt().isAfter(m.startedAt())).count())
                .toList();
        assertThat(othersInFlight).filteredOn(n -> n >= 1).hasSizeGreaterThanOrEqualTo(othersInFlight.size() * 8 / 10);
        assertThat(othersInFlight).anyMatch(n -> n >= 2);
    }

    @Test
    void autoConcurrencyRunsTheExecutorsChoiceAtOnceAndHalfOfItIntoOneTarget() {
        Env env = new Env();
        DrainStatus s = env.service.drain(DrainRequest.builder("hv7").mode(DrainMode.HARD).concurrency(Concurrency.auto()).build()).status();
        env.runUntilIdle();
        assertThat(env.service.status("hv7", s.drainId()).status()).isEqualTo(DrainState.COMPLETED);
        // Idle guests: the controller reaches twice the streams that fill the link (6), moves that copy no memory on top,
        // never more than 10 from one source.
        assertThat(env.cluster.peakConcurrentMigrations()).isGreaterThanOrEqualTo(ExecutorConfig.defaults().autoConcurrency())
                .isLessThanOrEqualTo(ExecutorConfig.AUTO_MAX_PER_SOURCE);
        assertThat(env.cluster.peakMigrationsPerTarget().values()).allMatch(p -> p <= 3).anyMatch(p -> p == 3);
    }

    /**
     * A soft auto drain of hv7 whose running VMs all dirty 400 MB/s within half their memory (each needs a whole stream
     * to converge), run to its end; {@code env} is fresh. Its live moves.
     */
    private static List<MigrationRecord> busyGuestsDrainedAuto(Env env) {
        for (int vmid : HV7_GUESTS) {
            Guest g = env.guest(vmid);
            if (g.type() == io.moxxie.core.model.GuestType.QEMU && g.running()) env.cluster.dirty(vmid, 400e6, g.memory() / 2);
        }
        DrainStatus s = env.service.drain(DrainRequest.builder("hv7").mode(DrainMode.SOFT).concurrency(Concurrency.auto()).build()).status();
        env.runUntilIdle();
        assertThat(env.service.status("hv7", s.drainId()).status()).isEqualTo(DrainState.COMPLETED);
        return env.cluster.migrations().stream().filter(m -> m.type() == MigrationType.ONLINE).toList();
    }

    @Test
    void autoConcurrencyRunsFewerStreamsWhileGuestsDirtyMemoryFasterThanHalfTheirStreamRate() {
        List<MigrationRecord> live = busyGuestsDrainedAuto(new Env());
        assertThat(live).isNotEmpty().allSatisfy(m -> {
            assertThat(m.successful()).isTrue();
            assertThat(m.downtime()).isLessThanOrEqualTo(Duration.ofSeconds(1));
        });
        // Live moves at once: at most C = 3 before the first busy stream shows itself, then floor(B / s) = 2; never the
        // idle 6 (moves that copy no memory, the containers', are not limited).
        assertThat(peakAtOnce(live)).isBetween(2, 3);
    }

    /** The most of {@code moves} in flight at one moment. */
    private static int peakAtOnce(List<MigrationRecord> moves) {
        int peak = 0;
        for (var m : moves) {
            long overlapping = moves.stream().filter(o -> !o.startedAt().isAfter(m.startedAt()) && o.finishedAt().isAfter(m.startedAt())).count();
            peak = Math.max(peak, (int) overlapping);
        }
        return peak;
    }

    @Test
    void anAutoDrainReadsAStreamsProgressOnlyWhenALookMissesItOrItRunsPastItsEnd() {
        Env env = new Env();
        List<MigrationRecord> live = busyGuestsDrainedAuto(env);
        long reads = env.cluster.calls().getOrDefault("migrationProgress", 0L);
        double liveSeconds = live.stream().mapToDouble(m -> Duration.between(m.startedAt(), m.finishedAt()).toMillis() / 1e3).sum();
        // The drain's watcher is its one reader of progress: a few reads per live move, where reading every stream every
        // 3 s would take one per 3 s of each move.
        assertThat(reads).as("progress reads for %s live moves of %.0f s in all", live.size(), liveSeconds)
                .isPositive().isLessThanOrEqualTo(3L * live.size()).isLessThan((long) (liveSeconds / 3 / 4));
    }

    @Test
    void byDefaultNoTargetTakesMoreThanHalfTheStreamsRoundedUp() {
        Env env = new Env();
        env.service.drain(DrainRequest.builder("hv7").mode(DrainMode.HARD).concurrency(Concurrency.fixed(5)).build());
        env.runUntilIdle();
        assertThat(env.cluster.peakConcurrentMigrations()).isEqualTo(5);
        assertThat(env.cluster.peakMigrationsPerTarget().values()).allMatch(p -> p <= 3).anyMatch(p -> p == 3);
    }

    @Test
    void offlineMovesShutDownAheadWithoutTakingAMigrationSlot() {
        Env env = new Env();
        env.service.drain(DrainRequest.builder("hv7").mode(DrainMode.HARD).concurrency(Concurrency.fixed(2)).build());
        env.runUntilIdle();
        assertThat(env.cluster.peakConcurrentMigrations()).isEqualTo(2);
        for (int vmid : MAINT_OK_ONLY) {
            MigrationRecord m = lastMove(env, vmid);
            assertThat(m.type()).isEqualTo(MigrationType.OFFLINE);
            assertThat(env.guest(vmid).status()).isEqualTo(PowerState.RUNNING);
        }
    }

    @Test
    void aGuestIsShutDownForItsOfflineMoveOnlyWhenItsMoveCanFollowSoon() {
        Env env = new Env();
        DrainStatus s = env.service.drain(DrainRequest.builder("hv7").mode(DrainMode.HARD).concurrency(Concurrency.fixed(5)).build()).status();
        env.runUntilIdle();
        DrainStatus done = env.service.status("hv7", s.drainId());
        for (int vmid : MAINT_OK_ONLY) {
            Instant shutDownAt = done.vm(vmid).startedAt();
            Instant movedAt = lastMove(env, vmid).startedAt();
            // Its downtime before the move is about one shutdown plus a slot's wait, not the drain's first half.
            assertThat(Duration.between(shutDownAt, movedAt)).as("%s down before its move", vmid).isLessThan(Duration.ofSeconds(60));
        }
    }

    @Test
    void aCancelWhileAGuestIsShutDownForItsMoveStartsItAgainWhereItIs() {
        Env env = new Env();
        env.cluster.ignoreShutdown(8300);
        DrainStatus s = env.service.drain(DrainRequest.builder("hv7").mode(DrainMode.HARD).concurrency(Concurrency.serial()).build()).status();
        env.scheduler.runUntil(() -> env.service.status("hv7", s.drainId()).vmStatus().stream()
                .anyMatch(v -> v.vmid() == 8300 && v.status() == GuestState.IN_PROGRESS), Duration.ofHours(1));
        env.service.cancel("hv7", s.drainId());
        env.runUntilIdle();
        DrainStatus done = env.service.status("hv7", s.drainId());
        assertThat(done.status()).isEqualTo(DrainState.CANCELLED);
        assertThat(env.nodeOf(8300)).isEqualTo("hv7");
        assertThat(env.guest(8300).status()).isEqualTo(PowerState.RUNNING);
        assertThat(done.vm(8300).note()).contains("started again on hv7");
    }

    /** A guest down for its offline move and waiting for a slot when the drain is cancelled runs again where it was. */
    @Test
    void aCancelWhileAGuestShutDownAheadWaitsForASlotStartsItAgainWhereItIs() {
        for (Concurrency concurrency : List.of(Concurrency.serial(), Concurrency.fixed(2))) {
            // Slow links: the live moves hold their slots long after the moves that copy no memory are done.
            Env env = new Env(c -> c.model(new io.moxxie.core.simulation.MigrationModel(0.3e9, 0.15e9, Duration.ofSeconds(5))), b -> b);
            Set<Integer> runningBefore = HV7_GUESTS.stream().filter(v -> env.guest(v).running()).collect(Collectors.toSet());
            DrainStatus s = env.service.drain(DrainRequest.builder("hv7").mode(DrainMode.HARD).concurrency(concurrency).build()).status();
            // Down for its move on its source, in progress, not migrating (no lock), while the slots are taken by other moves.
            java.util.function.Supplier<List<Integer>> waitingDown = () -> {
                DrainStatus now = env.service.status("hv7", s.drainId());
                return MAINT_OK_ONLY.stream().filter(v -> now.vm(v).status() == GuestState.IN_PROGRESS
                        && env.nodeOf(v).equals("hv7") && env.guest(v).status() == PowerState.STOPPED && env.guest(v).lock() == null)
                        .sorted().toList();
            };
            // Down for two of the shutdown's looks at it (pollMaxDelay, 10 s): no longer shutting down, queued for a slot.
            Map<Integer, Instant> downSince = new java.util.HashMap<>();
            java.util.function.BooleanSupplier waitsForASlot = () -> {
                List<Integer> now = waitingDown.get();
                downSince.keySet().retainAll(now);
                now.forEach(v -> downSince.putIfAbsent(v, env.scheduler.now()));
                return downSince.values().stream().anyMatch(t -> !t.plusSeconds(20).isAfter(env.scheduler.now()));
            };
            assertThat(env.scheduler.runUntil(waitsForASlot, Duration.ofHours(1))).as("%s: a guest down waits for a slot", concurrency).isTrue();
            List<Integer> down = waitingDown.get();

            env.service.cancel("hv7", s.drainId());
            env.runUntilIdle();

            DrainStatus done = env.service.status("hv7", s.drainId());
            assertThat(done.status()).isEqualTo(DrainState.CANCELLED);
            assertThat(done.vmStatus()).as("%s", concurrency).noneMatch(v -> v.status() == GuestState.IN_PROGRESS);
            for (int vmid : runningBefore) {
                VmStatus v = done.vm(vmid);
                if (v.status() == GuestState.COMPLETED) continue;
                assertThat(env.nodeOf(vmid)).as("%s: VM %s not moved stays on its source", concurrency, vmid).isEqualTo("hv7");
                assertThat(env.guest(vmid).status()).as("%s: VM %s (%s) runs again", concurrency, vmid, v).isEqualTo(PowerState.RUNNING);
            }
            for (int vmid : down) {
                VmStatus v = done.vm(vmid);
                assertThat(v.status()).as("%s", v).isEqualTo(GuestState.PENDING);
                assertThat(v.note()).as("%s", v).contains("started again on hv7");
            }
            long moved = done.vmStatus().stream().filter(v -> v.status() == GuestState.COMPLETED).count();
            long skipped = done.vmStatus().stream().filter(v -> v.status() == GuestState.SKIPPED).count();
            long notStarted = done.vmStatus().stream().filter(v -> v.status() == GuestState.PENDING).count();
            assertThat(moved).isEqualTo(HV7_GUESTS.stream().filter(v -> !env.nodeOf(v).equals("hv7")).count());
            assertThat(done.completedVMs()).isEqualTo(moved + skipped);
            assertThat(done.failedVMs()).isZero();
            assertThat(moved + skipped + notStarted).isEqualTo(done.totalVMs());
            assertThat(done.message()).isEqualTo("Drain of hv7 cancelled: " + moved + " migrated, " + skipped + " skipped, 0 failed, "
                    + notStarted + " not started");
        }
    }

    @Test
    void parallelFalseMovesOneGuestAtATime() {
        Env env = new Env();
        env.service.drain(DrainRequest.builder("hv7").concurrency(Concurrency.serial()).build());
        env.runUntilIdle();
        assertThat(env.cluster.peakConcurrentMigrations()).isEqualTo(1);
    }

    /** Always-on first, largest first; then the largest and the smallest of the rest in turn (see DefaultStartOrder). */
    @Test
    void alwaysOnGuestsStartFirstThenTheRestAlternateLargestAndSmallest() {
        Env env = new Env();
        List<Integer> order = new ArrayList<>();
        env.service.addListener(new DrainListener() {
            @Override
            public void guestStarted(String drainId, GuestProgress g) {
                order.add(g.vmid());
            }
        });
        env.service.drain(DrainRequest.builder("hv7").concurrency(Concurrency.serial()).build());
        env.runUntilIdle();
        assertThat(order.subList(0, 6)).containsExactly(8201, 8600, 8200, 8202, 8214, 8400);
        // the rest by size: 8210 16G, 8211 16G, 8212 12G, 8500 8G, 8213 6G, 8401 2G
        assertThat(order.subList(6, order.size())).containsExactly(8210, 8401, 8211, 8213, 8212, 8500);
    }

    // ------------------------------------------------------------------ preflight, conflicts, bad input

    @Test
    void aSoftDrainWhosePlanBlocksGuestsIsRefusedBeforeAnythingMoves() {
        Env env = new Env();
        env.cluster.preconditions(TestClusters.passthrough(8210, "hostpci0"));
        assertThatThrownBy(() -> env.service.drain(DrainRequest.soft("hv7")).status())
                .isInstanceOf(PreflightException.class)
                .hasMessageContaining("8210 (app-01)").hasMessageContaining("hostpci0").hasMessageContaining("force")
                .satisfies(e -> assertThat(((PreflightException) e).blocked()).extracting(b -> b.vmid()).containsExactly(8210));
        env.runUntilIdle();
        assertThat(env.cluster.migrations()).isEmpty();
        assertThat(env.store.unfinishedDrains()).isEmpty();

        DrainStatus forced = env.service.drain(DrainRequest.builder("hv7").force(true).build()).status();
        env.runUntilIdle();
        DrainStatus done = env.service.status("hv7", forced.drainId());
        assertThat(done.status()).isEqualTo(DrainState.FAILED);
        assertThat(done.vm(8210).error()).contains("hostpci0");
        assertThat(done.completedVMs()).isEqualTo(11);
        assertThat(done.skippedVMs()).isEqualTo(3);
    }

    @Test
    void aHardDrainMovesWhatFitsAndReportsBlockedGuestsAsFailed() {
        Env env = new Env(c -> c.guest(TestClusters.qemu(9301, "big-hv10", "hv10", 120, "")), s -> s);
        env.service.enableMaintenance("hv8", "x", false);
        env.service.enableMaintenance("hv9", "x", false);
        DrainStatus s = env.service.drain(DrainRequest.hard("hv7")).status();
        env.runUntilIdle();
        DrainStatus done = env.service.status("hv7", s.drainId());
        assertThat(done.status()).isEqualTo(DrainState.FAILED);
        assertThat(done.vmStatus()).filteredOn(v -> v.status() == GuestState.FAILED)
                .allSatisfy(v -> assertThat(v.error()).startsWith("No suitable target node found"));
        assertThat(done.vmStatus()).filteredOn(v -> v.status() == GuestState.COMPLETED).allSatisfy(v -> assertThat(v.targetNode()).isEqualTo("hv10"));
    }

    @Test
    void aTargetNodeThatCannotTakeGuestsIsRefusedSayingWhyBeforeAnythingStarts() {
        Env env = new Env();
        env.service.enableMaintenance("hv8", "firmware", false);
        env.cluster.setNodeOnline("hv9", false);
        Map.of("hv77", InvalidTargetException.Reason.UNKNOWN, "hv8", InvalidTargetException.Reason.IN_MAINTENANCE,
                "hv9", InvalidTargetException.Reason.OFFLINE).forEach((target, reason) -> {
            DrainRequest request = DrainRequest.builder("hv7").targetNode(target).build();
            assertThatThrownBy(() -> env.service.drain(request)).isInstanceOfSatisfying(InvalidTargetException.class, e -> {
                assertThat(e.reason()).isEqualTo(reason);
                assertThat(e.targetNode()).isEqualTo(target);
            });
            assertThatThrownBy(() -> env.service.plan(request)).isInstanceOf(InvalidTargetException.class);
        });
        assertThatThrownBy(() -> env.service.drain(DrainRequest.builder("hv7").targetNode("hv77").build()))
                .hasMessage("targetNode 'hv77' is not a node of the cluster (nodes: hv7, hv8, hv9, hv10)");
        assertThat(env.service.drains("hv7", 10)).isEmpty();

        // Bad input is answered before the node's state: a running drain does not hide an unknown target.
        DrainStatus running = env.service.drain(DrainRequest.soft("hv7")).status();
        assertThatThrownBy(() -> env.service.drain(DrainRequest.builder("hv7").targetNode("hv77").build()))
                .isInstanceOf(InvalidTargetException.class);
        env.runUntilIdle();
        assertThat(env.service.drains("hv7", 10)).extracting(DrainStatus::drainId).containsExactly(running.drainId());
    }

    @Test
    void aSecondDrainOfTheSameNodeIsRefusedNamingTheRunningOne() {
        Env env = new Env();
        DrainStatus first = env.service.drain(DrainRequest.soft("hv7")).status();
        assertThatThrownBy(() -> env.service.drain(DrainRequest.hard("hv7")).status())
                .isInstanceOf(DrainConflictException.class)
                .satisfies(e -> assertThat(((DrainConflictException) e).activeDrainId()).isEqualTo(first.drainId()));
        assertThatThrownBy(() -> env.service.undrain("hv7").status()).isInstanceOf(DrainConflictException.class);
        env.runUntilIdle();
        assertThat(env.service.status("hv7", first.drainId()).status()).isEqualTo(DrainState.COMPLETED);
    }

    @Test
    void unknownNodesAndDrainsAreNotFound() {
        Env env = new Env();
        assertThatThrownBy(() -> env.service.drain(DrainRequest.soft("hv99")).status()).isInstanceOf(NotFoundException.class)
                .hasMessageContaining("hv99");
        assertThatThrownBy(() -> env.service.status("hv7", "no-such-id")).isInstanceOf(NotFoundException.class);
        String id = env.service.drain(DrainRequest.soft("hv7")).drainId();
        assertThatThrownBy(() -> env.service.status("hv8", id)).as("a drain id of another node").isInstanceOf(NotFoundException.class);
        assertThatThrownBy(() -> env.service.guest(4242)).isInstanceOf(NotFoundException.class);
    }

    @Test
    void aDryRunShowsThePlanAndMovesNothing() {
        Env env = new Env();
        var plan = env.service.plan(DrainRequest.builder("hv7").dryRun(true).build());
        assertThat(plan.moves()).hasSize(12);
        assertThat(plan.skipped()).hasSize(3);
        env.runUntilIdle();
        assertThat(env.cluster.migrations()).isEmpty();
        assertThatThrownBy(() -> env.service.drain(DrainRequest.builder("hv7").dryRun(true).build()).status())
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void tagsCanBeSetAndFilteredOn() {
        Env env = new Env();
        Guest g = env.service.setTags(8300, "maint-ok, env-dev;client-acme");
        assertThat(g.tags()).containsExactly("maint-ok", "env-dev", "client-acme");
        assertThat(env.service.guests("maint-ok", "hv7")).extracting(Guest::vmid).contains(8300);
        assertThat(env.service.guests("client-acme,maint-ok", null)).extracting(Guest::vmid).containsExactly(8300);
        assertThatThrownBy(() -> env.service.setTags(8300, "ok,+bad")).hasMessageContaining("'+bad'");
        assertThat(env.guest(8300).tags()).containsExactly("maint-ok", "env-dev", "client-acme");
    }

    // ------------------------------------------------------------------ persistence and recovery

    @Test
    void everyStateChangeIsWrittenToTheStoreAsItHappens() {
        Env env = new Env();
        DrainStatus s = env.service.drain(DrainRequest.soft("hv7")).status();
        env.scheduler.runFor(Duration.ofSeconds(20));
        DrainStatus live = env.service.status("hv7", s.drainId());
        List<GuestProgress> stored = env.store.guests(s.drainId());
        assertThat(stored.stream().collect(Collectors.toMap(GuestProgress::vmid, GuestProgress::status)))
                .isEqualTo(live.vmStatus().stream().collect(Collectors.toMap(VmStatus::vmid, VmStatus::status)));
        assertThat(stored).anyMatch(g -> g.status() == GuestState.IN_PROGRESS);
        env.runUntilIdle();
        assertThat(env.store.drain(s.drainId()).orElseThrow().status()).isEqualTo(DrainState.COMPLETED);
        assertThat(env.store.guests(s.drainId())).allMatch(g -> g.status().finished());
    }

    @Test
    void aDrainLeftByADeadProcessIsFinishedByAnotherStartedInstanceWithEveryGuestMovedOnce() {
        Env env = new Env(c -> c, s -> s.lease(Duration.ofSeconds(30)));
        DrainStatus s = env.service.drain(DrainRequest.hard("hv7")).status();
        env.scheduler.runFor(Duration.ofSeconds(25));
        assertThat(env.cluster.activeMigrations()).isPositive();
        env.service.close(); // dies: nothing more is written

        MaintenanceService second = TestClusters.service(env.cluster, env.store).ownerId("second").lease(Duration.ofSeconds(30)).build();
        second.start();
        assertThat(second.activeDrains()).as("lease still held").isEmpty();
        env.runUntilIdle();
        assertThat(env.scheduler.runUntil(() -> second.status("hv7", s.drainId()).status().finished(), Duration.ofMinutes(30))).isTrue();
        DrainStatus done = second.status("hv7", s.drainId());
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(env.cluster.currentSnapshot().guestsOn("hv7")).isEmpty();
        for (int vmid : HV7_GUESTS) assertThat(env.cluster.successfulMigrations(vmid)).as("%s moved once", vmid).isEqualTo(1);
        assertThat(env.store.drain(s.drainId()).orElseThrow().owner()).isEqualTo("second");
        second.close();
    }

    @Test
    void aRestartedProcessWithTheSameOwnerIdTakesItsDrainBackAtStart() {
        Env env = new Env();
        DrainStatus s = env.service.drain(DrainRequest.soft("hv7")).status();
        env.scheduler.runFor(Duration.ofSeconds(10));
        env.service.close();
        MaintenanceService again = TestClusters.service(env.cluster, env.store).build();
        again.start();
        assertThat(again.activeDrains()).extracting(DrainStatus::drainId).containsExactly(s.drainId());
        env.runUntilIdle();
        assertThat(again.status("hv7", s.drainId()).status()).isEqualTo(DrainState.COMPLETED);
        for (int vmid : HV7_GUESTS) assertThat(env.cluster.successfulMigrations(vmid)).isLessThanOrEqualTo(1);
        again.close();
    }

    @Test
    void drainHistoryIsNewestFirst() {
        Env env = new Env();
        String first = env.service.drain(DrainRequest.soft("hv7")).drainId();
        env.runUntilIdle();
        String second = env.service.undrain("hv7").drainId();
        env.runUntilIdle();
        assertThat(env.service.drains("hv7", 10)).extracting(DrainStatus::drainId).containsExactly(second, first);
    }
}
