package io.moxxie.core.model;

import io.moxxie.core.ValidationException;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * What the hypervisor tells about the cluster, as the gates, the planner and the operator read it: quorum, Ceph, the
 * HA manager, placement rules, preconditions, maintenance records, node names and guests.
 */
class ClusterFactsTest {
    private static final Instant T0 = Instant.parse("2025-01-15T10:00:00Z");

    @Test
    void aClusterKeepsQuorumWithoutANodeOnlyWhileMoreThanHalfTheExpectedVotesStayOnline() {
        // 5 expected votes: quorum needs 3.
        Quorum four = new Quorum(true, 5, Set.of("hv1", "hv2", "hv3", "hv4"));
        assertThat(four.quorateWithout("hv1")).as("3 left of 5").isTrue();
        Quorum three = new Quorum(true, 5, Set.of("hv1", "hv2", "hv3"));
        assertThat(three.quorateWithout("hv1")).as("2 left of 5").isFalse();
        assertThat(three.quorateWithout("hv5")).as("hv5 is offline already: 3 stay").isTrue();
        // 4 expected votes: quorum needs 3; exactly half is not enough.
        Quorum even = new Quorum(true, 4, Set.of("hv1", "hv2", "hv3"));
        assertThat(even.quorateWithout("hv1")).as("2 left of 4").isFalse();
        assertThat(even.quorateWithout("hv4")).as("3 left of 4").isTrue();
        assertThat(new Quorum(false, 4, Set.of("hv1", "hv2", "hv3", "hv4")).quorateWithout("hv9"))
                .as("a cluster without quorum keeps none").isFalse();
        assertThatThrownBy(() -> new Quorum(true, -1, Set.of())).isInstanceOfSatisfying(ValidationException.class,
                e -> assertThat(e.field()).isEqualTo("expectedVotes"));
    }

    @Test
    void aNodeIsInHaMaintenanceWhenItsCrmStatusOrItsLrmSaysSo() {
        HaManagerStatus ha = new HaManagerStatus("hv1", Map.of("hv1", "online", "hv2", "maintenance", "hv3", "online"),
                Map.of("hv1", "active", "hv2", "active", "hv3", "maintenance"));
        assertThat(ha.inMaintenance("hv1")).isFalse();
        assertThat(ha.inMaintenance("hv2")).as("CRM status").isTrue();
        assertThat(ha.inMaintenance("hv3")).as("LRM mode").isTrue();
        assertThat(ha.inMaintenance("hv9")).as("unknown to HA").isFalse();
    }

    @Test
    void cephHealthCarriesItsChecksAndFlags() {
        CephHealth ok = CephHealth.ok(Set.of("noout"));
        assertThat(ok.status()).isEqualTo(CephHealth.OK).isEqualTo("HEALTH_OK");
        assertThat(ok.checks()).isEmpty();
        assertThat(ok.flags()).containsExactly("noout");
        assertThat(new CephHealth.Check("HEALTH_WARN", null).summary()).isEmpty();
        assertThat(new CephOsd.Safety(false, null).message()).isEmpty();
        assertThatThrownBy(() -> new CephOsd(-1, "hv1", true)).isInstanceOfSatisfying(ValidationException.class,
                e -> assertThat(e.field()).isEqualTo("id"));
        assertThat(new CephOsd(0, "hv1", true).id()).isZero();
    }

