package io.moxxie.proxmox;

import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.model.PlacementRule.GuestAffinity;
import io.moxxie.core.model.PlacementRule.NodeAffinity;
import io.moxxie.core.model.PlacementRule.Origin;
import io.moxxie.core.model.PowerState;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.HypervisorAuthenticationException;
import io.moxxie.core.time.VirtualScheduler;
import io.moxxie.proxmox.simulation.SimulatedProxmoxApi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.moxxie.proxmox.TestClusters.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What a snapshot costs and carries beyond {@code /cluster/resources}: the HA rules (read once per
 * {@code placementMaxAge}, and only with HA guests), guests Proxmox has no memory figure for, and the start check of
 * the token's privileges.
 */
class ClusterReadTest {
    private static final int NEW_VM = 110;

    private final VirtualScheduler scheduler = new VirtualScheduler();
    private FakeProxmoxApi api;
    private ProxmoxClient client;

    @AfterEach
    void tearDown() {
        if (client != null) client.close();
        api.close();
    }

    private void start(SimulatedCluster.Builder cluster) {
        api = FakeProxmoxApi.start(cluster.build());
        client = api.clientBuilder().clock(scheduler.clock()).build();
    }

    private SimulatedCluster.Builder withRules() {
        return mixed(scheduler)
                .rule(new NodeAffinity("web-nodes", Origin.HA_RULE, Set.of(HA_VM), Map.of("pve2", 2, "pve3", 0), true))
                .rule(new GuestAffinity("apart", Origin.HA_RULE, Set.of(HA_VM, 301), false))
                .guest(vm(301, "ha-web-2", "pve2", PowerState.RUNNING, List.of(), 2, true));
    }

    @Test
    void theRulesAreReadOncePerPlacementMaxAgeNotForEverySnapshot() {
        start(withRules());

        ClusterSnapshot first = client.snapshot();
        client.snapshot();
        scheduler.runFor(ProxmoxClient.DEFAULT_PLACEMENT_MAX_AGE.minusSeconds(1));
        client.snapshot();

        assertThat(first.rules()).containsExactlyInAnyOrder(
                new NodeAffinity("web-nodes", Origin.HA_RULE, Set.of(HA_VM), Map.of("pve2", 2, "pve3", 0), true),
                new GuestAffinity("apart", Origin.HA_RULE, Set.of(HA_VM, 301), false));
        assertThat(api.calls("GET", "/cluster/ha/rules")).hasSize(1);
        assertThat(api.calls("GET", "/cluster/resources")).hasSize(3);

        scheduler.runFor(Duration.ofSeconds(1));
        assertThat(client.snapshot().rules()).hasSize(2);
        assertThat(api.calls("GET", "/cluster/ha/rules")).as("read again once placementMaxAge has passed").hasSize(2);
        assertThat(api.calls("GET", "/cluster/options")).as("the start check's read was 10 minutes ago").hasSize(2);
    }

    @Test
    void aPve9RulesAnswerInTheRealFormatReachesTheSnapshot() {
        start(withRules());
        api.canned("/cluster/ha/rules", FakeProxmoxApi.fixture("cluster_ha_rules.handbuilt-pve9.json"));
        api.canned("/cluster/options", FakeProxmoxApi.fixture("cluster_options.handbuilt-pve9.json"));

        ClusterSnapshot s = client.snapshot();

        assertThat(s.rules()).extracting(r -> r.name()).containsExactly("db-nodes", "app-stack", "db-apart", "ha-group-web");
        assertThat(s.haAutoRebalance()).isTrue();
    }

    @Test
    void aClusterWithoutHaGuestsCostsNoRuleRequests() {
        start(SimulatedCluster.builder(scheduler).node("pve1", 64 * GIB, 16).node("pve2", 64 * GIB, 16)
                .guest(vm(PLAIN_VM, "app", "pve1", PowerState.RUNNING, List.of(), 4, false)));
        client.checkAccess();
        api.clearCalls();

        ClusterSnapshot s = client.snapshot();

        assertThat(s.rules()).isEmpty();
        assertThat(api.calls()).extracting(SimulatedProxmoxApi.Call::toString).containsExactly("GET /cluster/resources");
    }

    @Test
    void rulesThatCannotBeReadDoNotStopTheSnapshotAndAreTriedAgainLater() {
        start(withRules().haAutoRebalance(true));
        client.checkAccess();
        api.failNext("GET", "/cluster/ha/rules", 10, 500, "unable to read file '/etc/pve/ha/rules.cfg'");

        ClusterSnapshot s = client.snapshot();

        assertThat(s.guests()).isNotEmpty();
        assertThat(s.rules()).isEmpty();
        assertThat(s.haAutoRebalance()).isTrue();
        assertThat(api.calls("GET", "/cluster/ha/rules")).as("a 500 on a read is retried").hasSize(1 + ProxmoxClient.DEFAULT_MAX_RETRIES);
        client.snapshot();
        assertThat(api.calls("GET", "/cluster/ha/rules")).as("not again at the next snapshot").hasSize(1 + ProxmoxClient.DEFAULT_MAX_RETRIES);
    }

