package io.moxxie.core.execution.internal;

import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.model.NodeMaintenance;
import io.moxxie.core.model.Operation;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.spi.DrainRecord;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.ValidationException;
import io.moxxie.core.spi.StoreUnavailableException;
import io.moxxie.core.testing.DelegatingMaintenanceStore;
import io.moxxie.core.testing.OutageStore;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The journal keeps what the store could not take and writes it again, in order; a fenced write stops the drain's writes. */
class WriteBehindJournalTest {
    private final VirtualScheduler scheduler = new VirtualScheduler();
    private final InMemoryMaintenanceStore memory = new InMemoryMaintenanceStore();
    private final OutageStore store = new OutageStore(memory, scheduler::now);
    private final WriteBehindJournal journal = new WriteBehindJournal(store, scheduler);
    private final Instant t0 = scheduler.now();

    private DrainRecord drain(String id, String owner) {
        return drain(id, owner, "hv7");
    }

    private DrainRecord drain(String id, String owner, String node) {
        DrainRecord d = new DrainRecord(id, node, Operation.DRAIN, DrainRequest.hard(node), DrainState.IN_PROGRESS, "Draining node " + node,
                t0, null, owner, t0.plus(Duration.ofSeconds(30)), false, null);
        memory.createDrain(d, List.of(pending(id, 100), pending(id, 101)));
        return d;
    }

    private static GuestProgress pending(String drainId, int vmid) {
        return new GuestProgress(drainId, vmid, "vm-" + vmid, GuestType.QEMU, "hv7", "hv8", MigrationType.ONLINE, GuestState.PENDING,
                false, false, true, 1L << 30, 0, null, null, null, null, null);
    }

    private static final Runnable NOT_FENCED = () -> {
        throw new AssertionError("no write should be fenced");
    };

    @Test
    void aHealthyStoreHasTheChangeWhenTheCallReturns() {
        drain("d1", "me");
        GuestProgress started = pending("d1", 100).started("hv8", MigrationType.ONLINE, 1, t0);

        journal.guest(started, "me", NOT_FENCED);

        assertThat(memory.guests("d1").get(0).status()).isEqualTo(GuestState.IN_PROGRESS);
        assertThat(journal.outage()).isEmpty();
        assertThat(journal.pending()).isZero();
    }

    @Test
    void changesTheStoreCouldNotTakeAreKeptAndWrittenAgainInOrderOnceItIsBack() {
        DrainRecord d = drain("d1", "me");
        store.outage(t0, t0.plus(Duration.ofSeconds(60)));
        GuestProgress started = pending("d1", 100).started("hv8", MigrationType.ONLINE, 1, t0);
        List<String> reported = new ArrayList<>();

        journal.guest(started, "me", NOT_FENCED);
        journal.guest(started.withTask("UPID:hv7:1"), "me", NOT_FENCED);
        journal.guest(started.withTask("UPID:hv7:1").completed("hv8", t0.plusSeconds(20)), "me", NOT_FENCED);
        journal.maintenance("d1", "maintenance record", s -> s.saveMaintenance(NodeMaintenance.none("hv7", t0).enabled("patching", t0)));
        journal.drain(d.withStatus(DrainState.COMPLETED, "Drain of hv7 completed", t0.plusSeconds(21)), NOT_FENCED);
        journal.afterWritten("d1", () -> reported.add("end"));

        assertThat(journal.outage()).hasValueSatisfying(o -> {
            assertThat(o.since()).isEqualTo(t0);
            assertThat(o.reason()).contains("Cannot reach the database").contains("drain_guest");
            assertThat(o.pendingWrites()).isEqualTo(5);
        });
        assertThat(memory.guests("d1").get(0).status()).as("nothing written while down").isEqualTo(GuestState.PENDING);
        scheduler.runFor(Duration.ofSeconds(59));
        assertThat(reported).as("the end is not reported before the store holds it").isEmpty();
        assertThat(memory.drain("d1").orElseThrow().status()).isEqualTo(DrainState.IN_PROGRESS);
        assertThat(store.refused(OutageStore.Kind.GUEST)).as("tried again with backoff, the oldest change first").isGreaterThan(3);
        assertThat(store.refused(OutageStore.Kind.DRAIN)).as("never out of order").isZero();

        scheduler.runFor(Duration.ofSeconds(WriteBehindJournal.RETRY_MAX_DELAY.toSeconds() + 1));

        GuestProgress written = memory.guests("d1").get(0);
        assertThat(written.status()).as("the last change wins: written in order").isEqualTo(GuestState.COMPLETED);
        assertThat(written.taskId()).isEqualTo("UPID:hv7:1");
        assertThat(memory.maintenance("hv7").orElseThrow().reason()).isEqualTo("patching");
        assertThat(memory.drain("d1").orElseThrow().status()).isEqualTo(DrainState.COMPLETED);
        assertThat(reported).containsExactly("end");
        assertThat(journal.outage()).isEmpty();
        assertThat(journal.pending()).isZero();
    }

