package io.moxxie.core.time;

import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What the executor relies on from a {@link Scheduler}: tasks run once, not before their time, in time order (ties in
 * the order scheduled); a cancelled task never runs; a failing task does not stop the others. {@link VirtualScheduler}
 * keeps this in virtual time, driven by the test; {@link RealTimeScheduler} on a thread pool.
 */
class SchedulerTest {
    private static final Instant T0 = Instant.parse("2025-01-15T10:00:00Z");

    // ------------------------------------------------------------------ VirtualScheduler

    @Test
    void virtualTasksRunInTimeOrderWithTiesInTheOrderTheyWereScheduledAndTheClockJumpsToEach() {
        VirtualScheduler s = new VirtualScheduler(T0);
        List<String> ran = new ArrayList<>();
        s.schedule(Duration.ofSeconds(5), () -> ran.add("5s a at " + s.now()));
        s.schedule(Duration.ofSeconds(1), () -> ran.add("1s at " + s.now()));
        s.schedule(Duration.ofSeconds(5), () -> ran.add("5s b at " + s.now()));
        s.execute(() -> ran.add("now at " + s.now()));
        s.schedule(Duration.ofSeconds(-3), () -> ran.add("negative at " + s.now()));
        s.schedule(null, () -> ran.add("null at " + s.now()));
        assertThat(ran).as("nothing runs until driven").isEmpty();
        assertThat(s.pending()).isEqualTo(6);

        assertThat(s.runUntilIdle()).isEqualTo(6);
        assertThat(ran).containsExactly("now at " + T0, "negative at " + T0, "null at " + T0, "1s at " + T0.plusSeconds(1),
                "5s a at " + T0.plusSeconds(5), "5s b at " + T0.plusSeconds(5));
        assertThat(s.now()).isEqualTo(T0.plusSeconds(5));
        assertThat(s.pending()).isZero();
    }

    @Test
    void aTaskScheduledFromATaskRunsRelativeToTheVirtualNowThen() {
        VirtualScheduler s = new VirtualScheduler(T0);
        List<Instant> at = new ArrayList<>();
        s.schedule(Duration.ofSeconds(10), () -> s.schedule(Duration.ofSeconds(3), () -> at.add(s.now())));
        s.runUntilIdle();
        assertThat(at).containsExactly(T0.plusSeconds(13));
    }

    @Test
    void aCancelledVirtualTaskNeverRunsAndCancellingTwiceIsHarmless() {
        VirtualScheduler s = new VirtualScheduler(T0);
        AtomicInteger runs = new AtomicInteger();
        Scheduler.Cancellable c = s.schedule(Duration.ofSeconds(1), runs::incrementAndGet);
        s.schedule(Duration.ofSeconds(2), runs::incrementAndGet);
        c.cancel();
        c.cancel();
        assertThat(s.runUntilIdle()).as("tasks run").isEqualTo(1);
        assertThat(runs).hasValue(1);
    }

    @Test
    void runForRunsWhatIsDueWithinItAndLeavesTheClockAtItsEnd() {
        VirtualScheduler s = new VirtualScheduler(T0);
        List<Integer> ran = new ArrayList<>();
        s.schedule(Duration.ofSeconds(10), () -> ran.add(10));
        s.schedule(Duration.ofSeconds(20), () -> ran.add(20));
        s.schedule(Duration.ofSeconds(21), () -> ran.add(21));
        assertThat(s.runFor(Duration.ofSeconds(20))).isEqualTo(2);
        assertThat(ran).containsExactly(10, 20);
        assertThat(s.now()).isEqualTo(T0.plusSeconds(20));
        assertThat(s.runFor(Duration.ofMillis(500))).isZero();
        assertThat(s.now()).as("the clock moves on with nothing to run").isEqualTo(T0.plusSeconds(20).plusMillis(500));
        s.runFor(Duration.ofSeconds(1));
        assertThat(ran).containsExactly(10, 20, 21);
        assertThat(s.now()).isEqualTo(T0.plusSeconds(21).plusMillis(500));
    }

    @Test
    void runUntilStopsAsSoonAsTheConditionHoldsOrAtItsLimit() {
        VirtualScheduler s = new VirtualScheduler(T0);
        AtomicInteger n = new AtomicInteger();
        for (int i = 1; i <= 10; i++) s.schedule(Duration.ofSeconds(i), n::incrementAndGet);
        assertThat(s.runUntil(() -> n.get() == 3, Duration.ofMinutes(1))).isTrue();
        assertThat(n).hasValue(3);
        assertThat(s.now()).isEqualTo(T0.plusSeconds(3));
        assertThat(s.runUntil(() -> n.get() == 3, Duration.ofMinutes(1))).as("already true: runs nothing").isTrue();
        assertThat(n).hasValue(3);

        assertThat(s.runUntil(() -> n.get() == 100, Duration.ofSeconds(4))).isFalse();
        assertThat(n).as("tasks within the limit ran").hasValue(7);
        assertThat(s.runUntil(() -> n.get() == 100, Duration.ofHours(1))).as("no task left").isFalse();
        assertThat(n).hasValue(10);
    }

    @Test
    void aFailingVirtualTaskIsLoggedAndTheOthersStillRun() {
        VirtualScheduler s = new VirtualScheduler(T0);
        List<String> ran = new ArrayList<>();
        s.execute(() -> {
            throw new IllegalStateException("boom");
        });
        s.execute(() -> ran.add("after"));
        assertThat(s.runUntilIdle()).isEqualTo(2);
        assertThat(ran).containsExactly("after");
    }

