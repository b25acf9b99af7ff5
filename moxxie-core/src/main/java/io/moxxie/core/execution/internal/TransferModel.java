package io.moxxie.core.execution.internal;

import io.moxxie.core.execution.ExecutorConfig;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PrimitiveIterator;
import java.util.TreeMap;
import java.util.function.DoubleFunction;

/**
 * The picture of a drain's moves in flight that tells when each will end, the same as the migration model of docs/architecture.md: a
 * move spends a fixed overhead ({@link ExecutorConfig#expectedMigrationOverhead()}), then copies its memory at
 * {@link ExecutorConfig#expectedMigrationRate()} at most, the moves copying at once sharing
 * {@link ExecutorConfig#expectedLinkBandwidth()} equally. For every move it keeps the memory left to copy, moved
 * forward by {@link #advance}.
 *
 * <p>What it learns as moves end:
 * <ul>
 *   <li>a speed factor that scales both rates. Cautious (not {@link #precise}): a move found done well before its
 *       predicted end, with no look in between, speeds the picture up by 8 %; precise: a move found done before its
 *       predicted end speeds it up by as much as that end shows (its transfer took at most the time until it was found
 *       done), at most {@value #MAX_SPEED_UP} times at once. A move found not done past its predicted end slows it
 *       down by 7 % ({@link #learnFromMiss}). Within {@value #MIN_FACTOR} and {@value #MAX_FACTOR}.</li>
 *   <li>floors: no move is predicted to take less than 90 % of the fastest move no larger than it that ended; and once
 *       the moves that ended are seen to take about as long as each other whatever their memory (some clusters take a
 *       minute for any move, however small), none is predicted to end before the fastest of them.</li>
 * </ul>
 *
 * <p>Run forward ({@link #projectedEnds}), the picture tells when the moves would end if more started now.
 *
 * <p>Pure: no scheduler, no hypervisor, no store — the time is passed in. Threading: not thread-safe; it belongs to
 * one {@link MoveWatcher}, which uses it under its lock.
 */
final class TransferModel {
    /** A move found done before its predicted end speeds the picture up by at most this factor at once. */
    static final double MAX_SPEED_UP = 1.25;
    static final double MIN_FACTOR = 0.05;
    static final double MAX_FACTOR = 20;

    private final ExecutorConfig config;
    /** {@link ExecutorConfig#expectedMigrationOverhead()} in seconds, for the picture run forward. */
    private final double overhead;
    private final boolean precise;
    private double factor;
    private Instant lastAdvance;
    private final Map<Integer, Move> moves = new LinkedHashMap<>();
    /**
     * The moves that ended, as a staircase: memory → the shortest duration of any ended move of at most that memory,
     * strictly decreasing with memory (so a lookup is one {@code floorEntry}).
     */
    private final TreeMap<Long, Double> fastestUpTo = new TreeMap<>();
    /** The smallest and largest memory of the moves that ended, and their shortest and longest durations (seconds). */
    private long endedMemoryMin = Long.MAX_VALUE, endedMemoryMax;
    private double endedSecondsMin = Double.MAX_VALUE, endedSecondsMax;

    /**
     * @param precise       every slot counts (no more moves than the streams that fill the link): learn from every end
     * @param initialFactor the factor to start from when precise (what an earlier such drain learned; 1 for none)
     */
    TransferModel(ExecutorConfig config, boolean precise, double initialFactor) {
        this.config = config;
        this.overhead = config.expectedMigrationOverhead().toNanos() / 1e9;
        this.precise = precise;
        this.factor = precise ? Math.max(MIN_FACTOR, Math.min(MAX_FACTOR, initialFactor)) : 1.0;
    }

    /** One move in flight as the picture sees it. */
    static final class Move {
        final long memory;
        final Instant startedAt;
        final Instant transferFrom;
        double remaining;
        /** Found not done past its predicted end (its estimate was reset): its end teaches nothing more. */
        boolean pastPredicted;

        Move(long memory, Instant startedAt, Instant transferFrom) {
            this.memory = memory;
            this.startedAt = startedAt;
            this.transferFrom = transferFrom;
            this.remaining = memory;
        }
    }

