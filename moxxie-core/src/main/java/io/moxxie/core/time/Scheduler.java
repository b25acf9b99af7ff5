package io.moxxie.core.time;

import java.time.Duration;
import java.time.Instant;

/**
 * Where Moxxie's time comes from and where its background work runs. Everything time-based in core
 * (task polling, backoff, timeouts, heartbeats, the simulator's migrations) goes through one Scheduler,
 * which is what lets a whole drain run in virtual time in a test ({@link VirtualScheduler}) and in real
 * time in production ({@link RealTimeScheduler}).
 *
 * <p>Implementations are thread-safe. Tasks may block (hypervisor calls do); a scheduler that runs them
 * on few threads must say so.
 */
public interface Scheduler {

    /** The current instant in this scheduler's time. */
    Instant now();

    /** Runs {@code task} once after {@code delay} (zero or negative: as soon as possible). */
    Cancellable schedule(Duration delay, Runnable task);

    /** Runs {@code task} as soon as possible. */
    default Cancellable execute(Runnable task) {
        return schedule(Duration.ZERO, task);
    }

    /**
     * Runs {@code task} after {@code initialDelay}, then again {@code delay} after each run ends, until cancelled: background
     * housekeeping such as heartbeats. A {@link VirtualScheduler} does not count it as work left ({@link
     * VirtualScheduler#runUntilIdle()} returns once only such tasks remain), as a JVM does not wait for daemon threads.
     * A run that throws is logged and the next one still comes. The default reschedules through {@link #schedule}.
     *
     * @throws IllegalArgumentException {@code delay} is not positive
     */
    default Cancellable scheduleWithFixedDelay(Duration initialDelay, Duration delay, Runnable task) {
        io.moxxie.core.Checks.positive("delay", delay);
        io.moxxie.core.Checks.notNull("task", task);
        return new RepeatingTask(this::schedule, delay, task).first(initialDelay);
    }

    /**
     * Blocks the calling thread until {@code delay} has passed in this scheduler's time: how a caller that must answer
     * synchronously waits before trying again. A {@link VirtualScheduler} runs the tasks due meanwhile on the calling
     * thread (the caller is its driver); call it from the thread that drives the scheduler, not from one of its tasks.
     *
     * @throws java.util.concurrent.CancellationException the thread was interrupted while waiting (its flag is set again)
     */
    default void await(Duration delay) {
        java.util.concurrent.CompletableFuture<Void> done = new java.util.concurrent.CompletableFuture<>();
        schedule(delay, () -> done.complete(null));
        try {
            done.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.util.concurrent.CancellationException("interrupted while waiting " + delay);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException(e.getCause());
        }
    }

    /**
     * This scheduler's time as a {@link java.time.Clock} (UTC), for code that takes a clock (e.g. a hypervisor client).
     * {@code withZone} gives a clock that still follows this scheduler.
     */
    default java.time.Clock clock() {
        return clock(this, java.time.ZoneOffset.UTC);
    }

    private static java.time.Clock clock(Scheduler scheduler, java.time.ZoneId zone) {
        return new java.time.Clock() {
            @Override
            public java.time.ZoneId getZone() {
                return zone;
            }

            @Override
            public java.time.Clock withZone(java.time.ZoneId other) {
                return clock(scheduler, other);
            }

            @Override
            public Instant instant() {
                return scheduler.now();
            }
        };
    }

    /** A scheduled task that can be called off. */
    interface Cancellable {
        /** Prevents the task from running if it has not started (a repeating task: any further run); idempotent. */
        void cancel();
    }
}
