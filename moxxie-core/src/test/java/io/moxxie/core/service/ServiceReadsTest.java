package io.moxxie.core.service;

import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.execution.ExecutorConfig;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.model.PowerState;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.HypervisorException;
import io.moxxie.core.spi.TransientHypervisorException;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.testing.DelegatingHypervisorClient;
import io.moxxie.core.testing.TestClusters;
import io.moxxie.core.testing.TestClusters.Env;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The service's reads of the cluster and its guest operations: a read made while planning tried again as configured
 * (and no more), a locked guest not asked about (Proxmox refuses while it is locked), tags and power changes reaching
 * the cluster, and the heartbeat at the interval asked for.
 */
class ServiceReadsTest {

    /** The cluster, whose next {@code failures} snapshots fail transiently. */
    private static final class FlakySnapshots extends DelegatingHypervisorClient {
        volatile int failures;
        final AtomicInteger reads = new AtomicInteger();

        FlakySnapshots(SimulatedCluster cluster) {
            super(cluster);
        }

        @Override
        public ClusterSnapshot snapshot() {
            reads.incrementAndGet();
            if (failures > 0) {
                failures--;
                throw new TransientHypervisorException("596 Connection timed out");
            }
            return delegate.snapshot();
        }
    }

    @Test
    void aPlanningReadIsTriedAgainUpToMaxRetriesWaitingTwiceAsLongEachTimeUpToEightTimesTheFirstWait() {
        VirtualScheduler scheduler = new VirtualScheduler();
        SimulatedCluster cluster = TestClusters.guideCluster(scheduler).build();
        FlakySnapshots flaky = new FlakySnapshots(cluster);
        MaintenanceService service = MaintenanceService.builder(flaky, new InMemoryMaintenanceStore()).scheduler(scheduler)
                .executorConfig(ExecutorConfig.builder().maxRetries(6).build()).planningRetryDelay(Duration.ofSeconds(1)).build();

        flaky.failures = 6;
        Instant before = scheduler.now();
        assertThat(service.plan(DrainRequest.soft("hv7")).moves()).isNotEmpty();
        assertThat(flaky.reads).hasValue(7);
        assertThat(Duration.between(before, scheduler.now())).as("1 + 2 + 4 + 8 + 8 + 8 s").isEqualTo(Duration.ofSeconds(31));

        flaky.failures = 7;
        flaky.reads.set(0);
        assertThatThrownBy(() -> service.plan(DrainRequest.soft("hv7"))).isInstanceOf(TransientHypervisorException.class);
        assertThat(flaky.reads).as("the first read and six retries").hasValue(7);
    }

    @Test
    void aLockedGuestIsNotAskedAboutWhilePlanning() {
        VirtualScheduler scheduler = new VirtualScheduler();
        SimulatedCluster cluster = TestClusters.guideCluster(scheduler).build();
        cluster.lock(8210, "backup");
        AtomicInteger asked = new AtomicInteger();
        DelegatingHypervisorClient proxmox = new DelegatingHypervisorClient(cluster) {
            @Override
            public MigrationPreconditions preconditions(Guest guest) {
                asked.incrementAndGet();
                if (guest.lock() != null) throw new HypervisorException("VM " + guest.vmid() + " is locked (" + guest.lock() + ")");
                return delegate.preconditions(guest);
            }
        };
        MaintenanceService service = TestClusters.service(cluster, proxmox, new InMemoryMaintenanceStore()).build();
        assertThat(service.plan(DrainRequest.hard("hv7")).moves()).extracting(e -> e.vmid()).contains(8210);
        assertThat(asked).as("every guest but the locked one").hasValue(TestClusters.HV7_GUESTS.size() - 1);
        asked.set(0);
        service.plan(DrainRequest.soft("hv7"));
        assertThat(asked.get()).as("the guests a soft drain leaves are not asked about either")
                .isLessThan(TestClusters.HV7_GUESTS.size() - 1);
    }

    @Test
    void tagsSetThroughTheServiceReachTheCluster() {
        Env env = new Env();
        Guest g = env.service.setTags(8210, "always-on, env-prod");
        assertThat(g.tags()).containsExactly("always-on", "env-prod");
        assertThat(env.guest(8210).tags()).containsExactly("always-on", "env-prod");
    }

    @Test
    void aGuestStoppedThroughTheServiceIsStopped() {
        Env env = new Env();
        assertThat(env.service.stopGuest(8210)).isNotNull();
        env.runUntilIdle();
        assertThat(env.guest(8210).status()).isEqualTo(PowerState.STOPPED);
        assertThat(env.service.startGuest(8210)).isNotNull();
        env.runUntilIdle();
        assertThat(env.guest(8210).status()).isEqualTo(PowerState.RUNNING);
    }

    @Test
    void theHeartbeatComesAtTheIntervalAskedFor() {
        VirtualScheduler scheduler = new VirtualScheduler();
        SimulatedCluster cluster = TestClusters.guideCluster(scheduler).build();
        InMemoryMaintenanceStore store = new InMemoryMaintenanceStore();
        MaintenanceService owner = TestClusters.service(cluster, store).ownerId("owner").lease(Duration.ofSeconds(60))
                .heartbeatInterval(Duration.ofSeconds(5)).build();
        MaintenanceService other = TestClusters.service(cluster, store).ownerId("other").build();
        owner.start();
        String drainId = owner.drain(DrainRequest.hard("hv7")).drainId();
        scheduler.runFor(Duration.ofSeconds(12));
        Instant asked = scheduler.now();
        other.cancel("hv7", drainId);
        scheduler.runUntil(() -> owner.status("hv7", drainId).vmStatus().stream()
                .anyMatch(v -> "not started: drain cancelled".equals(v.note())), Duration.ofMinutes(1));
        assertThat(Duration.between(asked, scheduler.now())).as("seen at the next 5 s heartbeat, not at a third of the lease")
                .isLessThanOrEqualTo(Duration.ofSeconds(5));
        assertThat(store.drain(drainId).orElseThrow().leaseExpiresAt()).isEqualTo(Instant.parse("2025-01-15T10:00:15Z").plusSeconds(60));
        scheduler.runUntilIdle();
        assertThat(owner.status("hv7", drainId).status()).isEqualTo(DrainState.CANCELLED);
        owner.close();
    }

    @Test
    void aHandleCancelsAndAnswersTheStatusNamingItsDrain() {
        Env env = new Env();
        DrainHandle h = env.service.drain(DrainRequest.hard("hv7"));
        env.scheduler.runFor(Duration.ofSeconds(10));
        DrainStatus s = h.cancel();
        assertThat(s.drainId()).isEqualTo(h.drainId());
        assertThat(h.toString()).contains(h.drainId()).contains("hv7");
        env.runUntilIdle();
        assertThat(h.status().status()).isEqualTo(DrainState.CANCELLED);
    }
}
