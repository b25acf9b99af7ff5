package io.moxxie.core.service;

import io.moxxie.core.execution.DrainListener;
import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.Operation;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.MaintenanceStore;
import io.moxxie.core.spi.TransientHypervisorException;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.testing.DelegatingHypervisorClient;
import io.moxxie.core.testing.DelegatingMaintenanceStore;
import io.moxxie.core.testing.TestClusters;
import io.moxxie.core.testing.TestClusters.Env;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;

import static io.moxxie.core.testing.TestClusters.HV7_GUESTS;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The service's lifecycle (start, heartbeat, close) and the API an embedding application uses: handles, listeners, build checks. */
class MaintenanceServiceLifecycleTest {

    // ------------------------------------------------------------------ lifecycle

    @Test
    void buildingAServiceSchedulesNothingAndADrainNeedsItStarted() {
        VirtualScheduler scheduler = new VirtualScheduler();
        SimulatedCluster cluster = TestClusters.guideCluster(scheduler).build();
        MaintenanceService service = TestClusters.service(cluster, new InMemoryMaintenanceStore()).build();

        assertThat(scheduler.pending()).isZero();
        assertThat(service.isStarted()).isFalse();
        assertThat(service.plan(DrainRequest.soft("hv7")).moves()).as("reads need no start").isNotEmpty();
        assertThatThrownBy(() -> service.drain(DrainRequest.soft("hv7")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessage("MaintenanceService test-owner is not started: call start() before drain() (it also takes over drains"
                        + " that other instances leave)");
        assertThatThrownBy(() -> service.undrain("hv7")).isInstanceOf(IllegalStateException.class).hasMessageContaining("start()");

        service.start();
        service.start(); // again: nothing more
        assertThat(service.isStarted()).isTrue();
        assertThat(scheduler.pending()).as("one heartbeat").isEqualTo(1);
        service.close();
        service.close();
        assertThatThrownBy(service::start).isInstanceOf(IllegalStateException.class).hasMessageContaining("is closed");
        assertThatThrownBy(() -> service.drain(DrainRequest.soft("hv7"))).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("is closed");
    }

    @Test
    void closeStopsTheHeartbeatAndLeavesTheRunningDrainRecordedForAnotherInstance() {
        Env env = new Env(c -> c, s -> s.lease(Duration.ofSeconds(30)));
        String drainId = env.service.drain(DrainRequest.hard("hv7")).drainId();
        env.scheduler.runFor(Duration.ofSeconds(25));
        Instant lease = env.store.drain(drainId).orElseThrow().leaseExpiresAt();

        env.service.close();
        env.scheduler.runFor(Duration.ofMinutes(10));

        assertThat(env.store.drain(drainId).orElseThrow().status()).isEqualTo(DrainState.IN_PROGRESS);
        assertThat(env.store.drain(drainId).orElseThrow().leaseExpiresAt()).as("no heartbeat after close").isEqualTo(lease);
        assertThat(env.service.activeDrains()).isEmpty();
    }

    @Test
    void aStartedInstanceTakesOverADrainOrphanedLongAfterItStarted() {
        Env env = new Env(c -> c, s -> s.ownerId("first").lease(Duration.ofSeconds(30)));
        MaintenanceService second = TestClusters.service(env.cluster, env.store).ownerId("second").lease(Duration.ofSeconds(30)).build();
        second.start();
        env.scheduler.runFor(Duration.ofHours(2)); // second has been idle, beating, for a long time

        DrainHandle drain = env.service.drain(DrainRequest.hard("hv7"));
        env.scheduler.runFor(Duration.ofSeconds(25));
        env.service.close();
        Instant died = env.scheduler.now();

        assertThat(env.scheduler.runUntil(() -> !second.activeDrains().isEmpty(), Duration.ofSeconds(40)))
                .as("taken over within a lease and a heartbeat").isTrue();
        assertThat(Duration.between(died, env.scheduler.now())).isBetween(Duration.ofSeconds(20), Duration.ofSeconds(40));
        CompletableFuture<DrainStatus> done = second.handle("hv7", drain.drainId()).completion();
        env.runUntilIdle();
        assertThat(done).isCompletedWithValueMatching(s -> s.status() == DrainState.COMPLETED);
        for (int vmid : HV7_GUESTS) assertThat(env.cluster.successfulMigrations(vmid)).as("%s moved once", vmid).isEqualTo(1);
        second.close();
    }

    @Test
    void aHeartbeatBetweenRecordingADrainAndStartingItLeavesItToTheDrainCall() {
        VirtualScheduler scheduler = new VirtualScheduler();
        SimulatedCluster cluster = TestClusters.guideCluster(scheduler).build();
        // Heartbeats run after the drain is recorded and before it runs here, as they may on another thread in real time.
        HeartbeatsWhileStarting store = new HeartbeatsWhileStarting(new InMemoryMaintenanceStore(), scheduler, Duration.ofMinutes(2));
        List<String> runs = new ArrayList<>();
        DrainListener listener = new DrainListener() {
            @Override
            public void drainStarted(DrainStatus status) {
                runs.add(status.drainId());
            }
        };
        try (MaintenanceService service = TestClusters.service(cluster, store).listener(listener).build()) {
            service.start();
            DrainHandle drain = service.drain(DrainRequest.hard("hv7"));
            scheduler.runUntilIdle();

            assertThat(runs).as("the drain runs once").containsExactly(drain.drainId());
            assertThat(drain.completion()).isCompletedWithValueMatching(s -> s.status() == DrainState.COMPLETED);
            for (int vmid : HV7_GUESTS) {
                assertThat(cluster.migrations()).as("vm %s migrated once, by one run", vmid).filteredOn(m -> m.vmid() == vmid).hasSize(1);
            }
        }
    }

    // ------------------------------------------------------------------ handles

    @Test
    void aDrainsHandleCompletesWithItsFinalStatus() {
        Env env = new Env();
        DrainHandle drain = env.service.drain(DrainRequest.soft("hv7"));
        CompletableFuture<DrainStatus> done = drain.completion();

        assertThat(drain.operation()).isEqualTo(Operation.DRAIN);
        assertThat(drain.node()).isEqualTo("hv7");
        assertThat(drain.status().status()).isEqualTo(DrainState.IN_PROGRESS);
        assertThat(done).isNotDone();
        drain.completion().complete(null); // a caller's copy: the drain's own completion is untouched
        env.runUntilIdle();

        assertThat(done).isCompletedWithValueMatching(s -> s.status() == DrainState.COMPLETED && s.drainId().equals(drain.drainId()));
        assertThat(drain.status().status()).isEqualTo(DrainState.COMPLETED);
        assertThat(drain.completion()).as("asked after the end").isCompletedWithValueMatching(s -> s.status() == DrainState.COMPLETED);
        assertThat(env.service.handle("hv7", drain.drainId()).completion()).isCompletedWithValueMatching(s -> s.completedVMs() == 12 && s.skippedVMs() == 3); // 3 maint-ok guests stay

        DrainHandle undrain = env.service.undrain("hv7");
        assertThat(undrain.operation()).isEqualTo(Operation.UNDRAIN);
        env.runUntilIdle();
        assertThat(undrain.completion()).isCompletedWithValueMatching(s -> s.status() == DrainState.COMPLETED);
    }

    @Test
    void aHandleCancelsAndCompletesCancelled() {
        Env env = new Env();
        DrainHandle drain = env.service.drain(DrainRequest.hard("hv7"));
        env.scheduler.runFor(Duration.ofSeconds(10));
        drain.cancel();
        env.runUntilIdle();
        assertThat(drain.completion()).isCompletedWithValueMatching(s -> s.status() == DrainState.CANCELLED);
    }

    @Test
    void aDrainWithNothingToMoveHasAHandleAlreadyComplete() {
        Env env = new Env(c -> c.node("empty", 64 * TestClusters.GIB, 8), s -> s);
        DrainHandle drain = env.service.drain(DrainRequest.soft("empty"));
        assertThat(drain.completion()).isCompletedWithValueMatching(s -> s.status() == DrainState.COMPLETED && s.totalVMs() == 0);
        assertThat(env.service.activeDrains()).as("ended as it started: not listed as running").isEmpty();
    }

    @Test
    void closingTheServiceFailsTheCompletionsStillPendingButNotTheDrain() {
        Env env = new Env();
        DrainHandle drain = env.service.drain(DrainRequest.soft("hv7"));
        CompletableFuture<DrainStatus> done = drain.completion();
        env.scheduler.runFor(Duration.ofSeconds(10));

        env.service.close();

        assertThat(done).isCompletedExceptionally();
        assertThatThrownBy(done::get).isInstanceOf(ExecutionException.class).cause().isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("was closed before drain " + drain.drainId() + " finished");
        assertThat(env.store.drain(drain.drainId()).orElseThrow().status()).isEqualTo(DrainState.IN_PROGRESS);
    }

    @Test
    void aHandleOnADrainRunByAnotherInstanceCompletesAtTheHeartbeatAfterItEnds() {
        Env env = new Env();
        MaintenanceService other = TestClusters.service(env.cluster, env.store).ownerId("other").build();
        other.start();
        DrainHandle drain = env.service.drain(DrainRequest.soft("hv7"));
        CompletableFuture<DrainStatus> seenByOther = other.handle("hv7", drain.drainId()).completion();

        assertThat(env.scheduler.runUntil(() -> env.store.drain(drain.drainId()).orElseThrow().status().finished(), Duration.ofHours(1)))
                .isTrue();
        Instant ended = env.scheduler.now();
        assertThat(env.scheduler.runUntil(seenByOther::isDone, MaintenanceService.DEFAULT_LEASE)).isTrue();
        assertThat(Duration.between(ended, env.scheduler.now())).isLessThanOrEqualTo(MaintenanceService.DEFAULT_LEASE.dividedBy(3));
        assertThat(seenByOther).isCompletedWithValueMatching(s -> s.status() == DrainState.COMPLETED);
        other.close();
    }

    // ------------------------------------------------------------------ listeners

    @Test
    void aRemovedListenerHearsNothingMore() {
        List<String> heard = new ArrayList<>();
        DrainListener listener = new DrainListener() {
            @Override
            public void drainFinished(DrainStatus status) {
                heard.add(status.drainId());
            }
        };
        Env env = new Env(c -> c, s -> s.listener(listener));
        String first = env.service.drain(DrainRequest.soft("hv7")).drainId();
        env.runUntilIdle();
        env.service.removeListener(listener);
        env.service.undrain("hv7");
        env.runUntilIdle();
        assertThat(heard).containsExactly(first);
    }

    // ------------------------------------------------------------------ time

    @Test
    void aSchedulerOtherThanTheSimulatedClustersIsRefusedAtBuild() {
        VirtualScheduler clusterTime = new VirtualScheduler();
        SimulatedCluster cluster = TestClusters.guideCluster(clusterTime).build();
        VirtualScheduler another = new VirtualScheduler(Instant.parse("2030-01-01T00:00:00Z"));

        assertThatThrownBy(() -> MaintenanceService.builder(cluster, new InMemoryMaintenanceStore()).scheduler(another).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("scheduler must be the one SimulatedCluster runs on (VirtualScheduler at 2025-01-15T10:00:00Z), "
                        + "was another VirtualScheduler (at 2030-01-01T00:00:00Z)");
        try (MaintenanceService service = MaintenanceService.builder(cluster, new InMemoryMaintenanceStore()).build()) {
            assertThat(service.scheduler()).as("the default for a simulated cluster").isSameAs(clusterTime);
        }
    }

    @Test
    void aHeartbeatIntervalNotShorterThanTheLeaseIsRefused() {
        SimulatedCluster cluster = TestClusters.guideCluster(new VirtualScheduler()).build();
        assertThatThrownBy(() -> TestClusters.service(cluster, new InMemoryMaintenanceStore()).lease(Duration.ofSeconds(30))
                .heartbeatInterval(Duration.ofSeconds(30)).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("heartbeatInterval must be shorter than lease (PT30S), was PT30S");
    }

    @Test
    void planningRetriesWaitInTheSchedulersTimeSoTheyPassInVirtualTime() {
        VirtualScheduler scheduler = new VirtualScheduler();
        SimulatedCluster cluster = TestClusters.guideCluster(scheduler).build();
        FlakySnapshots flaky = new FlakySnapshots(cluster, 2);
        try (MaintenanceService service = MaintenanceService.builder(flaky, new InMemoryMaintenanceStore()).scheduler(scheduler)
                .planningRetryDelay(Duration.ofSeconds(10)).build()) {
            service.start();
            Instant before = scheduler.now();

            DrainHandle drain = service.drain(DrainRequest.soft("hv7"));

            assertThat(flaky.snapshots.get()).as("two failures, then a good read").isEqualTo(3);
            assertThat(Duration.between(before, scheduler.now())).as("10 s, then 20 s, of the scheduler's time")
                    .isEqualTo(Duration.ofSeconds(30));
            scheduler.runUntilIdle();
            assertThat(drain.completion()).isCompletedWithValueMatching(s -> s.status() == DrainState.COMPLETED);
        }
    }

    /** A store during whose {@code recordDrainStarted} (between recording a drain and running it) time passes. */
    private static final class HeartbeatsWhileStarting extends DelegatingMaintenanceStore {
        private final VirtualScheduler scheduler;
        private final Duration pause;

        HeartbeatsWhileStarting(MaintenanceStore store, VirtualScheduler scheduler, Duration pause) {
            super(store);
            this.scheduler = scheduler;
            this.pause = pause;
        }

        @Override
        public void recordDrainStarted(String node, String drainId, List<Integer> vmList, Instant at) {
            delegate.recordDrainStarted(node, drainId, vmList, at);
            scheduler.runFor(pause);
        }
    }

    /** The cluster, whose first {@code failures} snapshots fail transiently. */
    private static final class FlakySnapshots extends DelegatingHypervisorClient {
        private final int failures;
        final AtomicInteger snapshots = new AtomicInteger();

        FlakySnapshots(SimulatedCluster cluster, int failures) {
            super(cluster);
            this.failures = failures;
        }

        @Override
        public ClusterSnapshot snapshot() {
            if (snapshots.incrementAndGet() <= failures) throw new TransientHypervisorException("596 Connection timed out");
            return delegate.snapshot();
        }

        @Override
        public Optional<Guest> guest(int vmid) {
            return delegate.guest(vmid);
        }
    }
}
