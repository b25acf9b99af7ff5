package io.moxxie.core.simulation;

import io.moxxie.core.model.Guest;
import io.moxxie.core.model.PowerState;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.spi.HypervisorException;
import io.moxxie.core.spi.MigrationCommand;
import io.moxxie.core.spi.MigrationProgress;
import io.moxxie.core.spi.TaskRef;
import io.moxxie.core.spi.TaskState;
import io.moxxie.core.spi.TransientHypervisorException;
import io.moxxie.core.testing.TestClusters;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import static io.moxxie.core.testing.TestClusters.GIB;
import static io.moxxie.core.testing.TestClusters.lxc;
import static io.moxxie.core.testing.TestClusters.qemu;
import static io.moxxie.core.testing.TestClusters.stoppedQemu;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

class SimulatedClusterTest {
    private final VirtualScheduler scheduler = new VirtualScheduler();

    private SimulatedCluster cluster(Guest... guests) {
        SimulatedCluster.Builder b = SimulatedCluster.builder(scheduler).model(MigrationModel.DEFAULT)
                .node("a", 256 * GIB, 16).node("b", 256 * GIB, 16).node("c", 16 * GIB, 16);
        for (Guest g : guests) b.guest(g);
        return b.build();
    }

    private TaskState run(SimulatedCluster c, TaskRef t) {
        scheduler.runUntilIdle();
        return c.task(t);
    }

    @Test
    void oneMigrationTakesOverheadPlusMemoryOverTheStreamCap() {
        SimulatedCluster c = cluster(qemu(1, "vm", "a", 6, ""));
        TaskRef t = c.migrate(new MigrationCommand(c.snapshot().guest(1).orElseThrow(), "b", MigrationType.ONLINE, false, Duration.ofMinutes(3)));
        assertThat(c.guest(1).orElseThrow().lock()).isEqualTo("migrate");
        assertThat(run(c, t).successful()).isTrue();
        SimulatedCluster.MigrationRecord m = c.migrations().get(0);
        double expected = 5 + 6 * GIB / 0.6e9;
        assertThat(m.duration().toNanos() / 1e9).isCloseTo(expected, within(0.01));
        assertThat(c.guest(1).orElseThrow().node()).isEqualTo("b");
        assertThat(c.guest(1).orElseThrow().status()).isEqualTo(PowerState.RUNNING);
    }

    @Test
    void theInstantModelAndAnOverheadOnlyModelFinishMovesWithoutSpinning() {
        for (MigrationModel model : new MigrationModel[]{MigrationModel.INSTANT,
                new MigrationModel(Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY, Duration.ofSeconds(60))}) {
            VirtualScheduler s = new VirtualScheduler();
            SimulatedCluster c = SimulatedCluster.builder(s).model(model).node("a", 64 * GIB, 8).node("b", 64 * GIB, 8)
                    .guest(qemu(1, "vm", "a", 4, "")).build();
            TaskRef t = c.migrate(new MigrationCommand(c.snapshot().guest(1).orElseThrow(), "b", MigrationType.ONLINE, false, Duration.ofMinutes(3)));
            assertThat(s.runUntilIdle()).isLessThan(10);
            assertThat(c.task(t).successful()).isTrue();
            assertThat(c.migrations().get(0).duration()).isEqualTo(model.overhead());
        }
    }

    @Test
    void migrationsTouchingOneNodeShareItsLink() {
        SimulatedCluster c = cluster(qemu(1, "x", "a", 6, ""), qemu(2, "y", "a", 6, ""), qemu(3, "z", "a", 6, ""));
        for (int vmid = 1; vmid <= 3; vmid++) {
            c.migrate(new MigrationCommand(c.snapshot().guest(vmid).orElseThrow(), "b", MigrationType.ONLINE, false, Duration.ofMinutes(3)));
        }
        scheduler.runUntilIdle();
        // three streams share 1.25 GB/s: each gets 0.4167 GB/s (below the 0.6 cap)
        double expected = 5 + 6 * GIB / (1.25e9 / 3);
        assertThat(c.migrations()).allSatisfy(m -> assertThat(m.duration().toNanos() / 1e9).isCloseTo(expected, within(0.01)));
        assertThat(c.peakConcurrentMigrations()).isEqualTo(3);
        assertThat(c.peakMigrationsPerTarget()).containsEntry("b", 3);
    }