    @Test
    void aPlacementRuleDescribesItselfAsTheOperatorWroteIt() {
        var db = new PlacementRule.NodeAffinity("db-nodes", PlacementRule.Origin.HA_RULE, Set.of(101), Map.of("hv1", 2, "hv2", 0), true);
        var prefer = new PlacementRule.NodeAffinity("prefer", PlacementRule.Origin.HA_GROUP, Set.of(101), Map.of("hv1", 0), false);
        var pin = new PlacementRule.NodeAffinity("plb_pin_hv3", PlacementRule.Origin.TAG, Set.of(101), Map.of("hv3", 0), true);
        var apart = new PlacementRule.GuestAffinity("plb_anti_affinity_web", PlacementRule.Origin.TAG, Set.of(101, 102), false);
        var together = new PlacementRule.GuestAffinity("app", PlacementRule.Origin.HA_RULE, Set.of(101, 102), true, 2);

        assertThat(db.describe()).isEqualTo("HA rule 'db-nodes' (node-affinity, strict)");
        assertThat(prefer.describe()).isEqualTo("HA group 'prefer' (node-affinity)");
        assertThat(pin.describe()).isEqualTo("tag plb_pin_hv3 (node-affinity, strict)");
        assertThat(apart.describe()).isEqualTo("tag plb_anti_affinity_web (negative resource-affinity)");
        assertThat(together.describe()).isEqualTo("HA rule 'app' (positive resource-affinity)");
        assertThat(apart.disruptionBudget()).as("default").isEqualTo(1);
        assertThat(together.disruptionBudget()).isEqualTo(2);
        assertThatThrownBy(() -> new PlacementRule.GuestAffinity("x", PlacementRule.Origin.TAG, Set.of(1), false, 0))
                .isInstanceOfSatisfying(ValidationException.class, e -> assertThat(e.field()).isEqualTo("disruptionBudget"));
    }

    @Test
    void aStrictNodeAffinityAllowsOnlyItsNodesAPreferenceAllowsEveryNodeAndPrioritiesAreTheRulesOwn() {
        var strict = new PlacementRule.NodeAffinity("db", PlacementRule.Origin.HA_RULE, Set.of(101), Map.of("hv1", 2, "hv2", 0), true);
        var loose = new PlacementRule.NodeAffinity("db", PlacementRule.Origin.HA_RULE, Set.of(101), Map.of("hv1", 2), false);

        assertThat(strict.allows("hv1")).isTrue();
        assertThat(strict.allows("hv2")).as("listed with priority 0").isTrue();
        assertThat(strict.allows("hv3")).isFalse();
        assertThat(loose.allows("hv3")).isTrue();
        assertThat(strict.priority("hv1")).isEqualTo(OptionalInt.of(2));
        assertThat(strict.priority("hv2")).isEqualTo(OptionalInt.of(0));
        assertThat(strict.priority("hv3")).isEmpty();
    }

    @Test
    void preconditionsTellWhereAndHowAGuestMayMove() {
        var pre = new MigrationPreconditions(101, Map.of("hv2", "storage 'local-zfs' not available"), List.of("usb0"), List.of(), true);
        assertThat(pre.allows("hv1")).isTrue();
        assertThat(pre.allows("hv2")).isFalse();
        assertThat(pre.notAllowedNodes()).containsExactly("hv2");
        assertThat(pre.canMove()).isTrue();
        assertThat(pre.canMoveLive()).as("a live blocker").isFalse();

        var pinned = new MigrationPreconditions(102, null, null, List.of("hostpci0"), false);
        assertThat(pinned.canMove()).isFalse();
        assertThat(pinned.canMoveLive()).as("a blocker stops a live move too").isFalse();
        assertThat(pinned.notAllowed()).isEmpty();

        var free = MigrationPreconditions.unrestricted(103);
        assertThat(free.canMove()).isTrue();
        assertThat(free.canMoveLive()).isTrue();
        assertThat(free.localDisks()).isFalse();
        assertThat(free.allows("anywhere")).isTrue();
    }

    @Test
    void aMaintenanceRecordKeepsItsHistoryAcrossEnableDisableAndDrains() {
        Instant t1 = T0.plusSeconds(60), t2 = T0.plusSeconds(120), t3 = T0.plusSeconds(180);
        NodeMaintenance none = NodeMaintenance.none("hv7", T0);
        assertThat(none.inMaintenance()).isFalse();
        assertThat(none.vmList()).isEmpty();
        assertThat(none.updatedAt()).isEqualTo(T0);

        NodeMaintenance on = none.enabled("kernel update", t1);
        assertThat(on).isEqualTo(new NodeMaintenance("hv7", true, "kernel update", t1, null, null, null, List.of(), t1));
        NodeMaintenance drained = on.withDrain("d-1", DrainState.IN_PROGRESS, List.of(8200, 8201), t2);
        assertThat(drained).isEqualTo(new NodeMaintenance("hv7", true, "kernel update", t1, null, DrainState.IN_PROGRESS, "d-1",
                List.of(8200, 8201), t2));
        NodeMaintenance done = drained.withDrainStatus(DrainState.COMPLETED, t3);
        assertThat(done).isEqualTo(new NodeMaintenance("hv7", true, "kernel update", t1, null, DrainState.COMPLETED, "d-1",
                List.of(8200, 8201), t3));
        NodeMaintenance off = done.disabled(t3.plusSeconds(1));
        assertThat(off).isEqualTo(new NodeMaintenance("hv7", false, "kernel update", t1, t3.plusSeconds(1), DrainState.COMPLETED, "d-1",
                List.of(8200, 8201), t3.plusSeconds(1)));
        assertThat(new NodeMaintenance("hv7", false, null, null, null, null, null, null, T0).vmList()).isEmpty();
    }

