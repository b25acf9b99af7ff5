package io.moxxie.core.time;

import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Delayed;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

/**
 * What a {@link RealTimeScheduler} hands the executor it runs on, seen from an executor that records instead of waiting:
 * each task's delay to the nanosecond (none for a missing or negative one), a cancel that does not interrupt a task
 * already running, and a task that throws never reaching the executor — a {@code ScheduledExecutorService} silently
 * stops a repeating task whose run throws, and the service's heartbeat is one.
 */
class RealTimeSchedulerHandOverTest {
    private static final Instant T0 = Instant.parse("2025-01-15T10:00:00Z");

    /** One call to the executor: the task as handed over, its delays, and how its future was cancelled. */
    private static final class Handed implements ScheduledFuture<Object> {
        final Runnable task;
        final long delayNanos;
        final long everyNanos;
        final List<Boolean> cancels = new ArrayList<>();

        Handed(Runnable task, long delayNanos, long everyNanos) {
            this.task = task;
            this.delayNanos = delayNanos;
            this.everyNanos = everyNanos;
        }

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            cancels.add(mayInterruptIfRunning);
            return true;
        }

        @Override
        public long getDelay(TimeUnit unit) {
            return unit.convert(delayNanos, TimeUnit.NANOSECONDS);
        }

        @Override
        public int compareTo(Delayed o) {
            return Long.compare(delayNanos, o.getDelay(TimeUnit.NANOSECONDS));
        }

        @Override
        public boolean isCancelled() {
            return !cancels.isEmpty();
        }

        @Override
        public boolean isDone() {
            return false;
        }

        @Override
        public Object get() {
            return null;
        }

        @Override
        public Object get(long timeout, TimeUnit unit) {
            return null;
        }
    }

    /** Records what it is given; runs nothing by itself. */
    private static final class Recorder extends ScheduledThreadPoolExecutor {
        final List<Handed> handed = new ArrayList<>();

        Recorder() {
            super(1);
        }

        @Override
        public ScheduledFuture<?> schedule(Runnable command, long delay, TimeUnit unit) {
            Handed h = new Handed(command, unit.toNanos(delay), -1);
            handed.add(h);
            return h;
        }

        @Override
        public ScheduledFuture<?> scheduleWithFixedDelay(Runnable command, long initialDelay, long delay, TimeUnit unit) {
            Handed h = new Handed(command, unit.toNanos(initialDelay), unit.toNanos(delay));
            handed.add(h);
            return h;
        }
    }

    private final Recorder executor = new Recorder();
    private final RealTimeScheduler scheduler = RealTimeScheduler.on(executor, Clock.fixed(T0, ZoneOffset.UTC));

    @Test
    void eachTaskIsHandedOverWithItsDelayAndNoneWhenItHasNone() {
        scheduler.schedule(Duration.ofMillis(1500), () -> { });
        scheduler.schedule(Duration.ofNanos(1), () -> { });
        scheduler.schedule(Duration.ofSeconds(-3), () -> { });
        scheduler.schedule(null, () -> { });
        scheduler.execute(() -> { });
        assertThat(executor.handed).extracting(h -> h.delayNanos).containsExactly(1_500_000_000L, 1L, 0L, 0L, 0L);
        assertThat(scheduler.now()).isEqualTo(T0);
    }

    @Test
    void aRepeatingTaskIsHandedOverWithItsFirstDelayAndItsInterval() {
        scheduler.scheduleWithFixedDelay(Duration.ofSeconds(2), Duration.ofSeconds(20), () -> { });
        scheduler.scheduleWithFixedDelay(Duration.ofSeconds(-1), Duration.ofNanos(1), () -> { });
        scheduler.scheduleWithFixedDelay(null, Duration.ofMinutes(1), () -> { });
        assertThat(executor.handed).extracting(h -> h.delayNanos).containsExactly(2_000_000_000L, 0L, 0L);
        assertThat(executor.handed).extracting(h -> h.everyNanos).containsExactly(20_000_000_000L, 1L, 60_000_000_000L);
    }

    @Test
    void aCancelLetsATaskAlreadyRunningFinish() {
        Scheduler.Cancellable once = scheduler.schedule(Duration.ofSeconds(1), () -> { });
        Scheduler.Cancellable repeating = scheduler.scheduleWithFixedDelay(Duration.ZERO, Duration.ofSeconds(1), () -> { });
        once.cancel();
        repeating.cancel();
        assertThat(executor.handed).allSatisfy(h -> assertThat(h.cancels).containsExactly(false));
    }

    @Test
    void aTaskThatThrowsNeverReachesTheExecutorSoARepeatingOneRunsAgain() {
        AtomicInteger runs = new AtomicInteger();
        Runnable failing = () -> {
            runs.incrementAndGet();
            throw new IllegalStateException("the store is down");
        };
        scheduler.schedule(Duration.ZERO, failing);
        scheduler.scheduleWithFixedDelay(Duration.ZERO, Duration.ofSeconds(1), failing);
        scheduler.scheduleWithFixedDelay(Duration.ZERO, Duration.ofSeconds(1), () -> {
            runs.incrementAndGet();
            throw new AssertionError("an Error too");
        });
        for (Handed h : executor.handed) assertThatCode(h.task::run).doesNotThrowAnyException();
        assertThat(runs).hasValue(3);
    }
}