    @Test
    void aLiveMigrationReportsItsProgressOnceItsSetUpIsOver() {
        SimulatedCluster c = cluster(qemu(1, "vm", "a", 6, ""), stoppedQemu(2, "off", "a", 4, ""));
        TaskRef live = c.migrate(new MigrationCommand(c.snapshot().guest(1).orElseThrow(), "b", MigrationType.ONLINE, false, Duration.ofMinutes(3)));
        TaskRef offline = c.migrate(new MigrationCommand(c.snapshot().guest(2).orElseThrow(), "b", MigrationType.OFFLINE, false, Duration.ofMinutes(3)));
        scheduler.runFor(Duration.ofSeconds(3));
        assertThat(c.migrationProgress(live)).as("still in its set-up").isEmpty();
        scheduler.runFor(Duration.ofSeconds(5));
        var p = c.migrationProgress(live).orElseThrow();
        assertThat(p.total()).isEqualTo(6 * GIB);
        assertThat(p.transferred() + p.remaining()).isEqualTo(6 * GIB);
        assertThat(p.transferred()).isPositive();
        assertThat(p.rate()).isPresent();
        assertThat(p.at()).isEqualTo(scheduler.now());
        assertThat(c.migrationProgress(offline)).as("an offline move reports no memory copy").isEmpty();
        scheduler.runUntilIdle();
        assertThat(c.migrationProgress(live)).as("ended").isEmpty();
    }

    private TaskRef live(SimulatedCluster c, int vmid, String target) {
        return c.migrate(new MigrationCommand(c.snapshot().guest(vmid).orElseThrow(), target, MigrationType.ONLINE, false, Duration.ofMinutes(3)));
    }

    @Test
    void aGuestThatDirtiesMemorySendsItAgainInLaterPassesAndSwitchesOverWithinTheDowntimeLimit() {
        SimulatedCluster c = cluster(qemu(1, "vm", "a", 6, ""));
        c.dirty(1, 100e6, GIB / 2); // dirties 100 MB/s within 512 MiB
        run(c, live(c, 1, "b"));
        SimulatedCluster.MigrationRecord m = c.migrations().get(0);
        // pass 0: 6 GiB at 0.6 GB/s (10.7 s) dirties min(512 MiB, 1.07 GB) = 512 MiB; pass 1 dirties 100e6 * 0.89 s = 89 MB;
        // pass 2 dirties 15 MB, which fits in 0.6 GB/s x 0.1 s: the switchover sends it in 25 ms.
        double pass1 = GIB / 2 / 0.6e9, pass2 = 100e6 * pass1 / 0.6e9, last = 100e6 * pass2 / 0.6e9;
        assertThat(m.passes()).isEqualTo(4);
        assertThat(m.bytesSent()).isCloseTo((long) (6 * GIB + GIB / 2 + 100e6 * pass1 + 100e6 * pass2), within(1000L));
        assertThat(m.downtime().toNanos() / 1e9).isCloseTo(last, within(1e-6)).isLessThan(0.1);
        assertThat(m.throttleSeconds()).isZero();
        assertThat(m.duration().toNanos() / 1e9).isCloseTo(5 + 6 * GIB / 0.6e9 + pass1 + pass2 + last, within(0.001));
    }

