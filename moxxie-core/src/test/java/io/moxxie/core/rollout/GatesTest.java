package io.moxxie.core.rollout;

import io.moxxie.core.model.CephHealth;
import io.moxxie.core.model.CephOsd;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.model.GateVerdict;
import io.moxxie.core.model.HaManagerStatus;
import io.moxxie.core.model.Quorum;
import io.moxxie.core.plan.RolloutRequest;
import io.moxxie.core.spi.HypervisorClient;
import io.moxxie.core.testing.DelegatingHypervisorClient;
import io.moxxie.core.testing.TestClusters;
import io.moxxie.core.testing.TestClusters.Env;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The built-in gates one by one, on what the hypervisor answers: the verdict a rollout shows an operator, and where each
 * gate's line is drawn (quorum exactly at half the votes, {@code maxNodesDown} exactly reached, a Ceph warning allowed
 * or not).
 */
class GatesTest {
    private final Env env = new Env();
    private final Answers hv = new Answers(env.cluster);

    /** The hypervisor's answers to the gates' reads, set by each test; the rest is the guide cluster's. */
    private static final class Answers extends DelegatingHypervisorClient {
        Quorum quorum;
        Optional<CephHealth> ceph = Optional.empty();
        Map<String, List<CephOsd>> osds = new HashMap<>();
        Map<Integer, CephOsd.Safety> safety = new HashMap<>();
        Optional<HaManagerStatus> ha = Optional.empty();

        Answers(HypervisorClient delegate) {
            super(delegate);
        }

        @Override
        public Quorum quorum() {
            return quorum != null ? quorum : delegate.quorum();
        }

        @Override
        public Optional<CephHealth> ceph() {
            return ceph;
        }

        @Override
        public List<CephOsd> cephOsds(String node) {
            return osds.getOrDefault(node, List.of());
        }

        @Override
        public CephOsd.Safety cephOkToStop(String node, int osd) {
            return safety.getOrDefault(osd, new CephOsd.Safety(true, ""));
        }

        @Override
        public Optional<HaManagerStatus> haManagerStatus() {
            return ha;
        }
    }

    private GateContext context(String node, RolloutRequest request, Set<String> flagsWeSet) {
        return new GateContext("r-1", node, request, env.cluster.currentSnapshot(), hv, env.service, flagsWeSet);
    }

    private GateContext context(String node, RolloutRequest.Builder request) {
        return context(node, request.build(), Set.of());
    }

    private static RolloutRequest.Builder request() {
        return RolloutRequest.builder().nodes("hv7", "hv8", "hv9", "hv10");
    }

    // ------------------------------------------------------------------ nodes-down

    @Test
    void nodesDownCountsTheOtherNodesOutOfServiceAndBlocksExactlyAtMaxNodesDown() {
        Gate gate = Gates.nodesDown();
        assertThat(gate.beforeNode(context("hv7", request()))).isEqualTo(GateVerdict.pass("nodes-down", "no other node out of service"));

        env.service.enableMaintenance("hv8", "disk swap", false);
        assertThat(gate.beforeNode(context("hv7", request().maxNodesDown(1)))).isEqualTo(
                GateVerdict.block("nodes-down", "1 node(s) already out of service, maxNodesDown is 1: hv8 in maintenance (disk swap)"));
        assertThat(gate.beforeNode(context("hv7", request().maxNodesDown(2)))).isEqualTo(
                GateVerdict.pass("nodes-down", "1 other node(s) out of service (maxNodesDown 2): hv8 in maintenance (disk swap)"));

        env.cluster.setNodeOnline("hv10", false);
        assertThat(gate.beforeNode(context("hv7", request().maxNodesDown(2)))).as("a node that crashed counts too").isEqualTo(
                GateVerdict.block("nodes-down", "2 node(s) already out of service, maxNodesDown is 2: hv8 in maintenance (disk swap), "
                        + "hv10 offline"));
        assertThat(gate.beforeNode(context("hv7", request().maxNodesDown(3))).pass()).isTrue();
    }

