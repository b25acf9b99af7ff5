package io.moxxie.core.service;

import io.moxxie.core.model.Concurrency;
import io.moxxie.core.execution.DrainListener;
import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.execution.VmStatus;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.testing.TestClusters.Env;
import org.junit.jupiter.api.Test;

import io.moxxie.core.simulation.MigrationModel;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/**
 * A drain's status says how long it has run and how long it should still run ({@code elapsedSeconds},
 * {@code etaSeconds}), and per guest how long its move took; in virtual time on the guide's cluster.
 */
class DrainEtaTest {
    /** When a guest completed: seconds since the drain started, and the drain's estimate then. */
    record Sample(long at, Long eta) {
    }

    @Test
    void theEstimateAtTheStartIsNearWhatTheDrainTakesAndNarrowsAsMovesEnd() {
        Env env = new Env();
        List<Sample> samples = new ArrayList<>();
        DrainStatus started = env.service.drain(DrainRequest.builder("hv7").mode(DrainMode.HARD).concurrency(io.moxxie.core.model.Concurrency.fixed(3)).build()).status();
        env.service.addListener(new DrainListener() {
            @Override
            public void guestCompleted(String drainId, GuestProgress guest) {
                DrainStatus s = env.service.status("hv7", drainId);
                if (s.status() == DrainState.IN_PROGRESS) samples.add(new Sample(s.elapsedSeconds(), s.etaSeconds()));
            }
        });
        DrainStatus first = env.service.status("hv7", started.drainId());
        assertThat(first.elapsedSeconds()).isZero();
        assertThat(first.etaSeconds()).isPositive();

        env.runUntilIdle();
        DrainStatus done = env.service.status("hv7", started.drainId());
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        long took = seconds(Duration.between(done.startedAt(), done.completedAt()));
        assertThat(done.elapsedSeconds()).isEqualTo(took);
        assertThat(done.etaSeconds()).as("no estimate once it ended").isNull();
        assertThat(took).isGreaterThan(60);

        // The model, before any move ended, within a factor of two; once half the guests moved, within a quarter.
        assertThat(first.etaSeconds()).isBetween(took / 2, took * 2);
        assertThat(samples).hasSizeGreaterThan(7);
        for (Sample s : samples.subList(samples.size() / 2, samples.size())) {
            assertThat((double) s.at() + s.eta()).as("expected end at %s s", s.at()).isBetween(took * 0.75, took * 1.25);
        }
        for (VmStatus v : done.vmStatus()) {
            assertThat(v.status()).isEqualTo(GuestState.COMPLETED);
            assertThat(v.elapsedSeconds()).isEqualTo(seconds(Duration.between(v.startedAt(), v.completedAt())));
        }
    }

    @Test
    void aGuestMovingSaysHowLongItHasMovedAndOneWaitingHasNoTimeYet() {
        Env env = new Env();
        DrainStatus started = env.service.drain(DrainRequest.builder("hv7").mode(DrainMode.HARD).concurrency(io.moxxie.core.model.Concurrency.fixed(1)).build()).status();
        env.scheduler.runFor(Duration.ofSeconds(20));
        DrainStatus mid = env.service.status("hv7", started.drainId());
        VmStatus moving = mid.vmStatus().stream().filter(v -> v.status() == GuestState.IN_PROGRESS).findFirst().orElseThrow();
        assertThat(moving.elapsedSeconds()).isEqualTo(seconds(Duration.between(moving.startedAt(), env.scheduler.now())));
        assertThat(mid.vmStatus()).filteredOn(v -> v.status() == GuestState.PENDING).allSatisfy(v -> assertThat(v.elapsedSeconds()).isNull());
        assertThat(mid.elapsedSeconds()).isEqualTo(seconds(Duration.between(mid.startedAt(), env.scheduler.now())));
        assertThat(mid.etaSeconds()).isPositive();
    }