    @Test
    void aWriteRefusedByTheOwnershipFenceIsNotRepeatedAndDropsThatDrainsChangesOnly() {
        drain("mine", "me");
        DrainRecord other = drain("other", "me", "hv9");
        scheduler.runFor(Duration.ofSeconds(31));
        assertThat(memory.takeOver("mine", "someone-else", scheduler.now(), scheduler.now().plusSeconds(30))).isPresent();
        AtomicInteger fenced = new AtomicInteger();
        List<String> reported = new ArrayList<>();
        store.outage(scheduler.now(), scheduler.now().plusSeconds(5));

        journal.guest(pending("mine", 100).started("hv8", MigrationType.ONLINE, 1, t0), "me", fenced::incrementAndGet);
        journal.guest(pending("mine", 101).started("hv8", MigrationType.ONLINE, 1, t0), "me", fenced::incrementAndGet);
        journal.afterWritten("mine", () -> reported.add("mine ended"));
        journal.guest(pending("other", 100).started("hv9", MigrationType.ONLINE, 1, t0), "me", NOT_FENCED);
        journal.afterWritten("other", () -> reported.add("other written"));
        scheduler.runFor(Duration.ofSeconds(20));

        assertThat(fenced).as("stop: called once, the rest of that drain's changes dropped").hasValue(1);
        assertThat(memory.guests("mine")).allMatch(g -> g.status() == GuestState.PENDING);
        assertThat(memory.guests("other").get(0).status()).isEqualTo(GuestState.IN_PROGRESS);
        assertThat(reported).containsExactly("other written");
        assertThat(other.owner()).isEqualTo("me");
        assertThat(journal.pending()).isZero();
    }

    @Test
    void whenCaughtUpRunsAtOnceWhenHealthyAndAfterTheOutageOtherwise() {
        drain("d1", "me");
        List<String> runs = new ArrayList<>();
        journal.whenCaughtUp(() -> runs.add("healthy"));
        assertThat(runs).containsExactly("healthy");

        store.outage(t0, t0.plusSeconds(3));
        journal.guest(pending("d1", 100).withNote("x"), "me", NOT_FENCED);
        journal.whenCaughtUp(() -> runs.add("after"));
        assertThat(runs).containsExactly("healthy");
        scheduler.runUntilIdle();
        assertThat(runs).containsExactly("healthy", "after");
    }