    @Test
    void theNodeItselfDoesNotCountAgainstMaxNodesDownAndBringingItBackAlwaysPasses() {
        env.service.enableMaintenance("hv7", null, false);
        assertThat(Gates.nodesDown().beforeNode(context("hv7", request().maxNodesDown(1))))
                .isEqualTo(GateVerdict.pass("nodes-down", "no other node out of service"));
        env.service.enableMaintenance("hv8", null, false);
        env.service.enableMaintenance("hv9", null, false);
        assertThat(Gates.nodesDown().beforeReturn(context("hv7", request().maxNodesDown(1))))
                .isEqualTo(GateVerdict.pass("nodes-down", "bringing a node back takes none out"));
    }

    @Test
    void nodesDownListsAtMostFiveNodes() {
        Env big = new Env(c -> {
            for (int i = 11; i <= 17; i++) c.node("hv" + i, 64 * TestClusters.GIB, 8);
            return c;
        }, s -> s);
        for (int i = 11; i <= 16; i++) big.cluster.setNodeOnline("hv" + i, false);
        GateVerdict v = Gates.nodesDown().beforeNode(new GateContext("r-1", "hv7", request().maxNodesDown(3).build(),
                big.cluster.currentSnapshot(), big.cluster, big.service, Set.of()));
        assertThat(v).isEqualTo(GateVerdict.block("nodes-down", "6 node(s) already out of service, maxNodesDown is 3: "
                + "hv11 offline, hv12 offline, hv13 offline, hv14 offline, hv15 offline, …"));
    }

    // ------------------------------------------------------------------ quorum

    @Test
    void quorumPassesWhileMoreThanHalfTheVotesStayWithoutTheNode() {
        Gate gate = Gates.quorum();
        hv.quorum = new Quorum(true, 5, Set.of("hv7", "hv8", "hv9", "hv10"));
        assertThat(gate.beforeNode(context("hv7", request())))
                .isEqualTo(GateVerdict.pass("quorum", "4 of 5 votes online, 3 left without hv7 (quorum needs 3)"));

        hv.quorum = new Quorum(true, 5, Set.of("hv7", "hv8", "hv9"));
        assertThat(gate.beforeNode(context("hv7", request()))).as("exactly the quorum with the node, one short without").isEqualTo(
                GateVerdict.block("quorum", "the cluster would lose quorum without hv7: 3 of 5 votes online, 2 left, quorum needs 3"));
        assertThat(gate.beforeNode(context("hv10", request()))).as("a node already offline takes no vote away")
                .isEqualTo(GateVerdict.pass("quorum", "3 of 5 votes online, 3 left without hv10 (quorum needs 3)"));

        hv.quorum = new Quorum(true, 4, Set.of("hv7", "hv8", "hv9"));
        assertThat(gate.beforeNode(context("hv7", request()))).as("half the votes is not a quorum").isEqualTo(
                GateVerdict.block("quorum", "the cluster would lose quorum without hv7: 3 of 4 votes online, 2 left, quorum needs 3"));

        hv.quorum = new Quorum(false, 4, Set.of("hv7", "hv8"));
        assertThat(gate.beforeNode(context("hv7", request())))
                .isEqualTo(GateVerdict.block("quorum", "the cluster has no quorum (2 of 4 votes online)"));
    }

    @Test
    void beforeTheReturnTheClusterMustBeQuorateWithTheNodeOnline() {
        Gate gate = Gates.quorum();
        hv.quorum = new Quorum(true, 4, Set.of("hv7", "hv8", "hv9"));
        assertThat(gate.beforeReturn(context("hv7", request()))).isEqualTo(GateVerdict.pass("quorum", "quorate, hv7 online (3 of 4 votes)"));
        assertThat(gate.beforeReturn(context("hv10", request())))
                .isEqualTo(GateVerdict.block("quorum", "hv10 is not an online member of the cluster"));
        hv.quorum = new Quorum(false, 4, Set.of("hv7", "hv8"));
        assertThat(gate.beforeReturn(context("hv7", request()))).isEqualTo(GateVerdict.block("quorum", "the cluster has no quorum"));
    }