    @Test
    void nodeNamesSortAsAnOperatorReadsThem() {
        List<String> names = new ArrayList<>(List.of("hv10", "hv9", "hv7a", "pve-b", "hv8", "pve-a", "hv", "hv7"));
        names.sort(Node.NAME_ORDER);
        assertThat(names).containsExactly("hv", "hv7", "hv7a", "hv8", "hv9", "hv10", "pve-a", "pve-b");
        assertThat(Node.NAME_ORDER.compare("hv7", "hv7")).isZero();
        assertThat(Node.NAME_ORDER.compare("hv7", "hv7a")).isNegative();
        assertThat(Node.NAME_ORDER.compare("hv7a", "hv7")).isPositive();
        assertThat(Node.NAME_ORDER.compare("hv100000000000000000001", "hv100000000000000000002")).as("beyond a long").isNegative();
    }

    @Test
    void aNodesFreeMemoryIsNeverNegativeAndItsFieldsAreValidated() {
        assertThat(new Node("hv1", true, 100, 30, 4, 0.1).memoryFree()).isEqualTo(70);
        assertThat(new Node("hv1", true, 100, 130, 4, 0.1).memoryFree()).as("overcommitted").isZero();
        assertThatThrownBy(() -> new Node("hv1", true, -1, 0, 4, 0)).isInstanceOfSatisfying(ValidationException.class,
                e -> assertThat(e.field()).isEqualTo("memoryTotal"));
        assertThatThrownBy(() -> new Node("hv1", true, 1, -1, 4, 0)).isInstanceOfSatisfying(ValidationException.class,
                e -> assertThat(e.field()).isEqualTo("memoryUsed"));
        assertThatThrownBy(() -> new Node("hv1", true, 1, 0, -1, 0)).isInstanceOfSatisfying(ValidationException.class,
                e -> assertThat(e.field()).isEqualTo("cpus"));
        assertThatThrownBy(() -> new Node("hv 1", true, 1, 0, 1, 0)).isInstanceOfSatisfying(ValidationException.class,
                e -> assertThat(e.field()).isEqualTo("name"));
    }

    @Test
    void aGuestIsNamedInMessagesByVmidAndNameAndARunningOrPausedGuestHoldsItsMemory() {
        Guest web = Guest.qemu(8200, "hv7").name("web-prod-01").build();
        assertThat(web.label()).isEqualTo("8200 (web-prod-01)");
        assertThat(Guest.qemu(8200, "hv7").build().label()).isEqualTo("8200");
        assertThat(web.running()).isTrue();
        assertThat(web.withStatus(PowerState.PAUSED).running()).isTrue();
        assertThat(web.withStatus(PowerState.STOPPED).running()).isFalse();
        assertThat(web.withStatus(PowerState.UNKNOWN).running()).isFalse();
        assertThat(web.withLock("backup").lockName()).contains("backup");
        assertThat(web.withLock(" ").lockName()).as("a blank lock is none").isEmpty();
        assertThat(web.withTags(List.of("a", "b")).tags()).containsExactly("a", "b");
        assertThat(web.withTags(null).tags()).isEmpty();
        assertThat(Guest.qemu(1, "hv7").build().vmid()).as("the smallest vmid").isEqualTo(1);
        assertThat(Guest.qemu(1, "hv7").vmid(2).type(GuestType.LXC).build()).isEqualTo(Guest.lxc(2, "hv7").build());
    }

