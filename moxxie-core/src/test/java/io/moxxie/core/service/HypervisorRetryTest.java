package io.moxxie.core.service;

import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.execution.ExecutorConfig;
import io.moxxie.core.execution.VmStatus;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.HypervisorException;
import io.moxxie.core.spi.TaskRef;
import io.moxxie.core.spi.TransientHypervisorException;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.testing.DelegatingHypervisorClient;
import io.moxxie.core.testing.TestClusters;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Hypervisor calls that fail transiently (a timeout, a 595) are retried with backoff — doubling from
 * {@code retryInitialDelay} up to {@code retryMaxDelay}, at most {@code maxRetries} times, in the scheduler's time — and
 * then the guest fails with the hypervisor's own message; a call that fails for good is not repeated.
 */
class HypervisorRetryTest {
    private static final ExecutorConfig RETRIES = ExecutorConfig.builder().maxRetries(3)
            .retryInitialDelay(Duration.ofSeconds(1)).retryMaxDelay(Duration.ofSeconds(3)).build();

    /** The cluster, with the next starts of one guest failing as told; every start of it recorded. */
    private static final class FlakyStarts extends DelegatingHypervisorClient {
        final SimulatedCluster cluster;
        final int vmid;
        final List<Supplier<RuntimeException>> failures = new ArrayList<>();
        final List<Instant> startCalls = new ArrayList<>();

        FlakyStarts(SimulatedCluster cluster, int vmid) {
            super(cluster);
            this.cluster = cluster;
            this.vmid = vmid;
        }

        @Override
        public TaskRef start(Guest guest) {
            if (guest.vmid() == vmid) {
                startCalls.add(cluster.scheduler().now());
                if (!failures.isEmpty()) throw failures.remove(0).get();
            }
            return cluster.start(guest);
        }
    }

    private static final class Env {
        final VirtualScheduler scheduler = new VirtualScheduler();
        final SimulatedCluster cluster = TestClusters.guideCluster(scheduler).build();
        final FlakyStarts client = new FlakyStarts(cluster, 8200);
        final MaintenanceService service = TestClusters.service(cluster, client, new InMemoryMaintenanceStore()).executorConfig(RETRIES)
                .build();

        Env() {
            // The always-on web-prod-01 is found stopped after its move: it must be started.
            cluster.stopAfterMigration(8200);
            service.start();
        }

        VmStatus drainAndWait() {
            DrainStatus s = service.drain(DrainRequest.soft("hv7")).status();
            scheduler.runUntilIdle();
            return service.status("hv7", s.drainId()).vm(8200);
        }
    }

    private static List<Duration> gaps(List<Instant> calls) {
        List<Duration> out = new ArrayList<>();
        for (int i = 1; i < calls.size(); i++) out.add(Duration.between(calls.get(i - 1), calls.get(i)));
        return out;
    }

    @Test
    void aTransientFailureIsRetriedWithDoublingBackoffUpToItsCapAndTheGuestEndsRunning() {
        Env env = new Env();
        for (int i = 0; i < 3; i++) env.client.failures.add(() -> new TransientHypervisorException("596 Connection timed out"));
        VmStatus v = env.drainAndWait();
        assertThat(v.status()).isEqualTo(GuestState.COMPLETED);
        assertThat(env.cluster.currentSnapshot().guest(8200).orElseThrow().running()).isTrue();
        assertThat(env.client.startCalls).hasSize(4);
        assertThat(gaps(env.client.startCalls)).containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(3));
    }

    @Test
    void whenTheRetriesAreSpentTheGuestFailsWithTheHypervisorsMessage() {
        Env env = new Env();
        for (int i = 0; i < 4; i++) env.client.failures.add(() -> new TransientHypervisorException("596 Connection timed out"));
        VmStatus v = env.drainAndWait();
        assertThat(v.status()).isEqualTo(GuestState.FAILED);
        assertThat(v.error()).isEqualTo("596 Connection timed out");
        assertThat(env.client.startCalls).as("one call and maxRetries retries").hasSize(4);
        assertThat(env.service.status("hv7", env.service.drains("hv7", 1).get(0).drainId()).status()).isEqualTo(DrainState.FAILED);
    }

    @Test
    void aFailureThatIsNotTransientIsNotRepeated() {
        Env env = new Env();
        env.client.failures.add(() -> new HypervisorException("VM 8200 is locked (backup)"));
        VmStatus v = env.drainAndWait();
        assertThat(v.status()).isEqualTo(GuestState.FAILED);
        assertThat(v.error()).isEqualTo("VM 8200 is locked (backup)");
        assertThat(env.client.startCalls).hasSize(1);
    }

    @Test
    void anUnexpectedErrorIsReportedWithItsKind() {
        Env env = new Env();
        env.client.failures.add(() -> new IllegalStateException("connection pool shut down"));
        VmStatus v = env.drainAndWait();
        assertThat(v.status()).isEqualTo(GuestState.FAILED);
        assertThat(v.error()).isEqualTo("IllegalStateException: connection pool shut down");
        assertThat(env.client.startCalls).hasSize(1);
    }
}
