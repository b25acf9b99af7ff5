package io.moxxie.core.execution.internal;

import io.moxxie.core.execution.ExecutorConfig;
import io.moxxie.core.spi.GuestProgress;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.NavigableSet;
import java.util.Set;
import java.util.function.Predicate;

/**
 * The start order tuned on the benchmark (BENCHMARKS.md), the executor's default {@link StartOrder}:
 * <ol>
 *   <li>{@code always-on} guests first, largest first;</li>
 *   <li>then the slots are filled alternately with the largest and the smallest guest left: the source's link is
 *       shared, and a large transfer keeps it busy while small moves spend their fixed overhead (setup, switch-over) —
 *       largest-first alone ends with a tail of small moves that leave the link idle;</li>
 *   <li>when every slot is needed to fill the link (2 &lt;= concurrency &lt;= {@link ExecutorConfig#streamsFillingLink()},
 *       maxConcurrent 2 or 3 with the defaults), a guest whose move would end together with a move in flight gives its
 *       turn to a smaller one that would not ({@link EndSpacing}).</li>
 * </ol>
 *
 * <p>Threading: as every {@link StartOrder}: one run's, used under its lock. The alternation carries over from one
 * refill to the next.
 */
public final class DefaultStartOrder implements StartOrder {
    /** {@code always-on} first, then larger memory first, then vmid. */
    static final Comparator<GuestProgress> EXECUTION_ORDER = Comparator.comparing((GuestProgress g) -> !g.alwaysOn())
            .thenComparing(Comparator.comparingLong(GuestProgress::memory).reversed())
            .thenComparingInt(GuestProgress::vmid);

    private final ExecutorConfig config;
    private final MoveWatcher watcher;
    /** Whether a start keeps the moves' ends apart: only when every slot is needed to fill the link. */
    private final boolean spaceEnds;
    private boolean takeSmallNext;

    public DefaultStartOrder(ExecutorConfig config, int concurrency, MoveWatcher watcher) {
        this.config = config;
        this.watcher = watcher;
        this.spaceEnds = concurrency >= 2 && watcher.everySlotCounts();
    }

    @Override
    public Comparator<GuestProgress> queueOrder() {
        return EXECUTION_ORDER;
    }

    @Override
    public Pass pass(NavigableSet<GuestProgress> queue, List<GuestProgress> holdingSlots, List<GuestProgress> startingNow) {
        EndSpacing spacing = spaceEnds && watcher.endsFollowMemory() ? new EndSpacing(queue, holdingSlots, startingNow) : null;
        return new Alternation(queue, spacing);
    }

    /**
     * The queue in start order without copying it: {@code always-on} guests from the large end, then the other guests
     * from the large and the small end in turn, two iterators meeting in the middle.
     */
    private final class Alternation implements Pass {
        private final Iterator<GuestProgress> up;
        private final Iterator<GuestProgress> down;
        private final int total;
        private final EndSpacing spacing;
        private GuestProgress upNext;
        private GuestProgress downNext;
        private int taken;
        private boolean small;
        private boolean lastFromSmall;

        Alternation(NavigableSet<GuestProgress> queue, EndSpacing spacing) {
            this.up = queue.iterator();
            this.down = queue.descendingIterator();
            this.total = queue.size();
            this.upNext = up.hasNext() ? up.next() : null;
            this.downNext = down.hasNext() ? down.next() : null;
            this.small = takeSmallNext;
            this.spacing = spacing;
        }

        @Override
        public boolean hasNext() {
            return taken < total;
        }

        @Override
        public GuestProgress next() {
            GuestProgress g;
            lastFromSmall = small && !upNext.alwaysOn();
            if (lastFromSmall) {
                g = downNext;
                downNext = down.hasNext() ? down.next() : null;
            } else {
                g = upNext;
                upNext = up.hasNext() ? up.next() : null;
            }
            taken++;
            if (!g.alwaysOn()) small = !small;
            return g;
        }

        @Override
        public GuestProgress choose(GuestProgress inLine, Predicate<GuestProgress> mayStartNow) {
            return spacing == null ? inLine : spacing.choose(inLine, mayStartNow);
        }

