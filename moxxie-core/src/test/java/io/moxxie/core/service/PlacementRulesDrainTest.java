package io.moxxie.core.service;

import io.moxxie.core.execution.DrainListener;
import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.execution.ExecutorConfig;
import io.moxxie.core.execution.VmStatus;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Concurrency;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.model.PlacementRule;
import io.moxxie.core.model.PlacementRule.GuestAffinity;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.simulation.MigrationModel;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.HypervisorClient;
import io.moxxie.core.spi.HypervisorException;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.testing.DelegatingHypervisorClient;
import io.moxxie.core.testing.TestClusters;
import io.moxxie.core.time.VirtualScheduler;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.UnaryOperator;

import static io.moxxie.core.model.PlacementRule.Origin.HA_RULE;
import static io.moxxie.core.testing.TestClusters.GIB;
import static io.moxxie.core.testing.TestClusters.ha;
import static io.moxxie.core.testing.TestClusters.qemu;
import static io.moxxie.core.testing.TestClusters.stoppedQemu;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Drains carried out under the operator's placement rules, in virtual time: the disruption budgets of anti-affinity
 * groups over the whole run, the guests Proxmox moves along with a member of a positive HA rule, HA auto-rebalancing.
 */
class PlacementRulesDrainTest {

    /** A cluster of its own, a store and a started service, in virtual time; every guest start and end of a drain recorded. */
    private static final class World {
        final VirtualScheduler scheduler = new VirtualScheduler();
        final SimulatedCluster cluster;
        final MaintenanceService service;
        final InMemoryMaintenanceStore store = new InMemoryMaintenanceStore();
        /** Members of each group in flight, as the drain's events tell, and the most seen at once. */
        final Set<Integer> inFlight = new HashSet<>();
        final List<Set<Integer>> timeline = new ArrayList<>();

        World(UnaryOperator<SimulatedCluster.Builder> setup) {
            this(setup, s -> s);
        }

        World(UnaryOperator<SimulatedCluster.Builder> setup, UnaryOperator<MaintenanceService.Builder> serviceSetup) {
            this(setup, serviceSetup, c -> c);
        }

        /** {@code client}: what the service sees of the cluster. */
        World(UnaryOperator<SimulatedCluster.Builder> setup, UnaryOperator<MaintenanceService.Builder> serviceSetup,
              Function<SimulatedCluster, HypervisorClient> client) {
            cluster = setup.apply(SimulatedCluster.builder(scheduler).model(MigrationModel.DEFAULT)).build();
            service = serviceSetup.apply(TestClusters.service(cluster, client.apply(cluster), store)).build();
            service.addListener(new DrainListener() {
                @Override
                public void guestStarted(String drainId, GuestProgress g) {
                    synchronized (World.this) {
                        inFlight.add(g.vmid());
                        timeline.add(Set.copyOf(inFlight));
                    }
                }

                @Override
                public void guestCompleted(String drainId, GuestProgress g) {
                    ended(g);
                }

                @Override
                public void guestFailed(String drainId, GuestProgress g) {
                    ended(g);
                }

                private void ended(GuestProgress g) {
                    synchronized (World.this) {
                        inFlight.remove(g.vmid());
                        timeline.add(Set.copyOf(inFlight));
                    }
                }
            });
            service.start();
        }

        DrainStatus drainAndWait(DrainRequest request) {
            DrainStatus s = service.drain(request).status();
            scheduler.runUntilIdle();
            return service.status(request.node(), s.drainId());
        }

        /** The most members of {@code group} in flight at once over the recorded timeline. */
        synchronized int peakInFlight(Set<Integer> group) {
            int peak = 0;
            for (Set<Integer> moment : timeline) {
                peak = Math.max(peak, (int) moment.stream().filter(group::contains).count());
            }
            return peak;
        }

        String nodeOf(int vmid) {
            return cluster.currentSnapshot().guest(vmid).orElseThrow().node();
        }
    }

    private static VmStatus vm(DrainStatus s, int vmid) {
        return s.vmStatus().stream().filter(v -> v.vmid() == vmid).findFirst().orElseThrow();
    }

