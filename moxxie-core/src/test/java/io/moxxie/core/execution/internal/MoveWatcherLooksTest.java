package io.moxxie.core.execution.internal;

import io.moxxie.core.execution.ExecutorConfig;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.simulation.MigrationModel;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.spi.HypervisorClient;
import io.moxxie.core.spi.MigrationCommand;
import io.moxxie.core.spi.MigrationProgress;
import io.moxxie.core.spi.TaskRef;
import io.moxxie.core.spi.TaskState;
import io.moxxie.core.testing.DelegatingHypervisorClient;
import io.moxxie.core.testing.TestClusters;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * When the watcher looks at the moves it follows, and what it makes of what it sees: one cluster read per round for
 * every move in flight, a first look just after a move's predicted end, looks again as a move runs past it, and the
 * move's outcome (done on its target, its target gone, its guest gone, its task failed, its time limit passed).
 */
class MoveWatcherLooksTest {
    private static final double GB = 1e9;
    private static final long GIB = TestClusters.GIB;
    // A link of 1.2 GB/s, 0.6 GB/s per stream, 5 s set-up: a cluster at speed 1 (below) moves exactly as pictured.
    private static final ExecutorConfig CONFIG = ExecutorConfig.builder().expectedLinkBandwidth(1.2 * GB).expectedMigrationRate(0.6 * GB)
            .expectedMigrationOverhead(Duration.ofSeconds(5)).build();
    /** A look comes this long after the end it expects, plus 3 % of the move's time until then. */
    private static final double MARGIN = 0.5;

    /**
     * Two nodes, hv1 and hv2, whose links are {@code speed} times what the watcher pictures; the watcher's reads of the
     * cluster, the moves' outcomes and when they came, in seconds from the start.
     */
    private static final class Rig {
        final VirtualScheduler scheduler = new VirtualScheduler();
        final Instant t0 = scheduler.now();
        final SimulatedCluster cluster;
        final List<Double> snapshots = new ArrayList<>();
        final List<Double> taskReads = new ArrayList<>();
        final List<Double> progressReads = new ArrayList<>();
        final Map<Integer, Double> done = new LinkedHashMap<>();
        final Map<Integer, GuestFailure> failed = new LinkedHashMap<>();
        final Map<Integer, Double> failedAt = new LinkedHashMap<>();
        final Map<Integer, Instant> startedAt = new LinkedHashMap<>();
        final Map<Integer, TaskRef> tasks = new LinkedHashMap<>();
        /** Whether the client reports a live move's progress (as Proxmox's task log does), and whether it says every task succeeded. */
        boolean reportsProgress = true;
        boolean tasksSucceed;
        /** What the client makes of the progress the cluster reports; and whether the cluster cannot be read. */
        UnaryOperator<MigrationProgress> reported = p -> p;
        boolean readsFail;
        /** What an auto drain's controller following the streams was told, and the streams it already knows busy. */
        final List<Told> told = new ArrayList<>();
        final Set<Integer> knownBusy = new HashSet<>();
        final MoveWatcher watcher;

        Rig(double speed) {
            this(speed, false, false);
        }

        Rig(double speed, boolean precise, boolean followsStreams) {
            cluster = SimulatedCluster.builder(scheduler).model(new MigrationModel(1.2 * GB * speed, 0.6 * GB * speed, Duration.ofSeconds(5)))
                    .node("hv1", 512 * GIB, 32).node("hv2", 512 * GIB, 32)
                    .guest(TestClusters.qemu(101, "vm-8g", "hv1", 8, "")).guest(TestClusters.qemu(102, "vm-4g", "hv1", 4, ""))
                    .guest(TestClusters.qemu(103, "vm-4g-b", "hv1", 4, "")).guest(TestClusters.qemu(104, "vm-2g", "hv1", 2, ""))
                    .guest(TestClusters.qemu(105, "vm-32g", "hv1", 32, "")).guest(TestClusters.stoppedQemu(201, "stopped-8g", "hv1", 8, ""))
                    .guest(TestClusters.lxc(301, "ct-a", "hv1", 2, "")).guest(TestClusters.lxc(302, "ct-b", "hv1", 2, "")).build();
            HypervisorClient client = new DelegatingHypervisorClient(cluster) {
                @Override
                public ClusterSnapshot snapshot() {
                    snapshots.add(now());
                    if (readsFail) throw new IllegalStateException("cluster unreachable");
                    return super.snapshot();
                }

                @Override
                public TaskState task(TaskRef task) {
                    taskReads.add(now());
                    TaskState state = super.task(task);
                    return tasksSucceed ? TaskState.ok("OK") : state;
                }

                @Override
                public Optional<MigrationProgress> migrationProgress(TaskRef task) {
                    progressReads.add(now());
                    Optional<MigrationProgress> p = super.migrationProgress(task);
                    return reportsProgress ? p.map(reported) : Optional.empty();
                }
            };
            MoveWatcher.StreamObserver streams = !followsStreams ? null : new MoveWatcher.StreamObserver() {
                @Override
                public void observed(Map<Integer, MigrationProgress> round, int copying) {
                    told.add(new Told(now(), new TreeSet<>(round.keySet()), copying, Set.copyOf(done.keySet())));
                }

                @Override
                public boolean unsure(int vmid) {
                    return !knownBusy.contains(vmid);
                }
            };
            watcher = new MoveWatcher(Asyncs.noRetries(scheduler), client, CONFIG,
                    () -> false, precise, 1.0, f -> { }, streams);
        }