    @Test
    void delaysAreChecked() {
        assertThatThrownBy(() -> new WriteBehindJournal(store, scheduler, Duration.ofSeconds(2), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxDelay");
    }

    /** A store that refuses every guest write until {@code until}, with {@code failure}, and notes when each was tried. */
    private final class Flaky extends DelegatingMaintenanceStore {
        final List<Long> tries = new ArrayList<>();
        Instant until = Instant.MIN;
        RuntimeException failure = new StoreUnavailableException("Cannot reach the database");

        Flaky() {
            super(memory);
        }

        @Override
        public boolean updateGuest(GuestProgress guest, String owner) {
            tries.add(Duration.between(t0, scheduler.now()).toSeconds());
            if (scheduler.now().isBefore(until)) throw failure;
            return delegate.updateGuest(guest, owner);
        }
    }

    @Test
    void aChangeIsWrittenAgainWithBackoffDoublingUpToTheLongestWaitAndTheNextOutageStartsFromTheFirstWaitAgain() {
        drain("d1", "me");
        Flaky flaky = new Flaky();
        WriteBehindJournal j = new WriteBehindJournal(flaky, scheduler, Duration.ofSeconds(1), Duration.ofSeconds(5));
        flaky.until = t0.plusSeconds(20);
        j.guest(pending("d1", 100).withNote("first"), "me", NOT_FENCED);
        scheduler.runFor(Duration.ofSeconds(2));
        j.guest(pending("d1", 101).withNote("handed over during the outage"), "me", NOT_FENCED);
        scheduler.runUntilIdle();
        assertThat(flaky.tries).as("a change handed over during the outage waits for the next attempt, after the first")
                .containsExactly(0L, 1L, 3L, 7L, 12L, 17L, 22L, 22L);
        assertThat(j.outage()).isEmpty();

        flaky.tries.clear();
        flaky.until = scheduler.now().plusSeconds(2);
        Instant second = scheduler.now();
        j.guest(pending("d1", 100).withNote("second"), "me", NOT_FENCED);
        scheduler.runUntilIdle();
        assertThat(flaky.tries).as("from the first wait again").containsExactly(22L, 23L, 25L);
        assertThat(second).isEqualTo(t0.plusSeconds(22));
        assertThat(memory.guests("d1").get(0).note()).isEqualTo("second");
    }

    @Test
    void theOutageSaysWhyWhenTheFailureHasNoMessageAndCountsOnlyChangesNotActions() {
        drain("d1", "me");
        Flaky flaky = new Flaky();
        flaky.failure = new IllegalStateException();
        flaky.until = t0.plusSeconds(5);
        WriteBehindJournal j = new WriteBehindJournal(flaky, scheduler);
        assertThat(j).hasToString("WriteBehindJournal[caught up]");

        j.guest(pending("d1", 100).withNote("x"), "me", NOT_FENCED);
        j.afterWritten("d1", () -> { });
        j.guest(pending("d1", 101).withNote("y"), "me", NOT_FENCED);

        assertThat(j.behind()).isTrue();
        assertThat(j.pending()).isEqualTo(2);
        assertThat(j.outage()).hasValueSatisfying(o -> {
            assertThat(o.reason()).isEqualTo("IllegalStateException");
            assertThat(o.pendingWrites()).isEqualTo(2);
            assertThat(o.since()).isEqualTo(t0);
        });
        assertThat(j).hasToString("WriteBehindJournal[behind since " + t0 + ", 2 waiting]");
        scheduler.runUntilIdle();
        assertThat(j.behind()).isFalse();
        assertThat(j.pending()).isZero();
    }

    @Test
    void aCallbackThatThrowsDoesNotStopTheWritesAfterIt() {
        drain("d1", "me");
        List<String> ran = new ArrayList<>();
        journal.afterWritten("d1", () -> {
            throw new IllegalStateException("listener bug");
        });
        journal.guest(pending("d1", 100).withNote("after the bad callback"), "me", NOT_FENCED);
        journal.afterWritten("d1", () -> ran.add("second"));
        assertThat(memory.guests("d1").get(0).note()).isEqualTo("after the bad callback");
        assertThat(ran).containsExactly("second");
    }

    @Test
    void aRefusedWriteIsNotTriedAgainAndItsCallerIsToldOnce() {
        drain("d1", "me");
        AtomicInteger fenced = new AtomicInteger();
        journal.guest(pending("d1", 100).withNote("not mine"), "someone-else", fenced::incrementAndGet);
        journal.guest(pending("d1", 101).withNote("mine"), "me", NOT_FENCED);
        scheduler.runUntilIdle();
        assertThat(fenced).hasValue(1);
        assertThat(memory.guests("d1")).extracting(GuestProgress::note).containsExactly(null, "mine");
        assertThat(journal.outage()).isEmpty();
    }

    @Test
    void itsPartsAreChecked() {
        assertThatThrownBy(() -> new WriteBehindJournal(null, scheduler)).isInstanceOfSatisfying(ValidationException.class,
                e -> assertThat(e.field()).isEqualTo("store"));
        assertThatThrownBy(() -> new WriteBehindJournal(store, null)).isInstanceOfSatisfying(ValidationException.class,
                e -> assertThat(e.field()).isEqualTo("scheduler"));
        assertThatThrownBy(() -> new WriteBehindJournal(store, scheduler, Duration.ZERO, Duration.ofSeconds(1)))
                .isInstanceOfSatisfying(ValidationException.class, e -> assertThat(e.field()).isEqualTo("initialDelay"));
        assertThatThrownBy(() -> new WriteBehindJournal(store, scheduler, Duration.ofSeconds(1), Duration.ZERO))
                .isInstanceOfSatisfying(ValidationException.class, e -> assertThat(e.field()).isEqualTo("maxDelay"));
        assertThat(new WriteBehindJournal(store, scheduler, Duration.ofSeconds(1), Duration.ofSeconds(1)).outage()).isEmpty();
    }

    @Test
    void aDrainRecordIsInTheStoreWhenTheCallReturnsAndOneTheFenceRefusesIsToldOnce() {
        DrainRecord d = drain("d1", "me");
        journal.drain(d.withMessage("Progress: 1/2 completed"), NOT_FENCED);
        assertThat(memory.drain("d1").orElseThrow().message()).isEqualTo("Progress: 1/2 completed");

        scheduler.runFor(Duration.ofSeconds(31));
        assertThat(memory.takeOver("d1", "someone-else", scheduler.now(), scheduler.now().plusSeconds(30))).isPresent();
        AtomicInteger fenced = new AtomicInteger();
        journal.drain(d.withMessage("Progress: 2/2 completed"), fenced::incrementAndGet);
        assertThat(fenced).hasValue(1);
        assertThat(memory.drain("d1").orElseThrow().message()).isNotEqualTo("Progress: 2/2 completed");
    }

    @Test
    void whatWaitsForTheStoreToCatchUpRunsOnceEvenAfterALaterOutage() {
        drain("d1", "me");
        List<String> runs = new ArrayList<>();
        store.outage(t0, t0.plusSeconds(3));
        journal.guest(pending("d1", 100).withNote("x"), "me", NOT_FENCED);
        journal.whenCaughtUp(() -> runs.add("first outage over"));
        scheduler.runUntilIdle();
        store.outage(scheduler.now(), scheduler.now().plusSeconds(3));
        journal.guest(pending("d1", 100).withNote("y"), "me", NOT_FENCED);
        scheduler.runUntilIdle();
        assertThat(runs).containsExactly("first outage over");
        assertThat(memory.guests("d1").get(0).note()).isEqualTo("y");
    }
}