    @Test
    void anAntiAffinityGroupHasOneMemberInFlightAtATimeAndTheOthersSayWhatTheyWaitFor() {
        World w = new World(b -> {
            b.node("hv1", 256 * GIB, 32).node("hv2", 256 * GIB, 32).node("hv3", 256 * GIB, 32).node("hv4", 256 * GIB, 32)
                    .node("hv5", 256 * GIB, 32);
            for (int i = 0; i < 3; i++) b.guest(qemu(100 + i, "web-" + i, "hv1", 8, "plb_anti_affinity_web"));
            for (int i = 0; i < 3; i++) b.guest(qemu(200 + i, "other-" + i, "hv1", 4, ""));
            return b;
        });
        DrainStatus started = w.service.drain(DrainRequest.builder("hv1").concurrency(Concurrency.fixed(3)).build()).status();
        List<VmStatus> waiting = started.vmStatus().stream().filter(v -> v.note() != null && v.note().startsWith("waiting for")).toList();
        assertThat(waiting).extracting(VmStatus::note)
                .containsExactly("waiting for anti-affinity group plb_anti_affinity_web (1 of 1 in flight)",
                        "waiting for anti-affinity group plb_anti_affinity_web (1 of 1 in flight)");
        assertThat(started.vmStatus().stream().filter(v -> v.status() == GuestState.IN_PROGRESS).count())
                .as("the free slots go to the guests outside the group").isEqualTo(3);

        w.scheduler.runUntilIdle();
        DrainStatus done = w.service.status("hv1", started.drainId());
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(w.peakInFlight(Set.of(100, 101, 102))).isEqualTo(1);
        assertThat(Set.of(w.nodeOf(100), w.nodeOf(101), w.nodeOf(102))).as("on three nodes").hasSize(3);
        assertThat(done.vmStatus()).allSatisfy(v -> assertThat(v.note()).as("no wait left in a finished drain")
                .satisfiesAnyOf(n -> assertThat(n).isNull(), n -> assertThat(n).doesNotStartWith("waiting")));
    }

    @Test
    void aHaRuleBudgetOfTwoLetsTwoMembersMoveAtOnce() {
        World w = new World(b -> {
            for (int i = 1; i <= 6; i++) b.node("hv" + i, 256 * GIB, 32);
            for (int i = 0; i < 4; i++) b.guest(ha(qemu(100 + i, "db-" + i, "hv1", 16, "")));
            return b.rule(new GuestAffinity("db-spread", HA_RULE, Set.of(100, 101, 102, 103), false, 2));
        });
        DrainStatus started = w.service.drain(DrainRequest.builder("hv1").concurrency(Concurrency.fixed(4)).build()).status();
        assertThat(started.vmStatus()).filteredOn(v -> v.status() == GuestState.PENDING).hasSize(2).extracting(VmStatus::note)
                .containsOnly("waiting for anti-affinity group HA rule 'db-spread' (negative resource-affinity) (2 of 2 in flight)");
        w.scheduler.runUntilIdle();
        DrainStatus done = w.service.status("hv1", started.drainId());
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(w.peakInFlight(Set.of(100, 101, 102, 103))).isEqualTo(2);
    }

    @Test
    void aGuestRetriedElsewhereKeepsOffTheNodeItsGroupsQueuedMemberIsPlannedFor() {
        // Planned: 100 to hv2 (emptiest), 101 to hv3. 100's move to hv2 fails: re-planned among hv3 and hv4, where hv3
        // is emptier even counting 101's memory — but 101 is going there.
        World w = new World(b -> b.node("hv1", 256 * GIB, 32).node("hv2", 256 * GIB, 32).node("hv3", 256 * GIB, 16 * GIB, 32)
                .node("hv4", 256 * GIB, 128 * GIB, 32)
                .guest(qemu(100, "web-a", "hv1", 16, "plb_anti_affinity_web")).guest(qemu(101, "web-b", "hv1", 8, "plb_anti_affinity_web")));
        w.cluster.failMigrations(100, 1, "migration aborted");
        DrainStatus done = w.drainAndWait(DrainRequest.soft("hv1"));
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(vm(done, 101).targetNode()).isEqualTo("hv3");
        assertThat(vm(done, 100).attempts()).isEqualTo(2);
        assertThat(w.nodeOf(100)).isEqualTo("hv4");
    }