    // ------------------------------------------------------------------ ceph

    @Test
    void withoutCephTheCephGatePassesSayingSo() {
        assertThat(Gates.ceph().beforeNode(context("hv7", request()))).isEqualTo(GateVerdict.pass("ceph", "no Ceph in this cluster"));
        assertThat(Gates.ceph().beforeReturn(context("hv7", request()))).isEqualTo(GateVerdict.pass("ceph", "no Ceph in this cluster"));
    }

    @Test
    void aHealthyCephPassesOnceEveryOsdOfTheNodeIsSafeToStop() {
        hv.ceph = Optional.of(CephHealth.ok(Set.of()));
        hv.osds.put("hv7", List.of(new CephOsd(3, "hv7", true), new CephOsd(4, "hv7", true)));
        assertThat(Gates.ceph().beforeNode(context("hv7", request())))
                .isEqualTo(GateVerdict.pass("ceph", "HEALTH_OK, 2 OSD(s) on hv7 safe to stop"));
        assertThat(Gates.ceph().beforeReturn(context("hv7", request()))).isEqualTo(GateVerdict.pass("ceph", "HEALTH_OK"));

        hv.safety.put(4, new CephOsd.Safety(false, "  2 PGs are already degraded\n"));
        assertThat(Gates.ceph().beforeNode(context("hv7", request())))
                .isEqualTo(GateVerdict.block("ceph", "osd.4 on hv7 is not safe to stop: 2 PGs are already degraded"));
        hv.safety.put(4, new CephOsd.Safety(false, " "));
        assertThat(Gates.ceph().beforeNode(context("hv7", request())))
                .isEqualTo(GateVerdict.block("ceph", "osd.4 on hv7 is not safe to stop"));
        assertThat(Gates.ceph().beforeNode(context("hv8", request()))).as("hv8 has no OSD")
                .isEqualTo(GateVerdict.pass("ceph", "HEALTH_OK, 0 OSD(s) on hv8 safe to stop"));
    }

    @Test
    void aCephWarningPassesOnlyWhenEveryCheckIsAllowed() {
        hv.ceph = Optional.of(new CephHealth(CephHealth.WARN, Map.of(
                "PG_NOT_DEEP_SCRUBBED", new CephHealth.Check(CephHealth.WARN, "3 pgs not deep-scrubbed in time"),
                "POOL_NEARFULL", new CephHealth.Check(CephHealth.WARN, "1 pool(s) nearfull")), Set.of()));

        assertThat(Gates.ceph().beforeNode(context("hv7", request().cephAllowedWarnings(Set.of("PG_NOT_DEEP_SCRUBBED")))))
                .isEqualTo(GateVerdict.block("ceph", "Ceph is HEALTH_WARN: POOL_NEARFULL: 1 pool(s) nearfull"
                        + " (a warning that may be ignored goes in cephAllowedWarnings)"));
        assertThat(Gates.ceph().beforeNode(context("hv7", request())))
                .isEqualTo(GateVerdict.block("ceph", "Ceph is HEALTH_WARN: PG_NOT_DEEP_SCRUBBED: 3 pgs not deep-scrubbed in time; "
                        + "POOL_NEARFULL: 1 pool(s) nearfull (a warning that may be ignored goes in cephAllowedWarnings)"));
        RolloutRequest.Builder both = request().cephAllowedWarnings(Set.of("PG_NOT_DEEP_SCRUBBED", "POOL_NEARFULL"));
        assertThat(Gates.ceph().beforeNode(context("hv7", both)))
                .isEqualTo(GateVerdict.pass("ceph", "HEALTH_WARN, 0 OSD(s) on hv7 safe to stop"));
        assertThat(Gates.ceph().beforeReturn(context("hv7", both))).isEqualTo(GateVerdict.pass("ceph", "HEALTH_WARN"));
        assertThat(Gates.ceph().beforeReturn(context("hv7", request())).pass()).isFalse();
    }

