package io.moxxie.core.execution.internal;

import io.moxxie.core.execution.ExecutorConfig;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** The transfer model on its own: hand-worked equal-share arithmetic, what it learns from ends, its floors. */
class TransferModelTest {
    private static final double GB = 1e9;
    // A link of 1.2 GB/s, 0.6 GB/s per stream, 5 s overhead: two streams fill the link, three share it at 0.4 each.
    private static final ExecutorConfig CONFIG = ExecutorConfig.builder().expectedLinkBandwidth(1.2 * GB).expectedMigrationRate(0.6 * GB)
            .expectedMigrationOverhead(Duration.ofSeconds(5)).build();
    private static final Instant T0 = Instant.parse("2026-01-05T10:00:00Z");

    private final TransferModel cautious = new TransferModel(CONFIG, false, 1.0);
    private final TransferModel precise = new TransferModel(CONFIG, true, 1.0);

    private static Instant at(double seconds) {
        return T0.plusMillis((long) (seconds * 1000));
    }

    private static double secondsAfterT0(Instant t) {
        return Duration.between(T0, t).toMillis() / 1e3;
    }

    @Test
    void aLoneNewMoveEndsAfterItsOverheadAndItsCopyAtTheStreamCap() {
        List<Instant> ends = cautious.projectedEnds(T0, (long) (6 * GB));
        assertThat(secondsAfterT0(ends.get(0))).isCloseTo(5 + 6 / 0.6, within(0.01));
    }

    @Test
    void movesInFlightShareTheLinkWithTheNewOneAndEachEndIsFollowedByAnother() {
        cautious.start(1, (long) (12 * GB), T0);
        cautious.start(2, (long) (12 * GB), T0);
        // All three copy from 5 s at 0.4 GB/s; the 4.8 GB move ends at 5 + 12 = 17 s. The two 12 GB moves have 7.2 GB left
        // each; while the follower of the ended move is in its overhead (17-22 s) they copy at 0.6 (3 GB), then at 0.4
        // again with it: 4.2 GB / 0.4 = 10.5 s more, ending at 32.5 s.
        List<Instant> ends = cautious.projectedEnds(T0, (long) (4.8 * GB));
        assertThat(ends).hasSize(3);
        assertThat(secondsAfterT0(ends.get(0))).isCloseTo(17, within(0.01));
        assertThat(secondsAfterT0(ends.get(1))).isCloseTo(32.5, within(0.01));
        assertThat(secondsAfterT0(ends.get(2))).isCloseTo(32.5, within(0.01));
    }

    @Test
    void theNewMovesEndsComeFirstInTheOrderAsked() {
        List<Instant> ends = cautious.projectedEnds(T0, (long) (1.2 * GB), (long) (6 * GB));
        // Both copy at 0.6 from 5 s: 2 s and 10 s of copying.
        assertThat(secondsAfterT0(ends.get(0))).isCloseTo(7, within(0.01));
        assertThat(secondsAfterT0(ends.get(1))).isCloseTo(15, within(0.01));
    }

    @Test
    void movesCopyNothingDuringTheirOverheadThenShareTheLinkEqually() {
        TransferModel.Move a = cautious.start(1, (long) (12 * GB), T0);
        TransferModel.Move b = cautious.start(2, (long) (12 * GB), at(5));
        // a copies alone at the stream cap 5-10 s (3 GB); from 10 s both copy at 0.6 (the link's half, the cap too).
        cautious.advance(at(15));
        assertThat(a.remaining / GB).isCloseTo(12 - 3 - 3, within(1e-9));
        assertThat(b.remaining / GB).isCloseTo(12 - 3, within(1e-9));
        assertThat(secondsAfterT0(cautious.predictedEnd(a, at(15)))).isCloseTo(15 + 6 / 0.6, within(0.01));
        // A third move still in its overhead takes no share yet.
        cautious.start(3, (long) GB, at(15));
        assertThat(cautious.streamRate(at(15))).isCloseTo(0.6 * GB, within(1.0));
        assertThat(cautious.streamRate(at(20))).isCloseTo(0.4 * GB, within(1.0));
    }

    @Test
    void noMoveIsPredictedFasterThanNinetyPercentOfTheFastestNoLargerMoveThatEnded() {
        precise.recordEnded((long) (8 * GB), 40);
        TransferModel.Move same = precise.start(1, (long) (8 * GB), T0);
        // The picture alone says 5 + 8 / 0.6 = 18.3 s; an 8 GB move took 40 s here.
        assertThat(secondsAfterT0(precise.predictedEnd(same, T0))).isCloseTo(36, within(0.01));
        precise.remove(1);
        TransferModel.Move smaller = precise.start(2, (long) (4 * GB), T0);
        assertThat(secondsAfterT0(precise.predictedEnd(smaller, T0))).as("no ended move is as small").isCloseTo(5 + 4 / 0.6, within(0.01));
        assertThat(precise.followsMemory()).isTrue();
    }

