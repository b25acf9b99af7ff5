package io.moxxie.core.service;

import io.moxxie.core.model.Concurrency;
import io.moxxie.core.NotFoundException;
import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.execution.ExecutorConfig;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.PowerState;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.TaskRef;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.testing.Recording;
import io.moxxie.core.testing.Recording.Call;
import io.moxxie.core.testing.TestClusters;
import io.moxxie.core.testing.TestClusters.Env;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static io.moxxie.core.testing.TestClusters.GIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The service's operations around a drain, as an operator or another process uses them: node and guest listings,
 * maintenance mode, starting a guest, a cancel asked by another process, the lease heartbeat, a closed service, and the
 * hypervisor's precondition answers being asked again when they are old.
 */
class ServiceOperationsTest {

    @Test
    void nodesAreListedWithTheirStateMemoryAndGuests() {
        Env env = new Env();
        env.service.enableMaintenance("hv8", "disk swap", false);
        env.cluster.setNodeOnline("hv10", false);
        List<NodeView> nodes = env.service.nodes();
        assertThat(nodes).extracting(NodeView::node).containsExactlyInAnyOrder("hv7", "hv8", "hv9", "hv10");
        NodeView hv7 = nodes.stream().filter(n -> n.node().equals("hv7")).findFirst().orElseThrow();
        assertThat(hv7.status()).isEqualTo("online");
        assertThat(hv7.online()).isTrue();
        assertThat(hv7.inMaintenance()).isFalse();
        assertThat(hv7.maintenanceReason()).isNull();
        assertThat(hv7.guests()).isEqualTo(15);
        assertThat(hv7.memoryTotal()).isEqualTo(256 * GIB);
        assertThat(hv7.memoryUsed()).isPositive().isLessThan(hv7.memoryTotal());
        assertThat(hv7.cpus()).isEqualTo(32);
        NodeView hv8 = nodes.stream().filter(n -> n.node().equals("hv8")).findFirst().orElseThrow();
        assertThat(hv8.status()).isEqualTo("maintenance");
        assertThat(hv8.inMaintenance()).isTrue();
        assertThat(hv8.maintenanceReason()).isEqualTo("disk swap");
        assertThat(hv8.guests()).isEqualTo(2);
        NodeView hv10 = nodes.stream().filter(n -> n.node().equals("hv10")).findFirst().orElseThrow();
        assertThat(hv10.status()).isEqualTo("offline");
        assertThat(hv10.online()).isFalse();
    }

    @Test
    void guestsAreFilteredByEveryTagAskedAndByNode() {
        Env env = new Env();
        assertThat(env.service.guests(null, null)).hasSize(20);
        assertThat(env.service.guests(" ", "")).hasSize(20);
        assertThat(env.service.guests(null, "hv8")).extracting(Guest::vmid).containsExactlyInAnyOrder(9100, 9101);
        assertThat(env.service.guests("always-on", "hv7")).extracting(Guest::vmid)
                .containsExactlyInAnyOrder(8200, 8201, 8202, 8214, 8400, 8600);
        assertThat(env.service.guests("ALWAYS-ON;maint-ok", null)).extracting(Guest::vmid).containsExactly(8214);
        assertThat(env.service.guests("env-prod", "hv9")).extracting(Guest::vmid).containsExactly(9200);
        assertThat(env.service.guest(8300).name()).isEqualTo("dev-box-01");
        assertThatThrownBy(() -> env.service.guest(1)).isInstanceOf(NotFoundException.class).hasMessageContaining("1");
    }

    @Test
    void aGuestCanBeStartedThroughTheService() {
        Env env = new Env();
        TaskRef task = env.service.startGuest(8500);
        assertThat(task.node()).isEqualTo("hv7");
        env.runUntilIdle();
        assertThat(env.guest(8500).status()).isEqualTo(PowerState.RUNNING);
        assertThatThrownBy(() -> env.service.startGuest(4242)).isInstanceOf(NotFoundException.class);
    }

    @Test
    void maintenanceKeepsItsStartAcrossAReasonChangeAndRecordsItsEnd() {
        Env env = new Env();
        MaintenanceView none = env.service.maintenance("hv9");
        assertThat(none.inMaintenance()).isFalse();
        assertThat(none.vmsOnNode()).isEqualTo(2);
        assertThat(none.lastDrainId()).isNull();

        MaintenanceView on = env.service.enableMaintenance("hv9", "firmware", false);
        Instant started = on.maintenanceStarted();
        assertThat(started).isEqualTo(env.scheduler.now());
        assertThat(on.reason()).isEqualTo("firmware");
        env.scheduler.runFor(Duration.ofMinutes(10));
        MaintenanceView again = env.service.enableMaintenance("hv9", "firmware and BIOS", false);
        assertThat(again.reason()).isEqualTo("firmware and BIOS");
        assertThat(again.maintenanceStarted()).as("kept").isEqualTo(started);
        assertThat(env.service.enableMaintenance("hv9", null, false).reason()).as("no reason keeps the reason").isEqualTo("firmware and BIOS");

        env.scheduler.runFor(Duration.ofMinutes(5));
        MaintenanceView off = env.service.disableMaintenance("hv9", false);
        assertThat(off.inMaintenance()).isFalse();
        assertThat(off.maintenanceStarted()).isEqualTo(started);
        assertThat(off.maintenanceEnded()).isEqualTo(started.plus(Duration.ofMinutes(15)));
        assertThat(off.reason()).isEqualTo("firmware and BIOS");
        assertThat(env.service.disableMaintenance("hv9", false).maintenanceEnded()).as("off twice changes nothing")
                .isEqualTo(started.plus(Duration.ofMinutes(15)));
        assertThatThrownBy(() -> env.service.maintenance("hv99")).isInstanceOf(NotFoundException.class);
    }