    @Test
    void aGuestDirtyingFasterThanItsStreamDrainsIsThrottledUntilItConverges() {
        SimulatedCluster c = cluster(qemu(1, "busy", "a", 4, ""));
        c.dirty(1, 400e6, 3 * GIB / 2);
        TaskRef alone = live(c, 1, "b");
        run(c, alone);
        SimulatedCluster.MigrationRecord solo = c.migrations().get(0);
        assertThat(solo.successful()).isTrue();
        assertThat(solo.throttleSeconds()).as("400 MB/s dirtied against 600 MB/s sent: over half").isPositive();
        assertThat(solo.downtime().toNanos() / 1e9).isLessThanOrEqualTo(0.2);

        // The same guest moved while two large moves share the source's link with it: more passes, more throttle.
        SimulatedCluster c2 = cluster(qemu(1, "busy", "a", 4, ""), qemu(2, "other", "a", 24, ""), qemu(3, "third", "a", 24, ""));
        c2.dirty(1, 400e6, 3 * GIB / 2);
        live(c2, 1, "b");
        live(c2, 2, "b");
        live(c2, 3, "b");
        scheduler.runUntilIdle();
        SimulatedCluster.MigrationRecord shared = c2.migrations().stream().filter(m -> m.vmid() == 1).findFirst().orElseThrow();
        assertThat(shared.successful()).isTrue();
        assertThat(shared.throttleSeconds()).isGreaterThan(solo.throttleSeconds());
        assertThat(shared.bytesSent()).isGreaterThan(solo.bytesSent());
    }

    @Test
    void theProgressOfABusyGuestShowsMoreSentThanItsMemoryAndItsThrottle() {
        SimulatedCluster c = cluster(qemu(1, "busy", "a", 8, ""), qemu(2, "x", "a", 8, ""));
        c.dirty(1, 500e6, 2 * GIB);
        TaskRef t = live(c, 1, "b");
        live(c, 2, "b");
        scheduler.runFor(Duration.ofSeconds(7));
        var early = c.migrationProgress(t).orElseThrow();
        assertThat(early.transferred() + early.remaining()).as("pass 0: what is sent and what is left of it").isEqualTo(8 * GIB);
        MigrationProgress throttled = null;
        for (int i = 0; i < 120 && throttled == null; i++) {
            scheduler.runFor(Duration.ofSeconds(1));
            throttled = c.migrationProgress(t).filter(p -> p.throttle().isPresent()).orElse(null);
        }
        assertThat(throttled).isNotNull();
        assertThat(throttled.transferred()).as("its working set sent again, more than once").isGreaterThan(8 * GIB + 2 * GIB);
        assertThat(throttled.throttle().getAsDouble()).isBetween(0.2, 0.99);
    }

    @Test
    void aMoveThatCopiesNoMemoryTakesAFixedTimeAndLeavesTheLinkToTheOthers() {
        SimulatedCluster c = cluster(qemu(1, "vm", "a", 6, ""), stoppedQemu(2, "off", "a", 64, ""), lxc(3, "ct", "a", 32, ""));
        live(c, 1, "b");
        c.migrate(new MigrationCommand(c.snapshot().guest(2).orElseThrow(), "b", MigrationType.OFFLINE, false, Duration.ofMinutes(3)));
        c.migrate(new MigrationCommand(c.snapshot().guest(3).orElseThrow(), "b", MigrationType.RESTART, false, Duration.ofMinutes(3)));
        scheduler.runUntilIdle();
        java.util.Map<Integer, Double> took = new java.util.HashMap<>();
        c.migrations().forEach(m -> took.put(m.vmid(), m.duration().toNanos() / 1e9));
        assertThat(took.get(1)).as("the live move has the link to itself").isCloseTo(5 + 6 * GIB / 0.6e9, within(0.01));
        assertThat(took.get(2)).as("64 GiB stopped: no memory to copy").isEqualTo(3.0);
        assertThat(took.get(3)).as("fixed cost, the container's 10 s shutdown and 2 s start").isEqualTo(15.0);
    }