    /**
     * The collections these records hold are sorted when made, so that what lists them (the Ceph gate's failing checks,
     * a rule's members, the stored request's allowed warnings) reads the same in every run; {@code Map.copyOf} and {@code
     * Set.copyOf} of a sorted collection would not keep its order (their iteration order changes from one JVM to the next).
     */
    @Test
    void theCollectionsOfTheClusterFactsReadInOrder() {
        List<String> codes = List.of("A_CHECK", "B_CHECK", "C_CHECK", "D_CHECK", "E_CHECK", "F_CHECK", "G_CHECK", "H_CHECK");
        Map<String, CephHealth.Check> checks = new java.util.HashMap<>();
        for (String c : codes) checks.put(c, new CephHealth.Check(CephHealth.WARN, c.toLowerCase()));
        Set<String> flags = Set.of("noout", "noscrub", "nodeep-scrub", "norebalance", "norecover", "nobackfill", "pause", "noup");
        CephHealth health = new CephHealth(CephHealth.WARN, checks, flags);
        assertThat(health.checks().keySet()).containsExactlyElementsOf(codes);
        assertThat(health.flags()).containsExactlyElementsOf(new java.util.TreeSet<>(flags));

        Set<String> nodes = Set.of("hv1", "hv2", "hv3", "hv4", "hv5", "hv6", "hv7", "hv8");
        assertThat(new Quorum(true, 8, nodes).onlineNodes()).containsExactlyElementsOf(new java.util.TreeSet<>(nodes));
        Map<String, String> status = new java.util.HashMap<>();
        for (String n : nodes) status.put(n, "online");
        HaManagerStatus ha = new HaManagerStatus("hv1", status, status);
        assertThat(ha.nodeStatus().keySet()).containsExactlyElementsOf(new java.util.TreeSet<>(nodes));
        assertThat(ha.lrmModes().keySet()).containsExactlyElementsOf(new java.util.TreeSet<>(nodes));

        Set<Integer> members = Set.of(101, 102, 103, 104, 105, 106, 107, 108);
        Map<String, Integer> priorities = new java.util.HashMap<>();
        for (String n : nodes) priorities.put(n, 1);
        var node = new PlacementRule.NodeAffinity("db", PlacementRule.Origin.HA_RULE, members, priorities, true);
        assertThat(node.guests()).containsExactly(101, 102, 103, 104, 105, 106, 107, 108);
        assertThat(node.nodes().keySet()).containsExactlyElementsOf(new java.util.TreeSet<>(nodes));
        var apart = new PlacementRule.GuestAffinity("web", PlacementRule.Origin.HA_RULE, members, false);
        assertThat(apart.guests()).containsExactly(101, 102, 103, 104, 105, 106, 107, 108);
    }

    @Test
    void theCollectionsOfTheClusterFactsRefuseNullsAndChangesAsBefore() {
        Map<String, CephHealth.Check> nullCheck = new java.util.HashMap<>();
        nullCheck.put("A", null);
        assertThatThrownBy(() -> new CephHealth(CephHealth.WARN, nullCheck, Set.of())).isInstanceOf(NullPointerException.class);
        Map<String, String> nullStatus = new java.util.HashMap<>();
        nullStatus.put("hv1", null);
        assertThatThrownBy(() -> new HaManagerStatus("hv1", nullStatus, Map.of())).isInstanceOf(NullPointerException.class);
        assertThatThrownBy(() -> new Quorum(true, 1, Set.of("hv1")).onlineNodes().add("hv2"))
                .isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> CephHealth.ok(Set.of()).checks().put("A", new CephHealth.Check("x", "y")))
                .isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void aGateVerdictReadsAsTheGateAndItsAnswer() {
        assertThat(GateVerdict.pass("quorum", "4 of 4 votes online")).hasToString("quorum pass: 4 of 4 votes online");
        assertThat(GateVerdict.block("ceph", "Ceph is HEALTH_ERR")).hasToString("ceph BLOCK: Ceph is HEALTH_ERR");
        assertThat(GateVerdict.pass("quorum", "x").pass()).isTrue();
        assertThat(GateVerdict.block("quorum", "x").pass()).isFalse();
    }
}