    @Test
    void aGuestWithoutAMemoryFigureGetsItsConfiguredMemoryReadOnce() {
        start(mixed(scheduler).guest(vm(NEW_VM, "new-vm", "pve2", PowerState.UNKNOWN, List.of(), 6, false)));

        Guest g = client.snapshot().guest(NEW_VM).orElseThrow();
        client.snapshot();

        assertThat(g.memory()).as("6 GiB configured, not 0").isEqualTo(6 * GIB);
        assertThat(api.calls("GET", "/nodes/pve2/qemu/110/config")).hasSize(1);
        assertThat(client.preconditions(g).canMove()).isTrue();
    }

    @Test
    void aGuestWhoseMemoryCannotBeFoundIsBlockedWithTheReason() {
        start(mixed(scheduler).guest(vm(NEW_VM, "new-vm", "pve2", PowerState.UNKNOWN, List.of(), 6, false)));
        api.failNext("GET", "/nodes/pve2/qemu/110/config", 10, 595, "Connection refused");

        Guest g = client.snapshot().guest(NEW_VM).orElseThrow();
        MigrationPreconditions p = client.preconditions(g);

        assertThat(g.memory()).isZero();
        assertThat(p.canMove()).isFalse();
        assertThat(p.blockers()).singleElement().asString().contains("unknown memory").contains("status unknown");
        client.snapshot();
        assertThat(api.calls("GET", "/nodes/pve2/qemu/110/config")).as("not asked again before placementMaxAge")
                .hasSize(1 + ProxmoxClient.DEFAULT_MAX_RETRIES);
    }

    @Test
    void theStartCheckNamesAMissingPrivilegeBeforeAnythingElseIsRead() {
        // Sys.Audit granted on / without propagate: /nodes gets it only from an ACL of its own, here also without propagate.
        start(mixed(scheduler));
        api.permissions(Map.of("/", Map.of("Sys.Audit", 0, "Sys.Console", 0), "/nodes", Map.of("Sys.Audit", 0),
                "/vms", Map.of("VM.Audit", 1, "VM.Migrate", 1, "VM.PowerMgmt", 1, "VM.Config.Options", 1)));

        assertThatThrownBy(client::snapshot)
                .isInstanceOf(HypervisorAuthenticationException.class)
                .hasMessageContaining("Sys.Audit on /nodes must propagate")
                .hasMessageContaining(FakeProxmoxApi.TOKEN_ID)
                .hasMessageNotContaining(FakeProxmoxApi.TOKEN_SECRET);
        assertThat(api.calls()).extracting(SimulatedProxmoxApi.Call::toString).containsExactly("GET /access/permissions");
    }

    @Test
    void aStartCheckThatCannotBeReadDoesNotStopTheSnapshotAndIsMadeAgain() {
        start(mixed(scheduler));
        api.failNext("GET", "/access/permissions", 1 + ProxmoxClient.DEFAULT_MAX_RETRIES, 500, "proxy loop detected");

        assertThat(client.snapshot().guests()).isNotEmpty();
        client.snapshot();

        assertThat(api.calls("GET", "/access/permissions")).hasSize(1 + ProxmoxClient.DEFAULT_MAX_RETRIES + 1);
    }

    @Test
    void theStartCheckPassesWithWhatTheReadmeAsksAndIsNotRepeated() {
        start(mixed(scheduler));

        client.checkAccess();
        client.snapshot();
        client.snapshot();

        assertThat(api.calls("GET", "/access/permissions")).hasSize(1);
    }

    @Test
    void aTokenWithoutTheVmPrivilegesIsStoppedNamingThem() {
        start(mixed(scheduler));
        api.permissions(Map.of("/", Map.of("Sys.Audit", 1), "/nodes", Map.of("Sys.Audit", 1),
                "/vms", Map.of("VM.Audit", 1), "/vms/104", Map.of("VM.Migrate", 1)));

        assertThatThrownBy(client::checkAccess)
                .isInstanceOf(HypervisorAuthenticationException.class)
                .hasMessageContaining("VM.PowerMgmt on /vms")
                .hasMessageContaining("VM.Config.Options on /vms")
                .hasMessageNotContaining("VM.Migrate")
                .hasMessageNotContaining("VM.Audit");
    }
}
