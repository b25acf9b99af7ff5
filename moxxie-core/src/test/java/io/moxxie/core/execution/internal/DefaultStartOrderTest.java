package io.moxxie.core.execution.internal;

import io.moxxie.core.execution.ExecutorConfig;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.model.Guest;
import io.moxxie.core.simulation.MigrationModel;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.MigrationCommand;
import io.moxxie.core.spi.TaskRef;
import io.moxxie.core.testing.TestClusters;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.function.Predicate;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The default start order: {@code always-on} guests first, largest first; then the largest and the smallest guest left
 * in turn, the turn carried from one refill to the next (one slot: nothing to keep apart). With every slot needed to fill
 * the link, a guest whose move would end together with a move holding a slot gives its turn to one that would not.
 */
class DefaultStartOrderTest {
    private static final long GIB = 1L << 30;
    private final DefaultStartOrder order = new DefaultStartOrder(ExecutorConfig.defaults(), 1, null);
    private final TreeSet<GuestProgress> queue = new TreeSet<>(order.queueOrder());

    private static GuestProgress guest(int vmid, long gib, boolean alwaysOn) {
        return new GuestProgress("d1", vmid, "vm-" + vmid, GuestType.QEMU, "hv7", "hv8", MigrationType.ONLINE, GuestState.PENDING,
                alwaysOn, false, true, gib * GIB, 0, null, null, null, null, null);
    }

    private List<Integer> walk() {
        StartOrder.Pass pass = order.pass(queue, List.of(), List.of());
        List<Integer> out = new ArrayList<>();
        while (pass.hasNext()) out.add(pass.next().vmid());
        return out;
    }

    /** One refill of one slot: the guest in line starts and leaves the queue. */
    private int startOne() {
        StartOrder.Pass pass = order.pass(queue, List.of(), List.of());
        GuestProgress g = pass.next();
        GuestProgress chosen = pass.choose(g, x -> true);
        assertThat(chosen).as("no spacing with one slot").isSameAs(g);
        pass.started(g, chosen);
        queue.remove(chosen);
        return chosen.vmid();
    }

    @Test
    void alwaysOnGuestsComeFirstLargestFirstThenTheLargestAndTheSmallestInTurn() {
        queue.addAll(List.of(guest(101, 16, false), guest(102, 12, false), guest(103, 8, false), guest(104, 2, false),
                guest(105, 1, false), guest(201, 4, true), guest(202, 8, true)));
        assertThat(walk()).containsExactly(202, 201, 101, 105, 102, 104, 103);
    }

    @Test
    void guestsOfOneSizeGoByVmid() {
        queue.addAll(List.of(guest(302, 4, false), guest(301, 4, false), guest(303, 4, false)));
        assertThat(queue).extracting(GuestProgress::vmid).containsExactly(301, 302, 303);
    }

    @Test
    void theTurnCarriesOverFromOneRefillToTheNext() {
        queue.addAll(List.of(guest(101, 16, false), guest(102, 12, false), guest(103, 8, false), guest(104, 2, false),
                guest(105, 1, false), guest(201, 4, true)));
        List<Integer> started = new ArrayList<>();
        while (!queue.isEmpty()) started.add(startOne());
        assertThat(started).containsExactly(201, 101, 105, 102, 104, 103);
    }

    @Test
    void whenAnotherGuestTakesTheSlotTheTurnGoesOnFromTheGuestInLine() {
        queue.addAll(List.of(guest(101, 16, false), guest(102, 12, false), guest(104, 2, false), guest(105, 1, false)));
        StartOrder.Pass pass = order.pass(queue, List.of(), List.of());
        GuestProgress inLine = pass.next();
        assertThat(inLine.vmid()).isEqualTo(101);
        GuestProgress other = queue.last();
        pass.started(inLine, other); // the smallest took the largest's slot: the largest's turn is spent, the small end is next
        queue.remove(other);
        assertThat(walk()).startsWith(104);
    }

    // ---------------------------------------------------------------- end spacing

