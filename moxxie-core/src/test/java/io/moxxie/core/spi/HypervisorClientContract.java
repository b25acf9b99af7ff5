package io.moxxie.core.spi;

import io.moxxie.core.model.CephHealth;
import io.moxxie.core.model.CephOsd;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.HaManagerStatus;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.model.PowerState;
import io.moxxie.core.model.Quorum;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The {@link HypervisorClient} contract as core relies on it, for every implementation: a subclass supplies the client
 * over a {@link SimulatedCluster} (the cluster itself, or a client of a real hypervisor's API talking to a simulation of
 * that API). The cluster runs in virtual time: the test moves it on between a task's reads.
 *
 * <p>The cluster: nodes {@code pve1}, {@code pve2}, {@code pve3}; on {@code pve1} a running VM tagged {@code always-on},
 * a VM with a passthrough device, a stopped VM, a container and a plain VM.
 */
public abstract class HypervisorClientContract {
    protected static final long GIB = 1L << 30;
    protected static final int TAGGED_VM = 100;
    protected static final int PASSTHROUGH_VM = 101;
    protected static final int STOPPED_VM = 103;
    protected static final int PLAIN_VM = 104;
    protected static final int CONTAINER = 200;
    protected static final int UNKNOWN_VM = 4242;

    protected VirtualScheduler scheduler;
    protected SimulatedCluster cluster;
    protected HypervisorClient client;

    /** The client under test, over {@code cluster} (which runs on {@code cluster.scheduler()}, a {@link VirtualScheduler}). */
    protected abstract HypervisorClient client(SimulatedCluster cluster);

    /** Releases what {@link #client} opened; called after each test. */
    protected void closeClient() throws Exception {
    }

    @BeforeEach
    void createTheClient() {
        scheduler = new VirtualScheduler();
        cluster = SimulatedCluster.builder(scheduler)
                .node("pve1", 64 * GIB, 4 * GIB, 16)
                .node("pve2", 64 * GIB, 4 * GIB, 16)
                .node("pve3", 64 * GIB, 4 * GIB, 16)
                .guest(vm(TAGGED_VM, "web-prod-01", PowerState.RUNNING, List.of("always-on", "prod"), 4))
                .guest(vm(PASSTHROUGH_VM, "gpu-01", PowerState.RUNNING, List.of(), 8))
                .guest(vm(STOPPED_VM, "old-test", PowerState.STOPPED, List.of(), 2))
                .guest(vm(PLAIN_VM, "app-02", PowerState.RUNNING, List.of(), 4))
                .guest(new Guest(CONTAINER, "dns-ct", "pve1", GuestType.LXC, PowerState.RUNNING, List.of(), GIB, GIB / 4, false, false, null))
                .preconditions(new MigrationPreconditions(PASSTHROUGH_VM, Map.of(), List.of(), List.of("hostpci0"), false))
                .build();
        client = client(cluster);
    }

    @AfterEach
    void closeTheClient() throws Exception {
        closeClient();
    }

    private static Guest vm(int vmid, String name, PowerState status, List<String> tags, long memGiB) {
        return new Guest(vmid, name, "pve1", GuestType.QEMU, status, tags, memGiB * GIB, status == PowerState.RUNNING ? memGiB * GIB / 2 : 0,
                false, false, null);
    }

    private Guest guest(int vmid) {
        return client.guest(vmid).orElseThrow();
    }

    /** Reads the task, moving the cluster's time on between reads, until it has ended. */
    protected TaskState awaitTask(TaskRef task) {
        for (int i = 0; i < 500; i++) {
            TaskState s = client.task(task);
            if (s.finished()) return s;
            scheduler.runFor(Duration.ofSeconds(2));
        }
        throw new AssertionError("task did not end within 1000 s: " + task);
    }

    // ------------------------------------------------------------------ reads

