package io.moxxie.core.execution;

import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.model.Operation;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.spi.DrainRecord;
import io.moxxie.core.spi.GuestProgress;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The fields of the status an operator reads ({@code GET …/drain/{drainId}/status}) from a drain's record and its guests'
 * entries: the counts, the times in whole seconds rounded up, the estimate only while the drain runs, and for each guest
 * its error, the reason it was skipped, its note and how long its move took.
 */
class DrainStatusFieldsTest {
    private static final Instant T0 = Instant.parse("2026-01-05T10:00:00Z");

    private static DrainRecord record(DrainState state, Instant completedAt) {
        return new DrainRecord("d-1", "hv7", Operation.DRAIN, DrainRequest.soft("hv7"), state, "Progress: 2/5 completed, 1 failed",
                T0, completedAt, "me", T0.plusSeconds(30), false, null);
    }

    private static GuestProgress pending(int vmid) {
        return new GuestProgress("d-1", vmid, "vm-" + vmid, GuestType.QEMU, "hv7", "hv8", MigrationType.ONLINE, GuestState.PENDING,
                false, false, true, 1L << 30, 0, null, null, null, null, null);
    }

    private static List<GuestProgress> guests() {
        GuestProgress moved = pending(100).started("hv8", MigrationType.ONLINE, 1, T0).completed("hv8", T0.plusMillis(20_001));
        GuestProgress skipped = pending(101).toBuilder().status(GuestState.SKIPPED).error("maint-ok: stays in a soft drain").build();
        GuestProgress failed = pending(102).started("hv8", MigrationType.ONLINE, 2, T0).failed("migration aborted", T0.plusSeconds(5));
        GuestProgress moving = pending(103).started("hv9", MigrationType.ONLINE, 1, T0.plusSeconds(10));
        GuestProgress restarted = pending(104).started("hv8", MigrationType.OFFLINE, 1, T0).completed("hv8", T0.plusSeconds(30))
                .withNote("started again on hv8");
        return List.of(moved, skipped, failed, moving, restarted);
    }

    @Test
    void aRunningDrainCountsItsGuestsByStateAndEstimatesItsEndInWholeSecondsRoundedUp() {
        Instant now = T0.plusMillis(40_200);
        DrainStatus s = DrainStatus.of(record(DrainState.IN_PROGRESS, null), guests(), now, now.plusMillis(90_001));

        assertThat(s.drainId()).isEqualTo("d-1");
        assertThat(s.node()).isEqualTo("hv7");
        assertThat(s.operation()).isEqualTo(Operation.DRAIN);
        assertThat(s.status()).isEqualTo(DrainState.IN_PROGRESS);
        assertThat(s.totalVMs()).isEqualTo(5);
        assertThat(s.completedVMs()).isEqualTo(2);
        assertThat(s.skippedVMs()).isEqualTo(1);
        assertThat(s.failedVMs()).isEqualTo(1);
        assertThat(s.mode()).isEqualTo("soft");
        assertThat(s.message()).isEqualTo("Progress: 2/5 completed, 1 failed");
        assertThat(s.startedAt()).isEqualTo(T0);
        assertThat(s.completedAt()).isNull();
        assertThat(s.elapsedSeconds()).as("40.2 s").isEqualTo(41L);
        assertThat(s.etaSeconds()).as("90.001 s").isEqualTo(91L);

        VmStatus moving = s.vm(103);
        assertThat(moving.status()).isEqualTo(GuestState.IN_PROGRESS);
        assertThat(moving.elapsedSeconds()).as("moving since T0+10 s").isEqualTo(31L);
        assertThat(moving.targetNode()).isEqualTo("hv9");
        assertThat(moving.completedAt()).isNull();
        assertThat(moving.error()).isNull();

        VmStatus moved = s.vm(100);
        assertThat(moved.elapsedSeconds()).as("20.001 s").isEqualTo(21L);
        assertThat(moved.attempts()).isEqualTo(1);
        assertThat(moved.note()).isNull();

        VmStatus skipped = s.vm(101);
        assertThat(skipped.error()).as("a skipped guest has no error").isNull();
        assertThat(skipped.reason()).isEqualTo("maint-ok: stays in a soft drain");
        assertThat(skipped.note()).as("the dry run's words").isEqualTo("maint-ok: stays in a soft drain");
        assertThat(skipped.elapsedSeconds()).isNull();

        VmStatus failed = s.vm(102);
        assertThat(failed.error()).isEqualTo("migration aborted");
        assertThat(failed.reason()).isNull();
        assertThat(failed.note()).isNull();
        assertThat(failed.attempts()).isEqualTo(2);
        assertThat(failed.elapsedSeconds()).isEqualTo(5L);

        assertThat(s.vm(104).note()).isEqualTo("started again on hv8");
        assertThat(s.vm(104).migrationType()).isEqualTo(MigrationType.OFFLINE);
    }