        double now() {
            return seconds(scheduler.now());
        }

        double seconds(Instant t) {
            return Duration.between(t0, t).toMillis() / 1e3;
        }

        /** Starts the guest's move to hv2 and follows it, within {@code limit}. */
        CompletableFuture<Guest> move(int vmid, Duration limit) {
            Guest g = cluster.currentSnapshot().guest(vmid).orElseThrow();
            MigrationType type = !g.running() ? MigrationType.OFFLINE : g.type() == GuestType.LXC ? MigrationType.RESTART : MigrationType.ONLINE;
            TaskRef task = cluster.migrate(new MigrationCommand(g, "hv2", type, false, Duration.ofMinutes(3)));
            GuestProgress p = GuestProgress.builder("d-1", g).targetNode("hv2").migrationType(type).status(GuestState.IN_PROGRESS)
                    .attempts(1).taskId(task.id()).startedAt(scheduler.now()).build();
            startedAt.put(vmid, scheduler.now());
            tasks.put(vmid, task);
            return watcher.watch(p, task, scheduler.now().plus(limit), "migration time limit of " + Limit.human(limit)).whenComplete((guest, error) -> {
                if (error == null) {
                    done.put(vmid, now());
                } else {
                    failed.put(vmid, (GuestFailure) Async.unwrap(error));
                    failedAt.put(vmid, now());
                }
            });
        }

        CompletableFuture<Guest> move(int vmid) {
            return move(vmid, Duration.ofHours(1));
        }

        /** When the cluster ended the guest's last move, seconds from the start. */
        double ended(int vmid) {
            List<SimulatedCluster.MigrationRecord> moves = cluster.migrations().stream().filter(m -> m.vmid() == vmid).toList();
            return seconds(moves.get(moves.size() - 1).finishedAt());
        }

        /** When a look expects the move of {@code vmid} to have ended if it ends at {@code end}: a little after. */
        double lookAfter(int vmid, double end) {
            double start = seconds(startedAt.get(vmid));
            return end + MARGIN + 0.03 * (end - start);
        }
    }

    /**
     * One round's progress reads as an auto drain's controller is told them: when, the streams read, the live moves
     * copying after the round, and the moves whose ends were handed on before.
     */
    private record Told(double at, Set<Integer> read, int copying, Set<Integer> endedBefore) {
    }

    // ---------------------------------------------------------------- moves that end as pictured

    @Test
    void aMoveThatEndsAsPicturedIsFoundDoneByOneReadJustAfterItsEnd() {
        Rig rig = new Rig(1);
        rig.move(102);
        rig.scheduler.runUntilIdle();

        // 4 GiB: 5 s of set-up, then 4.29 GB at 0.6 GB/s: 12.16 s; looked at half a second and 3 % later.
        assertThat(rig.ended(102)).isCloseTo(5 + 4 * GIB / (0.6 * GB), within(0.01));
        assertThat(rig.snapshots).singleElement().satisfies(t -> assertThat(t).isCloseTo(rig.lookAfter(102, rig.ended(102)), within(0.01)));
        assertThat(rig.done).containsOnlyKeys(102);
        assertThat(rig.done.get(102)).isEqualTo(rig.snapshots.get(0));
        assertThat(rig.taskReads).as("the view was not ambiguous: no task read").isEmpty();
        assertThat(rig.progressReads).isEmpty();
    }

    @Test
    void oneReadServesEveryMoveInFlight() {
        Rig rig = new Rig(1);
        rig.move(102);
        rig.move(103);
        rig.scheduler.runUntilIdle();

        // Two streams fill the link at 0.6 GB/s each: both end together, and one read finds both done.
        assertThat(rig.ended(103)).isEqualTo(rig.ended(102));
        assertThat(rig.snapshots).hasSize(1);
        assertThat(rig.done).containsOnlyKeys(102, 103).containsValues(rig.snapshots.get(0));
    }

    @Test
    void aLongMoveIsLookedAtWithinAMinuteOfItsStartAndThenJustAfterTheEndItsProgressGives() {
        Rig rig = new Rig(1);
        rig.move(105);
        rig.scheduler.runUntilIdle();

        // 32 GiB: 5 + 57.3 s. Looked at a minute after its start, asked for its progress then (it has run a minute), and
        // looked at again just after the end the bytes and rate it reported give.
        double end = rig.ended(105);
        assertThat(end).isCloseTo(5 + 32 * GIB / (0.6 * GB), within(0.01));
        assertThat(rig.progressReads).containsExactly(60.0);
        assertThat(rig.snapshots).hasSize(2);
        assertThat(rig.snapshots.get(0)).isEqualTo(60.0);
        assertThat(rig.snapshots.get(1)).isCloseTo(rig.lookAfter(105, end), within(0.01));
        assertThat(rig.done.get(105)).isEqualTo(rig.snapshots.get(1));
    }

    // ---------------------------------------------------------------- moves that run past their predicted end