    /**
     * The executor's defaults (a 1.1 GB/s link, 0.5 GB/s per stream, 5 s set-up: three streams fill the link, so a drain
     * of three slots needs every one) on a cluster whose links are exactly that, and the drain's watcher, which has seen
     * one move end (before, the picture is a guess and the order keeps no ends apart).
     */
    private static final class Spacing {
        final VirtualScheduler scheduler = new VirtualScheduler();
        final SimulatedCluster cluster = SimulatedCluster.builder(scheduler).model(new MigrationModel(1.1e9, 0.5e9, Duration.ofSeconds(5)))
                .node("hv7", 512 * GIB, 32).node("hv8", 512 * GIB, 32)
                .guest(TestClusters.qemu(900, "seen", "hv7", 1, "")).guest(TestClusters.qemu(901, "a", "hv7", 8, ""))
                .guest(TestClusters.qemu(902, "b", "hv7", 2, "")).guest(TestClusters.qemu(903, "c", "hv7", 1, "")).build();
        final MoveWatcher watcher;
        final DefaultStartOrder order;
        final TreeSet<GuestProgress> queue;

        Spacing(int concurrency, boolean precise, boolean seenAnEnd) {
            watcher = new MoveWatcher(Asyncs.noRetries(scheduler), cluster,
                    ExecutorConfig.defaults(), () -> false, precise, 1.0, f -> { });
            order = new DefaultStartOrder(ExecutorConfig.defaults(), concurrency, watcher);
            queue = new TreeSet<>(order.queueOrder());
            if (seenAnEnd) {
                moving(900);
                scheduler.runUntilIdle();
                assertThat(watcher.watching()).isEmpty();
            }
        }

        Spacing() {
            this(3, true, true);
        }

        /** Starts the move of {@code vmid} (in the cluster) now, followed by the watcher. */
        GuestProgress moving(int vmid) {
            Guest g = cluster.currentSnapshot().guest(vmid).orElseThrow();
            TaskRef task = cluster.migrate(new MigrationCommand(g, "hv8", MigrationType.ONLINE, false, Duration.ofMinutes(3)));
            GuestProgress p = GuestProgress.builder("d1", g).targetNode("hv8").migrationType(MigrationType.ONLINE).status(GuestState.IN_PROGRESS)
                    .attempts(1).taskId(task.id()).startedAt(scheduler.now()).build();
            watcher.watch(p, task, scheduler.now().plus(Duration.ofHours(1)), "limit");
            return p;
        }

        /** Which guest takes the slot of the guest first in line, any guest of the queue being allowed to. */
        int choose(List<GuestProgress> holdingSlots, List<GuestProgress> startingNow) {
            return choose(holdingSlots, startingNow, x -> true);
        }

        int choose(List<GuestProgress> holdingSlots, List<GuestProgress> startingNow, Predicate<GuestProgress> mayStartNow) {
            StartOrder.Pass pass = order.pass(queue, holdingSlots, startingNow);
            return pass.choose(pass.next(), mayStartNow).vmid();
        }
    }

    @Test
    void aGuestWhoseMoveWouldEndTogetherWithAMoveInFlightGivesItsTurnToTheSmallestThatWouldNot() {
        Spacing s = new Spacing();
        GuestProgress a = s.moving(901);
        s.queue.addAll(List.of(guest(101, 8, false), guest(102, 4, false), guest(103, 1, false), guest(104, 2, false)));
        // 101 and the 8 GiB move in flight would both copy at 0.5 GB/s from 5 s on and end together at 22.2 s; 103 (1 GiB)
        // would end at 7.1 s, 15 s apart.
        assertThat(s.choose(List.of(a), List.of())).isEqualTo(103);
        // Only guests that may start now are chosen: the next smallest that ends apart.
        assertThat(s.choose(List.of(a), List.of(), x -> x.vmid() != 103)).isEqualTo(104);
    }

    @Test
    void aGuestWhoseMoveWouldEndApartFromEveryMoveInFlightKeepsItsTurn() {
        Spacing s = new Spacing();
        GuestProgress c = s.moving(903);
        s.queue.addAll(List.of(guest(101, 8, false), guest(103, 1, false)));
        // The 1 GiB move in flight ends at 7.1 s, the 8 GiB one in line at 22.2 s.
        assertThat(s.choose(List.of(c), List.of())).isEqualTo(101);
    }

    @Test
    void whenNoGuestWouldEndApartTheOneThatWouldEndFarthestFromTheOthersStarts() {
        Spacing s = new Spacing();
        GuestProgress a = s.moving(901);
        GuestProgress b = s.moving(902);
        s.queue.addAll(List.of(guest(101, 8, false), guest(105, 3, false), guest(104, 2, false)));
        // Three copy at 0.37 GB/s from 5 s: the 2 GiB ones (in flight and 104) end together at 10.9 s; 101 with the 8 GiB
        // one in flight. 105 (3 GiB) ends at 13.0 s, 2.2 s after them: closer than the set-up and a quarter, but the farthest.
        assertThat(s.choose(List.of(a, b), List.of())).isEqualTo(105);
    }