    boolean precise() {
        return precise;
    }

    /** The factor both rates are scaled by. */
    double factor() {
        return factor;
    }

    /** A move of {@code memory} bytes starts at {@code now} (the others are moved forward to now first). */
    Move start(int id, long memory, Instant now) {
        advance(now);
        Move m = new Move(memory, now, now.plus(config.expectedMigrationOverhead()));
        moves.put(id, m);
        return m;
    }

    /** The move is no longer in flight. */
    void remove(int id) {
        moves.remove(id);
    }

    /** Moves every estimate forward to {@code now}, under the equal-share picture. */
    void advance(Instant now) {
        double dt = secondsSinceAdvance(now);
        lastAdvance = now;
        if (dt <= 0) return;
        double rate = streamRate(now);
        for (Move m : moves.values()) m.remaining = remainingAfter(m, now, dt, rate);
    }

    /**
     * The bytes the move has left at {@code now}, as {@link #advance} would make them, without moving the picture: a
     * read (the drain's status) leaves the estimates as they were, so it does not change when the moves are looked at.
     */
    private double remainingAt(Move m, Instant now) {
        double dt = secondsSinceAdvance(now);
        return dt <= 0 ? m.remaining : remainingAfter(m, now, dt, streamRate(now));
    }

    private double secondsSinceAdvance(Instant now) {
        return lastAdvance == null ? 0 : Duration.between(lastAdvance, now).toNanos() / 1e9;
    }

    private static double remainingAfter(Move m, Instant now, double dt, double rate) {
        double transferSeconds = Math.min(dt, Math.max(0, Duration.between(m.transferFrom, now).toNanos() / 1e9));
        return Math.max(0, m.remaining - rate * transferSeconds);
    }

    /** Bytes per second one move in transfer gets at {@code now}: its stream cap, or its share of the link. */
    double streamRate(Instant now) {
        long transferring = moves.values().stream().filter(m -> !m.transferFrom.isAfter(now)).count();
        double link = config.expectedLinkBandwidth() * factor;
        double stream = config.expectedMigrationRate() * factor;
        return transferring == 0 ? stream : Math.min(stream, link / transferring);
    }

    /** When the move is predicted to end, if the picture holds. */
    Instant predictedEnd(Move m, Instant now) {
        return predictedEnd(m, streamRate(now), now);
    }

    /**
     * When the move is predicted to end at a stream rate of {@code rate}: the equal-share picture, but never sooner
     * than its {@link #floor}.
     */
    Instant predictedEnd(Move m, double rate, Instant now) {
        Instant from = m.transferFrom.isAfter(now) ? m.transferFrom : now;
        Instant end = from.plusMillis((long) Math.ceil(remainingAt(m, now) / rate * 1000));
        Instant floor = floor(m);
        return floor.isAfter(end) ? floor : end;
    }

    /**
     * The soonest the move can end, from the moves that ended: 90 % of the fastest move no larger than it (a bigger
     * move is not faster on the same links), or the fastest of all when moves take as long whatever their memory.
     */
    Instant floor(Move m) {
        return m.startedAt.plusMillis((long) (floorSeconds(m.memory) * 1000));
    }

    /** The shortest a move of {@code memory} bytes can take, from the moves that ended, seconds (0: nothing known). */
    private double floorSeconds(long memory) {
        return Math.max(0.9 * fastestNoLargerThan(memory), sizeIndependentFloor());
    }

    /**
     * When the moves that ended took about as long as each other although their memory differed by 4 times or more,
     * this cluster's moves do not take time in proportion to memory (a fixed cost dominates): then no move is predicted
     * to end before the fastest of them, however small it is. 0 while that is not seen.
     */
    private double sizeIndependentFloor() {
        boolean sizeIndependent = endedMemoryMin > 0 && endedMemoryMax / 4 >= endedMemoryMin && endedSecondsMax <= 1.2 * endedSecondsMin;
        return sizeIndependent ? endedSecondsMin : 0;
    }

    /**
     * Whether moves have been seen to end, and not as moves that take about as long as each other whatever their
     * memory: then the picture says something about when a move will end.
     */
    boolean followsMemory() {
        return endedMemoryMax > 0 && sizeIndependentFloor() == 0;
    }