    /** The waits between the looks of one live move missed at each: a tenth of its time so far, at least 1 s, and no more than the backoff. */
    private static void assertLiveBackoff(List<Double> looks, double start, int fromLook) {
        double backoff = CONFIG.pollInitialDelay().toMillis() / 1e3;
        for (int i = fromLook; i + 1 < looks.size(); i++) {
            double sinceStart = looks.get(i) - start;
            double expected = Math.max(1, Math.min(backoff, sinceStart / 10));
            assertThat(looks.get(i + 1) - looks.get(i)).as("wait after the look at %s s", looks.get(i)).isCloseTo(expected, within(0.002));
            backoff = Math.min(backoff * 1.5, CONFIG.pollMaxDelay().toMillis() / 1e3);
        }
    }

    @Test
    void aLiveMoveFoundNotDoneIsLookedAtAgainAfterATenthOfItsTimeSoFarBackingOffToPollMaxDelay() {
        // The links a quarter as fast as pictured, and a client that reports no progress: only the backoff times the looks.
        Rig rig = new Rig(0.25);
        rig.reportsProgress = false;
        rig.move(105);
        rig.scheduler.runUntilIdle();

        double end = rig.ended(105);
        assertThat(end).isCloseTo(5 + 32 * GIB / (0.15 * GB), within(0.01));
        assertThat(rig.snapshots.get(0)).as("first look: a minute after the start").isEqualTo(60.0);
        assertLiveBackoff(rig.snapshots, 0, 0);
        assertThat(rig.snapshots).as("the waits reach pollMaxDelay").anySatisfy(t -> assertThat(rig.snapshots).contains(t + 10));
        double last = rig.snapshots.get(rig.snapshots.size() - 1);
        assertThat(rig.done.get(105)).isEqualTo(last);
        assertThat(last).as("found done by the first look after its end").isGreaterThanOrEqualTo(end);
        assertThat(rig.snapshots.get(rig.snapshots.size() - 2)).isLessThan(end);
        // Asked for its progress at the looks from a minute after its start on (not at the last: it was done), and,
        // reporting none, again only at the first look a minute or more after the last ask.
        List<Double> asks = new ArrayList<>();
        for (double look : rig.snapshots.subList(0, rig.snapshots.size() - 1)) {
            if (look >= 60 && (asks.isEmpty() || look - asks.get(asks.size() - 1) >= 60)) asks.add(look);
        }
        assertThat(asks).hasSizeGreaterThan(2);
        assertThat(rig.progressReads).isEqualTo(asks);
    }

    @Test
    void aLiveMoveReportingItsProgressIsLookedAtAMinuteApartThenJustAfterTheEndItReports() {
        Rig rig = new Rig(0.3);
        rig.move(105);
        rig.scheduler.runFor(Duration.ofSeconds(90));
        // After the look at 60 s the status shows what was reported, and the end it gives.
        MoveWatcher.InFlight shown = rig.watcher.inFlight().get(105);
        MigrationProgress read = shown.progress();
        assertThat(rig.seconds(read.at())).isEqualTo(60.0);
        assertThat(read.transferred()).isEqualTo((long) (55 * 0.18 * GB));
        double reportedEnd = 60 + read.remaining() / read.rate().getAsDouble();
        assertThat(rig.seconds(shown.expectedEnd())).isCloseTo(reportedEnd, within(0.002));
        rig.scheduler.runUntilIdle();

        double end = rig.ended(105);
        // The report puts the end more than a minute away at 60 s and at 120 s: looked at a minute apart; at 180 s less
        // than a minute away: looked at just after it.
        assertThat(rig.snapshots).hasSize(4);
        assertThat(rig.snapshots.subList(0, 3)).containsExactly(60.0, 120.0, 180.0);
        assertThat(rig.snapshots.get(3)).isCloseTo(rig.lookAfter(105, end), within(0.01));
        assertThat(rig.progressReads).containsExactly(60.0, 120.0, 180.0);
        assertThat(rig.done.get(105)).isEqualTo(rig.snapshots.get(3));
    }

    @Test
    void aPreciseWatcherLooksAgainJustAfterTheEndItPicturesWhenThatComesBeforeTheBackoff() {
        Rig precise = new Rig(1, true, false);
        Rig cautious = new Rig(1);
        for (Rig rig : List.of(precise, cautious)) {
            rig.reportsProgress = false;
            rig.move(104);
            rig.move(105);
            rig.scheduler.runUntilIdle();
        }

        // 105 (32 GiB, 5 + 57.3 s) is looked at a minute after its start, then 2 s later (the backoff). The next backoff
        // (3 s) would look at 65 s; once 104 ended, ends follow memory, and a precise watcher looks just after the end
        // its picture gives instead, which comes sooner.
        double end = precise.ended(105);
        assertThat(end).isCloseTo(5 + 32 * GIB / (0.6 * GB), within(0.01));
        assertThat(precise.snapshots.subList(1, 3)).containsExactly(60.0, 62.0);
        assertThat(precise.snapshots.get(3)).isCloseTo(precise.lookAfter(105, end), within(0.01));
        assertThat(precise.done.get(105)).isEqualTo(precise.snapshots.get(3));
        assertThat(cautious.snapshots.subList(1, cautious.snapshots.size())).containsExactly(60.0, 62.0, 65.0);
    }

    @Test
    void aMoveMissedOnceIsTakenToHaveEndedMidwayBetweenTheLookThatMissedItAndTheOneThatFoundIt() {
        Rig rig = new Rig(0.5);
        rig.move(105);
        rig.scheduler.runUntilIdle();

        // 105 missed at 60 s and found done at 120 s: taken to have taken 90 s, so no move of its memory is expected to
        // end in less than 81 s (90 %), where the picture has 5 + 57.3 s.
        assertThat(rig.snapshots).containsExactly(60.0, 120.0);
        assertThat(rig.seconds(rig.watcher.projectedEnds(32 * GIB).get(0)) - rig.now()).isCloseTo(0.9 * 90, within(0.002));
    }

