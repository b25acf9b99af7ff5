package io.moxxie.core.execution.internal;

import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeExecutor;
import dev.failsafe.RetryPolicy;
import dev.failsafe.spi.DefaultScheduledFuture;
import io.moxxie.core.spi.TransientHypervisorException;
import io.moxxie.core.time.Scheduler;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ScheduledFuture;
import java.util.function.Supplier;

/**
 * Asynchronous building blocks on a Moxxie {@link Scheduler}: hypervisor calls retried with backoff by
 * Failsafe (its delays go through the same scheduler, so they pass in virtual time too), and plain delays.
 * Not part of the public API.
 *
 * <p>Threading: immutable and thread-safe; callbacks of the futures it returns run on the scheduler's threads.
 */
public final class Async {
    private final Scheduler scheduler;
    private final FailsafeExecutor<Object> retrying;

    public Async(Scheduler scheduler, int maxRetries, Duration initialDelay, Duration maxDelay) {
        this.scheduler = scheduler;
        RetryPolicy<Object> retry = RetryPolicy.builder()
                .handle(TransientHypervisorException.class)
                .withBackoff(initialDelay, maxDelay.compareTo(initialDelay) > 0 ? maxDelay : initialDelay.plusMillis(1))
                .withMaxRetries(maxRetries)
                .build();
        this.retrying = Failsafe.with(retry).with(failsafeScheduler(scheduler));
    }

    public Scheduler scheduler() {
        return scheduler;
    }

    /** Runs a blocking hypervisor call on the scheduler, retrying transient failures with backoff. */
    public <T> CompletableFuture<T> call(Supplier<T> call) {
        return retrying.getAsync(call::get);
    }

    /** Completes after {@code delay} of scheduler time. */
    public CompletableFuture<Void> delay(Duration delay) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        scheduler.schedule(delay, () -> f.complete(null));
        return f;
    }

    /** The cause a future failed with, without the {@link CompletionException} wrappers. */
    public static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof java.util.concurrent.ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    private static dev.failsafe.spi.Scheduler failsafeScheduler(Scheduler scheduler) {
        return (callable, delay, unit) -> {
            Duration d = Duration.ofNanos(unit.toNanos(delay));
            CancellableFuture f = new CancellableFuture();
            f.handle = scheduler.schedule(d, () -> {
                if (f.cancelled) return;
                try {
                    callable.call();
                } catch (Exception e) {
                    throw new CompletionException(e);
                } finally {
                    f.done = true;
                }
            });
            return f;
        };
    }

    private static final class CancellableFuture extends DefaultScheduledFuture<Object> implements ScheduledFuture<Object> {
        volatile Scheduler.Cancellable handle;
        volatile boolean cancelled;
        volatile boolean done;

        @Override
        public boolean cancel(boolean mayInterruptIfRunning) {
            if (done) return false;
            cancelled = true;
            Scheduler.Cancellable h = handle;
            if (h != null) h.cancel();
            return true;
        }

        @Override
        public boolean isCancelled() {
            return cancelled;
        }

        @Override
        public boolean isDone() {
            return done || cancelled;
        }
    }
}
