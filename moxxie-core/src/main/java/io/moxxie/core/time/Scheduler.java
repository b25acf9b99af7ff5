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
        /** Prevents the task from running if it has not started; idempotent. */
        void cancel();
    }
}