    @Test
    void aLongMoveIsFirstLookedAtNoSoonerThanTheMovesThatEndedSayItCanBeDone() {
        Rig rig = new Rig(0.2);
        rig.reportsProgress = false;
        rig.move(101);
        rig.scheduler.runUntilIdle();
        List<Double> looksAt101 = List.copyOf(rig.snapshots);
        rig.snapshots.clear();
        rig.move(105);
        rig.scheduler.runUntilIdle();

        // On links a fifth as fast as pictured, 101 (8 GiB, 5 + 71.6 s) is taken to have ended midway between the last
        // look that missed it and the one that found it: no larger move ends sooner than 90 % of that, past a minute. So
        // 105 (32 GiB) is first looked at just after that, not a minute after its start.
        int n = looksAt101.size();
        double taken = (looksAt101.get(n - 2) + looksAt101.get(n - 1)) / 2;
        assertThat(taken).isGreaterThan(60 / 0.9);
        double start = rig.seconds(rig.startedAt.get(105));
        assertThat(rig.snapshots.get(0)).isCloseTo(rig.lookAfter(105, start + 0.9 * taken), within(0.01));
    }

    @Test
    void aReportThatPutsTheEndWithinASecondIsFollowedByALookASecondLater() {
        Rig rig = new Rig(0.5, false, true);
        rig.reported = p -> new MigrationProgress(p.total() - 1_000_000, 1_000_000, p.total(), OptionalDouble.of(0.6 * GB),
                p.throttle(), p.at());
        rig.move(104);
        rig.scheduler.runUntilIdle();

        // 104's first look (9.34 s) misses it and reads 1 MB left at 0.6 GB/s: its end 1.7 ms away, a look just after
        // that (half a second and 3 % of 9.3 s) would come within a second: it comes a second later.
        assertThat(rig.snapshots.get(0)).isEqualTo(rig.progressReads.get(0));
        assertThat(rig.snapshots.get(1)).isCloseTo(rig.snapshots.get(0) + 1, within(0.0005));
    }

    @Test
    void aReportWithNothingLeftOrNoRateGivesNoEndAndTheStatusShowsThePictures() {
        for (MigrationProgress odd : List.of(new MigrationProgress(8 * GIB, 0, 8 * GIB, OptionalDouble.of(0.6 * GB), OptionalDouble.empty(), Instant.EPOCH),
                new MigrationProgress(4 * GIB, 4 * GIB, 8 * GIB, OptionalDouble.of(0), OptionalDouble.empty(), Instant.EPOCH))) {
            Rig rig = new Rig(0.25);
            rig.reported = p -> new MigrationProgress(odd.transferred(), odd.remaining(), odd.total(), odd.rate(), odd.throttle(), p.at());
            rig.move(105);
            rig.scheduler.runFor(Duration.ofSeconds(61));

            // Read at 60 s (a minute after its start): the end shown is the picture's, which has it copying on at 0.6 GB/s.
            MoveWatcher.InFlight shown = rig.watcher.inFlight().get(105);
            assertThat(rig.seconds(shown.progress().at())).isEqualTo(60.0);
            assertThat(rig.seconds(shown.expectedEnd())).isEqualTo(rig.seconds(rig.watcher.projectedEnds().get(0)));
            assertThat(rig.seconds(shown.expectedEnd())).isGreaterThan(61);
        }
    }

    @Test
    void theDrainsExpectedEndTakesTheRemainingBytesTheHypervisorReported() {
        Rig rig = new Rig(0.5);
        rig.move(105);
        rig.scheduler.runFor(Duration.ofSeconds(59));
        double before = rig.seconds(rig.watcher.projectedDrainEnd(1));
        rig.scheduler.runFor(Duration.ofSeconds(1));

        // Pictured at 0.6 GB/s it ends at 62.3 s; read at 60 s it has 34.4 - 55 * 0.3 GB left, which the picture copies at
        // 0.6 GB/s.
        MigrationProgress read = rig.watcher.inFlight().get(105).progress();
        assertThat(before).isCloseTo(5 + 32 * GIB / (0.6 * GB), within(0.01));
        assertThat(read.remaining()).isEqualTo(32 * GIB - (long) (55 * 0.3 * GB));
        assertThat(rig.seconds(rig.watcher.projectedDrainEnd(1))).isCloseTo(60 + read.remaining() / (0.6 * GB), within(0.01));
    }

    @Test
    void theStatusNeverShowsAMovesEndInThePast() {
        Rig rig = new Rig(0.25);
        rig.move(105);
        rig.scheduler.runFor(Duration.ofSeconds(181));
        // The read at 180 s puts the end at about 234 s; the look comes at about 241 s. In between, the end is "now".
        double reportedEnd = rig.seconds(rig.watcher.inFlight().get(105).expectedEnd());
        assertThat(reportedEnd).isGreaterThan(230);
        rig.scheduler.runFor(Duration.ofMillis((long) ((reportedEnd - 181 + 2) * 1000)));
        assertThat(rig.done).isEmpty();
        assertThat(rig.watcher.inFlight().get(105).expectedEnd()).isEqualTo(rig.scheduler.now());
    }