        @Override
        public void started(GuestProgress inLine, GuestProgress chosen) {
            if (spacing != null) spacing.add(chosen);
            // The alternation goes on from the guest in line, whoever took its slot.
            if (!inLine.alwaysOn()) takeSmallNext = !lastFromSmall;
        }
    }

    /**
     * Keeps the moves' ends apart. Each move begins with a fixed overhead (setup) during which its slot copies nothing,
     * and a move starts when another ends: moves that end close together make their successors' overheads overlap.
     * When the drain has no more slots than the streams that fill the source's link (maxConcurrent 3 with the
     * defaults), two slots in their overhead at once leave the link half idle.
     *
     * <p>So the guest in line starts only if its move is predicted to end at least the overhead and a quarter apart
     * from every move holding a slot (the watcher's picture run forward: {@link MoveWatcher#projectedEnds}). If not,
     * the smallest guest whose move would end apart starts in its place — the guest in line keeps its turn for the
     * next slot — or, if none would, the guest whose move would end farthest from the others. {@code always-on} guests
     * stay first: among them, the largest that would end apart. Small moves are predicted well and fit between the
     * ends of the long ones; without this, moves of similar sizes started together end together, again and again.
     *
     * <p>Used once moves of the drain have ended and taken time by their memory: before, the picture is a guess; where
     * every move takes about as long whatever its size, choosing by size changes nothing.
     */
    private final class EndSpacing {
        /** Sizes looked at past the guest in line, at most: guests of one size end together. */
        private static final int MAX_SIZES = 32;
        private final NavigableSet<GuestProgress> queue;
        /** How far apart ends must be: the overhead and a quarter (an end is noticed a moment after it, and the picture is rough). */
        private final Duration apart = config.expectedMigrationOverhead().multipliedBy(5).dividedBy(4);
        /** Memory of the moves holding a slot that the watcher does not follow yet, and of those starting now. */
        private final List<Long> notWatched = new ArrayList<>();

        EndSpacing(NavigableSet<GuestProgress> queue, List<GuestProgress> holdingSlots, List<GuestProgress> startingNow) {
            this.queue = queue;
            Set<Integer> watched = watcher.watching();
            for (GuestProgress g : holdingSlots) {
                if (!watched.contains(g.vmid())) notWatched.add(g.memory());
            }
            for (GuestProgress g : startingNow) notWatched.add(g.memory());
        }

        /** {@code inLine}, or the guest that should go before it (see above); {@code eligible}: guests that may start now. */
        GuestProgress choose(GuestProgress inLine, Predicate<GuestProgress> eligible) {
            Duration bestGap = gap(inLine);
            if (bestGap.compareTo(apart) >= 0) return inLine;
            GuestProgress best = inLine;
            // always-on guests come first in the queue, largest first: walked from their large end; the others from the small end.
            Iterator<GuestProgress> it = inLine.alwaysOn() ? queue.iterator() : queue.descendingIterator();
            long lastMemory = inLine.memory();
            for (int sizes = 0; it.hasNext() && sizes < MAX_SIZES; ) {
                GuestProgress x = it.next();
                if (x.alwaysOn() != inLine.alwaysOn()) break;
                if (x == inLine || !eligible.test(x) || x.memory() == lastMemory) continue;
                lastMemory = x.memory();
                sizes++;
                Duration gap = gap(x);
                if (gap.compareTo(apart) >= 0) return x;
                if (gap.compareTo(bestGap) > 0) {
                    best = x;
                    bestGap = gap;
                }
            }
            return best;
        }

        /** How far from the nearest predicted end of a move holding a slot {@code g}'s move would end if started now. */
        private Duration gap(GuestProgress g) {
            long[] memory = new long[notWatched.size() + 1];
            memory[0] = g.memory();
            for (int i = 0; i < notWatched.size(); i++) memory[i + 1] = notWatched.get(i);
            List<Instant> ends = watcher.projectedEnds(memory);
            Duration nearest = Duration.ofDays(1);
            for (int i = 1; i < ends.size(); i++) {
                Duration d = Duration.between(ends.get(i), ends.get(0)).abs();
                if (d.compareTo(nearest) < 0) nearest = d;
            }
            return nearest;
        }

        void add(GuestProgress started) {
            notWatched.add(started.memory());
        }
    }
}