    @Test
    void noMoreThanThirtyTwoSizesPastTheGuestInLineAreWeighed() {
        Spacing s = new Spacing();
        GuestProgress a = s.moving(901);
        GuestProgress c = s.moving(903);
        s.queue.addAll(List.of(guest(101, 8, false), guest(199, 5, false)));
        for (int k = 1; k <= 32; k++) {
            s.queue.add(new GuestProgress("d1", 300 + k, "vm-" + (300 + k), GuestType.QEMU, "hv7", "hv8", MigrationType.ONLINE,
                    GuestState.PENDING, false, false, true, GIB + k * (1L << 20), 0, null, null, null, null, null));
        }
        // 101 (8 GiB, in line) would end with the 8 GiB move in flight, the 32 guests a few MiB over 1 GiB with the 1 GiB
        // one (at 7.9 s, three streams at 0.37 GB/s). The 5 GiB guest would end apart (16.5 s, 6.4 s before the 8 GiB
        // ones), but it is the 33rd size walked from the small end: not weighed. Of those weighed, the one that would end
        // farthest from a move in flight starts: the largest of the 32.
        assertThat(s.choose(List.of(a, c), List.of())).isEqualTo(332);
        s.queue.remove(s.queue.stream().filter(g -> g.vmid() == 301).findFirst().orElseThrow());
        assertThat(s.choose(List.of(a, c), List.of())).as("the 5 GiB guest is the 32nd size").isEqualTo(199);
    }

    @Test
    void movesWhoseMigrationIsBeingStartedAndThoseStartingNowCountAsInFlight() {
        Spacing s = new Spacing();
        s.queue.addAll(List.of(guest(101, 8, false), guest(103, 1, false)));
        GuestProgress notFollowedYet = guest(701, 8, false);
        assertThat(s.choose(List.of(), List.of())).as("nothing in flight").isEqualTo(101);
        assertThat(s.choose(List.of(notFollowedYet), List.of())).as("a slot whose migrate call is under way").isEqualTo(103);
        assertThat(s.choose(List.of(), List.of(notFollowedYet))).as("a guest down for its move, starting in this pass").isEqualTo(103);
        // A guest started earlier in the same pass counts too.
        StartOrder.Pass pass = s.order.pass(s.queue, List.of(), List.of());
        GuestProgress first = pass.next();
        assertThat(pass.choose(first, x -> true)).isSameAs(first);
        pass.started(first, first);
        assertThat(pass.choose(guest(106, 8, false), x -> x != first).vmid()).isEqualTo(103);
    }

    @Test
    void anAlwaysOnGuestGivesItsTurnOnlyToAnotherAlwaysOnGuestTheLargestThatWouldEndApart() {
        Spacing s = new Spacing();
        GuestProgress a = s.moving(901);
        s.queue.addAll(List.of(guest(201, 8, true), guest(202, 8, true), guest(203, 4, true), guest(204, 2, true), guest(103, 1, false)));
        // 201 and 202 would end with the 8 GiB move in flight (22.2 s); 203 at 13.6 s, apart; 204 too, but smaller; the
        // 1 GiB guest is not always-on.
        assertThat(s.choose(List.of(a), List.of())).isEqualTo(203);
    }

    @Test
    void noEndsAreKeptApartBeforeAMoveEndedWithASingleSlotOrWhenNotEverySlotCounts() {
        for (Spacing s : List.of(new Spacing(3, true, false), new Spacing(1, true, true), new Spacing(3, false, true))) {
            GuestProgress a = s.moving(901);
            s.queue.addAll(List.of(guest(101, 8, false), guest(103, 1, false)));
            assertThat(s.choose(List.of(a), List.of())).isEqualTo(101);
        }
        Spacing two = new Spacing(2, true, true);
        GuestProgress a = two.moving(901);
        two.queue.addAll(List.of(guest(101, 8, false), guest(103, 1, false)));
        assertThat(two.choose(List.of(a), List.of())).as("two slots").isEqualTo(103);
    }
}
