package io.moxxie.core.service;

import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.execution.VmStatus;
import io.moxxie.core.model.Concurrency;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.spi.DrainRecord;
import io.moxxie.core.spi.MaintenanceStore;
import io.moxxie.core.testing.DelegatingMaintenanceStore;
import io.moxxie.core.testing.TestClusters;
import io.moxxie.core.testing.TestClusters.Env;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;

import static io.moxxie.core.testing.TestClusters.HV7_GUESTS;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A drain whose process died is finished by the instance that takes it over, and what that instance reports is what
 * happened: a guest that was migrating when its owner died ends {@code completed} on the node it went to (not left
 * {@code in_progress} in a drain called completed); a drain cancelled while nobody owned it starts nothing more, sees
 * the moves already under way through, and says which guests never started.
 */
class TakeoverTest {
    private static final Duration LEASE = Duration.ofSeconds(30);

    /** The guide's cluster, hv7 draining three at a time, its owner dead 25 s in with moves in flight. */
    private static final class DeadOwner {
        final Env env = new Env(c -> c, s -> s.ownerId("first").lease(LEASE));
        final DrainStatus drain = env.service.drain(DrainRequest.builder("hv7").mode(DrainMode.HARD)
                .concurrency(Concurrency.fixed(3)).build()).status();
        final List<Integer> inFlightAtDeath;
        final Instant diedAt;

        DeadOwner() {
            env.scheduler.runFor(Duration.ofSeconds(25));
            inFlightAtDeath = env.service.status("hv7", drain.drainId()).vmStatus().stream()
                    .filter(v -> v.status() == GuestState.IN_PROGRESS).map(VmStatus::vmid).toList();
            assertThat(inFlightAtDeath).as("moves in flight when the owner dies").isNotEmpty();
            diedAt = env.scheduler.now();
            env.service.close(); // dies: nothing more is written
        }

        MaintenanceService second() {
            MaintenanceService second = TestClusters.service(env.cluster, env.store).ownerId("second").lease(LEASE).build();
            second.start();
            return second;
        }

        DrainStatus runToEnd(MaintenanceService second) {
            assertThat(env.scheduler.runUntil(() -> second.status("hv7", drain.drainId()).status().finished(), Duration.ofHours(1)))
                    .as("the drain ends under its new owner").isTrue();
            return second.status("hv7", drain.drainId());
        }
    }

    @Test
    void aGuestMigratingWhenItsOwnerDiedEndsCompletedWhereItWentUnderTheNewOwner() {
        DeadOwner d = new DeadOwner();
        MaintenanceService second = d.second();
        DrainStatus done = d.runToEnd(second);

        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(done.message()).isEqualTo("Drain of hv7 completed: 15 migrated, 0 skipped, 0 failed");
        assertThat(done.completedVMs()).isEqualTo(15);
        for (int vmid : HV7_GUESTS) {
            VmStatus v = done.vm(vmid);
            assertThat(v.status()).as("entry of %s", vmid).isEqualTo(GuestState.COMPLETED);
            assertThat(v.targetNode()).as("recorded target of %s", vmid).isEqualTo(d.env.nodeOf(vmid)).isNotEqualTo("hv7");
            assertThat(d.env.cluster.successfulMigrations(vmid)).as("%s moved once", vmid).isEqualTo(1);
        }
        // The guests the dead owner had under way were not started again: their one move is the one it began.
        for (int vmid : d.inFlightAtDeath) {
            assertThat(d.env.cluster.migrations()).filteredOn(m -> m.vmid() == vmid)
                    .allSatisfy(m -> assertThat(m.startedAt()).isBefore(d.diedAt));
        }
        second.close();
    }

    @Test
    void aDrainCancelledWhileNobodyOwnsItStartsNothingMoreAndSaysWhichGuestsNeverStarted() {
        DeadOwner d = new DeadOwner();
        MaintenanceService second = d.second();
        // Asked through the surviving instance before the dead owner's lease runs out: it can only record the request.
        DrainStatus answer = second.cancel("hv7", d.drain.drainId());
        assertThat(answer.status()).isEqualTo(DrainState.IN_PROGRESS);
        DrainStatus done = d.runToEnd(second);

        assertThat(done.status()).isEqualTo(DrainState.CANCELLED);
        assertThat(d.env.cluster.migrations()).as("moves started after the owner died")
                .allSatisfy(m -> assertThat(m.startedAt()).isBefore(d.diedAt));
        List<Integer> leftOnHv7 = HV7_GUESTS.stream().filter(vmid -> d.env.nodeOf(vmid).equals("hv7")).toList();
        assertThat(leftOnHv7).as("guests never started").isNotEmpty();
        for (int vmid : leftOnHv7) {
            VmStatus v = done.vm(vmid);
            assertThat(v.status()).as("entry of %s", vmid).isEqualTo(GuestState.PENDING);
            assertThat(v.note()).isEqualTo("not started: drain cancelled");
        }
        for (int vmid : d.inFlightAtDeath) {
            assertThat(done.vm(vmid).status()).as("entry of %s, migrating at the death", vmid).isEqualTo(GuestState.COMPLETED);
            assertThat(done.vm(vmid).targetNode()).isEqualTo(d.env.nodeOf(vmid));
        }
        long moved = HV7_GUESTS.size() - leftOnHv7.size();
        assertThat(done.message()).isEqualTo("Drain of hv7 cancelled: " + moved + " migrated, 0 skipped, 0 failed, "
                + leftOnHv7.size() + " not started");
        second.close();
    }

    @Test
    void anInstanceClosedWhileItTakesADrainOverDoesNotRunItAndTheNextInstanceFinishesIt() {
        DeadOwner d = new DeadOwner();
        AtomicReference<MaintenanceService> closing = new AtomicReference<>();
        // close() comes from another thread just as the store hands the drain over.
        MaintenanceStore racing = new DelegatingMaintenanceStore(d.env.store) {
            @Override
            public Optional<DrainRecord> takeOver(String drainId, String newOwner, Instant now, Instant leaseExpiresAt) {
                Optional<DrainRecord> taken = delegate.takeOver(drainId, newOwner, now, leaseExpiresAt);
                closing.get().close();
                return taken;
            }
        };
        MaintenanceService second = TestClusters.service(d.env.cluster, racing).ownerId("second").lease(LEASE).build();
        closing.set(second);
        second.start();
        assertThat(second.activeDrains()).isEmpty();
        Instant closed = d.env.scheduler.now();
        d.env.scheduler.runFor(Duration.ofMinutes(5));
        assertThat(d.env.cluster.migrations()).as("moves started by the closed instance").noneMatch(m -> m.startedAt().isAfter(closed));

        MaintenanceService third = TestClusters.service(d.env.cluster, d.env.store).ownerId("third").lease(LEASE).build();
        third.start();
        assertThat(third.activeDrains()).as("its lease taken by the closed one has run out").hasSize(1);
        DrainStatus done = d.runToEnd(third);
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        for (int vmid : HV7_GUESTS) assertThat(d.env.cluster.successfulMigrations(vmid)).as("%s moved once", vmid).isEqualTo(1);
        third.close();
    }
}
