package io.moxxie.examples.bench;

import io.moxxie.core.model.MigrationType;
import io.moxxie.core.simulation.SimulatedCluster.MigrationRecord;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class MeasureTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    private static final Duration O = Duration.ofSeconds(5);

    private static MigrationRecord move(int vmid, double from, double to) {
        return new MigrationRecord(vmid, "a", "b", MigrationType.ONLINE, at(from), at(to), true, null);
    }

    private static Instant at(double seconds) {
        return T0.plusMillis((long) (seconds * 1000));
    }

    @Test
    void sparseCopyCountsTheTimeAtMostOneMigrationIsPastItsOverhead() {
        // copying: 1 from 5-30, 2 from 15-40, 3 from 45-50 (started at 40); window 0-50
        List<MigrationRecord> moves = List.of(move(1, 0, 30), move(2, 10, 40), move(3, 40, 50));
        // two copy only in 15-30; everything else in 0-50 has at most one copying
        assertThat(Measure.sparseCopySeconds(moves, O, at(0), at(50))).isCloseTo(35.0, within(1e-9));
    }

    @Test
    void onlyMigrationsStartedInTheWindowCount() {
        List<MigrationRecord> moves = List.of(move(1, 0, 30), move(2, 0, 30), move(3, 100, 130));
        assertThat(Measure.sparseCopySeconds(moves, O, at(0), at(30))).isCloseTo(5.0, within(1e-9));
        assertThat(Measure.sparseCopySeconds(moves, O, at(100), at(130))).isCloseTo(30.0, within(1e-9));
    }
}
