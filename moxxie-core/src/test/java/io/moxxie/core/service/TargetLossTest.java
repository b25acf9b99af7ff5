package io.moxxie.core.service;

import io.moxxie.core.model.Concurrency;
import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.execution.VmStatus;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.PowerState;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.simulation.MigrationModel;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.simulation.SimulatedCluster.MigrationRecord;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.testing.DelegatingHypervisorClient;
import io.moxxie.core.testing.TestClusters;
import io.moxxie.core.testing.TestClusters.Env;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.concurrent.CopyOnWriteArrayList;

import static io.moxxie.core.testing.TestClusters.GIB;
import static io.moxxie.core.testing.TestClusters.qemu;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A target node lost in the middle of a drain, with several guests still waiting to go there: no move starts towards
 * it any more, the guests planned there are planned again on the nodes left (and the store says so at once), and
 * where nothing else fits they fail saying why, running where they were.
 */
class TargetLossTest {

    @Test
    void aTargetGoingOfflineWithSeveralGuestsPlannedOnItHasThemAllMovedElsewhere() {
        Env env = new Env();
        DrainStatus s = env.service.drain(DrainRequest.builder("hv7").mode(DrainMode.HARD).concurrency(Concurrency.fixed(2)).build()).status();
        // The node most guests wait for, once the first moves are under way.
        env.scheduler.runFor(Duration.ofSeconds(3));
        DrainStatus early = env.service.status("hv7", s.drainId());
        Map<String, List<Integer>> waitingFor = early.vmStatus().stream().filter(v -> v.status() == GuestState.PENDING)
                .collect(Collectors.groupingBy(VmStatus::targetNode, Collectors.mapping(VmStatus::vmid, Collectors.toList())));
        String lost = waitingFor.entrySet().stream().max(Map.Entry.comparingByValue(java.util.Comparator.comparingInt(List::size)))
                .orElseThrow().getKey();
        List<Integer> planned = waitingFor.get(lost);
        assertThat(planned).as("guests waiting for %s", lost).hasSizeGreaterThanOrEqualTo(3);

        env.cluster.setNodeOnline(lost, false);
        Instant offlineAt = env.scheduler.now();
        // From the moment the drain has noticed, every guest that was waiting for the lost node is planned elsewhere,
        // in the status and in the store alike.
        env.scheduler.runUntil(() -> env.service.status("hv7", s.drainId()).vmStatus().stream()
                .filter(v -> planned.contains(v.vmid())).noneMatch(v -> v.targetNode().equals(lost)), Duration.ofHours(1));
        Map<Integer, GuestProgress> stored = env.store.guests(s.drainId()).stream()
                .collect(Collectors.toMap(GuestProgress::vmid, Function.identity()));
        for (int vmid : planned) {
            assertThat(stored.get(vmid).targetNode()).as("stored target of %s", vmid).isNotEqualTo(lost);
        }
        env.runUntilIdle();

        DrainStatus done = env.service.status("hv7", s.drainId());
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(done.failedVMs()).isZero();
        assertThat(env.cluster.migrations()).filteredOn(m -> m.target().equals(lost))
                .allSatisfy(m -> assertThat(m.startedAt()).isBefore(offlineAt));
        for (int vmid : planned) {
            VmStatus v = done.vm(vmid);
            assertThat(v.status()).isEqualTo(GuestState.COMPLETED);
            assertThat(v.targetNode()).isNotEqualTo(lost).isNotEqualTo("hv7").isEqualTo(env.nodeOf(vmid));
            assertThat(env.cluster.successfulMigrations(vmid)).isEqualTo(1);
        }
        // The first of them to reach its turn finds the node gone and is tried again elsewhere; the drain then re-plans
        // the others that waited for it before their turn, so they move at their first attempt.
        assertThat(planned).filteredOn(vmid -> done.vm(vmid).attempts() > 1).as("guests tried on the lost node").hasSizeLessThanOrEqualTo(1);
        assertThat(planned).filteredOn(vmid -> done.vm(vmid).attempts() == 1).hasSizeGreaterThanOrEqualTo(planned.size() - 1);
        assertThat(env.cluster.currentSnapshot().guestsOn("hv7")).isEmpty();
    }

