package io.moxxie.proxmox;

import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.model.Concurrency;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.model.PlacementRule;
import io.moxxie.core.model.PlacementRule.GuestAffinity;
import io.moxxie.core.model.PlacementRule.NodeAffinity;
import io.moxxie.core.model.PlacementRule.Origin;
import io.moxxie.core.model.PowerState;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.service.MaintenanceService;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.HypervisorException;
import io.moxxie.core.spi.MigrationCommand;
import io.moxxie.core.spi.TaskRef;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.time.VirtualScheduler;
import io.moxxie.proxmox.simulation.SimulatedProxmoxApi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.moxxie.proxmox.TestClusters.GIB;
import static io.moxxie.proxmox.TestClusters.vm;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * A Proxmox VE 9 cluster with HA rules, drained through {@link MaintenanceService} + {@link ProxmoxClient} + the
 * simulated API over the JDK's HTTP server: the client reads the rules in their real format, and the planner and the
 * executor honour them; a positive rule's members move with one HA migrate request, Proxmox moving the others along.
 */
class HaRulesThroughHttpTest {
    private static final String TOKEN_ID = "moxxie@pve!drain";
    private static final String TOKEN_SECRET = "6a0e2c4d-5b7f-4e91-8a3c-1d2e3f4a5b6c";

    /** Together ("app-stack", positive): one request moves both. */
    private static final int APP = 301, APP_DB = 302;
    /** Apart ("db-apart", negative): 311 is on pve1, 312 on pve2: 311 may not go to pve2. */
    private static final int REPLICA_A = 311, REPLICA_B = 312;
    /** Strictly on pve4 ("licence-node"). */
    private static final int LICENSED = 321;

    private final VirtualScheduler scheduler = new VirtualScheduler();
    private final SimulatedHttp http = new SimulatedHttp(scheduler, TOKEN_ID, TOKEN_SECRET);
    private SimulatedCluster cluster;
    private SimulatedProxmoxApi api;
    private MaintenanceService service;
    private ProxmoxClient client;

    @AfterEach
    void tearDown() throws Exception {
        http.close();
    }

    private void start(int pveMajor, boolean haAutoRebalance, PlacementRule... rules) {
        SimulatedCluster.Builder b = SimulatedCluster.builder(scheduler)
                .node("pve1", 64 * GIB, 4 * GIB, 16)
                .node("pve2", 64 * GIB, 4 * GIB, 16)
                .node("pve3", 64 * GIB, 40 * GIB, 16) // the emptiest nodes first: pve4, then pve2
                .node("pve4", 64 * GIB, 2 * GIB, 16)
                .guest(vm(APP, "app", "pve1", PowerState.RUNNING, List.of(), 4, true))
                .guest(vm(APP_DB, "app-db", "pve1", PowerState.RUNNING, List.of(), 4, true))
                .guest(vm(REPLICA_A, "db-a", "pve1", PowerState.RUNNING, List.of(), 4, true))
                .guest(vm(REPLICA_B, "db-b", "pve2", PowerState.RUNNING, List.of(), 4, true))
                .guest(vm(LICENSED, "licensed", "pve1", PowerState.RUNNING, List.of(), 2, true))
                .haAutoRebalance(haAutoRebalance);
        for (PlacementRule r : rules) b.rule(r);
        cluster = b.build();
        api = SimulatedProxmoxApi.builder(cluster).apiToken(TOKEN_ID, TOKEN_SECRET).pveMajorVersion(pveMajor).build();
        client = http.client(api);
        service = http.closeLater(MaintenanceService.builder(client, new InMemoryMaintenanceStore()).scheduler(scheduler)
                .ownerId("ha-rules-test").build());
        service.start();
    }

    private static PlacementRule[] pve9Rules() {
        return new PlacementRule[] {
                new GuestAffinity("app-stack", Origin.HA_RULE, Set.of(APP, APP_DB), true),
                new GuestAffinity("db-apart", Origin.HA_RULE, Set.of(REPLICA_A, REPLICA_B), false),
                new NodeAffinity("licence-node", Origin.HA_RULE, Set.of(LICENSED), Map.of("pve3", 0), true)};
    }

    private DrainStatus drainPve1() {
        DrainStatus started = service.drain(DrainRequest.builder("pve1").mode(DrainMode.SOFT).concurrency(Concurrency.fixed(3)).build()).status();
        scheduler.runUntilIdle();
        DrainStatus done = service.status("pve1", started.drainId());
        assertThat(done.status()).as("drain of pve1: %s", done).isEqualTo(DrainState.COMPLETED);
        return done;
    }