    @Test
    void aPositiveHaRuleMovesWithOneMigrateRequestAndTheUndrainBringsAllBackTheSameWay() {
        World w = new World(b -> b.node("hv1", 256 * GIB, 32).node("hv2", 256 * GIB, 32).node("hv3", 256 * GIB, 32)
                .guest(ha(qemu(100, "app", "hv1", 8, ""))).guest(ha(qemu(101, "cache", "hv1", 4, "")))
                .guest(ha(qemu(102, "db", "hv1", 16, "")))
                .rule(new GuestAffinity("stack", HA_RULE, Set.of(100, 101, 102), true)));
        DrainStatus started = w.service.drain(DrainRequest.soft("hv1")).status();
        assertThat(started.vmStatus()).filteredOn(v -> v.status() == GuestState.PENDING).extracting(VmStatus::vmid, VmStatus::note)
                .containsExactlyInAnyOrder(
                        org.assertj.core.groups.Tuple.tuple(100, "waiting for HA rule 'stack' (positive resource-affinity): its members move together, "
                                + "1 in flight; HA rule 'stack' (positive resource-affinity): Proxmox migrates its members together, one migrate request moves them all"),
                        org.assertj.core.groups.Tuple.tuple(101, "waiting for HA rule 'stack' (positive resource-affinity): its members move together, "
                                + "1 in flight; HA rule 'stack' (positive resource-affinity): Proxmox migrates its members together, one migrate request moves them all"));
        assertThat(started.vm(102).note()).as("the one moving waits for nothing: its plan's note alone")
                .isEqualTo("HA rule 'stack' (positive resource-affinity): Proxmox migrates its members together, one migrate request moves them all");
        w.scheduler.runUntilIdle();
        DrainStatus done = w.service.status("hv1", started.drainId());

        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(w.cluster.calls().get("migrate")).as("one request; Proxmox moves the others along").isEqualTo(1L);
        assertThat(done.vmStatus()).allSatisfy(v -> assertThat(v.status()).isEqualTo(GuestState.COMPLETED));
        String target = w.nodeOf(102);
        assertThat(target).isNotEqualTo("hv1");
        assertThat(List.of(w.nodeOf(100), w.nodeOf(101))).containsOnly(target);
        assertThat(done.vmStatus()).extracting(VmStatus::targetNode).containsOnly(target);
        assertThat(done.vmStatus().stream().filter(v -> v.note() != null && v.note().startsWith("moved by the hypervisor along with VM 102")))
                .extracting(VmStatus::vmid).containsExactlyInAnyOrder(100, 101);
        assertThat(w.peakInFlight(Set.of(100, 101, 102))).as("listeners hear that the members moved along started with it").isEqualTo(3);

        w.service.undrain("hv1");
        w.scheduler.runUntilIdle();
        assertThat(List.of(w.nodeOf(100), w.nodeOf(101), w.nodeOf(102))).containsOnly("hv1");
        assertThat(w.cluster.calls().get("migrate")).as("one request back").isEqualTo(2L);
        assertThat(w.cluster.migrations()).allSatisfy(m -> assertThat(m.successful()).isTrue());
    }

    @Test
    void aMemberThePlanLeftInPlaceButProxmoxMovedAlongIsRecordedMovedAndComesBackWithTheUndrain() {
        World w = new World(b -> b.node("hv1", 256 * GIB, 32).node("hv2", 256 * GIB, 32)
                .guest(ha(qemu(100, "app", "hv1", 8, ""))).guest(ha(qemu(101, "batch", "hv1", 4, "maint-ok")))
                .rule(new GuestAffinity("stack", HA_RULE, Set.of(100, 101), true)));
        Map<Integer, String> progress = progressAtEachEnd(w);
        DrainStatus done = w.drainAndWait(DrainRequest.soft("hv1"));
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(w.nodeOf(101)).isEqualTo("hv2");
        assertThat(progress).as("batch, skipped at first, counted once: as moved").containsOnly(
                Map.entry(100, "Progress: 1/2 completed"), Map.entry(101, "Progress: 2/2 completed"));
        VmStatus batch = vm(done, 101);
        assertThat(batch.status()).isEqualTo(GuestState.COMPLETED);
        assertThat(batch.note()).isEqualTo("moved by the hypervisor along with VM 100 (positive HA resource-affinity); the plan had it stay: "
                + "tagged maint-ok: stays on the node in a soft drain");
        assertThat(batch.migrationType()).as("moved as the guest it went along with").isEqualTo(MigrationType.ONLINE);
        assertThat(w.cluster.calls().get("migrate")).isEqualTo(1L);

        w.service.undrain("hv1");
        w.scheduler.runUntilIdle();
        assertThat(List.of(w.nodeOf(100), w.nodeOf(101))).containsOnly("hv1");
    }

