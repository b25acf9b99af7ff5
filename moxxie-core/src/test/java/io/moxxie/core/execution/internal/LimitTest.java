package io.moxxie.core.execution.internal;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

/** How a limit is written in the messages an operator reads (as in the configuration), and the time helpers the waits share. */
class LimitTest {
    @Test
    void aLimitIsWrittenInItsLargestWholeUnit() {
        assertThat(Limit.human(Duration.ofHours(12))).isEqualTo("12h");
        assertThat(Limit.human(Duration.ofMinutes(30))).isEqualTo("30m");
        assertThat(Limit.human(Duration.ofMinutes(90))).isEqualTo("90m");
        assertThat(Limit.human(Duration.ofSeconds(90))).isEqualTo("90s");
        assertThat(Limit.human(Duration.ofSeconds(60))).isEqualTo("1m");
        assertThat(Limit.human(Duration.ofSeconds(3601))).isEqualTo("3601s");
        assertThat(Limit.human(Duration.ofSeconds(3660))).isEqualTo("61m");
        assertThat(Limit.human(Duration.ofSeconds(59))).isEqualTo("59s");
        assertThat(Limit.human(Duration.ZERO)).isEqualTo("0s");
    }

    @Test
    void theShorterOfTwoWaitsIsNeverNegative() {
        assertThat(Limit.shorter(Duration.ofSeconds(2), Duration.ofSeconds(3))).isEqualTo(Duration.ofSeconds(2));
        assertThat(Limit.shorter(Duration.ofSeconds(3), Duration.ofSeconds(2))).isEqualTo(Duration.ofSeconds(2));
        assertThat(Limit.shorter(Duration.ofSeconds(2), Duration.ofSeconds(2))).isEqualTo(Duration.ofSeconds(2));
        assertThat(Limit.shorter(Duration.ofSeconds(5), Duration.ofSeconds(-1))).as("a limit already passed").isEqualTo(Duration.ZERO);
        assertThat(Limit.shorter(Duration.ofSeconds(-1), Duration.ofSeconds(5))).isEqualTo(Duration.ZERO);
    }

    @Test
    void theEarlierOfTwoInstants() {
        Instant t = Instant.parse("2026-01-05T10:00:00Z");
        assertThat(Limit.earlier(t, t.plusMillis(1))).isEqualTo(t);
        assertThat(Limit.earlier(t.plusMillis(1), t)).isEqualTo(t);
        assertThat(Limit.earlier(t, t)).isEqualTo(t);
    }
}
