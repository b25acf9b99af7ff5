package io.moxxie.core.service;

import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.execution.VmStatus;
import io.moxxie.core.model.Concurrency;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.PlacementRule.GuestAffinity;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.DrainRecord;
import io.moxxie.core.spi.MaintenanceStore;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.testing.DelegatingMaintenanceStore;
import io.moxxie.core.testing.TestClusters;
import io.moxxie.core.testing.TestClusters.Env;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;

import static io.moxxie.core.model.PlacementRule.Origin.HA_RULE;
import static io.moxxie.core.testing.TestClusters.GIB;
import static io.moxxie.core.testing.TestClusters.HV7_GUESTS;
import static io.moxxie.core.testing.TestClusters.ha;
import static io.moxxie.core.testing.TestClusters.qemu;
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
    /**
     * A drain of three HA guests kept apart by an HA rule (one of them away at a time), HA auto-rebalancing on, taken
     * over while the first moves: the new owner reads the cluster's rules before its first move, so the other two still
     * move one after the other, and its messages carry the rebalancing warning, once.
     */
    @Test
    void aTakenOverDrainKeepsTheClustersRulesFromItsFirstMove() {
        VirtualScheduler scheduler = new VirtualScheduler();
        SimulatedCluster cluster = SimulatedCluster.builder(scheduler).node("hv1", 256 * GIB, 32).node("hv2", 256 * GIB, 32)
                .node("hv3", 256 * GIB, 32).node("hv4", 256 * GIB, 32)
                .guest(ha(qemu(100, "db-0", "hv1", 64, ""))).guest(ha(qemu(101, "db-1", "hv1", 64, "")))
                .guest(ha(qemu(102, "db-2", "hv1", 64, "")))
                .rule(new GuestAffinity("db-spread", HA_RULE, Set.of(100, 101, 102), false)).haAutoRebalance(true).build();
        InMemoryMaintenanceStore store = new InMemoryMaintenanceStore();
        MaintenanceService first = TestClusters.service(cluster, store).ownerId("first").lease(LEASE).build();
        first.start();
        String drainId = first.drain(DrainRequest.builder("hv1").concurrency(Concurrency.fixed(3)).build()).drainId();
        scheduler.runFor(Duration.ofSeconds(5));
        assertThat(cluster.activeMigrations()).isEqualTo(1);
        first.close();

        MaintenanceService second = TestClusters.service(cluster, store).ownerId("second").lease(LEASE).build();
        second.start();
        assertThat(scheduler.runUntil(() -> store.drain(drainId).orElseThrow().owner().equals("second"), Duration.ofMinutes(5))).isTrue();
        scheduler.runFor(Duration.ofSeconds(1));
        String warning = "Warning: Proxmox HA auto-rebalancing is on: it may move HA guests back onto hv1";
        assertThat(cluster.activeMigrations()).as("db-0 still moving").isEqualTo(1);
        assertThat(List.of(second.status("hv1", drainId).message(), store.drain(drainId).orElseThrow().message()))
                .as("the taken-over drain's message, as stored and shown, says it once")
                .allSatisfy(m -> assertThat(m).contains(warning).containsOnlyOnce("auto-rebalancing"));
        assertThat(scheduler.runUntil(() -> second.status("hv1", drainId).status().finished(), Duration.ofHours(1))).isTrue();
        DrainStatus done = second.status("hv1", drainId);
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(cluster.peakConcurrentMigrations()).as("one member away at a time, under either owner").isEqualTo(1);
        assertThat(done.message()).startsWith("Drain of hv1 completed: 3 migrated").contains(warning).containsOnlyOnce("auto-rebalancing");
        second.close();
    }
}