    /**
     * The progress line of the drain's record when listeners hear of each guest's end (by vmid): what another process
     * shows at that moment.
     */
    private static Map<Integer, String> progressAtEachEnd(World w) {
        Map<Integer, String> out = new ConcurrentHashMap<>();
        w.service.addListener(new DrainListener() {
            @Override
            public void guestCompleted(String drainId, GuestProgress g) {
                out.put(g.vmid(), w.store.drain(drainId).orElseThrow().message());
            }

            @Override
            public void guestFailed(String drainId, GuestProgress g) {
                out.put(g.vmid(), w.store.drain(drainId).orElseThrow().message());
            }
        });
        return out;
    }

    /** hv1 with app (100, 8 GiB) and cache (101, 4 GiB) in a positive HA rule; hv2 empty. {@code cacheTags}: 101's tags. */
    private static World haStack(String cacheTags, UnaryOperator<MaintenanceService.Builder> service) {
        return new World(b -> b.node("hv1", 256 * GIB, 32).node("hv2", 256 * GIB, 32)
                .guest(ha(qemu(100, "app", "hv1", 8, ""))).guest(ha(qemu(101, "cache", "hv1", 4, cacheTags)))
                .rule(new GuestAffinity("stack", HA_RULE, Set.of(100, 101), true)), service);
    }

    /** {@link #haStack}, whose HA stack takes app's first migrate request and never carries it out (nothing moves). */
    private static World haStackDroppingAppsMove(String cacheTags, UnaryOperator<MaintenanceService.Builder> service) {
        World w = haStack(cacheTags, service);
        w.cluster.failMigrations(100, 1, "dropped by the CRM");
        return w;
    }

    /**
     * A member still on its way when the guest it moves along with has arrived is followed until it arrives (one move,
     * one attempt); a cancel meanwhile waits for it and says until when at the latest.
     */
    @Test
    void aMemberStillMovingWhenTheGuestItMovesAlongWithArrivesIsFollowedUntilItArrives() {
        // app is always-on, so it moves first; db, twice as large, is still migrating when app arrives.
        World w = new World(b -> b.node("hv1", 256 * GIB, 32).node("hv2", 256 * GIB, 32)
                .guest(ha(qemu(100, "app", "hv1", 8, "always-on"))).guest(ha(qemu(101, "db", "hv1", 32, "")))
                .rule(new GuestAffinity("stack", HA_RULE, Set.of(100, 101), true)));
        AtomicReference<DrainStatus> atAppsEnd = new AtomicReference<>();
        w.service.addListener(new DrainListener() {
            @Override
            public void guestCompleted(String drainId, GuestProgress g) {
                if (g.vmid() == 100) atAppsEnd.set(w.service.cancel("hv1", drainId));
            }
        });
        DrainStatus s = w.service.drain(DrainRequest.soft("hv1")).status();
        w.scheduler.runUntilIdle();

        assertThat(atAppsEnd.get()).isNotNull();
        assertThat(atAppsEnd.get().vm(101).status()).as("db still locked on hv1 when app arrived").isEqualTo(GuestState.IN_PROGRESS);
        assertThat(atAppsEnd.get().message()).startsWith("Cancelling: no new moves start; waiting for 1 move in flight to end: "
                + "VM 101 (db) finishing its move to hv2, until ").contains(" at the latest (migration time limit of 30m (migrationTimeout))");
        DrainStatus done = w.service.status("hv1", s.drainId());
        assertThat(done.status()).isEqualTo(DrainState.CANCELLED);
        VmStatus db = done.vm(101);
        assertThat(db.status()).isEqualTo(GuestState.COMPLETED);
        assertThat(db.attempts()).isEqualTo(1);
        assertThat(w.nodeOf(101)).isEqualTo("hv2");
        assertThat(w.cluster.calls().get("migrate")).isEqualTo(1L);
        assertThat(done.message()).isEqualTo("Drain of hv1 cancelled: 2 migrated, 0 skipped, 0 failed, 0 not started");
    }