    /**
     * A move found done at {@code now}, before its predicted end: the picture was too slow (see the class comment).
     * {@code lookedAtBefore}: an earlier look found it not done.
     */
    void learnFromDone(Move m, Instant now, boolean lookedAtBefore) {
        Instant predicted = predictedEnd(m, now);
        if (!precise) {
            // Cautious: only a move found done well before its predicted end, with no look in between, and by a small step.
            if (!lookedAtBefore && predicted.isAfter(now.plus(config.pollInitialDelay()))) factor = Math.min(MAX_FACTOR, factor * 1.08);
            return;
        }
        if (m.pastPredicted || !predicted.isAfter(now)) return;
        // It ended by now, so its transfer took at most the time from its start of transfer to now, against the
        // picture's time to its predicted end: the picture is sped up by that ratio.
        double copyPredicted = Duration.between(m.transferFrom, predicted).toMillis();
        double copyAtMost = Math.max(1, Duration.between(m.transferFrom, now).toMillis());
        double speedUp = Math.min(MAX_SPEED_UP, copyPredicted / copyAtMost);
        if (speedUp > 1) factor = Math.min(MAX_FACTOR, factor * speedUp);
    }

    /**
     * The hypervisor reported {@code remaining} bytes left to copy of the move (call {@link #advance} to the time of the
     * report first): the picture takes them in place of its own estimate.
     */
    void measured(Move m, long remaining) {
        m.remaining = remaining;
    }

    /** A move not done when predicted: the picture was too fast; keep a little left to copy. */
    void learnFromMiss(Move m) {
        if (m.remaining <= 0) {
            m.pastPredicted = true;
            factor = Math.max(MIN_FACTOR, factor * 0.93);
            m.remaining = 0.05 * Math.max(1, m.memory);
        }
    }

    /** A move of {@code memory} bytes ended after about {@code seconds}: the floors learn from it. */
    void recordEnded(long memory, double seconds) {
        endedMemoryMin = Math.min(endedMemoryMin, memory);
        endedMemoryMax = Math.max(endedMemoryMax, memory);
        endedSecondsMin = Math.min(endedSecondsMin, seconds);
        endedSecondsMax = Math.max(endedSecondsMax, seconds);
        Map.Entry<Long, Double> below = fastestUpTo.floorEntry(memory);
        if (below != null && below.getValue() <= seconds) return;
        fastestUpTo.put(memory, seconds);
        // Entries above it that are no faster are now dominated.
        Map.Entry<Long, Double> above = fastestUpTo.higherEntry(memory);
        while (above != null && above.getValue() >= seconds) {
            fastestUpTo.remove(above.getKey());
            above = fastestUpTo.higherEntry(memory);
        }
    }

    /** The shortest duration of an ended move of at most {@code memory} bytes, seconds; 0 when there is none. */
    private double fastestNoLargerThan(long memory) {
        Map.Entry<Long, Double> e = fastestUpTo.floorEntry(memory);
        return e == null ? 0 : e.getValue();
    }

    /**
     * When the moves in flight, and moves of {@code newMemory} bytes each started at {@code now}, are predicted to end:
     * the equal-share picture run forward, each move that ends being followed at once by another that outlasts them all
     * (a drain refills its slots), and no move ending sooner than its {@link #floor}. The new moves' ends come first, in
     * order, then those of the moves in flight in no particular order. Moves the estimates forward to {@code now}.
     */
    List<Instant> projectedEnds(Instant now, long... newMemory) {
        advance(now);
        List<Projected> projected = new ArrayList<>(newMemory.length + moves.size());
        for (long memory : newMemory) projected.add(starting(memory, 0));
        projected.addAll(inFlight(now));
        // A follower takes the slot as its predecessor's copy is done: the floor does not hold the slot.
        runForward(new ArrayList<>(projected), projected.size(), t -> new Projected(t + overhead, Double.POSITIVE_INFINITY, 0), false);
        List<Instant> ends = new ArrayList<>(projected.size());
        for (Projected p : projected) ends.add(now.plusMillis((long) Math.ceil(p.end * 1000)));
        return ends;
    }

