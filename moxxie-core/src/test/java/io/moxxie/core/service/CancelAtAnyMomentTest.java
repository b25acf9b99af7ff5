package io.moxxie.core.service;

import io.moxxie.core.model.Concurrency;
import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.execution.VmStatus;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.PowerState;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.simulation.MigrationModel;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static io.moxxie.core.testing.TestClusters.GIB;
import static io.moxxie.core.testing.TestClusters.lxc;
import static io.moxxie.core.testing.TestClusters.qemu;
import static io.moxxie.core.testing.TestClusters.stoppedQemu;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A cancel may come at any moment of a drain: while guests wait, migrate, shut down for an offline move, are started
 * again, or are being put back for a retry on another target. Whenever it comes, the drain ends {@code cancelled} once
 * the moves in flight end, with no guest left {@code in_progress}, no guest left shut down, none moved twice, and the
 * store (what the status shows once the drain is over) telling the same story as the cluster.
 */
class CancelAtAnyMomentTest {
    private static final Pattern CANCELLED = Pattern.compile(
            "Drain of pve1 cancelled: (\\d+) migrated, (\\d+) skipped, (\\d+) failed, (\\d+) not started");

    /** pve1 to drain (hard): always-on, plain, maint-ok (offline move), stopped, a container, a guest whose first move fails. */
    static final class Small {
        final VirtualScheduler scheduler = new VirtualScheduler();
        final SimulatedCluster cluster;
        final InMemoryMaintenanceStore store = new InMemoryMaintenanceStore();
        final MaintenanceService service;

        Small() {
            cluster = SimulatedCluster.builder(scheduler).model(MigrationModel.DEFAULT)
                    .node("pve1", 64 * GIB, 16).node("pve2", 64 * GIB, 16).node("pve3", 64 * GIB, 16)
                    .guest(qemu(101, "web", "pve1", 4, "always-on"))
                    .guest(qemu(102, "app", "pve1", 8, ""))
                    .guest(qemu(103, "dev", "pve1", 2, "maint-ok"))
                    .guest(stoppedQemu(104, "old", "pve1", 2, ""))
                    .guest(lxc(105, "proxy", "pve1", 1, ""))
                    .guest(qemu(106, "batch", "pve1", 4, ""))
                    .guest(qemu(201, "other", "pve2", 8, ""))
                    .build();
            cluster.failMigrations(106, 1, "migration aborted");
            service = io.moxxie.core.testing.TestClusters.service(cluster, store).build();
            service.start();
        }

        DrainStatus drain() {
            return service.drain(DrainRequest.builder("pve1").mode(DrainMode.HARD).concurrency(Concurrency.fixed(2)).build()).status();
        }
    }

    @Test
    void whereverACancelComesTheDrainEndsCancelledWithEveryGuestAccountedFor() {
        Small whole = new Small();
        DrainStatus first = whole.drain();
        long tasks = whole.scheduler.runUntilIdle();
        assertThat(whole.service.status("pve1", first.drainId()).status()).isEqualTo(DrainState.COMPLETED);

        int cancelledRuns = 0;
        for (long k = 0; k < tasks; k++) {
            Small env = new Small();
            DrainStatus s = env.drain();
            AtomicLong ran = new AtomicLong();
            long stopAfter = k;
            env.scheduler.runUntil(() -> ran.incrementAndGet() > stopAfter, Duration.ofDays(1));
            boolean wasRunning = env.service.status("pve1", s.drainId()).status() == DrainState.IN_PROGRESS;
            env.service.cancel("pve1", s.drainId());
            env.scheduler.runUntilIdle();
            DrainStatus done = env.service.status("pve1", s.drainId());
            if (wasRunning) cancelledRuns++;
            checkEnd(env, done, wasRunning, k);
        }
        assertThat(cancelledRuns).as("cancels that came while the drain ran").isGreaterThanOrEqualTo(40);
    }

    private static void checkEnd(Small env, DrainStatus done, boolean cancelled, long k) {
        String at = "cancel after " + k + " tasks";
        assertThat(done.status()).as(at).isEqualTo(cancelled ? DrainState.CANCELLED : DrainState.COMPLETED);
        assertThat(env.service.activeDrains()).as(at).isEmpty();
        Map<GuestState, Long> byState = done.vmStatus().stream().collect(Collectors.groupingBy(VmStatus::status, Collectors.counting()));
        assertThat(byState).as(at).doesNotContainKey(GuestState.IN_PROGRESS);
        for (VmStatus v : done.vmStatus()) {
            Guest g = env.cluster.currentSnapshot().guest(v.vmid()).orElseThrow();
            assertThat(env.cluster.successfulMigrations(v.vmid())).as("%s: %s moved at most once", at, v.vmid()).isLessThanOrEqualTo(1);
            if (v.status() == GuestState.COMPLETED) {
                assertThat(g.node()).as("%s: %s where the status says", at, v.vmid()).isEqualTo(v.targetNode()).isNotEqualTo("pve1");
            } else if (v.status() == GuestState.FAILED) {
                // Only the guest whose first move fails, cancelled before its retry on another target.
                assertThat(v.vmid()).as(at).isEqualTo(106);
                assertThat(v.error()).as(at).isEqualTo("migration aborted");
                assertThat(g.node()).as("%s: %s not moved", at, v.vmid()).isEqualTo("pve1");
            } else {
                assertThat(v.status()).as(at).isEqualTo(GuestState.PENDING);
                assertThat(g.node()).as("%s: %s not moved", at, v.vmid()).isEqualTo("pve1");
                assertThat(v.note()).as("%s: %s says why it did not move", at, v.vmid()).isIn("not started: drain cancelled",
                        "shut down for its move, started again on pve1 (drain stopped before it moved)");
            }
            if (v.vmid() != 104) assertThat(g.status()).as("%s: %s runs", at, v.vmid()).isEqualTo(PowerState.RUNNING);
        }
        assertThat(env.cluster.guestStates()).filteredOn(g -> g.vmid() == 104).singleElement()
                .satisfies(g -> assertThat(g.status()).isEqualTo(PowerState.STOPPED));
        if (cancelled) {
            Matcher m = CANCELLED.matcher(done.message());
            assertThat(m.matches()).as("%s: %s", at, done.message()).isTrue();
            assertThat(Long.parseLong(m.group(1))).as(at).isEqualTo(byState.getOrDefault(GuestState.COMPLETED, 0L));
            assertThat(Long.parseLong(m.group(3))).as(at).isEqualTo(byState.getOrDefault(GuestState.FAILED, 0L));
            assertThat(Long.parseLong(m.group(4))).as(at).isEqualTo(byState.getOrDefault(GuestState.PENDING, 0L));
            assertThat(done.completedAt()).as(at).isNotNull();
        }
        assertThat(env.store.maintenance("pve1").orElseThrow().drainStatus()).as(at).isEqualTo(done.status());
    }
}
