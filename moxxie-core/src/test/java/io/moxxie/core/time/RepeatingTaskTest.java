package io.moxxie.core.time;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Repeating background tasks (heartbeats) and waiting in a scheduler's time. */
class RepeatingTaskTest {
    @Test
    void aRepeatingTaskRunsAtItsDelayUntilCancelledAndAFailingRunDoesNotStopIt() {
        VirtualScheduler scheduler = new VirtualScheduler();
        Instant t0 = scheduler.now();
        List<Duration> runs = new ArrayList<>();
        Scheduler.Cancellable every10s = scheduler.scheduleWithFixedDelay(Duration.ofSeconds(5), Duration.ofSeconds(10), () -> {
            runs.add(Duration.between(t0, scheduler.now()));
            if (runs.size() == 2) throw new IllegalStateException("one bad run");
        });
        scheduler.runFor(Duration.ofSeconds(36));
        assertThat(runs).containsExactly(Duration.ofSeconds(5), Duration.ofSeconds(15), Duration.ofSeconds(25), Duration.ofSeconds(35));
        every10s.cancel();
        scheduler.runFor(Duration.ofMinutes(5));
        assertThat(runs).hasSize(4);
    }

    @Test
    void theDefaultRepeatsThroughScheduleForAnySchedulerUntilCancelled() {
        VirtualScheduler virtual = new VirtualScheduler();
        Scheduler plain = new Scheduler() {
            @Override
            public Instant now() {
                return virtual.now();
            }

            @Override
            public Cancellable schedule(Duration delay, Runnable task) {
                return virtual.schedule(delay, task);
            }
        };
        Instant t0 = virtual.now();
        List<Duration> runs = new ArrayList<>();
        Scheduler.Cancellable c = plain.scheduleWithFixedDelay(Duration.ZERO, Duration.ofMinutes(1), () -> {
            runs.add(Duration.between(t0, virtual.now()));
            if (runs.size() == 1) throw new IllegalStateException("one bad run");
        });
        virtual.runFor(Duration.ofSeconds(150));
        c.cancel();
        virtual.runUntilIdle();
        assertThat(runs).containsExactly(Duration.ZERO, Duration.ofMinutes(1), Duration.ofMinutes(2));
    }

    @Test
    void runUntilIdleDoesNotWaitForRepeatingTasksButRunsThemWhenTheirTimeComes() {
        VirtualScheduler scheduler = new VirtualScheduler();
        Instant t0 = scheduler.now();
        AtomicInteger beats = new AtomicInteger();
        scheduler.scheduleWithFixedDelay(Duration.ofSeconds(10), Duration.ofSeconds(10), beats::incrementAndGet);
        scheduler.schedule(Duration.ofSeconds(45), () -> { });

        scheduler.runUntilIdle();

        assertThat(scheduler.now()).isEqualTo(t0.plusSeconds(45));
        assertThat(beats.get()).as("beats at 10, 20, 30, 40 s").isEqualTo(4);
        assertThat(scheduler.runUntilIdle()).as("only background work left").isZero();
    }

    @Test
    void awaitOnAVirtualSchedulerRunsWhatIsDueAndMovesTheClock() {
        VirtualScheduler scheduler = new VirtualScheduler();
        Instant t0 = scheduler.now();
        AtomicInteger ran = new AtomicInteger();
        scheduler.schedule(Duration.ofSeconds(3), ran::incrementAndGet);
        scheduler.schedule(Duration.ofSeconds(30), ran::incrementAndGet);

        scheduler.await(Duration.ofSeconds(10));

        assertThat(scheduler.now()).isEqualTo(t0.plusSeconds(10));
        assertThat(ran.get()).isEqualTo(1);
    }

    @Test
    void aRealTimeSchedulerRepeatsOnItsPoolAndAwaitsInItsOwnTime() throws Exception {
        try (RealTimeScheduler scheduler = RealTimeScheduler.create(2, 1000)) {
            CountDownLatch three = new CountDownLatch(3);
            Scheduler.Cancellable c = scheduler.scheduleWithFixedDelay(Duration.ZERO, Duration.ofSeconds(1), three::countDown);
            assertThat(three.await(10, TimeUnit.SECONDS)).isTrue();
            c.cancel();

            Instant before = scheduler.now();
            scheduler.await(Duration.ofSeconds(5)); // 5 ms of real time at 1000x
            assertThat(scheduler.now()).isAfterOrEqualTo(before.plusSeconds(5));
        }
    }

    @Test
    void aRepeatingTaskNeedsAPositiveDelay() {
        VirtualScheduler scheduler = new VirtualScheduler();
        assertThatThrownBy(() -> scheduler.scheduleWithFixedDelay(Duration.ZERO, Duration.ZERO, () -> { }))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("delay must be > 0, was PT0S");
    }
}