    @Test
    void aMoveThatCopiesNoMemoryIsLookedAtAgainAfterAThirdOfItsTimeSoFarAndFailsAtItsLimit() {
        Rig rig = new Rig(1);
        rig.cluster.hangNextMigration(201);
        rig.move(201, Duration.ofMinutes(2));
        rig.scheduler.runUntilIdle();

        // An offline move of a stopped guest: first looked at when its memory would have been copied (5 + 14.3 s), then
        // after a third of its time so far (no less than the backoff), the last look at its limit.
        List<Double> looks = rig.snapshots;
        assertThat(looks.get(0)).isCloseTo(rig.lookAfter(201, 5 + 8 * GIB / (0.6 * GB)), within(0.01));
        double backoff = 2;
        for (int i = 0; i + 2 < looks.size(); i++) {
            double expected = Math.max(backoff, looks.get(i) / 3);
            assertThat(looks.get(i + 1) - looks.get(i)).as("wait after the look at %s s", looks.get(i)).isCloseTo(expected, within(0.002));
            backoff = Math.min(backoff * 1.5, 10);
        }
        assertThat(looks.get(looks.size() - 1)).isEqualTo(120.0);
        assertThat(rig.failedAt.get(201)).isEqualTo(120.0);
        GuestFailure f = rig.failed.get(201);
        assertThat(f.kind).isEqualTo(GuestFailure.Kind.FINAL);
        assertThat(f.getMessage()).isEqualTo("exceeded the migration time limit of 2m but VM 201 is still on hv1, not on hv2; task "
                + rig.tasks.get(201).id() + " may still be running on hv1");
    }

    @Test
    void aContainerRestartThatOutlastedALookIsNotLookedAtSoEarlyTheNextTime() {
        Rig rig = new Rig(1);
        rig.move(301);
        rig.scheduler.runUntilIdle();
        int looksAtFirst = rig.snapshots.size();
        double firstMissed = rig.snapshots.get(looksAtFirst - 2);
        rig.snapshots.clear();
        rig.move(302);
        rig.scheduler.runUntilIdle();

        // A restart copies no memory: the first took 15 s, where the link's picture gives 2 GiB 8.6 s, and was found
        // not done at two looks. The second is first looked at no sooner than the last look that missed the first.
        assertThat(rig.cluster.migrations().get(0).duration()).isEqualTo(Duration.ofSeconds(15));
        assertThat(looksAtFirst).isEqualTo(3);
        double start = rig.seconds(rig.startedAt.get(302));
        assertThat(rig.snapshots.get(0) - start).isCloseTo(firstMissed + MARGIN + 0.03 * firstMissed, within(0.01));
        assertThat(rig.snapshots).hasSize(2);
        assertThat(rig.done).containsOnlyKeys(301, 302);
    }

    // ---------------------------------------------------------------- an auto drain's controller

    /**
     * An auto drain's rounds on links half as fast as pictured: VM 105 (32 GiB) moves alone; at 90 s VMs 104 (2 GiB),
     * 101 (8 GiB, deleted at 102 s) and the container 301 start, at 99 s VM 103 (4 GiB).
     */
    private static Rig autoDrainRounds(Set<Integer> knownBusy) {
        Rig rig = new Rig(0.5, false, true);
        rig.knownBusy.addAll(knownBusy);
        rig.move(105);
        rig.scheduler.runFor(Duration.ofSeconds(90));
        rig.move(104);
        rig.move(301);
        rig.move(101);
        rig.scheduler.schedule(Duration.ofSeconds(12), () -> rig.cluster.delete(101));
        rig.scheduler.runFor(Duration.ofSeconds(9));
        rig.move(103);
        rig.scheduler.runUntilIdle();
        return rig;
    }

    @Test
    void aMoveRunningPastItsPredictedEndIsReadWithARoundThatFreesASlotAndTheControllerIsToldBeforeTheSlotIsHandedOn() {
        Rig rig = autoDrainRounds(Set.of());

        double gone = rig.failedAt.get(101);
        double freed = rig.done.get(104);
        double last = rig.done.get(103);
        assertThat(rig.done.get(301)).isEqualTo(freed);
        assertThat(rig.done).containsOnlyKeys(104, 301, 103, 105);
        // Asked at each miss past its set-up, the moves' own looks read 105 at 60 and 120 s (a minute apart: its reports
        // put its end further), 104 at its look that finds 101 gone, 103 at its look between. The rounds that find 104
        // and 301 done, then 103, also read 105, which has run past the end its picture gives (that picture took its
        // last report at the link's pictured share): a busy guest, for all the watcher knows. 103, on time at the first,
        // costs no read.
        assertThat(rig.progressReads).hasSize(6);
        double ownLookOf103 = rig.progressReads.get(3);
        assertThat(rig.progressReads).containsExactly(60.0, gone, freed, ownLookOf103, 120.0, last);
        // Told with the copying streams: the live moves past their 5 s set-up that go on after the round — not 101 (gone
        // in that round), 103 (started 4 s before it), 301 (a restart copies no memory), nor 104 once found done — and
        // before the slots the round frees are handed on.
        assertThat(rig.told).containsExactly(
                new Told(60, Set.of(105), 1, Set.of()),
                new Told(gone, Set.of(104), 2, Set.of()),
                new Told(freed, Set.of(105), 2, Set.of()),
                new Told(ownLookOf103, Set.of(103), 2, Set.of(104, 301)),
                new Told(120, Set.of(105), 2, Set.of(104, 301)),
                new Told(last, Set.of(105), 1, Set.of(104, 301)));
    }