    @Test
    void aMemberProxmoxDidNotMoveAlongAfterAllTakesItsOwnTurn() {
        // The HA stack takes app's request but never carries it out: nothing moves, cache is not moved along either.
        World w = haStackDroppingAppsMove("", s -> s);
        DrainStatus s = w.service.drain(DrainRequest.soft("hv1")).status();
        w.scheduler.runFor(Duration.ofMinutes(5));
        VmStatus along = w.service.status("hv1", s.drainId()).vm(101);
        assertThat(along.status()).isEqualTo(GuestState.IN_PROGRESS);
        assertThat(along.note()).isEqualTo("moved by the hypervisor along with VM 100 (positive HA resource-affinity)");
        assertThat(w.cluster.calls().get("migrate")).isEqualTo(1L);

        w.scheduler.runUntilIdle();
        DrainStatus done = w.service.status("hv1", s.drainId());
        assertThat(done.vm(100).status()).isEqualTo(GuestState.FAILED);
        assertThat(done.vm(100).error()).contains("migration time limit").contains("still on hv1");
        VmStatus cache = done.vm(101);
        assertThat(cache.status()).as("%s", cache.error()).isEqualTo(GuestState.COMPLETED);
        assertThat(cache.targetNode()).isEqualTo("hv2");
        assertThat(w.nodeOf(101)).isEqualTo("hv2");
        assertThat(w.cluster.calls().get("migrate")).as("cache's own request, after app's failed").isEqualTo(2L);
        assertThat(done.status()).isEqualTo(DrainState.FAILED);
        assertThat(done.message()).startsWith("Drain of hv1 failed: 1 migrated, 0 skipped, 1 failed");
    }

    @Test
    void aMemberNotMovedAlongAfterAllIsNotStartedWhenTheDrainWasCancelledMeanwhile() {
        World w = haStackDroppingAppsMove("", s -> s);
        DrainStatus s = w.service.drain(DrainRequest.soft("hv1")).status();
        w.scheduler.runFor(Duration.ofMinutes(5));
        DrainStatus cancelling = w.service.cancel("hv1", s.drainId());
        assertThat(cancelling.message()).startsWith("Cancelling: no new moves start; waiting for 2 moves in flight to end: VM 100 (app) "
                + "migrating to hv2").contains("VM 101 (cache) finishing its move to hv2");

        w.scheduler.runUntilIdle();
        DrainStatus done = w.service.status("hv1", s.drainId());
        assertThat(done.status()).isEqualTo(DrainState.CANCELLED);
        VmStatus cache = done.vm(101);
        assertThat(cache.status()).isEqualTo(GuestState.PENDING);
        assertThat(cache.note()).isEqualTo("not started: drain cancelled");
        assertThat(w.store.guests(s.drainId())).as("recorded").filteredOn(g -> g.vmid() == 101)
                .singleElement().satisfies(g -> assertThat(g.status()).isEqualTo(GuestState.PENDING));
        assertThat(w.nodeOf(101)).isEqualTo("hv1");
        assertThat(w.cluster.calls().get("migrate")).isEqualTo(1L);
        assertThat(done.message()).isEqualTo("Drain of hv1 cancelled: 0 migrated, 0 skipped, 1 failed, 1 not started");
    }

    @Test
    void aMemberNotMovedAlongAfterAllIsNotStartedWhenTheDrainRanOutOfTime() {
        World w = haStackDroppingAppsMove("", s -> s.executorConfig(ExecutorConfig.builder().drainTimeout(Duration.ofMinutes(10)).build()));
        DrainStatus s = w.service.drain(DrainRequest.soft("hv1")).status();
        w.scheduler.runUntilIdle();

        DrainStatus done = w.service.status("hv1", s.drainId());
        assertThat(done.status()).isEqualTo(DrainState.FAILED);
        assertThat(done.vm(100).error()).contains("drain time limit of 10m");
        VmStatus cache = done.vm(101);
        assertThat(cache.status()).isEqualTo(GuestState.PENDING);
        assertThat(cache.note()).isEqualTo("not started: drain time limit of 10m (drainTimeout) reached");
        assertThat(w.nodeOf(101)).isEqualTo("hv1");
        assertThat(w.cluster.calls().get("migrate")).isEqualTo(1L);
    }