    @Test
    void aCephErrorBlocksEvenWithItsCheckAllowed() {
        hv.ceph = Optional.of(new CephHealth(CephHealth.ERR, Map.of(
                "PG_AVAILABILITY", new CephHealth.Check(CephHealth.ERR, "Reduced data availability: 2 pgs inactive")), Set.of()));
        RolloutRequest.Builder allowed = request().cephAllowedWarnings(Set.of("PG_AVAILABILITY"));
        GateVerdict blocked = GateVerdict.block("ceph", "Ceph is HEALTH_ERR: PG_AVAILABILITY: Reduced data availability: 2 pgs inactive");
        assertThat(Gates.ceph().beforeNode(context("hv7", allowed))).isEqualTo(blocked);
        assertThat(Gates.ceph().beforeReturn(context("hv7", allowed))).isEqualTo(blocked);

        hv.ceph = Optional.of(new CephHealth(CephHealth.ERR, Map.of(), Set.of()));
        assertThat(Gates.ceph().beforeNode(context("hv7", request()))).as("an error without a check")
                .isEqualTo(GateVerdict.block("ceph", "Ceph is HEALTH_ERR"));
    }

    @Test
    void theOsdFlagsWarningOfFlagsTheRolloutSetItselfDoesNotBlockButAnotherFlagDoes() {
        CephHealth noout = new CephHealth(CephHealth.WARN,
                Map.of("OSDMAP_FLAGS", new CephHealth.Check(CephHealth.WARN, "noout flag(s) set")), Set.of("noout"));
        hv.ceph = Optional.of(noout);
        assertThat(Gates.ceph().beforeReturn(context("hv7", request().build(), Set.of("noout"))))
                .isEqualTo(GateVerdict.pass("ceph", "HEALTH_WARN"));
        assertThat(Gates.ceph().beforeReturn(context("hv7", request().build(), Set.of()))).as("set by someone else")
                .isEqualTo(GateVerdict.block("ceph", "Ceph is HEALTH_WARN: OSDMAP_FLAGS: noout flag(s) set"
                        + " (a warning that may be ignored goes in cephAllowedWarnings)"));

        hv.ceph = Optional.of(new CephHealth(CephHealth.WARN,
                Map.of("OSDMAP_FLAGS", new CephHealth.Check(CephHealth.WARN, "noout,noscrub flag(s) set")), Set.of("noout", "noscrub")));
        assertThat(Gates.ceph().beforeReturn(context("hv7", request().build(), Set.of("noout"))).pass())
                .as("noscrub is not the rollout's").isFalse();

        hv.ceph = Optional.of(new CephHealth(CephHealth.WARN,
                Map.of("OSDMAP_FLAGS", new CephHealth.Check(CephHealth.WARN, "flag(s) set")), Set.of()));
        assertThat(Gates.ceph().beforeReturn(context("hv7", request().build(), Set.of("noout"))).pass())
                .as("the warning without a flag read is not the rollout's").isFalse();
    }

    // ------------------------------------------------------------------ ha

    @Test
    void theHaGateWantsAMasterThatSeesTheNodeOnlineBeforeItGoesOut() {
        Gate gate = Gates.ha();
        assertThat(gate.beforeNode(context("hv7", request()))).isEqualTo(GateVerdict.pass("ha", "no HA manager in this cluster"));

        hv.ha = Optional.of(new HaManagerStatus(null, Map.of("hv7", "online"), Map.of()));
        assertThat(gate.beforeNode(context("hv7", request()))).isEqualTo(GateVerdict.block("ha", "no HA manager (CRM master) is active"));

        hv.ha = Optional.of(new HaManagerStatus("hv8", Map.of("hv7", "online", "hv9", "unknown", "hv10", "maintenance"), Map.of()));
        assertThat(gate.beforeNode(context("hv7", request())))
                .isEqualTo(GateVerdict.pass("ha", "the HA manager (master hv8) sees hv7 online"));
        assertThat(gate.beforeNode(context("hv9", request()))).isEqualTo(GateVerdict.block("ha", "the HA manager sees hv9 as unknown"));
        assertThat(gate.beforeNode(context("hv8", request()))).isEqualTo(GateVerdict.block("ha", "the HA manager sees hv8 as absent"));
        assertThat(gate.beforeNode(context("hv10", request())))
                .isEqualTo(GateVerdict.pass("ha", "hv10 is in HA maintenance already"));
    }