    @Test
    void aNodeInMaintenanceCannotBeUndrainedAndAnOfflineNodeCannotBeDrained() {
        Env env = new Env();
        env.service.enableMaintenance("hv7", "x", true);
        env.runUntilIdle();
        assertThatThrownBy(() -> env.service.undrain("hv7")).hasMessageContaining("in maintenance");
        env.cluster.setNodeOnline("hv9", false);
        assertThatThrownBy(() -> env.service.drain(DrainRequest.soft("hv9"))).hasMessageContaining("offline");
        assertThat(env.service.drains("hv9", 5)).isEmpty();
    }

    @Test
    void aCancelAskedThroughAnotherProcessIsSeenByTheOwnerAtItsNextHeartbeat() {
        VirtualScheduler scheduler = new VirtualScheduler();
        SimulatedCluster cluster = TestClusters.guideCluster(scheduler).build();
        InMemoryMaintenanceStore store = new InMemoryMaintenanceStore();
        Duration lease = Duration.ofSeconds(30);
        MaintenanceService owner = TestClusters.service(cluster, store).ownerId("owner").lease(lease).build();
        MaintenanceService other = TestClusters.service(cluster, store).ownerId("other").lease(lease).build();
        owner.start();
        other.start();
        DrainStatus s = owner.drain(DrainRequest.builder("hv7").mode(DrainMode.HARD).concurrency(Concurrency.fixed(2)).build()).status();
        scheduler.runFor(Duration.ofSeconds(12));

        Instant askedAt = scheduler.now();
        DrainStatus answer = other.cancel("hv7", s.drainId());
        assertThat(answer.status()).as("the other process only asks").isEqualTo(DrainState.IN_PROGRESS);
        assertThat(store.drain(s.drainId()).orElseThrow().cancelRequested()).isTrue();
        scheduler.runUntil(() -> owner.status("hv7", s.drainId()).vmStatus().stream()
                .anyMatch(v -> "not started: drain cancelled".equals(v.note())), Duration.ofMinutes(5));
        assertThat(scheduler.now()).as("seen at the next heartbeat").isBefore(askedAt.plus(lease.dividedBy(3)).plusSeconds(1));
        scheduler.runUntilIdle();
        DrainStatus done = other.status("hv7", s.drainId());
        assertThat(done.status()).isEqualTo(DrainState.CANCELLED);
        assertThat(cluster.migrations()).noneMatch(m -> m.startedAt().isAfter(askedAt.plus(lease.dividedBy(3))));
        // Cancelling a finished drain changes nothing.
        assertThat(other.cancel("hv7", s.drainId()).status()).isEqualTo(DrainState.CANCELLED);
        assertThat(owner.cancel("hv7", s.drainId()).status()).isEqualTo(DrainState.CANCELLED);
        assertThatThrownBy(() -> other.cancel("hv8", s.drainId())).isInstanceOf(NotFoundException.class);
        assertThatThrownBy(() -> other.cancel("hv7", null)).isInstanceOf(NotFoundException.class);
    }

    @Test
    void theOwnerRenewsItsLeaseEveryThirdOfItWhileTheDrainRunsAndStopsAfter() {
        VirtualScheduler scheduler = new VirtualScheduler();
        SimulatedCluster cluster = TestClusters.guideCluster(scheduler).build();
        InMemoryMaintenanceStore store = new InMemoryMaintenanceStore();
        Recording seen = new Recording(scheduler);
        Duration lease = Duration.ofSeconds(30);
        MaintenanceService service = TestClusters.service(cluster, seen.store(store)).ownerId("owner").lease(lease).build();
        Instant start = scheduler.now();
        service.start();
        DrainStatus s = service.drain(DrainRequest.builder("hv7").mode(DrainMode.HARD).concurrency(Concurrency.fixed(2)).build()).status();
        assertThat(store.drain(s.drainId()).orElseThrow().leaseExpiresAt()).isEqualTo(start.plus(lease));
        scheduler.runFor(Duration.ofSeconds(95));
        // Renewed at 10 s, 20 s, ... 90 s: never less than two thirds of the lease left.
        List<Call> renewals = seen.since(start, "renewLease");
        assertThat(renewals).extracting(Call::at).containsExactly(start.plusSeconds(10), start.plusSeconds(20), start.plusSeconds(30),
                start.plusSeconds(40), start.plusSeconds(50), start.plusSeconds(60), start.plusSeconds(70), start.plusSeconds(80),
                start.plusSeconds(90));
        assertThat(renewals).allMatch(Call::accepted);
        assertThat(store.drain(s.drainId()).orElseThrow().leaseExpiresAt()).isEqualTo(start.plusSeconds(90).plus(lease));

        scheduler.runUntilIdle();
        assertThat(service.status("hv7", s.drainId()).status()).isEqualTo(DrainState.COMPLETED);
        Instant end = store.drain(s.drainId()).orElseThrow().completedAt();
        assertThat(seen.since(end.plusSeconds(10), "renewLease")).as("no heartbeat once nothing runs").isEmpty();
        assertThat(service.activeDrains()).isEmpty();
        assertThat(service.toString()).contains("owner").contains("0 active drains");
    }

