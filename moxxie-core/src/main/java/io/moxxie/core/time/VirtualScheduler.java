package io.moxxie.core.time;

import io.moxxie.core.Checks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.PriorityQueue;
import java.util.function.BooleanSupplier;

/**
 * A {@link Scheduler} in virtual time, driven by the caller: nothing runs until {@link #runUntilIdle()},
 * {@link #runFor(Duration)} or {@link #runUntil(BooleanSupplier, Duration)} is called, and then tasks run on
 * the calling thread, in time order (ties in the order they were scheduled), with the clock jumping from
 * one task to the next. A drain that takes hours of virtual time runs in milliseconds, and the same inputs
 * always give the same sequence of events. Repeating tasks ({@link #scheduleWithFixedDelay}: heartbeats) run when
 * their time comes but are background work: {@link #runUntilIdle()} does not wait for them.
 *
 * <p>Thread-safe for scheduling; drive it from one thread at a time.
 */
public final class VirtualScheduler implements Scheduler {
    private static final Logger log = LoggerFactory.getLogger(VirtualScheduler.class);

    private final PriorityQueue<Entry> queue = new PriorityQueue<>();
    private Instant now;
    private long sequence;
    /** Entries in the queue that are not background work, cancelled ones included until their time comes. */
    private long foreground;

    public VirtualScheduler(Instant start) {
        this.now = Checks.notNull("start", start);
    }

    /** Starts at 2025-01-15T10:00:00Z, the guide's example time. */
    public VirtualScheduler() {
        this(Instant.parse("2025-01-15T10:00:00Z"));
    }

    @Override
    public synchronized Instant now() {
        return now;
    }

    @Override
    public Cancellable schedule(Duration delay, Runnable task) {
        return add(delay, task, false);
    }

    /** Background work: runs when its time comes, but {@link #runUntilIdle()} does not wait for it. */
    @Override
    public Cancellable scheduleWithFixedDelay(Duration initialDelay, Duration delay, Runnable task) {
        Checks.positive("delay", delay);
        Checks.notNull("task", task);
        return new RepeatingTask((d, t) -> add(d, t, true), delay, task).first(initialDelay);
    }

    /** Runs the tasks due within {@code delay} on the calling thread and advances the clock by it: {@link #runFor}. */
    @Override
    public void await(Duration delay) {
        runFor(delay == null || delay.isNegative() ? Duration.ZERO : delay);
    }

    private synchronized Cancellable add(Duration delay, Runnable task, boolean background) {
        Checks.notNull("task", task);
        Instant at = delay == null || delay.isNegative() ? now : now.plus(delay);
        Entry e = new Entry(at, sequence++, task, background);
        queue.add(e);
        if (!background) foreground++;
        return () -> e.cancelled = true;
    }

    /** Tasks waiting to run (cancelled ones included until their time comes). */
    public synchronized int pending() {
        return queue.size();
    }

    /**
     * Runs tasks until none is left but background ones ({@link #scheduleWithFixedDelay}), which run meanwhile when
     * their time comes.
     *
     * @return the number of tasks run
     * @throws IllegalStateException after {@code 10_000_000} tasks: something reschedules itself forever
     */
    public long runUntilIdle() {
        return run(Instant.MAX, () -> false, 10_000_000L, true);
    }

    /** Runs the tasks due within {@code duration} from now, then sets the clock to now + duration. */
    public long runFor(Duration duration) {
        Instant end = now().plus(duration);
        long n = run(end, () -> false, Long.MAX_VALUE, false);
        synchronized (this) {
            if (now.isBefore(end)) now = end;
        }
        return n;
    }

    /**
     * Runs tasks until {@code condition} holds (checked after each task), no task is left, or {@code limit}
     * of virtual time has passed.
     *
     * @return whether the condition holds
     */
    public boolean runUntil(BooleanSupplier condition, Duration limit) {
        Instant end = now().plus(limit);
        if (condition.getAsBoolean()) return true;
        run(end, condition, Long.MAX_VALUE, false);
        return condition.getAsBoolean();
    }

    private long run(Instant end, BooleanSupplier stop, long maxTasks, boolean untilIdle) {
        long count = 0;
        while (true) {
            Entry e;
            synchronized (this) {
                if (untilIdle && foreground == 0) return count;
                e = queue.peek();
                if (e == null || e.at.isAfter(end)) return count;
                queue.poll();
                if (!e.background) foreground--;
                if (e.at.isAfter(now)) now = e.at;
            }
            if (e.cancelled) continue;
            if (++count > maxTasks) throw new IllegalStateException("more than " + maxTasks + " tasks: a task reschedules itself forever");
            try {
                e.task.run();
            } catch (RuntimeException ex) {
                log.error("Scheduled task failed", ex);
            }
            if (stop.getAsBoolean()) return count;
        }
    }

    private static final class Entry implements Comparable<Entry> {
        final Instant at;
        final long seq;
        final Runnable task;
        final boolean background;
        volatile boolean cancelled;

        Entry(Instant at, long seq, Runnable task, boolean background) {
            this.at = at;
            this.seq = seq;
            this.task = task;
            this.background = background;
        }

        @Override
        public int compareTo(Entry o) {
            int c = at.compareTo(o.at);
            return c != 0 ? c : Long.compare(seq, o.seq);
        }
    }
}