    @Test
    void theSnapshotHasEveryNodeAndGuestWithItsPlaceStateAndTags() {
        ClusterSnapshot s = client.snapshot();

        assertThat(s.nodes()).extracting(n -> n.name()).containsExactlyInAnyOrder("pve1", "pve2", "pve3");
        assertThat(s.nodes()).allMatch(n -> n.online() && n.memoryTotal() == 64 * GIB);
        assertThat(s.guests()).extracting(Guest::vmid).containsExactlyInAnyOrder(TAGGED_VM, PASSTHROUGH_VM, STOPPED_VM, PLAIN_VM, CONTAINER);
        Guest web = s.guest(TAGGED_VM).orElseThrow();
        assertThat(web.node()).isEqualTo("pve1");
        assertThat(web.name()).isEqualTo("web-prod-01");
        assertThat(web.type()).isEqualTo(GuestType.QEMU);
        assertThat(web.status()).isEqualTo(PowerState.RUNNING);
        assertThat(web.tags()).containsExactly("always-on", "prod");
        assertThat(web.memory()).isEqualTo(4 * GIB);
        assertThat(s.guest(STOPPED_VM).orElseThrow().status()).isEqualTo(PowerState.STOPPED);
        assertThat(s.guest(CONTAINER).orElseThrow().type()).isEqualTo(GuestType.LXC);
        assertThat(s.guestsOn("pve2")).isEmpty();
    }

    @Test
    void oneGuestIsReadFreshAndAnUnknownOneIsEmpty() {
        assertThat(client.guest(PLAIN_VM)).map(Guest::node).contains("pve1");
        cluster.relocate(PLAIN_VM, "pve3");
        assertThat(client.guest(PLAIN_VM)).map(Guest::node).contains("pve3");
        assertThat(client.guest(UNKNOWN_VM)).isEmpty();
    }

    @Test
    void preconditionsSayWhetherAGuestCanMove() {
        MigrationPreconditions free = client.preconditions(guest(TAGGED_VM));
        assertThat(free.vmid()).isEqualTo(TAGGED_VM);
        assertThat(free.allows("pve2")).isTrue();
        assertThat(free.canMove()).isTrue();
        assertThat(free.canMoveLive()).isTrue();

        MigrationPreconditions blocked = client.preconditions(guest(PASSTHROUGH_VM));
        assertThat(blocked.canMove()).isFalse();
        assertThat(blocked.blockers()).anyMatch(b -> b.contains("hostpci0"));
    }

    // ------------------------------------------------------------------ writes and tasks

    @Test
    void aMigrationRunsAsATaskThatEndsOkWithTheGuestOnTheTarget() {
        TaskRef task = client.migrate(new MigrationCommand(guest(TAGGED_VM), "pve2", MigrationType.ONLINE, false, Duration.ofMinutes(3)));

        assertThat(task.node()).isEqualTo("pve1");
        assertThat(client.task(task).finished()).as("still running right after the request").isFalse();
        TaskState end = awaitTask(task);

        assertThat(end.successful()).as("%s", end).isTrue();
        assertThat(guest(TAGGED_VM).node()).isEqualTo("pve2");
        assertThat(guest(TAGGED_VM).status()).isEqualTo(PowerState.RUNNING);
        assertThat(client.task(task).successful()).as("read again after the end").isTrue();
    }

    @Test
    void aFailingMigrationsTaskEndsFailedWithTheHypervisorsMessageAndTheGuestStays() {
        cluster.failMigrations(PLAIN_VM, 1, "migration aborted: disk mirroring failed");
        TaskRef task = client.migrate(new MigrationCommand(guest(PLAIN_VM), "pve2", MigrationType.ONLINE, false, Duration.ofMinutes(3)));

        TaskState end = awaitTask(task);

        assertThat(end.successful()).isFalse();
        assertThat(end.message()).contains("disk mirroring failed");
        assertThat(guest(PLAIN_VM).node()).isEqualTo("pve1");
    }

    @Test
    void anOfflineMigrationMovesAStoppedGuest() {
        TaskRef task = client.migrate(new MigrationCommand(guest(STOPPED_VM), "pve3", MigrationType.OFFLINE, false, Duration.ofMinutes(3)));
        assertThat(awaitTask(task).successful()).isTrue();
        assertThat(guest(STOPPED_VM).node()).isEqualTo("pve3");
        assertThat(guest(STOPPED_VM).status()).isEqualTo(PowerState.STOPPED);
    }