    @Test
    void aSkippedMemberMovedAlongThatDidNotMoveAfterAllIsSkippedAgainAndCountedOnce() {
        World w = haStackDroppingAppsMove("maint-ok", s -> s);
        Map<Integer, String> progress = progressAtEachEnd(w);
        DrainStatus s = w.service.drain(DrainRequest.soft("hv1")).status();
        String skippedBecause = "tagged maint-ok: stays on the node in a soft drain";
        assertThat(s.vm(101).status()).isEqualTo(GuestState.SKIPPED);
        assertThat(s.vm(101).reason()).isEqualTo(skippedBecause);
        w.scheduler.runFor(Duration.ofMinutes(5));
        DrainStatus meanwhile = w.service.status("hv1", s.drainId());
        assertThat(meanwhile.vm(101).status()).isEqualTo(GuestState.IN_PROGRESS);
        assertThat(meanwhile.skippedVMs()).isZero();

        w.scheduler.runUntilIdle();
        DrainStatus done = w.service.status("hv1", s.drainId());
        VmStatus batch = done.vm(101);
        assertThat(batch.status()).isEqualTo(GuestState.SKIPPED);
        assertThat(batch.reason()).isEqualTo(skippedBecause);
        assertThat(batch.note()).as("as the plan said: no trace of the move that did not happen").isEqualTo(skippedBecause);
        assertThat(w.store.guests(s.drainId())).as("recorded").filteredOn(g -> g.vmid() == 101)
                .singleElement().satisfies(g -> assertThat(g.status()).isEqualTo(GuestState.SKIPPED));
        assertThat(w.nodeOf(101)).isEqualTo("hv1");
        assertThat(w.cluster.calls().get("migrate")).as("a skipped guest takes no turn of its own").isEqualTo(1L);
        assertThat(done.status()).isEqualTo(DrainState.FAILED);
        assertThat(done.skippedVMs()).isEqualTo(1);
        assertThat(done.message()).startsWith("Drain of hv1 failed: 0 migrated, 1 skipped, 1 failed");
        assertThat(progress.get(100)).as("batch counted once, as skipped again").isEqualTo("Progress: 1/2 completed, 1 failed");
    }

    /**
     * A stopped member moved along with a running guest moves offline, as Proxmox moves it, and is recorded so; while it
     * is moved along the store holds it in progress with its note (another process taking the drain over follows it),
     * already when listeners hear that it started.
     */
    @Test
    void aStoppedMemberMovedAlongKeepsItsOfflineMoveAndIsInTheStoreWhenListenersHearOfIt() {
        World w = new World(b -> b.node("hv1", 256 * GIB, 32).node("hv2", 256 * GIB, 32)
                .guest(ha(qemu(100, "app", "hv1", 8, ""))).guest(ha(stoppedQemu(101, "spare", "hv1", 4, "")))
                .rule(new GuestAffinity("stack", HA_RULE, Set.of(100, 101), true)));
        Map<Integer, GuestProgress> storedAtStart = new ConcurrentHashMap<>();
        w.service.addListener(new DrainListener() {
            @Override
            public void guestStarted(String drainId, GuestProgress g) {
                w.store.guests(drainId).stream().filter(s -> s.vmid() == g.vmid()).forEach(s -> storedAtStart.put(g.vmid(), s));
            }
        });
        DrainStatus s = w.service.drain(DrainRequest.soft("hv1")).status();
        assertThat(s.vm(101).migrationType()).isEqualTo(MigrationType.OFFLINE);
        String note = "moved by the hypervisor along with VM 100 (positive HA resource-affinity)";
        w.scheduler.runFor(Duration.ofSeconds(2));
        assertThat(storedAtStart.get(101)).as("in the store when listeners hear of it").isNotNull()
                .satisfies(g -> assertThat(g.status()).isEqualTo(GuestState.IN_PROGRESS), g -> assertThat(g.note()).isEqualTo(note));
        assertThat(w.store.guests(s.drainId())).filteredOn(g -> g.vmid() == 101).singleElement()
                .satisfies(g -> assertThat(g.status()).isEqualTo(GuestState.IN_PROGRESS), g -> assertThat(g.note()).isEqualTo(note),
                        g -> assertThat(g.targetNode()).isEqualTo("hv2"));

        w.scheduler.runUntilIdle();
        DrainStatus done = w.service.status("hv1", s.drainId());
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        VmStatus spare = done.vm(101);
        assertThat(spare.status()).isEqualTo(GuestState.COMPLETED);
        assertThat(spare.migrationType()).as("its own offline move, not app's live one").isEqualTo(MigrationType.OFFLINE);
        assertThat(w.store.guests(s.drainId())).filteredOn(g -> g.vmid() == 101).singleElement()
                .satisfies(g -> assertThat(g.migrationType()).isEqualTo(MigrationType.OFFLINE));
        assertThat(w.cluster.calls().get("migrate")).isEqualTo(1L);
        assertThat(w.cluster.calls()).as("left stopped").doesNotContainKey("start");
    }