    @Test
    void aMoveTheControllerKnowsBusyIsNotReadWithARoundThatFreesASlot() {
        Rig rig = autoDrainRounds(Set.of(105));

        // 105 is read only at its own looks: the rounds that find the others done read nothing, and tell nothing.
        double freed = rig.done.get(104);
        double last = rig.done.get(103);
        assertThat(rig.progressReads).doesNotContain(freed, last).contains(60.0, 120.0);
        assertThat(rig.told).extracting(Told::at).doesNotContain(freed, last);
    }

    @Test
    void aMoveReadWithAnotherMovesRoundShowsThatRead() {
        Rig rig = new Rig(0.5, false, true);
        rig.move(105);
        rig.scheduler.runFor(Duration.ofSeconds(90));
        rig.move(104);
        rig.scheduler.runFor(Duration.ofSeconds(20));

        // 104 (2 GiB, 5 + 7.2 s) found done, 105 read with that round: the status shows that read, and the end it gives.
        double freed = rig.done.get(104);
        MoveWatcher.InFlight shown = rig.watcher.inFlight().get(105);
        assertThat(rig.seconds(shown.progress().at())).isEqualTo(freed);
        double reportedEnd = freed + shown.progress().remaining() / shown.progress().rate().getAsDouble();
        assertThat(rig.seconds(shown.expectedEnd())).isCloseTo(reportedEnd, within(0.002));
    }

    @Test
    void oneReadEndsEveryMoveOfAnAutoDrainItFindsDoneGoneOrFailed() {
        Rig rig = new Rig(1, false, true);
        rig.cluster.failMigrations(102, 1, "migration aborted: no space left");
        rig.move(103);
        rig.move(102);
        rig.move(101);
        rig.scheduler.schedule(Duration.ofSeconds(10), () -> rig.cluster.delete(101));
        rig.scheduler.runUntilIdle();

        // 103 and 102 (4 GiB each) are looked at together: 103 done, 102 failed (its task read), 101 found gone.
        assertThat(rig.snapshots).hasSize(1);
        double look = rig.snapshots.get(0);
        assertThat(rig.taskReads).containsExactly(look);
        assertThat(rig.done).containsExactly(Map.entry(103, look));
        assertThat(rig.failedAt).containsOnlyKeys(101, 102).containsValues(look);
        assertThat(rig.failed.get(101).getMessage()).isEqualTo("VM 101 disappeared during its migration");
        assertThat(rig.failed.get(102).kind).isEqualTo(GuestFailure.Kind.RETRY_ELSEWHERE);
    }

    @Test
    void oneReadEndsAnAutoDrainsMoveFoundDoneAndTheOneWhoseTargetWentOffline() {
        Rig rig = new Rig(1, false, true);
        rig.move(104);
        rig.move(102);
        rig.cluster.nodeOfflineAfter("hv2", Duration.ofSeconds(9));
        rig.scheduler.runUntilIdle();

        // 104 ended at 8.6 s on hv2, which went offline at 9 s: looked at (9.3 s) once, 104 is done, 102 goes elsewhere.
        assertThat(rig.snapshots).hasSize(1);
        double look = rig.snapshots.get(0);
        assertThat(rig.done).containsExactly(Map.entry(104, look));
        assertThat(rig.failedAt).containsExactly(Map.entry(102, look));
        assertThat(rig.failed.get(102).kind).isEqualTo(GuestFailure.Kind.TARGET_UNAVAILABLE);
    }

    // ---------------------------------------------------------------- what the ends teach

    @Test
    void aMoveFoundDoneWellBeforeItsPredictedEndAtAnotherMovesLookSpeedsTheCautiousPictureUp() {
        Rig rig = new Rig(2);
        rig.move(104);
        rig.move(102);
        rig.scheduler.runUntilIdle();

        // On links twice as fast as pictured, 104's look (9.3 s) finds 102 done too, 3.7 s before the end its picture gave
        // it (12.2 s) and with no look in between: the picture speeds up by 8 %. Two new moves of 2 and 4 GiB then copy
        // at 0.648 GB/s each; the 2 GiB one ends no sooner than 90 % of the 9.3 s the moves that ended took.
        assertThat(rig.snapshots).singleElement().satisfies(t -> assertThat(t).isCloseTo(rig.lookAfter(104, 5 + 2 * GIB / (0.6 * GB)), within(0.01)));
        assertThat(rig.done).containsOnlyKeys(104, 102);
        List<Instant> ends = rig.watcher.projectedEnds(2 * GIB, 4 * GIB);
        assertThat(rig.seconds(ends.get(0)) - rig.now()).isCloseTo(0.9 * rig.snapshots.get(0), within(0.002));
        assertThat(rig.seconds(ends.get(1)) - rig.now()).isCloseTo(5 + 4 * GIB / (0.648 * GB), within(0.002));
    }