    @Test
    void aStoppedGuestIsStartedAndARunningOneShutDownAndStopped() {
        assertThat(awaitTask(client.start(guest(STOPPED_VM))).successful()).isTrue();
        assertThat(guest(STOPPED_VM).status()).isEqualTo(PowerState.RUNNING);

        awaitTask(client.shutdown(guest(PLAIN_VM), Duration.ofMinutes(1)));
        scheduler.runFor(Duration.ofMinutes(2));
        assertThat(guest(PLAIN_VM).status()).isEqualTo(PowerState.STOPPED);

        assertThat(awaitTask(client.stop(guest(CONTAINER))).successful()).isTrue();
        assertThat(guest(CONTAINER).status()).isEqualTo(PowerState.STOPPED);
    }

    @Test
    void tagsAreReplacedAndReadBackAndWritingThemAgainChangesNothing() {
        client.setTags(guest(PLAIN_VM), List.of("maint-ok", "env-dev"));
        assertThat(guest(PLAIN_VM).tags()).containsExactly("maint-ok", "env-dev");
        client.setTags(guest(PLAIN_VM), List.of("maint-ok", "env-dev"));
        assertThat(guest(PLAIN_VM).tags()).containsExactly("maint-ok", "env-dev");
        client.setTags(guest(PLAIN_VM), List.of());
        assertThat(guest(PLAIN_VM).tags()).isEmpty();
    }

    // ------------------------------------------------------------------ a rollout's gates: quorum, Ceph, HA manager

    @Test
    void quorumCountsEveryMemberAndSeesNodesGoAndTheQuorumBeLost() {
        Quorum all = client.quorum();
        assertThat(all.quorate()).isTrue();
        assertThat(all.expectedVotes()).isEqualTo(3);
        assertThat(all.onlineNodes()).containsExactlyInAnyOrder("pve1", "pve2", "pve3");
        assertThat(all.quorateWithout("pve1")).as("two of three votes left").isTrue();

        cluster.setNodeOnline("pve3", false);
        Quorum two = client.quorum();
        assertThat(two.quorate()).isTrue();
        assertThat(two.expectedVotes()).as("an offline member still counts").isEqualTo(3);
        assertThat(two.onlineNodes()).containsExactlyInAnyOrder("pve1", "pve2");
        assertThat(two.quorateWithout("pve1")).as("one of three votes left").isFalse();

        cluster.quorumLost(true);
        assertThat(client.quorum().quorate()).isFalse();
    }

    @Test
    void aClusterWithoutCephOrHaHasNoCephHealthNoOsdsNoHaManagerAndRefusesCephFlags() {
        assertThat(client.ceph()).isEmpty();
        assertThat(client.cephOsds("pve1")).isEmpty();
        assertThat(client.haManagerStatus()).isEmpty();
        assertThatThrownBy(() -> client.setCephFlag("noout", true))
                .isInstanceOf(HypervisorException.class).isNotInstanceOf(TransientHypervisorException.class);
        assertThatThrownBy(() -> client.cephOkToStop("pve1", 0))
                .isInstanceOf(HypervisorException.class).isNotInstanceOf(TransientHypervisorException.class);
    }

    @Test
    void cephHealthListsTheOsdsOfEachNodeAndShowsAFlagSetAndCleared() {
        cluster.withCeph(2);

        CephHealth healthy = client.ceph().orElseThrow();
        assertThat(healthy.status()).isEqualTo(CephHealth.OK);
        assertThat(healthy.checks()).isEmpty();
        assertThat(healthy.flags()).isEmpty();
        assertThat(client.cephOsds("pve2")).containsExactly(new CephOsd(2, "pve2", true), new CephOsd(3, "pve2", true));

        client.setCephFlag("noout", true);
        client.setCephFlag("noout", true);
        CephHealth noout = client.ceph().orElseThrow();
        assertThat(noout.status()).isEqualTo(CephHealth.WARN);
        assertThat(noout.flags()).containsExactly("noout");
        assertThat(noout.checks()).containsOnlyKeys("OSDMAP_FLAGS");
        assertThat(noout.checks().get("OSDMAP_FLAGS").summary()).contains("noout");

        client.setCephFlag("noout", false);
        assertThat(client.ceph().orElseThrow().status()).isEqualTo(CephHealth.OK);
        assertThat(client.ceph().orElseThrow().flags()).isEmpty();
    }

