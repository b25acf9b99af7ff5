package io.moxxie.core.time;

import java.time.Duration;

/** {@link Scheduler#scheduleWithFixedDelay}'s default: each run schedules the next when it ends. Thread-safe. */
final class RepeatingTask implements Scheduler.Cancellable {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(RepeatingTask.class);
    private final java.util.function.BiFunction<Duration, Runnable, Scheduler.Cancellable> scheduler;
    private final Duration delay;
    private final Runnable task;
    private Scheduler.Cancellable next;
    private boolean cancelled;

    /** {@code scheduler}: schedules one run ({@link Scheduler#schedule}, or a scheduler's own background variant). */
    RepeatingTask(java.util.function.BiFunction<Duration, Runnable, Scheduler.Cancellable> scheduler, Duration delay, Runnable task) {
        this.scheduler = scheduler;
        this.delay = delay;
        this.task = task;
    }

    synchronized RepeatingTask first(Duration initialDelay) {
        next = scheduler.apply(initialDelay, this::runOnce);
        return this;
    }

    private void runOnce() {
        synchronized (this) {
            if (cancelled) return;
        }
        try {
            task.run();
        } catch (RuntimeException e) {
            log.error("Repeating task failed; it runs again in {}", delay, e);
        }
        synchronized (this) {
            if (!cancelled) next = scheduler.apply(delay, this::runOnce);
        }
    }

    @Override
    public synchronized void cancel() {
        cancelled = true;
        if (next != null) next.cancel();
    }
}
