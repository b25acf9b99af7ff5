package io.moxxie.core.execution.internal;

import io.moxxie.core.execution.ExecutorConfig;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.spi.GuestProgress;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The default start order without end spacing (one slot: nothing to keep apart): {@code always-on} guests first, largest
 * first; then the largest and the smallest guest left in turn, the turn carried from one refill to the next.
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
}