    @Test
    void localDisksAreCopiedAtTheDiskCopyRateWhenTheMoveTakesThem() {
        SimulatedCluster c = SimulatedCluster.builder(scheduler).model(MigrationModel.DEFAULT).node("a", 64 * GIB, 8).node("b", 64 * GIB, 8)
                .guest(stoppedQemu(1, "off", "a", 4, "")).localDisk(1, 25_000_000_000L)
                .preconditions(new io.moxxie.core.model.MigrationPreconditions(1, java.util.Map.of(), java.util.List.of(), java.util.List.of(), true))
                .build();
        run(c, c.migrate(new MigrationCommand(c.snapshot().guest(1).orElseThrow(), "b", MigrationType.OFFLINE, true, Duration.ofMinutes(3))));
        // 3 s of fixed cost, 25 GB at 250 MB/s
        assertThat(c.migrations().get(0).duration()).isEqualTo(Duration.ofSeconds(103));
    }

    @Test
    void aMigrationStartingWhileTenOthersFromItsSourceSetUpIsDroppedBySsh() {
        SimulatedCluster.Builder b = SimulatedCluster.builder(scheduler).model(MigrationModel.DEFAULT)
                .node("a", 256 * GIB, 16).node("b", 256 * GIB, 16);
        for (int vmid = 1; vmid <= 12; vmid++) b.guest(qemu(vmid, "vm" + vmid, "a", 2, ""));
        SimulatedCluster c = b.build();
        for (int vmid = 1; vmid <= 10; vmid++) live(c, vmid, "b");
        TaskRef eleventh = live(c, 11, "b");
        assertThat(c.task(eleventh).successful()).isFalse();
        assertThat(c.task(eleventh).message()).contains("kex_exchange_identification");
        scheduler.runFor(Duration.ofSeconds(6)); // the ten are past their set-up
        TaskRef twelfth = live(c, 12, "b");
        assertThat(run(c, twelfth).successful()).isTrue();
    }

    @Test
    void enforcesWhatProxmoxEnforces() {
        SimulatedCluster c = cluster(qemu(1, "vm", "a", 4, ""), lxc(2, "ct", "a", 2, ""), qemu(3, "big", "a", 32, ""),
                qemu(4, "locked", "a", 2, ""));
        c.lock(4, "backup");
        Guest vm = c.snapshot().guest(1).orElseThrow();
        assertThatThrownBy(() -> c.migrate(new MigrationCommand(vm, "b", MigrationType.OFFLINE, false, Duration.ofMinutes(3))))
                .isInstanceOf(HypervisorException.class).hasMessage("can't migrate running VM without --online");
        TaskRef ct = c.migrate(new MigrationCommand(c.snapshot().guest(2).orElseThrow(), "b", MigrationType.ONLINE, false, Duration.ofMinutes(3)));
        assertThat(run(c, ct).message()).isEqualTo("lxc live migration is currently not implemented");
        TaskRef full = c.migrate(new MigrationCommand(c.snapshot().guest(3).orElseThrow(), "c", MigrationType.ONLINE, false, Duration.ofMinutes(3)));
        assertThat(run(c, full).message()).contains("not enough memory on target node 'c'");
        assertThatThrownBy(() -> c.migrate(new MigrationCommand(c.snapshot().guest(4).orElseThrow(), "b", MigrationType.ONLINE, false, Duration.ofMinutes(3))))
                .hasMessage("VM is locked (backup)");
        c.preconditions(TestClusters.passthrough(1, "hostpci0"));
        TaskRef pci = c.migrate(new MigrationCommand(vm, "b", MigrationType.ONLINE, false, Duration.ofMinutes(3)));
        assertThat(run(c, pci).message()).isEqualTo("can't migrate VM which uses local devices: hostpci0");
        assertThat(c.guest(1).orElseThrow().node()).isEqualTo("a");
    }

