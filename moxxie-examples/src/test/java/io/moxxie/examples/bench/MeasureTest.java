package io.moxxie.examples.bench;

import io.moxxie.core.model.Guest;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.simulation.MigrationModel;
import io.moxxie.core.simulation.SimulatedCluster.MigrationRecord;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class MeasureTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");
    private static final long GIB = 1L << 30;
    private static final MigrationModel MODEL = MigrationModel.DEFAULT;

    private static MigrationRecord live(int vmid, double from, double to, long bytes, double downtime, double throttle) {
        return new MigrationRecord(vmid, "a", "b", MigrationType.ONLINE, at(from), at(to), true, "OK", bytes, 3,
                Duration.ofNanos((long) (downtime * 1e9)), throttle);
    }

    private static Instant at(double seconds) {
        return T0.plusMillis((long) (seconds * 1000));
    }

    private static Map<Integer, Guest> guests(long... memories) {
        Map<Integer, Guest> out = new java.util.HashMap<>();
        for (int i = 0; i < memories.length; i++) out.put(i + 1, Guest.qemu(i + 1, "a").memory(memories[i]).build());
        return out;
    }

    @Test
    void aLiveMoveMustSendItsMemoryAndWhatItsGuestDirtiesDuringPassZeroAtTheStreamCap() {
        // 8 GiB dirtying 300 MB/s in 2 GiB: pass 0 at 0.6 GB/s lasts 14.3 s and dirties 4.3 GB, capped at 2 GiB.
        List<MigrationRecord> moves = List.of(live(1, 0, 60, 12 * GIB, 0.05, 10));
        Measure.Physics p = Measure.physics(moves, guests(8 * GIB), Map.of(1, new double[]{300e6, 2 * GIB}), MODEL, at(0), at(60), 3,
                Duration.ofMinutes(30));
        assertThat(p.bound()).isCloseTo(5 + 10 * GIB / 0.6e9, within(1e-6));
        assertThat(p.bytesSent() / p.liveMemory()).isCloseTo(1.5, within(1e-9));
        assertThat(p.throttle()).isEqualTo(10);
        assertThat(p.maxDowntime()).isCloseTo(0.05, within(1e-9));
        assertThat(p.unconverged()).isZero();
    }

    @Test
    void aMoveThatCopiesNoMemoryCountsItsFixedTimeOnlyAndTheLinkTermWhenVolumesAddUp() {
        MigrationRecord offline = new MigrationRecord(2, "a", "b", MigrationType.OFFLINE, at(0), at(3), true, "OK");
        List<MigrationRecord> moves = List.of(offline, live(1, 0, 20, 6 * GIB, 0, 0), live(3, 0, 20, 6 * GIB, 0, 0),
                live(4, 0, 20, 6 * GIB, 0, 0));
        Measure.Physics p = Measure.physics(moves, guests(6 * GIB, 64 * GIB, 6 * GIB, 6 * GIB), Map.of(), MODEL, at(0), at(20), 4,
                Duration.ofMinutes(30));
        // idle guests, 4 at once: the link term o + 3 x 6 GiB / 1.25 GB/s binds; the stopped 64 GiB guest adds nothing to it
        assertThat(p.bound()).isCloseTo(5 + 18 * GIB / 1.25e9, within(1e-6));
        assertThat(p.liveMemory()).isEqualTo(18 * GIB);
    }

    @Test
    void onlyMovesStartedInTheWindowCountAndALiveMovePastTheTimeLimitDidNotConverge() {
        List<MigrationRecord> moves = List.of(live(1, 0, 2000, 6 * GIB, 0.1, 0), live(2, 3000, 3010, 6 * GIB, 2.0, 0));
        Measure.Physics p = Measure.physics(moves, guests(6 * GIB, 6 * GIB), Map.of(), MODEL, at(0), at(2000), 3, Duration.ofMinutes(30));
        assertThat(p.unconverged()).isEqualTo(1);
        assertThat(p.maxDowntime()).isCloseTo(0.1, within(1e-9));
        assertThat(p.liveMemory()).isEqualTo(6 * GIB);
    }
}