    @Test
    void beforeTheReturnTheNodeMustBeOnlineForHaAndOutOfHaMaintenance() {
        Gate gate = Gates.ha();
        assertThat(gate.beforeReturn(context("hv7", request()))).isEqualTo(GateVerdict.pass("ha", "no HA manager in this cluster"));
        hv.ha = Optional.of(new HaManagerStatus("hv8", Map.of("hv7", "online", "hv9", "fence"), Map.of("hv10", "maintenance")));
        assertThat(gate.beforeReturn(context("hv7", request()))).isEqualTo(GateVerdict.pass("ha", "the HA manager sees hv7 online"));
        assertThat(gate.beforeReturn(context("hv10", request()))).isEqualTo(GateVerdict.block("ha", "hv10 is still in HA maintenance: "
                + "HA guests cannot return to it (ha-manager crm-command node-maintenance disable hv10)"));
        assertThat(gate.beforeReturn(context("hv9", request()))).isEqualTo(GateVerdict.block("ha", "the HA manager sees hv9 as fence"));
        assertThat(gate.beforeReturn(context("hv8", request()))).isEqualTo(GateVerdict.block("ha", "the HA manager sees hv8 as absent"));
    }

    // ------------------------------------------------------------------ capacity

    @Test
    void capacityPassesWhenTheOthersTakeEveryGuestAndTheGuestsGoBackToTheirOwnNode() {
        int toMove = env.service.plan(request().build().drainRequest("hv7")).moves().size();
        assertThat(Gates.capacity().beforeNode(context("hv7", request())))
                .isEqualTo(GateVerdict.pass("capacity", toMove + " guest(s) to move, every one placed"));
        assertThat(Gates.capacity().beforeReturn(context("hv7", request())))
                .isEqualTo(GateVerdict.pass("capacity", "the guests return to their own node"));
    }

    @Test
    void capacityNamesTheGuestsThatCannotBePlacedAndForceLetsASoftDrainGoOn() {
        Env full = new Env(c -> {
            for (int i = 0; i < 7; i++) c.guest(TestClusters.qemu(9900 + i, "huge-" + i, "hv8", 250, ""));
            return c;
        }, s -> s);
        GateContext soft = new GateContext("r-1", "hv8", request().build(), full.cluster.currentSnapshot(), full.cluster, full.service, Set.of());
        GateVerdict blocked = Gates.capacity().beforeNode(soft);
        assertThat(blocked.pass()).isFalse();
        assertThat(blocked.reason()).startsWith("7 guest(s) cannot be placed: 9900 (No suitable target node found: not enough memory")
                .contains("9904 (").doesNotContain("9905 (").endsWith(", …");

        GateContext forced = new GateContext("r-1", "hv8", request().force(true).build(), full.cluster.currentSnapshot(), full.cluster,
                full.service, Set.of());
        GateVerdict passed = Gates.capacity().beforeNode(forced);
        assertThat(passed.pass()).isTrue();
        assertThat(passed.reason()).matches("\\d+ guest\\(s\\) to move; with force, 7 would stay: 9900 \\(.*");

        GateContext hard = new GateContext("r-1", "hv8", request().force(true).mode(DrainMode.HARD).build(),
                full.cluster.currentSnapshot(), full.cluster, full.service, Set.of());
        assertThat(Gates.capacity().beforeNode(hard).pass()).as("a hard drain leaves nothing behind, force or not").isFalse();
    }

    @Test
    void theDefaultsAreEveryBuiltInGateInCheckingOrder() {
        assertThat(Gates.defaults()).extracting(Gate::name).containsExactly("nodes-down", "quorum", "ceph", "ha", "capacity");
    }
}