    /**
     * When a drain is expected to end: the moves in flight go on, and the {@code queued} moves (bytes each, in the order
     * they will start) take the slots as they free up, at most {@code slots} moves at once; the same equal-share picture
     * and floors as {@link #projectedEnds}, with what the moves that ended have taught it. {@code now} when nothing is
     * in flight or queued. A read: the estimates are not moved forward.
     */
    Instant projectedDrainEnd(Instant now, int slots, long... queued) {
        PrimitiveIterator.OfLong next = Arrays.stream(queued).iterator();
        double end = runForward(inFlight(now), Math.max(1, slots), t -> next.hasNext() ? starting(next.nextLong(), t) : null, true);
        return now.plusMillis((long) Math.ceil(end * 1000));
    }

    /** The moves in flight as the picture run forward from {@code now} starts them. */
    private List<Projected> inFlight(Instant now) {
        List<Projected> out = new ArrayList<>(moves.size());
        for (Move m : moves.values()) {
            out.add(new Projected(Math.max(0, Duration.between(now, m.transferFrom).toNanos() / 1e9), remainingAt(m, now),
                    Duration.between(now, floor(m)).toNanos() / 1e9));
        }
        return out;
    }

    /** A move of {@code memory} bytes started at {@code t} of the picture run forward. */
    private Projected starting(long memory, double t) {
        return new Projected(t + overhead, memory, t + floorSeconds(memory));
    }

    /** A move in the picture run forward; times in seconds from the start of the run. */
    private static final class Projected {
        final double copyFrom;
        /** Bytes left to copy; infinite for a move that never ends. */
        double left;
        final double floor;
        /** When it ends (its copy done, not before its floor), and when its slot takes the next move; -1 until it ends. */
        double end = -1, freeAt = -1;

        Projected(double copyFrom, double left, double floor) {
            this.copyFrom = copyFrom;
            this.left = left;
            this.floor = floor;
        }
    }

    /**
     * The equal-share picture run forward from 0 (now): the moves of {@code active} copy, those copying sharing the
     * link; a move ends when its copy is done, not before its floor, and frees its slot then ({@code floorHoldsSlot})
     * or as its copy is done. Free slots, up to {@code slots}, take {@code next} started at that time (null: none
     * left). Runs until every move that can end has ended, each with its {@link Projected#end}.
     *
     * @return the last end; 0 when none
     */
    private double runForward(List<Projected> active, int slots, DoubleFunction<Projected> next, boolean floorHoldsSlot) {
        double t = 0, last = 0, stream = config.expectedMigrationRate() * factor, link = config.expectedLinkBandwidth() * factor;
        fill(active, slots, next, t);
        for (int guard = 0; guard < 1_000_000; guard++) {
            int copying = 0, ending = 0;
            for (Projected a : active) {
                if (a.left < Double.POSITIVE_INFINITY) ending++;
                if (a.end < 0 && a.copyFrom <= t) copying++;
            }
            if (ending == 0) break;
            double rate = copying == 0 ? stream : Math.min(stream, link / copying);
            double step = Double.POSITIVE_INFINITY;
            for (Projected a : active) {
                if (a.end >= 0) step = Math.min(step, a.freeAt - t);
                else step = Math.min(step, a.copyFrom > t ? a.copyFrom - t : a.left / rate);
            }
            step = Math.max(0, step);
            for (Projected a : active) if (a.end < 0 && a.copyFrom <= t) a.left -= rate * step;
            t += step;
            for (Projected a : active) {
                if (a.end < 0 && a.copyFrom <= t && a.left <= 1) {
                    a.end = Math.max(t, a.floor);
                    a.freeAt = floorHoldsSlot ? a.end : t;
                }
            }
            for (var it = active.iterator(); it.hasNext(); ) {
                Projected a = it.next();
                if (a.end >= 0 && a.freeAt <= t) {
                    it.remove();
                    last = Math.max(last, a.end);
                }
            }
            fill(active, slots, next, t);
        }
        return last;
    }

    private static void fill(List<Projected> active, int slots, DoubleFunction<Projected> next, double t) {
        for (Projected p; active.size() < slots && (p = next.apply(t)) != null; ) active.add(p);
    }
}
