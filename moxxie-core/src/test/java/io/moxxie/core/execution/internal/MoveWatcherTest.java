package io.moxxie.core.execution.internal;

import io.moxxie.core.execution.ExecutorConfig;

import io.moxxie.core.spi.GuestProgress;

import io.moxxie.core.model.GuestState;

import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.model.Guest;
import io.moxxie.core.simulation.MigrationModel;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.HypervisorClient;
import io.moxxie.core.spi.MigrationCommand;
import io.moxxie.core.spi.MigrationProgress;
import io.moxxie.core.testing.DelegatingHypervisorClient;
import io.moxxie.core.spi.TaskRef;
import io.moxxie.core.testing.TestClusters;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * The watcher's picture of the moves it follows, run forward: what the drain's start choice relies on. The picture's
 * arithmetic on its own is {@link TransferModelTest}'s.
 */
class MoveWatcherTest {
    private static final double GB = 1e9;
    // A link of 1.2 GB/s, 0.6 GB/s per stream, 5 s overhead: two streams fill the link, three share it at 0.4 each.
    private static final ExecutorConfig CONFIG = ExecutorConfig.builder().expectedLinkBandwidth(1.2 * GB).expectedMigrationRate(0.6 * GB)
            .expectedMigrationOverhead(Duration.ofSeconds(5)).build();

    private final VirtualScheduler scheduler = new VirtualScheduler();
    private final SimulatedCluster cluster = TestClusters.guideCluster(scheduler).build();
    private final MoveWatcher watcher = new MoveWatcher(Asyncs.noRetries(scheduler), cluster,
            CONFIG, () -> false, false, 1.0, f -> { });

    private void watch(int vmid, long memory) {
        GuestProgress p = GuestProgress.builder("d-1", vmid).name("vm-" + vmid).type(GuestType.QEMU).sourceNode("hv7").targetNode("hv8")
                .migrationType(MigrationType.ONLINE).status(GuestState.IN_PROGRESS).wasRunning(true).memory(memory).attempts(1)
                .startedAt(scheduler.now()).build();
        watcher.watch(p, new TaskRef("UPID:" + vmid, "hv7", true), scheduler.now().plus(Duration.ofHours(1)), "limit");
    }

    private double secondsFromNow(Instant t) {
        return Duration.between(scheduler.now(), t).toMillis() / 1e3;
    }

    @Test
    void movesInFlightShareTheLinkWithTheNewOneAndEachEndIsFollowedByAnother() {
        watch(1, (long) (12 * GB));
        watch(2, (long) (12 * GB));
        // All three copy from 5 s at 0.4 GB/s; the 4.8 GB move ends at 5 + 12 = 17 s. The two 12 GB moves have 7.2 GB left
        // each; while the follower of the ended move is in its overhead (17-22 s) they copy at 0.6 (3 GB), then at 0.4
        // again with it: 4.2 GB / 0.4 = 10.5 s more, ending at 32.5 s.
        List<Instant> ends = watcher.projectedEnds((long) (4.8 * GB));
        assertThat(ends).hasSize(3);
        assertThat(secondsFromNow(ends.get(0))).isCloseTo(17, within(0.01));
        assertThat(secondsFromNow(ends.get(1))).isCloseTo(32.5, within(0.01));
        assertThat(secondsFromNow(ends.get(2))).isCloseTo(32.5, within(0.01));
    }

    /**
     * How a watcher followed one slow live migration: the cluster reads and progress reads, how late it saw the end, the
     * move's duration, and what it showed of the move midway.
     */
    private record Followed(long snapshots, long progressReads, double lateSeconds, double seconds, MoveWatcher.InFlight midway) {
    }

    /**
     * VM 8201 (32 GiB) moved live on links a quarter as fast as the watcher expects (0.15 GB/s for one stream: 5 + 229 s,
     * against 5 + 57 s in its picture), followed by a cautious watcher through a client that reports the cluster's
     * progress or none.
     */
    private static Followed followSlowMove(boolean reportsProgress) {
        VirtualScheduler s = new VirtualScheduler();
        SimulatedCluster slow = TestClusters.guideCluster(s).model(new MigrationModel(0.3 * GB, 0.15 * GB, Duration.ofSeconds(5))).build();
        HypervisorClient client = reportsProgress ? slow : new DelegatingHypervisorClient(slow) {
            @Override
            public Optional<MigrationProgress> migrationProgress(TaskRef t) {
                return Optional.empty();
            }
        };
        MoveWatcher w = new MoveWatcher(Asyncs.noRetries(s), client, CONFIG,
                () -> false, false, 1.0, f -> { });
        Guest g = slow.currentSnapshot().guest(8201).orElseThrow();
        TaskRef task = slow.migrate(new MigrationCommand(g, "hv8", MigrationType.ONLINE, false, Duration.ofHours(1)));
        GuestProgress p = GuestProgress.builder("d-1", g).targetNode("hv8").migrationType(MigrationType.ONLINE)
                .status(GuestState.IN_PROGRESS).attempts(1).taskId(task.id()).startedAt(s.now()).build();
        AtomicReference<Instant> noticed = new AtomicReference<>();
        w.watch(p, task, s.now().plus(Duration.ofHours(1)), "limit").thenRun(() -> noticed.set(s.now()));
        s.runFor(Duration.ofSeconds(150));
        MoveWatcher.InFlight midway = w.inFlight().get(8201);
        s.runUntilIdle();
        var moved = slow.migrations().get(0);
        return new Followed(slow.calls().getOrDefault("snapshot", 0L), slow.calls().getOrDefault("migrationProgress", 0L),
                Duration.between(moved.finishedAt(), noticed.get()).toMillis() / 1e3, moved.duration().toMillis() / 1e3, midway);
    }

