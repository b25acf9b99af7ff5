package io.moxxie.core.service;

import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.execution.ExecutorConfig;
import io.moxxie.core.model.Concurrency;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.simulation.MigrationModel;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.TaskRef;
import io.moxxie.core.spi.TaskState;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.testing.DelegatingHypervisorClient;
import io.moxxie.core.testing.TestClusters;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import static io.moxxie.core.testing.TestClusters.GIB;
import static io.moxxie.core.testing.TestClusters.qemu;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A guest to move offline that its shutdown does not bring down (the hypervisor's shutdown task ends, the guest runs
 * on): once the shutdown and power time limits have passed, the drain stops it and moves it, and it runs again on its
 * target; if even the stop does not take, the guest fails saying so and stays running where it was, and the drain goes on.
 */
class StubbornGuestTest {
    private static final Duration SHUTDOWN = Duration.ofSeconds(45);
    private static final Duration POWER = Duration.ofSeconds(30);

    private final VirtualScheduler scheduler = new VirtualScheduler();
    private final SimulatedCluster cluster = SimulatedCluster.builder(scheduler).model(MigrationModel.DEFAULT)
            .node("pve1", 64 * GIB, 16).node("pve2", 256 * GIB, 16)
            .guest(qemu(101, "stubborn", "pve1", 4, "maint-ok"))
            .guest(qemu(102, "obliging", "pve1", 4, "maint-ok"))
            .build();
    private final List<String> calls = new CopyOnWriteArrayList<>();

    /** The cluster seen through a client whose shutdowns (and, with {@code stopIgnored}, stops) of VM 101 do nothing. */
    private MaintenanceService service(boolean stopIgnored) {
        DelegatingHypervisorClient client = new DelegatingHypervisorClient(cluster) {
            @Override
            public TaskRef shutdown(Guest guest, Duration timeout) {
                calls.add(scheduler.now() + " shutdown " + guest.vmid());
                if (guest.vmid() == 101) return TaskRef.of("UPID:pve1:shutdown-ignored", "pve1");
                return super.shutdown(guest, timeout);
            }

            @Override
            public TaskRef stop(Guest guest) {
                calls.add(scheduler.now() + " stop " + guest.vmid());
                if (guest.vmid() == 101 && stopIgnored) return TaskRef.of("UPID:pve1:stop-ignored", "pve1");
                return super.stop(guest);
            }

            @Override
            public TaskState task(TaskRef task) {
                if (task.id().endsWith("-ignored")) return TaskState.ok("OK");
                return super.task(task);
            }
        };
        MaintenanceService service = TestClusters.service(cluster, client, new InMemoryMaintenanceStore())
                .executorConfig(ExecutorConfig.builder().shutdownTimeout(SHUTDOWN).powerTimeout(POWER).build()).build();
        service.start();
        return service;
    }

    /** A hard drain of pve1, one move at a time, through {@link #service}, run to its end: its final status. */
    private DrainStatus drainedHardOneAtATime(boolean stopIgnored) {
        MaintenanceService service = service(stopIgnored);
        String drainId = service.drain(DrainRequest.builder("pve1").mode(DrainMode.HARD).concurrency(Concurrency.serial()).build()).drainId();
        scheduler.runUntilIdle();
        return service.status("pve1", drainId);
    }

    @Test
    void aGuestItsShutdownDoesNotBringDownIsStoppedOnceTheLimitsHavePassedThenMovedAndStartedAgain() {
        DrainStatus done = drainedHardOneAtATime(false);
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(done.vm(101).status()).isEqualTo(GuestState.COMPLETED);
        Guest g = cluster.currentSnapshot().guest(101).orElseThrow();
        assertThat(g.node()).isEqualTo("pve2");
        assertThat(g.running()).isTrue();
        SimulatedCluster.MigrationRecord move = cluster.migrations().stream().filter(m -> m.vmid() == 101).findFirst().orElseThrow();
        assertThat(move.type()).isEqualTo(MigrationType.OFFLINE);
        Instant shutdownAt = at(calls.stream().filter(c -> c.endsWith(" shutdown 101")).findFirst().orElseThrow());
        Instant stopAt = at(calls.stream().filter(c -> c.endsWith(" stop 101")).findFirst().orElseThrow());
        assertThat(stopAt).as("stopped once the shutdown's and the power limit have passed")
                .isAfterOrEqualTo(shutdownAt.plus(SHUTDOWN).plus(POWER)).isBefore(shutdownAt.plus(SHUTDOWN).plus(POWER).plusSeconds(15));
        assertThat(move.startedAt()).isAfterOrEqualTo(stopAt);
        assertThat(calls).filteredOn(c -> c.endsWith(" stop 102")).as("a guest that shuts down is not stopped").isEmpty();
    }

    @Test
    void aGuestThatNeitherShutdownNorStopBringsDownFailsSayingSoAndRunsOnWhereItWas() {
        DrainStatus done = drainedHardOneAtATime(true);
        assertThat(done.status()).isEqualTo(DrainState.FAILED);
        assertThat(done.vm(101).status()).isEqualTo(GuestState.FAILED);
        assertThat(done.vm(101).error()).isEqualTo("VM 101 could not be stopped for its offline migration");
        Guest g = cluster.currentSnapshot().guest(101).orElseThrow();
        assertThat(g.node()).isEqualTo("pve1");
        assertThat(g.running()).isTrue();
        assertThat(cluster.migrations()).extracting(SimulatedCluster.MigrationRecord::vmid).containsExactly(102);
        assertThat(done.vm(102).status()).isEqualTo(GuestState.COMPLETED);
        assertThat(Set.copyOf(calls.stream().filter(c -> c.contains(" 101")).map(c -> c.substring(c.indexOf(' ') + 1)).toList()))
                .containsExactlyInAnyOrder("shutdown 101", "stop 101");
    }

    private static Instant at(String call) {
        return Instant.parse(call.substring(0, call.indexOf(' ')));
    }
}