    @Test
    void aClosedServiceRefusesNewWork() {
        Env env = new Env();
        env.service.close();
        assertThatThrownBy(() -> env.service.drain(DrainRequest.soft("hv7"))).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("test-owner").hasMessageContaining("closed");
        assertThatThrownBy(() -> env.service.undrain("hv7")).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> env.service.enableMaintenance("hv7", "x", false)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> env.service.disableMaintenance("hv7", false)).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(env.service::start).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void theBuildersSettingsAreTheServices() {
        VirtualScheduler scheduler = new VirtualScheduler();
        SimulatedCluster cluster = TestClusters.guideCluster(scheduler).build();
        io.moxxie.core.policy.TagPolicy policy = io.moxxie.core.policy.TagPolicy.defaults();
        io.moxxie.core.plan.PlacementConfig placement = io.moxxie.core.plan.PlacementConfig.defaults();
        try (MaintenanceService service = TestClusters.service(cluster, new InMemoryMaintenanceStore()).tagPolicy(policy)
                .placement(placement).closeTimeout(Duration.ofSeconds(1)).build()) {
            assertThat(service.tagPolicy()).isSameAs(policy);
            assertThat(service.planner().placement()).isSameAs(placement);
        }
    }

    @Test
    void theBuilderRefusesBadSettingsNamingThem() {
        Env env = new Env();
        assertThatThrownBy(() -> MaintenanceService.builder(env.cluster, env.store).ownerId(" "))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("ownerId");
        assertThatThrownBy(() -> MaintenanceService.builder(env.cluster, env.store).lease(Duration.ZERO)).hasMessageContaining("lease");
        assertThatThrownBy(() -> MaintenanceService.builder(env.cluster, env.store).planningRetryDelay(Duration.ofSeconds(-1)))
                .hasMessageContaining("planningRetryDelay");
        assertThatThrownBy(() -> MaintenanceService.builder(null, env.store)).hasMessageContaining("client");
        assertThatThrownBy(() -> MaintenanceService.builder(env.cluster, null)).hasMessageContaining("store");
        MaintenanceService defaults = MaintenanceService.builder(env.cluster, env.store).scheduler(env.scheduler).build();
        assertThat(defaults.ownerId()).as("host:pid:random").matches(".+:\\d+:[0-9a-f]{8}");
        assertThat(defaults.scheduler()).isSameAs(env.scheduler);
        assertThat(defaults.tagPolicy().alwaysOnTag()).isEqualTo("always-on");
    }

    @Test
    void aGuestWhosePreconditionsChangedSinceThePlanIsJudgedByTheHypervisorsAnswerAtItsTurn() {
        // The plan's answers are a minute old when the later guests' turns come: they are asked again.
        Env env = new Env(c -> c, s -> s.executorConfig(ExecutorConfig.builder().preconditionMaxAge(Duration.ofMinutes(1)).build()));
        DrainStatus s = env.service.drain(DrainRequest.builder("hv7").concurrency(Concurrency.serial()).build()).status();
        long askedAtPlanning = env.cluster.calls().get("preconditions");
        // app-03 gets a passthrough device after the plan was made.
        env.cluster.preconditions(TestClusters.passthrough(8212, "hostpci0"));
        env.runUntilIdle();
        DrainStatus done = env.service.status("hv7", s.drainId());
        assertThat(done.vm(8212).status()).isEqualTo(GuestState.FAILED);
        assertThat(done.vm(8212).error()).contains("hostpci0");
        assertThat(env.nodeOf(8212)).isEqualTo("hv7");
        assertThat(env.cluster.calls().get("preconditions")).isGreaterThan(askedAtPlanning);
    }

    @Test
    void freshPreconditionAnswersAreNotAskedAgain() {
        Env env = new Env(c -> c, s -> s.executorConfig(ExecutorConfig.builder().preconditionMaxAge(Duration.ofHours(1)).build()));
        DrainStatus s = env.service.drain(DrainRequest.builder("hv7").concurrency(Concurrency.fixed(3)).build()).status();
        long askedAtPlanning = env.cluster.calls().get("preconditions");
        env.runUntilIdle();
        assertThat(env.service.status("hv7", s.drainId()).status()).isEqualTo(DrainState.COMPLETED);
        assertThat(env.cluster.calls().get("preconditions")).as("the plan's answers are young enough").isEqualTo(askedAtPlanning);
    }
}