    /**
     * The last move of a drain, looked at every 0.3 s: the drain has nothing else left, so it is expected to end when
     * that move is, and both say so in whole seconds rounded up (at 0.3 s to go: 1, not 0).
     */
    @Test
    void theLastMovesEstimateIsTheDrainsInWholeSecondsRoundedUp() {
        Env env = new Env();
        DrainStatus started = env.service.drain(DrainRequest.builder("hv7").mode(DrainMode.SOFT)
                .concurrency(io.moxxie.core.model.Concurrency.fixed(1)).build()).status();
        int looked = 0;
        while (true) {
            DrainStatus s = env.service.status("hv7", started.drainId());
            if (s.status() != DrainState.IN_PROGRESS) break;
            List<VmStatus> moving = s.vmStatus().stream().filter(v -> v.status() == GuestState.IN_PROGRESS).toList();
            boolean last = s.vmStatus().stream().noneMatch(v -> v.status() == GuestState.PENDING);
            if (last && moving.size() == 1 && moving.get(0).etaSeconds() != null) {
                looked++;
                assertThat(moving.get(0).etaSeconds()).as("at %s", env.scheduler.now()).isEqualTo(s.etaSeconds());
            }
            env.scheduler.runFor(Duration.ofMillis(300));
        }
        assertThat(looked).as("looks at the last move").isGreaterThan(10);
    }

    /**
     * Right after the start, the first move's migration is being started and the watcher does not follow it yet: the
     * estimate counts it all the same, as a moment later when it is followed (within a second or two of each other).
     */
    @Test
    void theEstimateCountsAMoveWhoseMigrationIsBeingStarted() {
        Env env = new Env();
        String drainId = env.service.drain(DrainRequest.builder("hv7").mode(DrainMode.SOFT)
                .concurrency(Concurrency.fixed(1)).build()).drainId();
        DrainStatus atStart = env.service.status("hv7", drainId);
        VmStatus first = atStart.vmStatus().stream().filter(v -> v.status() == GuestState.IN_PROGRESS).findFirst().orElseThrow();
        assertThat(first.etaSeconds()).as("not followed yet").isNull();
        env.scheduler.runFor(Duration.ofSeconds(1));
        DrainStatus followed = env.service.status("hv7", drainId);
        assertThat(followed.vm(first.vmid()).etaSeconds()).as("followed").isNotNull();
        assertThat((double) followed.etaSeconds() + 1).isCloseTo(atStart.etaSeconds(), within(2.0));
    }

    @Test
    void aCancelledDrainsEstimateCountsOnlyTheMovesInFlight() {
        Env env = new Env();
        DrainStatus started = env.service.drain(DrainRequest.builder("hv7").mode(DrainMode.HARD).concurrency(io.moxxie.core.model.Concurrency.fixed(2)).build()).status();
        env.scheduler.runFor(Duration.ofSeconds(10));
        long before = env.service.status("hv7", started.drainId()).etaSeconds();
        DrainStatus cancelling = env.service.cancel("hv7", started.drainId());
        assertThat(cancelling.status()).isEqualTo(DrainState.IN_PROGRESS);
        assertThat(cancelling.etaSeconds()).isLessThan(before);
        env.runUntilIdle();
        assertThat(env.service.status("hv7", started.drainId()).etaSeconds()).isNull();
    }

    @Test
    void aGuestShutDownAheadOrStartedAfterItsMoveIsNotCountedAsAnotherMove() {
        // One move at a time: the maint-ok guests of a hard drain are shut down while the move before theirs runs (they
        // are in the queue already), and started after their move while the next one runs (their move is over); neither
        // makes the drain longer.
        Env env = new Env();
        DrainStatus started = env.service.drain(DrainRequest.builder("hv7").mode(DrainMode.HARD).concurrency(io.moxxie.core.model.Concurrency.fixed(1)).build()).status();
        Set<Integer> before = Set.of();
        long endBefore = 0;
        int joined = 0;
        for (int t = 0; ; t++) {
            DrainStatus s = env.service.status("hv7", started.drainId());
            if (s.etaSeconds() == null) break;
            Set<Integer> moving = s.vmStatus().stream().filter(v -> v.status() == GuestState.IN_PROGRESS).map(VmStatus::vmid).collect(Collectors.toSet());
            long end = t + s.etaSeconds();
            if (!before.isEmpty() && moving.containsAll(before) && moving.size() > before.size()) {
                // A guest went in progress while those in progress went on: one shut down ahead of its turn, or a move
                // started while the guest before is started after its move.
                joined++;
                assertThat(end - endBefore).as("expected end at %s s, when %s joined %s", t, moving, before).isLessThanOrEqualTo(2);
            }
            before = moving;
            endBefore = end;
            env.scheduler.runFor(Duration.ofSeconds(1));
        }
        assertThat(joined).isPositive();
    }