    /**
     * app is found stopped after its move and started again, and the cluster cannot be read from then on for two reads:
     * app fails (it could not be seen running), and when the drain looks where cache, moved along, went, it cannot read
     * the cluster either: cache is followed to app's target and recorded moved there.
     */
    @Test
    void aMemberMovedAlongIsFollowedToItsTargetWhenTheClusterCannotBeReadAtTheEndOfItsGuestsMove() {
        AtomicInteger unreadable = new AtomicInteger(2);
        World w = new World(b -> b.node("hv1", 256 * GIB, 32).node("hv2", 256 * GIB, 32)
                .guest(ha(qemu(100, "app", "hv1", 8, ""))).guest(ha(qemu(101, "cache", "hv1", 4, "")))
                .rule(new GuestAffinity("stack", HA_RULE, Set.of(100, 101), true)), s -> s,
                c -> new DelegatingHypervisorClient(c) {
                    @Override
                    public ClusterSnapshot snapshot() {
                        ClusterSnapshot snapshot = delegate.snapshot();
                        Guest app = snapshot.guest(100).orElseThrow();
                        if (app.node().equals("hv2") && app.running() && unreadable.getAndDecrement() > 0) {
                            throw new HypervisorException("500 Internal Server Error: cluster filesystem not ready");
                        }
                        return snapshot;
                    }
                });
        w.cluster.stopAfterMigration(100);
        DrainStatus done = w.drainAndWait(DrainRequest.soft("hv1"));
        assertThat(done.vm(100).status()).isEqualTo(GuestState.FAILED);
        assertThat(done.vm(100).error()).isEqualTo("500 Internal Server Error: cluster filesystem not ready");
        VmStatus cache = done.vm(101);
        assertThat(cache.status()).isEqualTo(GuestState.COMPLETED);
        assertThat(cache.targetNode()).isEqualTo("hv2");
        assertThat(w.nodeOf(101)).isEqualTo("hv2");
        assertThat(done.message()).startsWith("Drain of hv1 failed: 1 migrated, 0 skipped, 1 failed");
        assertThat(w.cluster.calls().get("migrate")).isEqualTo(1L);
        assertThat(unreadable.get()).as("both reads failed").isNegative();
    }

    @Test
    void aDrainOfHaGuestsWhileHaAutoRebalancingIsOnSaysItMayBringThemBack() {
        World w = new World(b -> b.node("hv1", 256 * GIB, 32).node("hv2", 256 * GIB, 32)
                .guest(ha(qemu(100, "app", "hv1", 8, ""))).haAutoRebalance(true));
        DrainStatus started = w.service.drain(DrainRequest.soft("hv1")).status();
        String warning = "Warning: Proxmox HA auto-rebalancing is on: it may move HA guests back onto hv1 unless hv1 is in HA maintenance "
                + "too (ha-manager crm-command node-maintenance enable hv1)";
        assertThat(started.message()).endsWith(warning);
        assertThat(w.store.drain(started.drainId()).orElseThrow().message()).as("recorded from the start: another process shows it too")
                .endsWith(warning);
        w.scheduler.runUntilIdle();
        DrainStatus done = w.service.status("hv1", started.drainId());
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(done.message()).startsWith("Drain of hv1 completed").endsWith(warning);
        assertThat(List.of(started.message(), done.message(), w.store.drain(started.drainId()).orElseThrow().message()))
                .as("said once").allSatisfy(m -> assertThat(m).containsOnlyOnce("auto-rebalancing"));
    }

