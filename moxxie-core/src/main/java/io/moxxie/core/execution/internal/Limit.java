package io.moxxie.core.execution.internal;

import java.time.Duration;
import java.time.Instant;

/**
 * A time limit a step of a move runs against, with the name an error gives it ("migration time limit of 30m
 * (migrationTimeout)"); and the small time helpers the executor's messages and waits share. Immutable.
 */
record Limit(Instant at, String name) {

    /** {@code 90s}, {@code 30m}, {@code 12h}: how the limits are written in the configuration and in messages. */
    static String human(Duration d) {
        if (d.toHours() > 0 && d.toMinutesPart() == 0 && d.toSecondsPart() == 0) return d.toHours() + "h";
        if (d.toMinutes() > 0 && d.toSecondsPart() == 0) return d.toMinutes() + "m";
        return d.toSeconds() + "s";
    }

    /** The shorter of two waits, never negative (a limit already passed waits not at all). */
    static Duration shorter(Duration a, Duration b) {
        Duration m = a.compareTo(b) <= 0 ? a : b;
        return m.isNegative() ? Duration.ZERO : m;
    }

    static Instant earlier(Instant a, Instant b) {
        return a.isBefore(b) ? a : b;
    }
}