    @Test
    void whenMovesTakeAsLongWhateverTheirMemoryNoneIsPredictedToEndBeforeTheFastest() {
        precise.recordEnded((long) GB, 60);
        precise.recordEnded((long) (8 * GB), 62);
        assertThat(precise.followsMemory()).isFalse();
        TransferModel.Move tiny = precise.start(1, (long) (0.5 * GB), T0);
        assertThat(secondsAfterT0(precise.predictedEnd(tiny, T0))).isCloseTo(60, within(0.01));
        assertThat(secondsAfterT0(precise.projectedEnds(T0, (long) (0.1 * GB)).get(0))).isCloseTo(60, within(0.01));
    }

    @Test
    void aPreciseModelSpeedsUpByAsMuchAsAnEarlyEndShowsAtMostAQuarterAtOnce() {
        TransferModel.Move m = precise.start(1, (long) (6 * GB), T0);
        // Predicted end 15 s: 10 s of copying from 5 s. Found done at 14 s: it copied in at most 9 s.
        precise.advance(at(14));
        precise.learnFromDone(m, at(14), false);
        assertThat(precise.factor()).isCloseTo(10.0 / 9, within(1e-3));

        TransferModel fresh = new TransferModel(CONFIG, true, 1.0);
        TransferModel.Move early = fresh.start(1, (long) (6 * GB), T0);
        fresh.advance(at(7));
        fresh.learnFromDone(early, at(7), false);
        assertThat(fresh.factor()).as("at most 1.25 at once").isEqualTo(TransferModel.MAX_SPEED_UP);
    }

    @Test
    void aCautiousModelSpeedsUpByEightPercentOnlyForAMoveFoundDoneWellBeforeWithNoLookBetween() {
        TransferModel.Move m = cautious.start(1, (long) (6 * GB), T0);
        cautious.advance(at(10));
        cautious.learnFromDone(m, at(10), true);
        assertThat(cautious.factor()).as("looked at before").isEqualTo(1.0);
        cautious.advance(at(14));
        cautious.learnFromDone(m, at(14), false);
        assertThat(cautious.factor()).as("predicted 15 s: not well before").isEqualTo(1.0);
        TransferModel.Move n = cautious.start(2, (long) (6 * GB), at(14));
        cautious.learnFromDone(n, at(16), false);
        assertThat(cautious.factor()).isCloseTo(1.08, within(1e-9));
    }

    @Test
    void aMoveNotDoneWhenPredictedSlowsThePictureDownAndItsEndThenTeachesNothing() {
        TransferModel.Move m = precise.start(1, (long) (6 * GB), T0);
        precise.advance(at(16));
        assertThat(m.remaining).isZero();
        precise.learnFromMiss(m);
        assertThat(precise.factor()).isCloseTo(0.93, within(1e-9));
        assertThat(m.remaining).as("a little kept to copy").isCloseTo(0.05 * 6 * GB, within(1.0));
        precise.learnFromDone(m, at(16.5), true);
        assertThat(precise.factor()).isCloseTo(0.93, within(1e-9));
    }

    @Test
    void theLearnedFactorAPreciseModelStartsFromIsBoundedAndACautiousOneStartsFromOne() {
        assertThat(new TransferModel(CONFIG, true, 100).factor()).isEqualTo(TransferModel.MAX_FACTOR);
        assertThat(new TransferModel(CONFIG, true, 0.001).factor()).isEqualTo(TransferModel.MIN_FACTOR);
        assertThat(new TransferModel(CONFIG, false, 1.7).factor()).isEqualTo(1.0);
    }

    // ---------------------------------------------------------------- a drain's expected end (its ETA)

    @Test
    void aDrainsQueuedMovesTakeTheSlotsAsTheyFreeUp() {
        // Two slots, three moves of 6 GB: two copy at 0.6 each (the link's 1.2 shared) after 5 s, ending at 15; the third
        // then runs alone: 15 + 5 + 10.
        long six = (long) (6 * GB);
        assertThat(secondsAfterT0(cautious.projectedDrainEnd(T0, 2, six, six, six))).isCloseTo(30, within(0.01));
        // Three slots: all three at once share the link at 0.4 each: 5 + 6 / 0.4.
        assertThat(secondsAfterT0(precise.projectedDrainEnd(T0, 3, six, six, six))).isCloseTo(20, within(0.01));
    }

    @Test
    void aDrainsExpectedEndCountsTheMovesInFlightWithWhatTheyHaveCopied() {
        cautious.start(1, (long) (12 * GB), T0);
        // At 10 s it has copied 3 GB (5 s at 0.6 after its overhead). A 3 GB move queued behind it, two slots: for 5 s the
        // first copies alone (6 GB left), then both at 0.6: the new one ends at 20 s, the first has 3 GB left, alone: 25 s.
        assertThat(secondsAfterT0(cautious.projectedDrainEnd(at(10), 2, (long) (3 * GB)))).isCloseTo(25, within(0.01));
    }

    @Test
    void aDrainWithNothingLeftEndsNow() {
        assertThat(cautious.projectedDrainEnd(at(7), 4)).isEqualTo(at(7));
    }
}
