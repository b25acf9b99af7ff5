package io.moxxie.examples.demo;

import io.moxxie.core.time.RealTimeScheduler;
import io.moxxie.core.time.Scheduler;

import java.time.Duration;
import java.time.Instant;

/**
 * The demo's clock: real time sped up {@code speed} times, which never goes back across restarts. A sped-up
 * clock runs ahead of the wall clock; a server restarted on the same data directory carries on from the
 * simulated time it had saved, so that drains it recovers keep consistent timestamps.
 *
 * <p>Thread-safe; owns its {@link RealTimeScheduler} and closes it.
 */
public final class ScaledScheduler implements Scheduler, AutoCloseable {
    private final RealTimeScheduler delegate;
    private final Duration offset;

    private ScaledScheduler(RealTimeScheduler delegate, Duration offset) {
        this.delegate = delegate;
        this.offset = offset;
    }

    /** {@code threads} workers; time starts at the later of now and {@code resumeFrom} (may be {@code null}). */
    public static ScaledScheduler create(int threads, double speed, Instant resumeFrom) {
        RealTimeScheduler rts = RealTimeScheduler.create(threads, speed);
        Instant start = rts.now();
        Duration offset = resumeFrom != null && resumeFrom.isAfter(start) ? Duration.between(start, resumeFrom) : Duration.ZERO;
        return new ScaledScheduler(rts, offset);
    }

    public double speed() {
        return delegate.speed();
    }

    @Override
    public Instant now() {
        return delegate.now().plus(offset);
    }

    @Override
    public Cancellable schedule(Duration delay, Runnable task) {
        return delegate.schedule(delay, task);
    }

    @Override
    public void close() {
        delegate.close();
    }
}