    @Test
    void aRebootTakesTheNodesOsdsDownAndPlacementGroupsStayDegradedUntilTheyRecover() {
        cluster.withCeph(2);
        cluster.reboot("pve2", Duration.ofMinutes(3));

        assertThat(client.cephOsds("pve2")).as("read while pve2 is down").extracting(CephOsd::up).containsExactly(false, false);
        assertThat(client.cephOsds("pve1")).extracting(CephOsd::up).containsExactly(true, true);
        CephHealth down = client.ceph().orElseThrow();
        assertThat(down.status()).isEqualTo(CephHealth.WARN);
        assertThat(down.checks()).containsKeys("OSD_DOWN", "PG_DEGRADED");
        assertThat(client.cephOkToStop("pve3", 4).safe()).as("another node's OSDs are down").isFalse();
        assertThat(client.quorum().onlineNodes()).doesNotContain("pve2");

        scheduler.runFor(Duration.ofMinutes(3).plusSeconds(1));
        assertThat(client.cephOsds("pve2")).extracting(CephOsd::up).containsExactly(true, true);
        CephHealth recovering = client.ceph().orElseThrow();
        assertThat(recovering.checks()).as("back up, still catching up").containsOnlyKeys("PG_DEGRADED");

        scheduler.runFor(Duration.ofMinutes(2));
        assertThat(client.ceph().orElseThrow().status()).isEqualTo(CephHealth.OK);
        assertThat(client.cephOkToStop("pve3", 4).safe()).isTrue();
    }

    @Test
    void cephSaysWhichOsdsCanStopAndWhyOneCannot() {
        cluster.withCeph(2).osdUnsafeToStop(0, "1 PGs are already too degraded");

        CephOsd.Safety unsafe = client.cephOkToStop("pve1", 0);
        assertThat(unsafe.safe()).isFalse();
        assertThat(unsafe.message()).contains("1 PGs are already too degraded");
        assertThat(client.cephOkToStop("pve1", 1).safe()).isTrue();
    }

    @Test
    void theHaManagerShowsItsMasterAndANodeInMaintenance() {
        cluster.withHa().haMaintenance("pve2", true);

        HaManagerStatus ha = client.haManagerStatus().orElseThrow();
        assertThat(ha.masterNode()).isIn("pve1", "pve2", "pve3");
        assertThat(ha.inMaintenance("pve2")).isTrue();
        assertThat(ha.inMaintenance("pve1")).isFalse();
        assertThat(ha.nodeStatus()).containsEntry("pve1", "online").containsEntry("pve2", "maintenance");

        cluster.haMaintenance("pve2", false);
        assertThat(client.haManagerStatus().orElseThrow().inMaintenance("pve2")).isFalse();
    }

    // ------------------------------------------------------------------ errors

    @Test
    void movingOrStartingAGuestThatDoesNotExistIsADefiniteError() {
        Guest ghost = new Guest(UNKNOWN_VM, "ghost", "pve1", GuestType.QEMU, PowerState.STOPPED, List.of(), GIB, 0, false, false, null);

        assertThatThrownBy(() -> client.migrate(new MigrationCommand(ghost, "pve2", MigrationType.OFFLINE, false, Duration.ofMinutes(3))))
                .isInstanceOf(HypervisorException.class).isNotInstanceOf(TransientHypervisorException.class)
                .hasMessageContaining(String.valueOf(UNKNOWN_VM));
        assertThatThrownBy(() -> client.start(ghost))
                .isInstanceOf(HypervisorException.class).isNotInstanceOf(TransientHypervisorException.class)
                .hasMessageContaining(String.valueOf(UNKNOWN_VM));
    }

    @Test
    void migratingToANodeThatDoesNotExistIsADefiniteErrorNamingIt() {
        assertThatThrownBy(() -> client.migrate(new MigrationCommand(guest(PLAIN_VM), "pve9", MigrationType.ONLINE, false, Duration.ofMinutes(3))))
                .isInstanceOf(HypervisorException.class).isNotInstanceOf(TransientHypervisorException.class)
                .hasMessageContaining("pve9");
        assertThat(guest(PLAIN_VM).node()).isEqualTo("pve1");
    }
}
