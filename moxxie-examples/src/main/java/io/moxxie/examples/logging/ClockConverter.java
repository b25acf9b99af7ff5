package io.moxxie.examples.logging;

import ch.qos.logback.classic.pattern.ClassicConverter;
import ch.qos.logback.classic.spi.ILoggingEvent;
import io.moxxie.core.time.Scheduler;

import java.time.Instant;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;

/**
 * {@code %clock}: the time of a log line on the clock the drains run on (the server's {@link Scheduler}), as
 * ISO-8601 UTC to the millisecond. On a real cluster that is the wall clock; on the demo cluster it is the demo's
 * sped-up clock, the one the API's {@code startedAt} and the store's times are read from, so that the log's and the
 * API's times of one event are the same instant. Without a clock set it is the event's wall-clock time.
 *
 * <p>Thread-safe. The clock is JVM-wide, as Logback's configuration is: the last server started sets it.
 */
public final class ClockConverter extends ClassicConverter {
    private static volatile Scheduler clock;

    /** Stamps log lines with {@code scheduler}'s time from now on ({@code null}: the wall clock). */
    public static void use(Scheduler scheduler) {
        clock = scheduler;
    }

    /** The clock in use, or {@code null} for the wall clock. */
    static Scheduler current() {
        return clock;
    }

    @Override
    public String convert(ILoggingEvent event) {
        return format(timeOf(event.getTimeStamp(), System.currentTimeMillis(), clock));
    }

    /**
     * The scheduler time of an event stamped {@code eventMillis} on the wall clock, read at {@code nowMillis}: the
     * scheduler's now, less the time since the event at the scheduler's speed (appenders format at once, so this is
     * a millisecond or so).
     */
    static Instant timeOf(long eventMillis, long nowMillis, Scheduler scheduler) {
        Instant wall = Instant.ofEpochMilli(eventMillis);
        if (scheduler == null) return wall;
        double speed = scheduler instanceof io.moxxie.examples.demo.ScaledScheduler s ? s.speed() : 1.0;
        long lagMillis = Math.max(0, nowMillis - eventMillis);
        return scheduler.now().minusMillis(Math.round(lagMillis * speed));
    }

    static String format(Instant t) {
        return DateTimeFormatter.ISO_INSTANT.format(t.truncatedTo(ChronoUnit.MILLIS));
    }
}