    @Test
    void aLiveMigrationShowsTheBytesItsHypervisorReportedAndWhenItShouldEnd() {
        // Links a quarter as fast as the executor expects: moves are found not done, and their progress is read.
        Env env = new Env(c -> c.model(new MigrationModel(0.3e9, 0.15e9, Duration.ofSeconds(5))), s -> s);
        DrainStatus started = env.service.drain(DrainRequest.builder("hv7").mode(DrainMode.SOFT).concurrency(io.moxxie.core.model.Concurrency.fixed(1)).build()).status();
        VmStatus moving = null;
        for (int t = 0; t < 600 && moving == null; t++) {
            env.scheduler.runFor(Duration.ofSeconds(1));
            moving = env.service.status("hv7", started.drainId()).vmStatus().stream()
                    .filter(v -> v.status() == GuestState.IN_PROGRESS && v.transferredBytes() != null).findFirst().orElse(null);
        }
        assertThat(moving).as("a live migration with progress").isNotNull();
        DrainStatus mid = env.service.status("hv7", started.drainId());
        Instant at = env.scheduler.now();
        long memory = env.guest(moving.vmid()).memory();
        assertThat(moving.transferredBytes()).isPositive().isLessThan(memory);
        assertThat(moving.remainingBytes()).isPositive().isLessThanOrEqualTo(memory);
        assertThat(mid.vmStatus()).filteredOn(v -> v.status() != GuestState.IN_PROGRESS)
                .allSatisfy(v -> assertThat(List.of(Optional.ofNullable(v.transferredBytes()), Optional.ofNullable(v.remainingBytes()),
                        Optional.ofNullable(v.etaSeconds()))).allMatch(Optional::isEmpty));

        env.runUntilIdle();
        int vmid = moving.vmid();
        Instant ended = env.cluster.migrations().stream().filter(m -> m.vmid() == vmid).findFirst().orElseThrow().finishedAt();
        assertThat((double) moving.etaSeconds()).as("its own estimate, from the reported bytes and rate")
                .isCloseTo(Duration.between(at, ended).toMillis() / 1e3, within(2.0));
    }

    /**
     * Reading the status (an operator's dashboard polling it) runs the watcher's picture forward to show the estimates,
     * but leaves the picture as it was: the drain looks at its moves, and starts them, as it would unread. Three moves at
     * once fill the link (every slot counts: the picture times the looks most closely); six do not.
     */
    @org.junit.jupiter.params.ParameterizedTest(name = "maxConcurrent {0}")
    @org.junit.jupiter.params.provider.ValueSource(ints = {3, 6})
    void readingTheStatusDoesNotChangeHowTheDrainRuns(int maxConcurrent) {
        assertThat(drainedReadingStatusEvery(Duration.ofMillis(700), maxConcurrent))
                .isEqualTo(drainedReadingStatusEvery(null, maxConcurrent));
    }

    /** The soft drain of hv7 with the status read every {@code period} until it ends (null: never): its moves and requests. */
    private static String drainedReadingStatusEvery(Duration period, int maxConcurrent) {
        Env env = new Env();
        String drainId = env.service.drain(DrainRequest.builder("hv7").mode(DrainMode.SOFT)
                .concurrency(io.moxxie.core.model.Concurrency.fixed(maxConcurrent)).build()).drainId();
        while (period != null && env.service.status("hv7", drainId).status() == DrainState.IN_PROGRESS) env.scheduler.runFor(period);
        env.runUntilIdle();
        assertThat(env.service.status("hv7", drainId).status()).isEqualTo(DrainState.COMPLETED);
        return env.cluster.migrations().stream().map(m -> m.vmid() + " " + m.startedAt() + " " + m.finishedAt())
                .collect(Collectors.joining("\n", "", "\n")) + env.cluster.calls();
    }

    private static long seconds(Duration d) {
        long ms = d.toMillis();
        return ms <= 0 ? 0 : (ms + 999) / 1000;
    }
}
