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

    @Test
    void aPreciseModelPredictsAMoveInFlightAtTheStreamCapTimesTheFactorItStartsFrom() {
        TransferModel learned = new TransferModel(CONFIG, true, 1.5);
        TransferModel.Move m = learned.start(1, (long) (6 * GB), T0);
        // Alone, it copies at 0.6 * 1.5 GB/s from 5 s on; with two more, at a third of the link's 1.2 * 1.5 GB/s.
        assertThat(secondsAfterT0(learned.predictedEnd(m, T0))).isCloseTo(5 + 6 / 0.9, within(0.01));
        learned.start(2, (long) (6 * GB), T0);
        learned.start(3, (long) (6 * GB), T0);
        assertThat(secondsAfterT0(learned.predictedEnd(m, at(5)))).isCloseTo(5 + 6 / 0.6, within(0.01));
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

    // ---------------------------------------------------------------- what the floors learn

    /** How long the picture gives a move of {@code gb} GB started at T0, alone, seconds. */
    private static double predictedSeconds(TransferModel model, double gb) {
        TransferModel.Move m = model.start(99, (long) (gb * GB), T0);
        double s = secondsAfterT0(model.predictedEnd(m, T0));
        model.remove(99);
        return s;
    }

    @Test
    void aFasterSmallerMoveThatEndedLowersTheFloorOfEveryLargerMoveAndASlowerLargerOneChangesNothing() {
        precise.recordEnded((long) (8 * GB), 40);
        precise.recordEnded((long) (4 * GB), 50);
        // 8 GB and above: 90 % of 40 s; 4 to 8 GB: 90 % of 50 s (the 8 GB move is larger); below 4 GB nothing known.
        assertThat(predictedSeconds(precise, 8)).isCloseTo(36, within(0.01));
        assertThat(predictedSeconds(precise, 16)).isCloseTo(36, within(0.01));
        assertThat(predictedSeconds(precise, 6)).isCloseTo(45, within(0.01));
        assertThat(predictedSeconds(precise, 3)).isCloseTo(5 + 3 / 0.6, within(0.01));
        precise.recordEnded((long) (2 * GB), 30);
        assertThat(predictedSeconds(precise, 6)).isCloseTo(27, within(0.01));
        assertThat(predictedSeconds(precise, 8)).isCloseTo(27, within(0.01));
        // A larger or as large move that took longer teaches nothing: a 16 GB move is as the picture gives it (past 27 s).
        precise.recordEnded((long) (16 * GB), 60);
        precise.recordEnded((long) (2 * GB), 35);
        assertThat(predictedSeconds(precise, 16)).isCloseTo(5 + 16 / 0.6, within(0.01));
        assertThat(predictedSeconds(precise, 2)).isCloseTo(27, within(0.01));
    }

    @Test
    void movesAreTakenToLastAsLongWhateverTheirMemoryOnlyWhenTheirMemoryDifferedFourTimesAndTheirTimesByAFifthAtMost() {
        TransferModel fourTimes = new TransferModel(CONFIG, true, 1.0);
        fourTimes.recordEnded((long) (2 * GB), 50);
        fourTimes.recordEnded((long) (8 * GB), 60);
        assertThat(fourTimes.followsMemory()).isFalse();
        assertThat(predictedSeconds(fourTimes, 1)).as("the fastest of them").isCloseTo(50, within(0.01));

        TransferModel lessThanFour = new TransferModel(CONFIG, true, 1.0);
        lessThanFour.recordEnded((long) (2 * GB) + 1, 50);
        lessThanFour.recordEnded((long) (8 * GB), 60);
        assertThat(lessThanFour.followsMemory()).isTrue();
        assertThat(predictedSeconds(lessThanFour, 1)).isCloseTo(5 + 1 / 0.6, within(0.01));

        TransferModel moreThanAFifth = new TransferModel(CONFIG, true, 1.0);
        moreThanAFifth.recordEnded((long) (2 * GB), 50);
        moreThanAFifth.recordEnded((long) (8 * GB), 60.1);
        assertThat(moreThanAFifth.followsMemory()).isTrue();

        assertThat(new TransferModel(CONFIG, true, 1.0).followsMemory()).as("nothing ended yet").isFalse();
        TransferModel one = new TransferModel(CONFIG, true, 1.0);
        one.recordEnded((long) (2 * GB), 50);
        assertThat(one.followsMemory()).as("one move: its memory did not differ").isTrue();
    }

    // ---------------------------------------------------------------- how the factor moves, within its bounds

    @Test
    void aCautiousModelSpeedsUpOnlyForAMoveFoundDoneMoreThanTheFirstPollBeforeItsPredictedEndAndNotPastTwentyTimes() {
        TransferModel.Move m = cautious.start(1, (long) (6 * GB), T0);
        // Predicted at 15 s; the first poll delay is 2 s: found done at 13 s is not "well before".
        cautious.learnFromDone(m, at(13), false);
        assertThat(cautious.factor()).isEqualTo(1.0);
        cautious.learnFromDone(m, at(12.9), false);
        assertThat(cautious.factor()).isCloseTo(1.08, within(1e-9));
        for (int i = 0; i < 60; i++) {
            TransferModel.Move big = cautious.start(2 + i, (long) (600 * GB), T0);
            cautious.learnFromDone(big, T0, false);
        }
        assertThat(cautious.factor()).isEqualTo(TransferModel.MAX_FACTOR);
    }

    @Test
    void aPreciseModelLearnsNothingFromAMoveFoundDoneAfterItsPredictedEndAndStopsAtTwentyTimes() {
        TransferModel.Move m = precise.start(1, (long) (6 * GB), T0);
        precise.learnFromDone(m, at(15), false);
        assertThat(precise.factor()).as("found done at its predicted end").isEqualTo(1.0);
        precise.learnFromDone(m, at(16), false);
        assertThat(precise.factor()).isEqualTo(1.0);
        TransferModel fast = new TransferModel(CONFIG, true, 19);
        TransferModel.Move n = fast.start(1, (long) (600 * GB), T0);
        fast.learnFromDone(n, at(5.1), false);
        assertThat(fast.factor()).isEqualTo(TransferModel.MAX_FACTOR);
    }

    @Test
    void aMoveMissedBeforeItsPredictedEndTeachesNothingAndMissesSlowThePictureNoFurtherThanAtwentieth() {
        TransferModel.Move m = precise.start(1, (long) (6 * GB), T0);
        precise.advance(at(10));
        precise.learnFromMiss(m);
        assertThat(precise.factor()).as("3 GB left: not past its predicted end").isEqualTo(1.0);
        assertThat(m.remaining / GB).isCloseTo(3, within(1e-9));

        TransferModel slow = new TransferModel(CONFIG, true, TransferModel.MIN_FACTOR);
        TransferModel.Move n = slow.start(1, 1, T0);
        slow.advance(at(6));
        slow.learnFromMiss(n);
        assertThat(slow.factor()).isEqualTo(TransferModel.MIN_FACTOR);
        assertThat(n.remaining).as("5 % of its memory, at least of one byte").isCloseTo(0.05, within(1e-12));
    }

    @Test
    void theHypervisorsRemainingBytesReplaceThePicturesEstimate() {
        TransferModel.Move m = cautious.start(1, (long) (6 * GB), T0);
        cautious.advance(at(10));
        cautious.measured(m, (long) (4.8 * GB));
        // 4.8 GB left at 0.6 GB/s from 10 s.
        assertThat(secondsAfterT0(cautious.predictedEnd(m, at(10)))).isCloseTo(18, within(0.01));
    }

    // ---------------------------------------------------------------- the picture run forward, with floors

    @Test
    void aDrainsMovesHoldTheirSlotsUntilTheirFloorWhileAStartChoiceLetsTheNextCopyAsAMovesCopyEnds() {
        precise.recordEnded((long) GB, 30);
        long one = (long) GB;
        // One slot; a 1 GB move copies in 5 + 1.7 s, but none has taken less than 27 s (90 % of 30): the second starts at 27 s.
        assertThat(secondsAfterT0(precise.projectedDrainEnd(T0, 1, one, one))).isCloseTo(54, within(0.01));
        // Two started now end at their floor (27 s) together, whatever their followers do.
        List<Instant> ends = precise.projectedEnds(T0, one, one);
        assertThat(secondsAfterT0(ends.get(0))).isCloseTo(27, within(0.01));
        assertThat(secondsAfterT0(ends.get(1))).isCloseTo(27, within(0.01));
    }

    @Test
    void aMoveInFlightThatEndedInThePictureIsFollowedAtOnceAndAMoveInItsSetUpCopiesNothingYet() {
        cautious.start(1, (long) (6 * GB), T0);
        // At 2 s the move in flight is in its set-up for 3 s more: it ends at 5 + 10 s; the new one (1.2 GB) copies from
        // 7 s and shares the link (0.6 GB/s each is both caps): 2 s.
        List<Instant> ends = cautious.projectedEnds(at(2), (long) (1.2 * GB));
        assertThat(secondsAfterT0(ends.get(0))).isCloseTo(9, within(0.01));
        assertThat(secondsAfterT0(ends.get(1))).isCloseTo(15, within(0.01));
        assertThat(secondsAfterT0(cautious.projectedDrainEnd(at(2), 2))).isCloseTo(15, within(0.01));
    }

    @Test
    void readingTheExpectedEndLeavesThePictureAsItWas() {
        TransferModel.Move m = cautious.start(1, (long) (6 * GB), T0);
        cautious.projectedDrainEnd(at(10), 2, (long) GB);
        cautious.predictedEnd(m, at(10));
        assertThat(m.remaining).isEqualTo(6 * GB);
        cautious.advance(at(10));
        assertThat(m.remaining / GB).isCloseTo(3, within(1e-9));
        // Moving it forward again to the same moment, or to an earlier one, changes nothing.
        cautious.advance(at(10));
        cautious.advance(at(9));
        assertThat(m.remaining / GB).isCloseTo(3, within(1e-9));
    }
}
