package io.moxxie.core.time;

import org.junit.jupiter.api.Test;

import java.time.Clock;
import java.time.Duration;
import java.time.ZoneId;
import java.time.ZoneOffset;

import static org.assertj.core.api.Assertions.assertThat;

class SchedulerClockTest {
    @Test
    void theClockAndItsOtherZonesFollowTheScheduler() {
        VirtualScheduler scheduler = new VirtualScheduler();
        Clock utc = scheduler.clock();
        Clock paris = utc.withZone(ZoneId.of("Europe/Paris"));
        assertThat(utc.getZone()).isEqualTo(ZoneOffset.UTC);
        assertThat(paris.getZone()).isEqualTo(ZoneId.of("Europe/Paris"));

        scheduler.schedule(Duration.ofMinutes(5), () -> { });
        scheduler.runUntilIdle();

        assertThat(utc.instant()).isEqualTo(scheduler.now());
        assertThat(paris.instant()).isEqualTo(scheduler.now());
    }
}