    @Test
    void withoutHaGuestsOrWithoutRebalancingThereIsNoWarning() {
        World noHa = new World(b -> b.node("hv1", 256 * GIB, 32).node("hv2", 256 * GIB, 32)
                .guest(qemu(100, "app", "hv1", 8, "")).haAutoRebalance(true));
        assertThat(noHa.drainAndWait(DrainRequest.soft("hv1")).message()).doesNotContain("auto-rebalancing");
        World off = new World(b -> b.node("hv1", 256 * GIB, 32).node("hv2", 256 * GIB, 32).guest(ha(qemu(100, "app", "hv1", 8, ""))));
        assertThat(off.drainAndWait(DrainRequest.soft("hv1")).message()).doesNotContain("auto-rebalancing");
    }

    /**
     * Random clusters, guests in random anti-affinity groups (tags and HA rules, budgets 1 to 3), random concurrency,
     * soft and hard drains (a hard drain shuts {@code maint-ok} guests down ahead of their offline move: down counts as
     * in flight): over every run, no group ever has more members in flight than its budget.
     */
    @Property(tries = 60)
    void noRunEverExceedsADisruptionBudget(@ForAll @LongRange(min = 0, max = 1_000_000) long seed,
                                           @ForAll @IntRange(min = 1, max = 6) int concurrency) {
        Random r = new Random(seed);
        Map<Set<Integer>, Integer> budgets = new HashMap<>();
        World w = new World(b -> {
            int nodes = 3 + r.nextInt(5);
            for (int i = 0; i < nodes; i++) b.node("n" + i, 512 * GIB, 32);
            int guests = 4 + r.nextInt(20);
            List<Integer> haVmids = new ArrayList<>();
            Map<String, Set<Integer>> tagged = new HashMap<>();
            for (int i = 0; i < guests; i++) {
                int vmid = 100 + i;
                String node = r.nextInt(4) == 0 ? "n" + (1 + r.nextInt(nodes - 1)) : "n0";
                String group = r.nextInt(3) == 0 ? "" : "plb_anti_affinity_g" + r.nextInt(3);
                if (!group.isEmpty()) tagged.computeIfAbsent(group, k -> new HashSet<>()).add(vmid);
                var g = qemu(vmid, "g" + i, node, 1 + r.nextInt(16), group + (r.nextInt(4) == 0 ? ",maint-ok" : ""));
                if (r.nextInt(3) == 0) {
                    g = ha(g);
                    haVmids.add(vmid);
                }
                b.guest(g);
            }
            tagged.values().forEach(members -> budgets.put(members, 1));
            if (haVmids.size() > 1) {
                int budget = 1 + r.nextInt(3);
                Set<Integer> members = new HashSet<>(haVmids);
                budgets.put(members, budget);
                b.rule(new GuestAffinity("ha-spread", HA_RULE, members, false, budget));
            }
            return b;
        });
        DrainStatus done = w.drainAndWait(DrainRequest.builder("n0").concurrency(Concurrency.fixed(concurrency)).force(true)
                .mode(r.nextBoolean() ? DrainMode.HARD : DrainMode.SOFT).build());
        assertThat(done.status()).isIn(DrainState.COMPLETED, DrainState.FAILED);
        budgets.forEach((members, budget) -> assertThat(w.peakInFlight(members)).as("group %s", members).isLessThanOrEqualTo(budget));
    }

    @Test
    void aRuleListIsPartOfTheSnapshot() {
        PlacementRule rule = new GuestAffinity("x", HA_RULE, Set.of(1, 2), false);
        World w = new World(b -> b.node("hv1", GIB, 1).rule(rule));
        assertThat(w.cluster.snapshot().rules()).containsExactly(rule);
    }
}
