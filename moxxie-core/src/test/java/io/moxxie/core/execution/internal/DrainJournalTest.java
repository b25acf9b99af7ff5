package io.moxxie.core.execution.internal;

import io.moxxie.core.execution.DrainListener;
import io.moxxie.core.execution.ExecutorConfig;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.model.Operation;
import io.moxxie.core.plan.DrainPlanner;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.spi.DrainRecord;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.testing.TestClusters;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A run's changes reach the store in the order the run made them, whichever of its threads hands them over: a thread
 * that made a change first and flushes last does not leave its older entry in the store.
 */
class DrainJournalTest {
    private final VirtualScheduler scheduler = new VirtualScheduler();
    private final InMemoryMaintenanceStore store = new InMemoryMaintenanceStore();
    private final Instant t0 = scheduler.now();
    private final ExecutorParts parts = new ExecutorParts(TestClusters.guideCluster(scheduler).build(), store, scheduler,
            DrainPlanner.defaults(), ExecutorConfig.defaults(), Set::of);
    private boolean abandoned;
    private int lostOwnership;
    private final DrainJournal journal = new DrainJournal(parts, "d1", "hv7", "me", () -> abandoned, () -> {
        lostOwnership++;
        abandoned = true;
    });

    private DrainRecord drain() {
        DrainRecord d = new DrainRecord("d1", "hv7", Operation.DRAIN, DrainRequest.hard("hv7"), DrainState.IN_PROGRESS, "Draining node hv7",
                t0, null, "me", t0.plus(Duration.ofSeconds(30)), false, null);
        store.createDrain(d, List.of(pending()));
        return d;
    }

    private static GuestProgress pending() {
        return new GuestProgress("d1", 100, "vm-100", GuestType.QEMU, "hv7", "hv8", MigrationType.ONLINE, GuestState.PENDING,
                false, false, true, 1L << 30, 0, null, null, null, null, null);
    }

    @Test
    void aChangeMadeFirstAndFlushedLastDoesNotOverwriteTheOneMadeAfterIt() {
        DrainRecord d = drain();
        GuestProgress requeued = pending().pendingAgain("hv9", MigrationType.ONLINE);
        GuestProgress started = requeued.started("hv9", MigrationType.ONLINE, 1, t0);

        // One thread requeues the guest (under the run's lock), another starts it right after and flushes first.
        journal.save(requeued);
        journal.write(d.withMessage("Progress: 0/1 completed"));
        journal.save(started);
        journal.write(d.withMessage("Progress: 0/1 completed, VM 100 migrating"));
        journal.flush();
        journal.flush();

        assertThat(store.guests("d1").get(0).status()).isEqualTo(GuestState.IN_PROGRESS);
        assertThat(store.guests("d1").get(0).targetNode()).isEqualTo("hv9");
        assertThat(store.drain("d1").orElseThrow().message()).isEqualTo("Progress: 0/1 completed, VM 100 migrating");
    }

    @Test
    void aChangeIsWrittenAtTheFlushAndNoneOnceTheRunIsAbandoned() {
        drain();
        journal.save(pending().started("hv8", MigrationType.ONLINE, 1, t0));
        assertThat(store.guests("d1").get(0).status()).isEqualTo(GuestState.PENDING);
        journal.flush();
        assertThat(store.guests("d1").get(0).status()).isEqualTo(GuestState.IN_PROGRESS);

        abandoned = true;
        journal.save(pending().failed("too late", t0));
        journal.write(store.drain("d1").orElseThrow().withMessage("too late"));
        journal.flush();

        assertThat(store.guests("d1").get(0).status()).isEqualTo(GuestState.IN_PROGRESS);
        assertThat(store.drain("d1").orElseThrow().message()).isEqualTo("Draining node hv7");
    }

    @Test
    void aWriteTheFenceRefusesGivesTheRunUpOnceAndNothingMoreIsWrittenOrTold() {
        DrainRecord d = drain();
        List<String> told = new ArrayList<>();
        parts.listeners().add(new DrainListener() {
            @Override
            public void guestFailed(String drainId, GuestProgress guest) {
                told.add("failed " + guest.vmid());
            }
        });
        store.takeOver("d1", "someone-else", t0.plusSeconds(31), t0.plusSeconds(61));

        journal.save(pending().started("hv8", MigrationType.ONLINE, 1, t0));
        journal.flush();
        assertThat(lostOwnership).isEqualTo(1);
        assertThat(abandoned).isTrue();

        journal.write(d.withMessage("too late"));
        journal.flush();
        journal.tell(l -> l.guestFailed("d1", pending()));
        assertThat(store.drain("d1").orElseThrow().message()).isEqualTo("Draining node hv7");
        assertThat(store.guests("d1").get(0).status()).isEqualTo(GuestState.PENDING);
        assertThat(told).isEmpty();
        assertThat(lostOwnership).isEqualTo(1);
    }

    @Test
    void aListenerThatThrowsDoesNotKeepTheOthersFromBeingTold() {
        List<String> told = new ArrayList<>();
        DrainListener broken = new DrainListener() {
            @Override
            public void guestFailed(String drainId, GuestProgress guest) {
                throw new IllegalStateException("listener bug");
            }
        };
        DrainListener working = new DrainListener() {
            @Override
            public void guestFailed(String drainId, GuestProgress guest) {
                told.add(drainId + " " + guest.vmid());
            }
        };
        parts.listeners().addAll(List.of(broken, working));
        journal.tell(l -> l.guestFailed("d1", pending()));
        assertThat(told).containsExactly("d1 100");
    }

    @Test
    void theEndIsReportedOnlyOnceTheStoreHoldsEveryChangeBeforeIt() {
        drain();
        List<String> reported = new ArrayList<>();
        assertThat(journal.storeBehind()).isFalse();
        journal.whenCaughtUp(() -> reported.add("caught up"));
        journal.save(pending().completed("hv8", t0));
        journal.afterWritten(() -> reported.add("ended"));
        assertThat(store.guests("d1").get(0).status()).isEqualTo(GuestState.COMPLETED);
        assertThat(reported).containsExactly("caught up", "ended");
    }
}
