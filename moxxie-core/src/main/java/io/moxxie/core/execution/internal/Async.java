package io.moxxie.core.execution.internal;

import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeExecutor;
import dev.failsafe.RetryPolicy;
import dev.failsafe.spi.DefaultScheduledFuture;
import io.moxxie.core.spi.HypervisorUnavailableException;
import io.moxxie.core.spi.TransientHypervisorException;
import io.moxxie.core.time.Scheduler;

import java.time.Duration;
import java.time.Instant;
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
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Async.class);
    private final Scheduler scheduler;
    private final FailsafeExecutor<Object> retrying;
    private final Duration waitForHypervisor;
    private final Duration outagePoll;

    /**
     * @param waitForHypervisor how long a call waits, trying again every {@code maxDelay}, while the hypervisor is known to
     *                          be unreachable ({@link HypervisorUnavailableException}: not counted against
     *                          {@code maxRetries})
     */
    public Async(Scheduler scheduler, int maxRetries, Duration initialDelay, Duration maxDelay, Duration waitForHypervisor) {
        this.scheduler = scheduler;
        Duration max = maxDelay.compareTo(initialDelay) > 0 ? maxDelay : initialDelay.plusMillis(1);
        RetryPolicy<Object> retry = RetryPolicy.builder()
                .handleIf(e -> e instanceof TransientHypervisorException && !(e instanceof HypervisorUnavailableException))
                .withBackoff(initialDelay, max)
                .withMaxRetries(maxRetries)
                .onRetry(e -> log.debug("Hypervisor call failed transiently ({}); retry {} of {}", e.getLastException() == null ? null
                        : e.getLastException().getMessage(), e.getAttemptCount(), maxRetries))
                .build();
        this.retrying = Failsafe.with(retry).with(failsafeScheduler(scheduler));
        this.waitForHypervisor = waitForHypervisor;
        this.outagePoll = max;
    }

    public Scheduler scheduler() {
        return scheduler;
    }

    /**
     * Runs a blocking hypervisor call on the scheduler, retrying transient failures with backoff, and waiting while the
     * hypervisor is unreachable (up to {@code waitForHypervisor}).
     */
    public <T> CompletableFuture<T> call(Supplier<T> call) {
        CompletableFuture<T> out = new CompletableFuture<>();
        callThroughOutage(call, scheduler.now().plus(waitForHypervisor), out);
        return out;
    }

    /**
     * Scheduler time, not Failsafe's wall clock, bounds the wait: a drain in virtual time waits out an outage in virtual
     * time. Every try completes the one {@code out}: a chain of futures, one per try, overflowed the stack when the
     * last completed after some 900 tries (a 7-hour outage at the default 30 s).
     */
    private <T> void callThroughOutage(Supplier<T> call, Instant until, CompletableFuture<T> out) {
        retrying.<T>getAsync(call::get).whenComplete((value, error) -> {
            Throwable cause = error == null ? null : unwrap(error);
            if (cause instanceof HypervisorUnavailableException && scheduler.now().isBefore(until)) {
                scheduler.schedule(outagePoll, () -> callThroughOutage(call, until, out));
            } else if (cause != null) {
                out.completeExceptionally(cause);
            } else {
                out.complete(value);
            }
        });
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
