package io.moxxie.core.execution.internal;

import io.moxxie.core.execution.ExecutorConfig;
import io.moxxie.core.spi.GuestProgress;

import java.util.Comparator;
import java.util.List;
import java.util.NavigableSet;
import java.util.function.Predicate;

/**
 * Which queued guest takes a free migration slot: a drain's start-order rules, as one strategy. The run keeps its
 * queue sorted by {@link #queueOrder()}; each time slots are refilled it walks one {@link Pass} over the queue, and for
 * each guest that may start asks the pass whether another should start in its place. The run keeps the limits
 * (slots, per-target lanes, shutdowns ahead); the strategy only orders.
 *
 * <p>The default is {@link DefaultStartOrder}, the rules tuned on the benchmark (BENCHMARKS.md).
 *
 * <p>Threading: an instance serves one run, and the run calls it (and its passes) only under its lock; it may keep
 * state from one refill to the next.
 */
public interface StartOrder {
    /** The order of the queue: also the order in which guests already down for their offline move get slots. */
    Comparator<GuestProgress> queueOrder();

    /**
     * Begins one refill.
     *
     * @param queue        the pending guests, sorted by {@link #queueOrder()}; not changed while the pass is used
     * @param holdingSlots the guests whose moves hold a slot now
     * @param startingNow  guests already chosen to start in this refill (down for their offline move)
     */
    Pass pass(NavigableSet<GuestProgress> queue, List<GuestProgress> holdingSlots, List<GuestProgress> startingNow);

    /** One walk over the queue in start order. */
    interface Pass {
        boolean hasNext();

        /** The next guest in line. */
        GuestProgress next();

        /**
         * The guest to start in the slot {@code inLine} would take: {@code inLine}, or a guest that should go before it.
         *
         * @param mayStartNow which other queued guests could take that slot
         */
        GuestProgress choose(GuestProgress inLine, Predicate<GuestProgress> mayStartNow);

        /** {@code chosen}, returned by {@link #choose} for {@code inLine}, starts now. */
        void started(GuestProgress inLine, GuestProgress chosen);
    }

    /** Makes a run's strategy. */
    @FunctionalInterface
    interface Factory {
        /**
         * @param concurrency the moves the drain may run at once
         * @param watcher     the run's watcher, whose picture predicts when moves end
         */
        StartOrder create(ExecutorConfig config, int concurrency, MoveWatcher watcher);
    }
}