    @Test
    void aLiveMigrationFoundNotDoneIsLookedAtAgainWhenItsReportedProgressSaysItEnds() {
        Followed guessed = followSlowMove(false);
        Followed reported = followSlowMove(true);

        // Looked at a minute apart (a first check's cap) and just after the reported end, as a first check is.
        assertThat(reported.lateSeconds()).as("end seen within 3 %% of the move and a second").isBetween(0.0, 0.03 * reported.seconds() + 1);
        assertThat(reported.snapshots() + reported.progressReads()).as("requests, progress reads counted")
                .isLessThan((guessed.snapshots() + guessed.progressReads()) / 2);
        assertThat(reported.progressReads()).isLessThanOrEqualTo(4);
        // Midway (150 s) the status shows what was reported and an end from it; without progress, the picture's end,
        // which it has had to push back by looking.
        assertThat(reported.midway().progress().transferred()).isPositive();
        assertThat(reported.midway().progress().total()).isEqualTo(32 * TestClusters.GIB);
        assertThat(Duration.between(reported.midway().progress().at(), reported.midway().expectedEnd()).toSeconds()).isPositive();
        assertThat(guessed.midway().progress()).isNull();
        assertThat(guessed.midway().expectedEnd()).isNotNull();
    }

    @Test
    void aPreciseWatcherStartsFromTheSpeedAnEarlierDrainLearned() {
        MoveWatcher precise = new MoveWatcher(Asyncs.noRetries(scheduler), cluster, CONFIG,
                () -> false, true, 1.2, f -> { });
        assertThat(secondsFromNow(precise.projectedEnds((long) (6 * GB)).get(0))).isCloseTo(5 + 6 / (0.6 * 1.2), within(0.01));
        MoveWatcher cautious = new MoveWatcher(Asyncs.noRetries(scheduler), cluster, CONFIG,
                () -> false, false, 1.2, f -> { });
        assertThat(secondsFromNow(cautious.projectedEnds((long) (6 * GB)).get(0))).isCloseTo(5 + 6 / 0.6, within(0.01));
    }

    @Test
    void aPreciseWatcherLearnsTheSpeedFromAMoveFoundDoneBeforeItsPredictedEnd() {
        // The cluster moves half as fast again as the watcher expects (1.8 GB/s links, 0.9 per stream).
        VirtualScheduler s = new VirtualScheduler();
        SimulatedCluster fast = TestClusters.guideCluster(s).model(new io.moxxie.core.simulation.MigrationModel(1.8 * GB, 0.9 * GB,
                Duration.ofSeconds(5))).build();
        java.util.concurrent.atomic.AtomicReference<Double> learned = new java.util.concurrent.atomic.AtomicReference<>(1.0);
        MoveWatcher w = new MoveWatcher(Asyncs.noRetries(s), fast, CONFIG, () -> false, true,
                1.0, learned::set);
        // Three moves at once: the 6 GiB one's round, when it is predicted to end, also finds the 8 GiB one done
        // well before its own predicted end.
        for (int vmid : new int[]{8213, 8202, 8201}) {
            io.moxxie.core.model.Guest g = fast.currentSnapshot().guest(vmid).orElseThrow();
            TaskRef task = fast.migrate(new io.moxxie.core.spi.MigrationCommand(g, "hv8", MigrationType.ONLINE, false, Duration.ofMinutes(1)));
            GuestProgress p = GuestProgress.builder("d-1", g).targetNode("hv8").migrationType(MigrationType.ONLINE)
                    .status(GuestState.IN_PROGRESS).attempts(1).taskId(task.id()).startedAt(s.now()).build();
            w.watch(p, task, s.now().plus(Duration.ofHours(1)), "limit");
        }
        s.runUntilIdle();
        assertThat(learned.get()).as("factor learned").isGreaterThan(1.2);
    }
}