    @Test
    void guestsWaitingForALostTargetWhereNothingElseFitsFailSayingWhyAndKeepRunningWhereTheyAre() {
        VirtualScheduler scheduler = new VirtualScheduler();
        // pve2 takes everything; pve3 has room for the small guest only.
        SimulatedCluster cluster = SimulatedCluster.builder(scheduler).model(MigrationModel.DEFAULT)
                .node("pve1", 64 * GIB, 16).node("pve2", 128 * GIB, 16).node("pve3", 12 * GIB, 16)
                .guest(qemu(101, "big-1", "pve1", 16, ""))
                .guest(qemu(102, "big-2", "pve1", 16, ""))
                .guest(qemu(103, "big-3", "pve1", 16, ""))
                .guest(qemu(104, "small", "pve1", 2, ""))
                .build();
        InMemoryMaintenanceStore store = new InMemoryMaintenanceStore();
        List<Integer> toldFailed = new java.util.concurrent.CopyOnWriteArrayList<>();
        // When listeners hear of a failure, the store already holds it (another process shows what they are told).
        List<GuestState> storedWhenTold = new CopyOnWriteArrayList<>();
        MaintenanceService service = TestClusters.service(cluster, store).listener(new io.moxxie.core.execution.DrainListener() {
            @Override
            public void guestFailed(String drainId, GuestProgress guest) {
                toldFailed.add(guest.vmid());
                store.guests(drainId).stream().filter(g -> g.vmid() == guest.vmid()).forEach(g -> storedWhenTold.add(g.status()));
            }
        }).build();
        service.start();
        DrainStatus s = service.drain(DrainRequest.builder("pve1").concurrency(Concurrency.serial()).build()).status();
        assertThat(s.vmStatus()).filteredOn(v -> v.vmid() != 104).allSatisfy(v -> assertThat(v.targetNode()).isEqualTo("pve2"));
        scheduler.runFor(Duration.ofSeconds(1));
        cluster.setNodeOnline("pve2", false);
        scheduler.runUntilIdle();

        DrainStatus done = service.status("pve1", s.drainId());
        assertThat(done.status()).isEqualTo(DrainState.FAILED);
        assertThat(done.vm(104).status()).isEqualTo(GuestState.COMPLETED);
        assertThat(cluster.currentSnapshot().guest(104).orElseThrow().node()).isEqualTo("pve3");
        for (int vmid : List.of(101, 102, 103)) {
            VmStatus v = done.vm(vmid);
            assertThat(v.status()).as("%s", vmid).isEqualTo(GuestState.FAILED);
            Guest g = cluster.currentSnapshot().guest(vmid).orElseThrow();
            assertThat(g.node()).isEqualTo("pve1");
            assertThat(g.status()).isEqualTo(PowerState.RUNNING);
        }
        // The one in flight failed with the hypervisor's word; those still waiting with the drain's.
        assertThat(done.vmStatus()).filteredOn(v -> v.status() == GuestState.FAILED && v.attempts() == 0)
                .hasSizeGreaterThanOrEqualTo(2)
                .allSatisfy(v -> assertThat(v.error()).startsWith("target pve2 went offline and no other target fits: "));
        assertThat(done.failedVMs()).isEqualTo(3);
        assertThat(done.message()).as("the closing message counts them too").startsWith("Drain of pve1 failed: 1 migrated, 0 skipped, 3 failed (");
        assertThat(toldFailed).as("listeners told of each").containsExactlyInAnyOrder(101, 102, 103);
        assertThat(storedWhenTold).containsOnly(GuestState.FAILED).hasSize(3);
        assertThat(store.guests(s.drainId())).filteredOn(g -> g.status() == GuestState.FAILED).hasSize(3);
        assertThat(cluster.migrations()).filteredOn(MigrationRecord::successful).extracting(MigrationRecord::vmid).containsExactly(104);
    }

    @Test
    void aDrainToANamedTargetThatGoesOfflineMovesNothingElsewhere() {
        Env env = new Env();
        DrainStatus s = env.service.drain(DrainRequest.builder("hv7").mode(DrainMode.HARD).targetNode("hv10").concurrency(Concurrency.fixed(2)).build()).status();
        env.scheduler.runFor(Duration.ofSeconds(3));
        env.cluster.setNodeOnline("hv10", false);
        env.runUntilIdle();

        DrainStatus done = env.service.status("hv7", s.drainId());
        assertThat(done.status()).isEqualTo(DrainState.FAILED);
        assertThat(env.cluster.migrations()).filteredOn(MigrationRecord::successful).allSatisfy(m -> assertThat(m.target()).isEqualTo("hv10"));
        assertThat(done.vmStatus()).filteredOn(v -> v.status() == GuestState.FAILED).hasSizeGreaterThanOrEqualTo(10)
                .allSatisfy(v -> assertThat(env.nodeOf(v.vmid())).isEqualTo("hv7"));
        assertThat(done.vmStatus()).filteredOn(v -> v.status() == GuestState.FAILED && v.attempts() == 0)
                .allSatisfy(v -> assertThat(v.error()).startsWith("target hv10 went offline and no other target fits"));
    }

    @Test
    void aTargetRemovedFromTheClusterIsDroppedLikeAnOfflineOne() {
        VirtualScheduler scheduler = new VirtualScheduler();
        SimulatedCluster cluster = TestClusters.guideCluster(scheduler).build();
        WithoutNode client = new WithoutNode(cluster);
        InMemoryMaintenanceStore store = new InMemoryMaintenanceStore();
        MaintenanceService service = TestClusters.service(cluster, client, store).build();
        service.start();
        DrainStatus s = service.drain(DrainRequest.builder("hv7").mode(DrainMode.HARD).concurrency(Concurrency.fixed(2)).build()).status();
        scheduler.runFor(Duration.ofSeconds(3));
        // hv9 leaves the cluster (pvecm delnode): offline, and no longer listed.
        cluster.setNodeOnline("hv9", false);
        client.hidden = "hv9";
        Instant goneAt = scheduler.now();
        scheduler.runUntilIdle();

        DrainStatus done = service.status("hv7", s.drainId());
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(cluster.migrations()).filteredOn(m -> m.target().equals("hv9")).allSatisfy(m -> assertThat(m.startedAt()).isBefore(goneAt));
        assertThat(done.vmStatus()).filteredOn(v -> v.completedAt().isAfter(goneAt))
                .allSatisfy(v -> assertThat(v.targetNode()).isNotEqualTo("hv9"));
        assertThat(cluster.currentSnapshot().guestsOn("hv7")).isEmpty();
    }

    /** The cluster without one node in its listings, as after {@code pvecm delnode}. */
    private static final class WithoutNode extends DelegatingHypervisorClient {
        volatile String hidden;

        WithoutNode(SimulatedCluster cluster) {
            super(cluster);
        }

        @Override
        public ClusterSnapshot snapshot() {
            ClusterSnapshot all = delegate.snapshot();
            String h = hidden;
            if (h == null) return all;
            return new ClusterSnapshot(all.takenAt(), all.nodes().stream().filter(n -> !n.name().equals(h)).toList(),
                    all.guests().stream().filter(g -> !g.node().equals(h)).toList());
        }
    }
}
