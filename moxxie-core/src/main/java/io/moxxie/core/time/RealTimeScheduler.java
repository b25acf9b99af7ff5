package io.moxxie.core.time;

import io.moxxie.core.Checks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A {@link Scheduler} on a thread pool in wall-clock time, optionally sped up: with {@code speed} 20 a
 * second of real time is 20 seconds of scheduler time (the demo server runs its simulated cluster so).
 *
 * <p>Tasks run on the pool's threads (named {@code moxxie-worker-N}, daemon) and may block; size the pool
 * for the hypervisor calls that run at once (about the drains' total {@code maxConcurrent} plus a few).
 * {@link #close()} stops it, waiting a bounded time for running tasks.
 */
public final class RealTimeScheduler implements Scheduler, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RealTimeScheduler.class);
    public static final int DEFAULT_THREADS = 8;

    private final ScheduledExecutorService executor;
    private final boolean ownsExecutor;
    private final Clock clock;
    private final double speed;
    private final Instant origin;
    private final long originNanos;

    private RealTimeScheduler(ScheduledExecutorService executor, boolean owns, Clock clock, double speed) {
        this.executor = executor;
        this.ownsExecutor = owns;
        this.clock = clock;
        this.speed = Checks.positive("speed", speed);
        this.origin = clock.instant();
        this.originNanos = System.nanoTime();
    }

    /** The system clock, {@value #DEFAULT_THREADS} threads. */
    public static RealTimeScheduler create() {
        return create(DEFAULT_THREADS, 1.0);
    }

    /** The system clock, {@code threads} worker threads, time running {@code speed} times faster than real time. */
    public static RealTimeScheduler create(int threads, double speed) {
        Checks.positive("threads", threads);
        AtomicInteger n = new AtomicInteger();
        ScheduledThreadPoolExecutor pool = new ScheduledThreadPoolExecutor(threads, r -> {
            Thread t = new Thread(r, "moxxie-worker-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        pool.setRemoveOnCancelPolicy(true);
        return new RealTimeScheduler(pool, true, Clock.systemUTC(), speed);
    }

    /** On an executor the caller owns (and shuts down). */
    public static RealTimeScheduler on(ScheduledExecutorService executor, Clock clock) {
        return new RealTimeScheduler(Checks.notNull("executor", executor), false, Checks.notNull("clock", clock), 1.0);
    }

    public double speed() {
        return speed;
    }

    @Override
    public Instant now() {
        if (speed == 1.0) return clock.instant();
        long elapsed = System.nanoTime() - originNanos;
        return origin.plusNanos((long) (elapsed * speed));
    }

    @Override
    public Cancellable schedule(Duration delay, Runnable task) {
        Checks.notNull("task", task);
        long nanos = delay == null || delay.isNegative() ? 0 : (long) (delay.toNanos() / speed);
        Runnable guarded = () -> {
            try {
                task.run();
            } catch (RuntimeException | Error e) {
                log.error("Scheduled task failed", e);
            }
        };
        ScheduledFuture<?> f = executor.schedule(guarded, nanos, TimeUnit.NANOSECONDS);
        return () -> f.cancel(false);
    }

    /** On the pool's own fixed-delay scheduling; a run that throws is logged and the next one still comes. */
    @Override
    public Cancellable scheduleWithFixedDelay(Duration initialDelay, Duration delay, Runnable task) {
        Checks.positive("delay", delay);
        Checks.notNull("task", task);
        long first = initialDelay == null || initialDelay.isNegative() ? 0 : (long) (initialDelay.toNanos() / speed);
        long every = Math.max(1, (long) (delay.toNanos() / speed));
        Runnable guarded = () -> {
            try {
                task.run();
            } catch (RuntimeException | Error e) {
                log.error("Repeating task failed; it runs again in {}", delay, e);
            }
        };
        ScheduledFuture<?> f = executor.scheduleWithFixedDelay(guarded, first, every, TimeUnit.NANOSECONDS);
        return () -> f.cancel(false);
    }

    /** Stops the pool if this scheduler created it, waiting up to 10 s for running tasks. */
    @Override
    public void close() {
        if (!ownsExecutor) return;
        executor.shutdownNow();
        try {
            if (!executor.awaitTermination(10, TimeUnit.SECONDS)) log.warn("Worker threads still running after 10 s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