    @Test
    void whenAMoveEndsTheMovesNotLookedAtYetAreLookedAtWhenTheFreedLinkPutsTheirEnds() {
        Rig rig = new Rig(1);
        rig.move(104);
        rig.move(102);
        rig.move(103);
        rig.scheduler.runUntilIdle();

        // Three streams share the link at 0.4 GB/s each. 104 (2 GiB) ends at 10.4 s, found done at its third look
        // (11.37 s). 102 and 103 (4 GiB) then have 4.29 - 0.4 * 6.37 GB left, at 0.6 GB/s each: looked at once, just after.
        assertThat(rig.done.get(104)).isEqualTo(rig.snapshots.get(2));
        double found = rig.done.get(104);
        double end = found + (4 * GIB / GB - 0.4 * (found - 5)) / 0.6;
        assertThat(rig.snapshots).hasSize(4);
        assertThat(rig.snapshots.get(3)).isCloseTo(rig.lookAfter(102, end), within(0.01));
        assertThat(rig.done).containsEntry(102, rig.snapshots.get(3)).containsEntry(103, rig.snapshots.get(3));
    }

    // ---------------------------------------------------------------- how a move ends

    @Test
    void aMoveWhoseTargetGoesOfflineFailsSoThatItIsPlannedAgain() {
        Rig rig = new Rig(1);
        rig.move(102);
        rig.cluster.nodeOfflineAfter("hv2", Duration.ofSeconds(8));
        rig.scheduler.runUntilIdle();

        assertThat(rig.failedAt.get(102)).isEqualTo(rig.snapshots.get(0));
        assertThat(rig.snapshots).hasSize(1);
        assertThat(rig.failed.get(102).kind).isEqualTo(GuestFailure.Kind.TARGET_UNAVAILABLE);
        assertThat(rig.failed.get(102).getMessage()).isEqualTo("target node hv2 went offline during the migration");
    }

    @Test
    void aGuestDeletedDuringItsMoveFailsItForGood() {
        Rig rig = new Rig(1);
        rig.move(102);
        rig.scheduler.schedule(Duration.ofSeconds(8), () -> rig.cluster.delete(102));
        rig.scheduler.runUntilIdle();

        assertThat(rig.failedAt.get(102)).isEqualTo(rig.snapshots.get(0));
        assertThat(rig.failed.get(102).kind).isEqualTo(GuestFailure.Kind.FINAL);
        assertThat(rig.failed.get(102).getMessage()).isEqualTo("VM 102 disappeared during its migration");
    }

    @Test
    void aFailedTaskIsReadOnlyAtItsMovesOwnLookAndItsErrorSendsTheGuestElsewhere() {
        Rig rig = new Rig(1);
        rig.cluster.failMigrations(102, 1, "migration aborted: no space left");
        rig.move(104);
        rig.move(102);
        rig.scheduler.runUntilIdle();

        // The 2 GiB move's look (9.3 s) sees VM 102 unlocked on its source before its own look is due: not read yet. Its
        // own look (13 s) reads its task once.
        assertThat(rig.snapshots).hasSize(2);
        assertThat(rig.done).containsOnlyKeys(104);
        assertThat(rig.done.get(104)).isEqualTo(rig.snapshots.get(0));
        assertThat(rig.taskReads).containsExactly(rig.snapshots.get(1));
        assertThat(rig.failedAt.get(102)).isEqualTo(rig.snapshots.get(1));
        assertThat(rig.failed.get(102).kind).isEqualTo(GuestFailure.Kind.RETRY_ELSEWHERE);
        assertThat(rig.failed.get(102).getMessage()).isEqualTo("migration aborted: no space left");
    }

    @Test
    void aTaskThatReportsSuccessWhileItsGuestStaysOnItsSourceFailsAfterAMinute() {
        Rig rig = new Rig(1);
        rig.tasksSucceed = true;
        rig.cluster.failMigrations(102, 1, "never said");
        rig.move(102);
        rig.scheduler.runUntilIdle();

        // Its task, read once at its first look, says it succeeded: the view is given a minute to show the guest on its
        // target, looked at as a move that is not done, then the move fails at the first look after that minute.
        double firstLook = rig.snapshots.get(0);
        assertThat(rig.taskReads).containsExactly(firstLook);
        double failedAt = rig.failedAt.get(102);
        assertThat(failedAt).isEqualTo(rig.snapshots.get(rig.snapshots.size() - 1));
        assertThat(failedAt).isGreaterThanOrEqualTo(firstLook + 60);
        assertThat(rig.snapshots.get(rig.snapshots.size() - 2)).isLessThan(firstLook + 60);
        assertLiveBackoff(rig.snapshots, 0, 0);
        assertThat(rig.failed.get(102).kind).isEqualTo(GuestFailure.Kind.FINAL);
        assertThat(rig.failed.get(102).getMessage()).isEqualTo("the migration reported success but VM 102 is still on hv1, not on hv2");
    }

    @Test
    void aTaskThatSucceededIsGivenAMinuteNoLongerThanItsLimit() {
        Rig rig = new Rig(1);
        rig.tasksSucceed = true;
        rig.cluster.failMigrations(102, 1, "never said");
        rig.move(102, Duration.ofSeconds(30));
        rig.scheduler.runUntilIdle();

        assertThat(rig.failedAt.get(102)).isEqualTo(30.0);
        assertThat(rig.failed.get(102).getMessage()).isEqualTo("the migration reported success but VM 102 is still on hv1, not on hv2");
    }

    // ---------------------------------------------------------------- views for others

