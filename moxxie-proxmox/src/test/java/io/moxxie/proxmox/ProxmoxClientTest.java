package io.moxxie.proxmox;

import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.model.PowerState;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.simulation.MigrationModel;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.HypervisorAuthenticationException;
import io.moxxie.core.spi.MigrationCommand;
import io.moxxie.core.spi.MigrationProgress;
import io.moxxie.core.spi.TaskRef;
import io.moxxie.core.spi.TaskState;
import io.moxxie.core.time.VirtualScheduler;
import io.moxxie.proxmox.simulation.SimulatedProxmoxApi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static io.moxxie.proxmox.TestClusters.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ProxmoxClientTest {
    private VirtualScheduler scheduler;
    private SimulatedCluster cluster;
    private FakeProxmoxApi api;
    private ProxmoxClient client;

    @BeforeEach
    void setUp() {
        scheduler = new VirtualScheduler();
        cluster = mixed(scheduler).build();
        api = FakeProxmoxApi.start(cluster);
        client = api.clientBuilder().clock(scheduler.clock()).build();
    }

    @AfterEach
    void tearDown() {
        client.close();
        api.close();
    }

    private Guest guest(int vmid) {
        return client.guest(vmid).orElseThrow();
    }

    private TaskState runUntilFinished(TaskRef ref) {
        for (int i = 0; i < 200; i++) {
            TaskState s = client.task(ref);
            if (s.finished()) return s;
            scheduler.runFor(Duration.ofSeconds(5));
        }
        throw new AssertionError("task did not finish: " + ref);
    }

    @Test
    void snapshotIsOneRequestAndMatchesTheCluster() {
        client.checkAccess();
        api.clearCalls();
        client.snapshot();
        api.clearCalls();

        ClusterSnapshot s = client.snapshot();

        assertThat(api.calls()).as("HA rules are read again only after placementMaxAge").extracting(SimulatedProxmoxApi.Call::toString)
                .containsExactly("GET /cluster/resources");
        assertThat(s.nodes()).extracting(n -> n.name()).containsExactly("pve1", "pve2", "pve3");
        assertThat(s.guests()).hasSize(cluster.currentSnapshot().guests().size());
        Guest web = s.guest(ALWAYS_ON_VM).orElseThrow();
        assertThat(web.tags()).containsExactly("always-on", "prod");
        assertThat(web.status()).isEqualTo(PowerState.RUNNING);
        assertThat(s.guest(HA_VM).orElseThrow().haManaged()).isTrue();
        assertThat(s.guest(ALWAYS_ON_VM).orElseThrow().haManaged()).isFalse();
    }

    @Test
    void capturedPve7ClusterIsReadThroughHttp() {
        api.canned("/cluster/resources", FakeProxmoxApi.fixture("cluster_resources.go-proxmox-pve7.json"));

        ClusterSnapshot s = client.snapshot();

        assertThat(s.nodes()).extracting(n -> n.name()).containsExactly("node1", "node2", "node3", "node4");
        assertThat(s.guests()).extracting(Guest::vmid).containsExactly(100, 101, 102, 200);
        assertThat(s.guest(101).orElseThrow().template()).isTrue();
    }

    @Test
    void preconditionsComeFromTheMigrateCheck() {
        MigrationPreconditions p = client.preconditions(guest(LOCAL_DISK_VM));

        assertThat(p.localDisks()).isTrue();
        assertThat(p.notAllowed()).isEmpty(); // allowed nodes listed as {} are allowed
        assertThat(p.canMoveLive()).isTrue();
        assertThat(api.calls("GET", "/nodes/pve1/qemu/101/migrate")).hasSize(1);
    }

    @Test
    void passthroughDeviceBlocksTheGuest() {
        cluster.preconditions(new MigrationPreconditions(PLAIN_VM, Map.of("pve3", "local-zfs"), List.of("hostpci1"), List.of("hostpci0"), false));

        MigrationPreconditions p = client.preconditions(guest(PLAIN_VM));

        assertThat(p.blockers()).containsExactly("hostpci0");
        assertThat(p.liveBlockers()).singleElement().asString().startsWith("hostpci1 (mapped device").endsWith("not live-migratable)");
        assertThat(p.allows("pve2")).isTrue();
        assertThat(p.allows("pve3")).isFalse();
    }

    @Test
    void containersHaveNoPreconditionCheckBeforePve9AndAreAskedOnlyOnce() {
        api.pveMajor(8);

        assertThat(client.preconditions(guest(CONTAINER))).isEqualTo(MigrationPreconditions.unrestricted(CONTAINER));
        assertThat(client.preconditions(guest(ALWAYS_ON_CONTAINER))).isEqualTo(MigrationPreconditions.unrestricted(ALWAYS_ON_CONTAINER));
        assertThat(api.calls("GET", "/nodes/pve1/lxc/\\d+/migrate")).hasSize(1);
    }

    @Test
    void haGuestsAreNotAllowedOnNodesInHaMaintenance() {
        api.haMaintenance("pve3");

        MigrationPreconditions p = client.preconditions(guest(HA_VM));

        assertThat(p.allows("pve2")).isTrue();
        assertThat(p.notAllowed().get("pve3")).contains("HA maintenance");
        assertThat(client.preconditions(guest(PLAIN_VM)).allows("pve3")).isTrue();
    }

    @Test
    void rightAfterASnapshotTheNodesInHaMaintenanceComeFromItsNodeEntriesWithoutReadingTheHaManager() {
        api.haMaintenance("pve3");
        Guest ha = guest(HA_VM);
        client.snapshot(); // PVE 8.3 and later: each node entry carries its hastate

        MigrationPreconditions p = client.preconditions(ha);

        assertThat(p.notAllowed().get("pve3")).contains("HA maintenance");
        assertThat(p.allows("pve2")).isTrue();
        assertThat(api.calls("GET", "/cluster/ha/status/manager_status")).as("no read of the HA manager for it").isEmpty();
        scheduler.runFor(ProxmoxClient.NODE_HA_VIEW_MAX_AGE.plusSeconds(1));
        client.preconditions(ha);
        assertThat(api.calls("GET", "/cluster/ha/status/manager_status")).as("once the view is stale, read").hasSize(1);
    }

    @Test
    void liveMigrationSendsOnlineWithoutLocalDisksWhenThereAreNone() {
        TaskRef ref = client.migrate(new MigrationCommand(guest(PLAIN_VM), "pve2", MigrationType.ONLINE, false, Duration.ofMinutes(3)));

        assertThat(api.calls("POST", ".*/migrate")).singleElement().satisfies(c -> {
            assertThat(c.path()).isEqualTo("/nodes/pve1/qemu/104/migrate");
            assertThat(c.params()).containsExactlyInAnyOrderEntriesOf(Map.of("target", "pve2", "online", "1"));
        });
        assertThat(ref.tracked()).isTrue();
        assertThat(ref.node()).isEqualTo("pve1");
        assertThat(runUntilFinished(ref).successful()).isTrue();
        assertThat(guest(PLAIN_VM).node()).isEqualTo("pve2");
    }

    @Test
    void liveMigrationWithLocalDisksSendsWithLocalDisks() {
        TaskRef ref = client.migrate(new MigrationCommand(guest(LOCAL_DISK_VM), "pve2", MigrationType.ONLINE, true, Duration.ofMinutes(3)));

        assertThat(api.calls("POST", ".*/migrate")).singleElement()
                .satisfies(c -> assertThat(c.params()).containsEntry("online", "1").containsEntry("with-local-disks", "1"));
        assertThat(runUntilFinished(ref).successful()).isTrue();
    }

    @Test
    void stoppedVmMovesOfflineWithoutOnline() {
        TaskRef ref = client.migrate(new MigrationCommand(guest(STOPPED_VM), "pve3", MigrationType.OFFLINE, false, Duration.ofMinutes(3)));

        assertThat(api.calls("POST", ".*/migrate")).singleElement()
                .satisfies(c -> assertThat(c.params()).containsExactlyEntriesOf(Map.of("target", "pve3")));
        assertThat(runUntilFinished(ref).successful()).isTrue();
        assertThat(guest(STOPPED_VM).node()).isEqualTo("pve3");
    }

    @Test
    void liveMigrationProgressIsReadFromTheTaskLogFromTheFirstLineNotReadYet() {
        TaskRef ref = client.migrate(new MigrationCommand(guest(PLAIN_VM), "pve2", MigrationType.ONLINE, false, Duration.ofMinutes(3)));
        assertThat(client.migrationProgress(ref)).as("in its set-up: no progress line yet").isEmpty();

        scheduler.runFor(Duration.ofSeconds(7));
        MigrationProgress p = client.migrationProgress(ref).orElseThrow();
        MigrationProgress now = cluster.migrationProgress(api.clusterTask(ref.id(), ref.node())).orElseThrow();

        assertThat(p.total()).isEqualTo(4 * GIB);
        assertThat(p.transferred()).isPositive().isLessThanOrEqualTo(now.transferred());
        assertThat(p.remaining()).isEqualTo(p.total() - p.transferred());
        assertThat(p.rate()).isPresent();
        assertThat(p.at()).isEqualTo(scheduler.now());
        List<SimulatedProxmoxApi.Call> reads = api.calls("GET", ".*/tasks/.*/log");
        assertThat(reads).hasSize(2);
        assertThat(reads.get(0).params()).containsEntry("start", "0");
        assertThat(Integer.parseInt(reads.get(1).params().get("start"))).as("the second read starts after the lines of the first")
                .isGreaterThanOrEqualTo(10);

        runUntilFinished(ref);
        assertThat(client.migrationProgress(ref)).as("the log shows the end").isEmpty();
        assertThat(api.calls("GET", ".*/tasks/.*/log")).hasSize(3);
    }

    @Test
    void afterMoreThanAPageOfLinesTheRestIsReadToTheLatestLine() {
        tearDown();
        // 0.01 GB/s: the 8 GiB VM copies for 859 s, a progress line a second.
        cluster = mixed(scheduler).model(new MigrationModel(0.02e9, 0.01e9, Duration.ofSeconds(5))).build();
        api = FakeProxmoxApi.start(cluster);
        client = api.clientBuilder().clock(scheduler.clock()).build();
        TaskRef ref = client.migrate(new MigrationCommand(guest(LOCAL_DISK_VM), "pve2", MigrationType.ONLINE, true, Duration.ofHours(1)));
        scheduler.runFor(Duration.ofSeconds(700));
        api.clearCalls();

        MigrationProgress p = client.migrationProgress(ref).orElseThrow();

        List<SimulatedProxmoxApi.Call> reads = api.calls("GET", ".*/tasks/.*/log");
        assertThat(reads).hasSize(2);
        assertThat(reads.get(0).params()).containsEntry("start", "0").containsEntry("limit", String.valueOf(ProxmoxClient.PROGRESS_LOG_PAGE));
        assertThat(Integer.parseInt(reads.get(1).params().get("start"))).as("on from the first page's end: what is left is under a page")
                .isEqualTo(ProxmoxClient.PROGRESS_LOG_PAGE);
        MigrationProgress now = cluster.migrationProgress(api.clusterTask(ref.id(), ref.node())).orElseThrow();
        assertThat((double) p.transferred()).as("the latest line, a second old at most")
                .isCloseTo(now.transferred(), org.assertj.core.api.Assertions.within(0.011e9 + 0.05 * 1024 * 1024 * 1024));
        api.clearCalls();
        scheduler.runFor(Duration.ofSeconds(10));
        client.migrationProgress(ref).orElseThrow();
        assertThat(api.calls("GET", ".*/tasks/.*/log")).as("then one read again").hasSize(1);
    }

    @Test
    void onlyQemuMigrationsHaveProgressAndAskingOthersSendsNothing() {
        TaskRef ct = client.migrate(new MigrationCommand(guest(CONTAINER), "pve2", MigrationType.RESTART, false, Duration.ofSeconds(90)));
        TaskRef ha = client.migrate(new MigrationCommand(guest(HA_VM), "pve2", MigrationType.ONLINE, false, Duration.ofMinutes(3)));
        api.clearCalls();

        assertThat(client.migrationProgress(ct)).isEmpty();
        assertThat(client.migrationProgress(ha)).isEmpty();
        assertThat(api.calls()).isEmpty();
    }

    @Test
    void containerMovesInRestartModeWithItsTimeout() {
        TaskRef ref = client.migrate(new MigrationCommand(guest(CONTAINER), "pve2", MigrationType.RESTART, false, Duration.ofSeconds(90)));

        assertThat(api.calls("POST", ".*/migrate")).singleElement().satisfies(c -> {
            assertThat(c.path()).isEqualTo("/nodes/pve1/lxc/200/migrate");
            assertThat(c.params()).containsExactlyInAnyOrderEntriesOf(Map.of("target", "pve2", "restart", "1", "timeout", "90"));
        });
        assertThat(runUntilFinished(ref).successful()).isTrue();
        Guest after = guest(CONTAINER);
        assertThat(after.node()).isEqualTo("pve2");
        assertThat(after.status()).isEqualTo(PowerState.RUNNING);
    }

    @Test
    void haGuestMovesThroughTheHaStackAndIsJudgedByWhereItRuns() {
        TaskRef ref = client.migrate(new MigrationCommand(guest(HA_VM), "pve2", MigrationType.ONLINE, true, Duration.ofMinutes(3)));

        assertThat(ref.tracked()).isFalse();
        assertThat(api.calls("POST", ".*")).extracting(SimulatedProxmoxApi.Call::toString)
                .containsExactly("POST /cluster/ha/resources/vm:300/migrate {node=pve2}");
        assertThat(client.task(ref).finished()).isFalse(); // the HA manager is still moving it
        assertThat(runUntilFinished(ref).successful()).isTrue();
        assertThat(guest(HA_VM).node()).isEqualTo("pve2");
    }

    @Test
    void haRequestThatTheHaManagerDropsFailsAfterTheTimeLimit() {
        ProxmoxClient c = api.clientBuilder().clock(scheduler.clock()).haRequestTimeout(Duration.ofSeconds(30)).build();
        cluster.setNodeOnline("pve3", false);

        TaskRef ref = c.migrate(new MigrationCommand(guest(HA_VM), "pve3", MigrationType.ONLINE, false, Duration.ofMinutes(3)));
        assertThat(c.task(ref).finished()).isFalse();
        scheduler.runFor(Duration.ofSeconds(31));
        TaskState s = c.task(ref);

        assertThat(s.finished()).isTrue();
        assertThat(s.successful()).isFalse();
        assertThat(s.message()).contains("did not carry out").contains("pve1").contains("offline or in maintenance");
        c.close();
    }

    @Test
    void failedTaskIsReportedWithTheLinesOfItsLog() {
        cluster.failMigrations(PLAIN_VM, 1, "can't migrate VM which uses local devices: hostpci0");

        TaskRef ref = client.migrate(new MigrationCommand(guest(PLAIN_VM), "pve2", MigrationType.ONLINE, false, Duration.ofMinutes(3)));
        TaskState s = runUntilFinished(ref);

        assertThat(s.successful()).isFalse();
        assertThat(s.message()).startsWith("migration aborted").contains("can't migrate VM which uses local devices: hostpci0");
    }

    @Test
    void powerActionsReturnTheirTasks() {
        TaskRef start = client.start(guest(STOPPED_VM));
        assertThat(runUntilFinished(start).successful()).isTrue();
        assertThat(guest(STOPPED_VM).status()).isEqualTo(PowerState.RUNNING);

        TaskRef shutdown = client.shutdown(guest(STOPPED_VM), Duration.ofSeconds(120));
        assertThat(api.calls("POST", "/nodes/pve1/qemu/103/status/shutdown")).singleElement()
                .satisfies(c -> assertThat(c.params()).containsEntry("timeout", "120").containsEntry("forceStop", "1"));
        assertThat(runUntilFinished(shutdown).successful()).isTrue();

        client.start(guest(STOPPED_VM));
        scheduler.runFor(Duration.ofSeconds(5));
        TaskRef stop = client.stop(guest(STOPPED_VM));
        assertThat(runUntilFinished(stop).successful()).isTrue();
        assertThat(guest(STOPPED_VM).status()).isEqualTo(PowerState.STOPPED);
    }

    @Test
    void tagsAreWrittenInProxmoxsOwnForm() {
        client.setTags(guest(PLAIN_VM), List.of("always-on", "web"));
        assertThat(api.calls("PUT", "/nodes/pve1/qemu/104/config")).singleElement()
                .satisfies(c -> assertThat(c.params()).containsExactlyEntriesOf(Map.of("tags", "always-on;web")));
        assertThat(guest(PLAIN_VM).tags()).containsExactly("always-on", "web");

        client.setTags(guest(PLAIN_VM), List.of());
        assertThat(guest(PLAIN_VM).tags()).isEmpty();
    }

    @Test
    void tagsFollowAGuestThatMovedSinceItWasRead() {
        Guest stale = guest(PLAIN_VM);
        cluster.relocate(PLAIN_VM, "pve3");

        client.setTags(stale, List.of("maint-ok"));

        assertThat(guest(PLAIN_VM).tags()).containsExactly("maint-ok");
    }

    @Test
    void passwordLoginSendsTheTicketAndTheCsrfTokenOnWrites() {
        ProxmoxClient c = api.clientBuilder().clock(scheduler.clock())
                .credentials(ProxmoxCredentials.password(FakeProxmoxApi.USER, FakeProxmoxApi.PASSWORD)).build();

        c.setTags(c.guest(PLAIN_VM).orElseThrow(), List.of("web"));
        scheduler.runFor(Duration.ofHours(2)); // the ticket gets old: renewed with the ticket itself
        assertThat(c.snapshot().guests()).isNotEmpty();

        assertThat(api.calls("POST", "/access/ticket")).hasSize(2);
        assertThat(api.calls("POST", "/access/ticket").get(1).params().get("password")).startsWith("PVE:root@pam:");
        assertThat(cluster.currentSnapshot().guest(PLAIN_VM).orElseThrow().tags()).containsExactly("web");
        c.close();
    }

    @Test
    void wrongTokenStopsWithAnAuthenticationErrorNamingTheTokenButNotTheSecret() {
        String secret = "00000000-dead-beef-0000-000000000000";
        ProxmoxClient c = api.clientBuilder().credentials(ProxmoxCredentials.apiToken(FakeProxmoxApi.TOKEN_ID, secret)).build();

        assertThatThrownBy(c::snapshot)
                .isInstanceOf(HypervisorAuthenticationException.class)
                .hasMessageContaining(FakeProxmoxApi.TOKEN_ID)
                .hasMessageContaining("401")
                .hasMessageNotContaining(secret);
        assertThat(api.calls()).as("the start check's first request, not retried").singleElement().hasToString("GET /access/permissions");
        assertThat(c.toString()).contains(FakeProxmoxApi.TOKEN_ID).doesNotContain(secret);
        c.close();
    }

    @Test
    void wrongPasswordStopsWithAnAuthenticationErrorNamingTheUser() {
        ProxmoxClient c = api.clientBuilder().credentials(ProxmoxCredentials.password("root@pam", "hunter2")).build();

        assertThatThrownBy(c::snapshot)
                .isInstanceOf(HypervisorAuthenticationException.class)
                .hasMessageContaining("root@pam")
                .hasMessageNotContaining("hunter2");
        c.close();
    }

    // ------------------------------------------------------------------ a rollout's gates

    @Test
    void weightedVotesAreReadOnceAndAgainOnlyWhenCorosyncConfChanges() {
        String status = FakeProxmoxApi.fixture("built/cluster_status.offline-node.json");
        api.canned("/cluster/status", status).canned("/cluster/config/nodes", FakeProxmoxApi.fixture("built/cluster_config_nodes.weighted-votes.json"));

        assertThat(client.quorum().expectedVotes()).isEqualTo(5);
        assertThat(client.quorum().quorateWithout("pve1")).as("pve1 holds 2 of 5 votes").isFalse();
        assertThat(api.calls("GET", "/cluster/config/nodes")).hasSize(1);

        api.canned("/cluster/status", status.replace("\"version\": 7", "\"version\": 8"));
        client.quorum();
        assertThat(api.calls("GET", "/cluster/config/nodes")).as("corosync.conf version 8: votes read again").hasSize(2);
    }
}