    @Test
    void theVirtualClockFollowsTheScheduler() {
        VirtualScheduler s = new VirtualScheduler(T0);
        Clock clock = s.clock();
        assertThat(clock.getZone()).isEqualTo(ZoneOffset.UTC);
        s.runFor(Duration.ofMinutes(2));
        assertThat(clock.instant()).isEqualTo(T0.plusSeconds(120));
        assertThat(new VirtualScheduler().now()).isEqualTo(T0);
        assertThatThrownBy(() -> new VirtualScheduler(null)).hasMessageContaining("start");
        assertThatThrownBy(() -> s.schedule(Duration.ZERO, null)).hasMessageContaining("task");
    }

    // ------------------------------------------------------------------ RealTimeScheduler

    @Test
    void realTimeTasksRunOnceOnNamedDaemonWorkersNotBeforeTheirTime() throws Exception {
        try (RealTimeScheduler s = RealTimeScheduler.create(2, 1.0)) {
            assertThat(s.speed()).isEqualTo(1.0);
            CountDownLatch done = new CountDownLatch(2);
            AtomicReference<Thread> worker = new AtomicReference<>();
            List<Instant> ranAt = Collections.synchronizedList(new ArrayList<>());
            Instant scheduledAt = s.now();
            s.schedule(Duration.ofMillis(50), () -> {
                worker.set(Thread.currentThread());
                ranAt.add(s.now());
                done.countDown();
            });
            s.execute(done::countDown);
            assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();
            assertThat(ranAt).singleElement().satisfies(at -> assertThat(at).isAfterOrEqualTo(scheduledAt.plusMillis(50)));
            assertThat(worker.get().getName()).startsWith("moxxie-worker-");
            assertThat(worker.get().isDaemon()).isTrue();
        }
    }

    @Test
    void aSpedUpSchedulerRunsItsTimeFasterThanTheWallClock() throws Exception {
        try (RealTimeScheduler s = RealTimeScheduler.create(1, 1000)) {
            assertThat(s.speed()).isEqualTo(1000);
            long wallStart = System.nanoTime();
            Instant start = s.now();
            CountDownLatch done = new CountDownLatch(1);
            AtomicReference<Instant> ranAt = new AtomicReference<>();
            // 60 s of scheduler time is 60 ms of real time.
            s.schedule(Duration.ofSeconds(60), () -> {
                ranAt.set(s.now());
                done.countDown();
            });
            assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();
            Instant end = s.now();
            long wallNanos = System.nanoTime() - wallStart;
            assertThat(ranAt.get()).as("not before its time").isAfterOrEqualTo(start.plusSeconds(60).minusMillis(1));
            double ratio = Duration.between(start, end).toNanos() / (double) wallNanos;
            assertThat(ratio).as("scheduler time per wall time").isBetween(500.0, 1001.0);
        }
    }

    @Test
    void aCancelledRealTimeTaskNeverRunsAndAFailingOneDoesNotStopTheWorkers() throws Exception {
        try (RealTimeScheduler s = RealTimeScheduler.create(1, 1.0)) {
            AtomicInteger cancelledRuns = new AtomicInteger();
            Scheduler.Cancellable c = s.schedule(Duration.ofMillis(200), cancelledRuns::incrementAndGet);
            c.cancel();
            s.execute(() -> {
                throw new IllegalStateException("boom");
            });
            CountDownLatch after = new CountDownLatch(1);
            // Runs after the cancelled task's time: had it not been cancelled, it would have run first on the one worker.
            s.schedule(Duration.ofMillis(400), after::countDown);
            assertThat(after.await(30, TimeUnit.SECONDS)).isTrue();
            assertThat(cancelledRuns).hasValue(0);
        }
    }

    @Test
    void closeStopsTheSchedulersOwnPoolButNotOneItWasGiven() throws Exception {
        ScheduledExecutorService given = Executors.newSingleThreadScheduledExecutor();
        try {
            RealTimeScheduler on = RealTimeScheduler.on(given, Clock.fixed(T0, ZoneOffset.UTC));
            assertThat(on.now()).isEqualTo(T0);
            assertThat(on.speed()).isEqualTo(1.0);
            on.close();
            assertThat(given.isShutdown()).isFalse();
            CountDownLatch ran = new CountDownLatch(1);
            on.execute(ran::countDown);
            assertThat(ran.await(30, TimeUnit.SECONDS)).isTrue();
        } finally {
            given.shutdownNow();
        }

        RealTimeScheduler own = RealTimeScheduler.create();
        CountDownLatch started = new CountDownLatch(1);
        own.execute(started::countDown);
        assertThat(started.await(30, TimeUnit.SECONDS)).isTrue();
        own.close();
        AtomicInteger late = new AtomicInteger();
        assertThatThrownBy(() -> own.execute(late::incrementAndGet))
                .isInstanceOf(java.util.concurrent.RejectedExecutionException.class);
    }

    @Test
    void badArgumentsAreRefusedNamingTheField() {
        assertThatThrownBy(() -> RealTimeScheduler.create(0, 1.0)).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("threads");
        assertThatThrownBy(() -> RealTimeScheduler.create(1, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("speed must be > 0, was 0.0");
        assertThatThrownBy(() -> RealTimeScheduler.create(1, Double.NaN)).hasMessageContaining("speed");
        assertThatThrownBy(() -> RealTimeScheduler.on(null, Clock.systemUTC())).hasMessageContaining("executor");
        ScheduledExecutorService pool = Executors.newSingleThreadScheduledExecutor();
        try {
            assertThatThrownBy(() -> RealTimeScheduler.on(pool, null)).hasMessageContaining("clock");
        } finally {
            pool.shutdownNow();
        }
        try (RealTimeScheduler s = RealTimeScheduler.create(1, 1.0)) {
            assertThatThrownBy(() -> s.schedule(Duration.ZERO, null)).hasMessageContaining("task");
        }
    }
}