    @Test
    void containersInRestartModeAreDownDuringTheMoveAndRunAfterIt() {
        SimulatedCluster c = cluster(lxc(2, "ct", "a", 2, ""));
        TaskRef t = c.migrate(new MigrationCommand(c.snapshot().guest(2).orElseThrow(), "b", MigrationType.RESTART, false, Duration.ofMinutes(3)));
        assertThat(c.guest(2).orElseThrow().status()).isEqualTo(PowerState.STOPPED);
        assertThat(run(c, t).successful()).isTrue();
        assertThat(c.guest(2).orElseThrow().status()).isEqualTo(PowerState.RUNNING);
    }

    @Test
    void faultsCanBeInjected() {
        SimulatedCluster c = cluster(qemu(1, "vm", "a", 4, ""), stoppedQemu(2, "off", "a", 4, ""));
        c.failMigrations(1, 1, "boom").stopAfterMigration(2);
        Guest vm = c.snapshot().guest(1).orElseThrow();
        assertThat(run(c, c.migrate(new MigrationCommand(vm, "b", MigrationType.ONLINE, false, Duration.ofMinutes(3)))).message()).isEqualTo("boom");
        assertThat(run(c, c.migrate(new MigrationCommand(vm, "b", MigrationType.ONLINE, false, Duration.ofMinutes(3)))).successful()).isTrue();

        c.transientFailureRate(0.5);
        int transients = 0;
        for (int i = 0; i < 200; i++) {
            try {
                c.snapshot();
            } catch (TransientHypervisorException e) {
                transients++;
            }
        }
        assertThat(transients).isBetween(60, 140);
    }

    @Test
    void aNodeGoingOfflineAbortsTheMigrationsTouchingIt() {
        SimulatedCluster c = cluster(qemu(1, "vm", "a", 60, ""));
        TaskRef t = c.migrate(new MigrationCommand(c.snapshot().guest(1).orElseThrow(), "b", MigrationType.ONLINE, false, Duration.ofMinutes(3)));
        c.nodeOfflineAfter("b", Duration.ofSeconds(30));
        assertThat(run(c, t).message()).contains("went offline");
        assertThat(c.guest(1).orElseThrow().node()).isEqualTo("a");
        assertThat(c.snapshot().node("b").orElseThrow().online()).isFalse();
    }

    @Test
    void haRequestsToAnOfflineNodeAreDroppedSilently() {
        SimulatedCluster c = cluster(TestClusters.ha(qemu(1, "vm", "a", 4, "")));
        c.setNodeOnline("b", false);
        TaskRef t = c.migrate(new MigrationCommand(c.snapshot().guest(1).orElseThrow(), "b", MigrationType.ONLINE, false, Duration.ofMinutes(3)));
        assertThat(t.tracked()).isFalse();
        scheduler.runUntilIdle();
        assertThat(c.guest(1).orElseThrow().node()).isEqualTo("a");
    }

    @Test
    void stateCanBeExportedAndTheClusterBuiltAgainWithAChangeHook() {
        SimulatedCluster c = cluster(qemu(1, "vm", "a", 4, "always-on"), lxc(2, "ct", "a", 2, ""));
        c.preconditions(TestClusters.passthrough(2, "dev0"));
        AtomicInteger changes = new AtomicInteger();
        c.onChange(changes::incrementAndGet);
        c.migrate(new MigrationCommand(c.snapshot().guest(1).orElseThrow(), "b", MigrationType.ONLINE, false, Duration.ofMinutes(3)));
        scheduler.runUntilIdle();
        assertThat(changes.get()).isPositive();

        SimulatedCluster.Builder again = SimulatedCluster.builder(scheduler);
        c.nodeSpecs().forEach(again::node);
        c.guestStates().forEach(again::guest);
        c.preconditionOverrides().values().forEach(again::preconditions);
        SimulatedCluster copy = again.build();
        assertThat(copy.currentSnapshot().guests()).isEqualTo(c.currentSnapshot().guests());
        assertThat(copy.preconditionOverrides()).isEqualTo(c.preconditionOverrides());
    }
}