    private String nodeOf(int vmid) {
        return cluster.currentSnapshot().guest(vmid).map(Guest::node).orElseThrow();
    }

    @Test
    void aPve9DrainHonoursTheHaRulesAndOneRequestMovesAPositiveRulesMembers() {
        start(9, false, pve9Rules());

        drainPve1();

        assertThat(cluster.currentSnapshot().guestsOn("pve1")).isEmpty();
        assertThat(nodeOf(APP)).as("app-stack stays together").isEqualTo(nodeOf(APP_DB));
        assertThat(api.calls("POST", "/cluster/ha/resources/vm:30[12]/migrate")).as("one request for the pair: Proxmox moves the other along")
                .hasSize(1);
        assertThat(nodeOf(REPLICA_A)).as("db-apart").isNotEqualTo(nodeOf(REPLICA_B));
        assertThat(nodeOf(LICENSED)).as("licence-node is strict").isEqualTo("pve3");
        assertThat(api.calls("GET", "/cluster/ha/rules")).as("rules read once, for the plan").hasSize(1);
        assertThat(api.calls("GET", "/cluster/ha/groups")).as("PVE 9 has rules, not groups").isEmpty();
        assertThat(api.calls()).allSatisfy(c -> assertThat(c.params()).doesNotContainKeys("force", "migration_type"));
    }

    private MigrationCommand liveTo(int vmid, String target) {
        return new MigrationCommand(cluster.currentSnapshot().guest(vmid).orElseThrow(), target, MigrationType.ONLINE, false, Duration.ofMinutes(3));
    }

    @Test
    void theHaMigrateAnswerNamesTheGuestsProxmoxMovesAlong() {
        start(9, false, pve9Rules());

        TaskRef ref = client.migrate(liveTo(APP, "pve4"));

        assertThat(ref.tracked()).isFalse();
        assertThat(ref.comigrated()).containsExactly(APP_DB);
        scheduler.runFor(Duration.ofMinutes(10));
        assertThat(client.task(ref).successful()).isTrue();
        assertThat(nodeOf(APP_DB)).isEqualTo("pve4");
    }

    @Test
    void anHaMigrateANegativeRuleBlocksIsReportedWithTheBlockingGuest() {
        start(9, false, pve9Rules());

        assertThatThrownBy(() -> client.migrate(liveTo(REPLICA_A, "pve2")))
                .isInstanceOf(HypervisorException.class)
                .hasMessageContaining("will not carry it out")
                .hasMessageContaining("vm:312 (resource-affinity)");
        scheduler.runFor(Duration.ofMinutes(10));
        assertThat(nodeOf(REPLICA_A)).isEqualTo("pve1");
    }

    @Test
    void pve9sMigrateCheckRulesOutTheNodeOfANegativeRulesOtherMember() {
        start(9, false, pve9Rules());

        var p = client.preconditions(cluster.currentSnapshot().guest(REPLICA_A).orElseThrow());

        assertThat(p.notAllowed()).containsOnlyKeys("pve2");
        assertThat(p.notAllowed().get("pve2")).isEqualTo("HA rules: vm:312 (resource-affinity)");
    }

    @Test
    void aPve8ClustersHaGroupsAreReadAsNodeAffinity() {
        start(8, false, new NodeAffinity("licence", Origin.HA_GROUP, Set.of(LICENSED), Map.of("pve3", 1), true));

        drainPve1();

        assertThat(nodeOf(LICENSED)).as("restricted group").isEqualTo("pve3");
        assertThat(api.calls("GET", "/cluster/ha/rules")).as("501 on PVE 8, asked once").hasSize(1);
        assertThat(api.calls("GET", "/cluster/ha/groups")).hasSize(1);
        assertThat(api.calls("GET", "/cluster/ha/resources")).as("the groups' members").hasSize(1);
    }

    @Test
    void haAutoRebalancingIsNamedInTheDrainsStatus() {
        start(9, true, pve9Rules());

        DrainStatus done = drainPve1();

        assertThat(done.message()).contains("auto-rebalancing is on");
        assertThat(api.calls("GET", "/cluster/options")).as("read at the start check, not again within placementMaxAge").hasSize(1);
    }
}