    @Test
    void aWaitThatNeedNotBePromptTakesTheNextRoundsViewAndCostsNoReadOfItsOwn() {
        Rig rig = new Rig(1);
        rig.move(102);
        CompletableFuture<ClusterSnapshot> next = rig.watcher.nextView(Duration.ofSeconds(60));
        List<Double> gotAt = new ArrayList<>();
        next.thenRun(() -> gotAt.add(rig.now()));
        rig.scheduler.runUntilIdle();

        assertThat(rig.snapshots).hasSize(1);
        assertThat(gotAt).containsExactly(rig.snapshots.get(0));
        assertThat(next.join().guest(102).orElseThrow().node()).isEqualTo("hv2");
    }

    @Test
    void aWaitThatNeedNotBePromptFailsWhenTheClusterCannotBeRead() {
        Rig rig = new Rig(1);
        rig.readsFail = true;
        CompletableFuture<ClusterSnapshot> next = rig.watcher.nextView(Duration.ofSeconds(5));
        rig.scheduler.runUntilIdle();

        assertThat(next).isCompletedExceptionally();
    }

    @Test
    void withNoRoundSoonerAWaitThatNeedNotBePromptReadsTheViewItself() {
        Rig rig = new Rig(1);
        CompletableFuture<ClusterSnapshot> next = rig.watcher.nextView(Duration.ofSeconds(5));
        rig.scheduler.runUntilIdle();

        assertThat(rig.snapshots).containsExactly(5.0);
        assertThat(next).isCompleted();
    }

    @Test
    void callersAtOneMomentShareOneReadAndAViewYoungEnoughIsReused() {
        Rig rig = new Rig(1);
        CompletableFuture<ClusterSnapshot> a = rig.watcher.view(Duration.ZERO);
        CompletableFuture<ClusterSnapshot> b = rig.watcher.view(Duration.ZERO);
        rig.scheduler.runUntilIdle();
        assertThat(rig.snapshots).hasSize(1);
        assertThat(b.join()).isSameAs(a.join());

        rig.scheduler.runFor(Duration.ofSeconds(5));
        assertThat(rig.watcher.view(Duration.ofSeconds(5)).join()).as("read 5 s ago: young enough").isSameAs(a.join());
        CompletableFuture<ClusterSnapshot> c = rig.watcher.view(Duration.ofMillis(4999));
        rig.scheduler.runUntilIdle();
        assertThat(rig.snapshots).containsExactly(0.0, 5.0);
        assertThat(c.join()).isNotSameAs(a.join());
    }

    @Test
    void aViewReadElsewhereIsReusedWhileYoungEnoughAndOnlyANewerOneReplacesIt() {
        Rig rig = new Rig(1);
        ClusterSnapshot planned = rig.cluster.currentSnapshot();
        rig.scheduler.runFor(Duration.ofSeconds(10));
        rig.watcher.seed(planned, rig.scheduler.now().minusSeconds(2));
        rig.watcher.seed(rig.cluster.currentSnapshot(), rig.scheduler.now().minusSeconds(3));
        assertThat(rig.watcher.view(Duration.ofSeconds(2)).join()).isSameAs(planned);
        CompletableFuture<ClusterSnapshot> older = rig.watcher.view(Duration.ofMillis(1999));
        rig.scheduler.runUntilIdle();
        assertThat(rig.snapshots).containsExactly(10.0);
        assertThat(older.join()).isNotSameAs(planned);
    }

    @Test
    void aViewAskedForAfterARequestWasNotBegunBeforeIt() {
        Rig rig = new Rig(1);
        CompletableFuture<ClusterSnapshot> before = rig.watcher.view(Duration.ZERO);
        // The read asked for before the request is under way: the view read from now is another one, after it, and a view
        // asked for meanwhile shares that one.
        CompletableFuture<ClusterSnapshot> fromNow = rig.watcher.viewReadFromNow();
        CompletableFuture<ClusterSnapshot> shared = rig.watcher.viewReadFromNow();
        rig.scheduler.runUntilIdle();

        assertThat(rig.snapshots).hasSize(2);
        assertThat(fromNow.join()).isNotSameAs(before.join());
        assertThat(shared.join()).isSameAs(fromNow.join());
        // With no read under way, a view read from now is a read of its own.
        CompletableFuture<ClusterSnapshot> alone = rig.watcher.viewReadFromNow();
        rig.scheduler.runUntilIdle();
        assertThat(rig.snapshots).hasSize(3);
        assertThat(alone.join()).isNotSameAs(fromNow.join());
    }

    @Test
    void aStoppedWatcherLooksNoMore() {
        Rig rig = new Rig(1);
        List<Instant> alone = rig.watcher.projectedEnds(2 * GIB);
        CompletableFuture<Guest> moved = rig.move(102);
        rig.move(103);
        rig.scheduler.runFor(Duration.ofSeconds(5));
        assertThat(rig.watcher.watching()).containsExactlyInAnyOrder(102, 103);
        rig.watcher.stop();
        rig.scheduler.runUntilIdle();

        assertThat(rig.snapshots).isEmpty();
        assertThat(moved).isNotDone();
        assertThat(rig.watcher.watching()).isEmpty();
        assertThat(rig.watcher.inFlight()).isEmpty();
        // The moves it followed are out of the picture: a new one would copy alone.
        assertThat(rig.watcher.projectedEnds(2 * GIB)).containsExactly(rig.scheduler.now().plus(Duration.between(rig.t0, alone.get(0))));
    }
}