    @Test
    void anEndedDrainTookUntilItsEndAndHasNoEstimate() {
        Instant end = T0.plusSeconds(120);
        DrainStatus s = DrainStatus.of(record(DrainState.FAILED, end), guests(), end.plusSeconds(3600), end.plusSeconds(60));
        assertThat(s.elapsedSeconds()).isEqualTo(120L);
        assertThat(s.etaSeconds()).isNull();
        assertThat(s.completedAt()).isEqualTo(end);
    }

    @Test
    void aStatusReadFromTheStoreHasNoClockOfItsOwn() {
        DrainStatus running = DrainStatus.of(record(DrainState.IN_PROGRESS, null), guests());
        assertThat(running.elapsedSeconds()).isNull();
        assertThat(running.etaSeconds()).isNull();
        assertThat(running.vm(103).elapsedSeconds()).as("a move under way, no clock").isNull();
        assertThat(running.vm(100).elapsedSeconds()).as("a finished move took what it took").isEqualTo(21L);

        DrainStatus noEstimate = DrainStatus.of(record(DrainState.IN_PROGRESS, null), guests(), T0.plusSeconds(5), null);
        assertThat(noEstimate.elapsedSeconds()).isEqualTo(5L);
        assertThat(noEstimate.etaSeconds()).isNull();
    }

    @Test
    void anEstimateAlreadyPassedIsZeroNotNegative() {
        Instant now = T0.plusSeconds(50);
        DrainStatus s = DrainStatus.of(record(DrainState.IN_PROGRESS, null), guests(), now, now.minusSeconds(3));
        assertThat(s.etaSeconds()).isZero();
        assertThat(DrainStatus.of(record(DrainState.IN_PROGRESS, null), guests(), now, now).etaSeconds()).isZero();
    }

    @Test
    void askingForAGuestNotInTheDrainSaysWhichAndWhere() {
        DrainStatus s = DrainStatus.of(record(DrainState.IN_PROGRESS, null), guests());
        assertThatThrownBy(() -> s.vm(999)).isInstanceOf(IllegalArgumentException.class).hasMessage("vmid 999 is not part of drain d-1");
    }

    @Test
    void everyFieldSurvivesToBuilder() {
        VmStatus v = VmStatus.builder(7).name("n").type(GuestType.LXC).status(GuestState.IN_PROGRESS).sourceNode("a").targetNode("b")
                .migrationType(MigrationType.RESTART).alwaysOn(true).error("e").reason("r").note("x").attempts(3).startedAt(T0)
                .completedAt(T0.plusSeconds(1)).elapsedSeconds(1L).transferredBytes(10L).remainingBytes(20L).etaSeconds(4L).build();
        assertThat(v.toBuilder().build()).isEqualTo(v);
        assertThat(v).extracting(VmStatus::transferredBytes, VmStatus::remainingBytes, VmStatus::etaSeconds, VmStatus::alwaysOn)
                .containsExactly(10L, 20L, 4L, true);
        DrainStatus s = DrainStatus.builder("d", "n").operation(Operation.UNDRAIN).status(DrainState.CANCELLED).totalVMs(1).completedVMs(1)
                .failedVMs(2).skippedVMs(3).vmStatus(List.of(v)).startedAt(T0).completedAt(T0).message("m").mode("hard").undrainOf("d0")
                .elapsedSeconds(5L).etaSeconds(6L).build();
        assertThat(s.toBuilder().build()).isEqualTo(s);
        assertThat(s).extracting(DrainStatus::undrainOf, DrainStatus::failedVMs, DrainStatus::skippedVMs, DrainStatus::etaSeconds)
                .containsExactly("d0", 2, 3, 6L);
    }
}
