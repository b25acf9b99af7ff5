package io.moxxie.core.plan;

import io.moxxie.core.ValidationException;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.Node;
import io.moxxie.core.model.PlacementRule;
import io.moxxie.core.model.PlacementRule.GuestAffinity;
import io.moxxie.core.model.PlacementRule.NodeAffinity;
import io.moxxie.core.policy.TagPolicy;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.moxxie.core.model.PlacementRule.Origin.HA_GROUP;
import static io.moxxie.core.model.PlacementRule.Origin.HA_RULE;
import static io.moxxie.core.testing.TestClusters.GIB;
import static io.moxxie.core.testing.TestClusters.ha;
import static io.moxxie.core.testing.TestClusters.qemu;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The placement rules an operator wrote (HA rules, HA groups, ProxLB tags), as the planner honours them. */
class PlacementRulesTest {
    private final DrainPlanner planner = new DrainPlanner(TagPolicy.defaults(), new PlacementConfig(0.0));

    private static Node node(String name, int totalGib, int usedGib) {
        return new Node(name, true, totalGib * GIB, usedGib * GIB, 16, 0.1);
    }

    /** hv1 (drained) and hv2..hv4, 64 GiB each; hv2 the emptiest, so the rule-free choice. */
    private static List<Node> nodes() {
        return List.of(node("hv1", 64, 0), node("hv2", 64, 0), node("hv3", 64, 10), node("hv4", 64, 20));
    }

    private static ClusterSnapshot snapshot(List<Guest> guests, PlacementRule... rules) {
        return new ClusterSnapshot(Instant.EPOCH, nodes(), guests, List.of(rules), false);
    }

    private DrainPlan plan(DrainPlanner p, ClusterSnapshot s, DrainRequest r) {
        return p.plan(PlanningInput.drain(s, r, Set.of(), Map.of()));
    }

    private DrainPlan plan(ClusterSnapshot s, DrainRequest r) {
        return plan(planner, s, r);
    }

    private static PlanEntry entry(DrainPlan p, int vmid) {
        return p.entries().stream().filter(e -> e.vmid() == vmid).findFirst().orElseThrow();
    }

    @Test
    void aStrictHaRuleLimitsTheTargetsAndTheHighestPriorityNodeWithRoomWins() {
        NodeAffinity rule = new NodeAffinity("db-nodes", HA_RULE, Set.of(1), Map.of("hv3", 1, "hv4", 2), true);
        DrainPlan p = plan(snapshot(List.of(ha(qemu(1, "db", "hv1", 8, ""))), rule), DrainRequest.soft("hv1"));
        PlanEntry e = entry(p, 1);
        assertThat(e.targetNode()).as("hv4 has priority 2, though hv2 and hv3 are emptier").isEqualTo("hv4");
        assertThat(e.rule()).isEqualTo("HA rule 'db-nodes' (node-affinity, strict)");
    }

    @Test
    void aPriorityNodeWithoutRoomGivesWayToTheNextPriority() {
        NodeAffinity rule = new NodeAffinity("db-nodes", HA_RULE, Set.of(1), Map.of("hv3", 1, "hv4", 2), true);
        DrainPlan p = plan(snapshot(List.of(ha(qemu(1, "db", "hv1", 50, ""))), rule), DrainRequest.soft("hv1"));
        assertThat(entry(p, 1).targetNode()).as("hv4 has 44 GiB free, hv3 54").isEqualTo("hv3");
    }

    @Test
    void aNonStrictRuleIsAPreferenceThatNeverBlocks() {
        NodeAffinity rule = new NodeAffinity("prefer-hv4", HA_RULE, Set.of(1, 2), Map.of("hv4", 0), false);
        DrainPlan p = plan(snapshot(List.of(ha(qemu(1, "a", "hv1", 8, "")), ha(qemu(2, "b", "hv1", 50, ""))), rule), DrainRequest.soft("hv1"));
        assertThat(entry(p, 2).targetNode()).as("no room on hv4: elsewhere, not blocked").isEqualTo("hv2");
        assertThat(entry(p, 2).rule()).isNull();
        assertThat(entry(p, 1).targetNode()).isEqualTo("hv4");
        assertThat(entry(p, 1).rule()).isEqualTo("HA rule 'prefer-hv4' (node-affinity)");
    }

    @Test
    void aRestrictedHaGroupWithoutAnAvailableNodeBlocksTheGuestNamingTheGroupAndForceDoesNotOverrideIt() {
        NodeAffinity group = new NodeAffinity("only-hv1", HA_GROUP, Set.of(1), Map.of("hv1", 1), true);
        ClusterSnapshot s = snapshot(List.of(ha(qemu(1, "pinned", "hv1", 4, "")), qemu(2, "free", "hv1", 4, "")), group);
        DrainPlan p = plan(s, DrainRequest.soft("hv1"));
        PlanEntry e = entry(p, 1);
        assertThat(e.action()).isEqualTo(PlanEntry.Action.BLOCK);
        assertThat(e.reason()).startsWith("No target node honours the placement rules")
                .contains("hv2 (HA group 'only-hv1' (node-affinity, strict): not one of its nodes)");
        assertThat(e.rule()).isEqualTo("HA group 'only-hv1' (node-affinity, strict)");

        DrainPlan forced = plan(s, DrainRequest.builder("hv1").force(true).build());
        assertThat(entry(forced, 1).action()).isEqualTo(PlanEntry.Action.BLOCK);
        assertThat(entry(forced, 1).reason()).endsWith("force does not override HA rules (Proxmox HA enforces them)");
        assertThat(entry(forced, 2).action()).isEqualTo(PlanEntry.Action.MOVE);
    }

    @Test
    void aPinTagIsStrictAndForceOverridesItSayingSo() {
        ClusterSnapshot s = snapshot(List.of(qemu(1, "pinned", "hv1", 4, "plb_pin_hv9"), qemu(2, "multi", "hv1", 4, "plb_pin_hv3;plb_pin_hv4")));
        DrainPlan p = plan(s, DrainRequest.soft("hv1"));
        assertThat(entry(p, 1).action()).isEqualTo(PlanEntry.Action.BLOCK);
        assertThat(entry(p, 1).rule()).isEqualTo("tag plb_pin_hv9 (node-affinity, strict)");
        assertThat(entry(p, 2).targetNode()).as("any of its pinned nodes: hv3 is the emptier").isEqualTo("hv3");

        PlanEntry forced = entry(plan(s, DrainRequest.builder("hv1").force(true).build()), 1);
        assertThat(forced.action()).isEqualTo(PlanEntry.Action.MOVE);
        assertThat(forced.targetNode()).isEqualTo("hv2");
        assertThat(forced.reason()).startsWith("force: placed against tag plb_pin_hv9 (node-affinity, strict)");
        assertThat(forced.rule()).isEqualTo("tag plb_pin_hv9 (node-affinity, strict)");
    }

    @Test
    void antiAffinityMembersNeverShareANodeCountingMembersOnOtherNodesAndThoseThisPlanPlaces() {
        // 3 is already on hv2; 1 and 2 leave hv1: neither may join 3, and they may not join each other.
        ClusterSnapshot s = snapshot(List.of(qemu(1, "web1", "hv1", 8, "plb_anti_affinity_web"), qemu(2, "web2", "hv1", 4, "plb_anti_affinity_web"),
                qemu(3, "web3", "hv2", 4, "plb_anti_affinity_web")));
        DrainPlan p = plan(s, DrainRequest.soft("hv1"));
        assertThat(entry(p, 1).targetNode()).isEqualTo("hv3");
        assertThat(entry(p, 2).targetNode()).isEqualTo("hv4");
        assertThat(entry(p, 1).rule()).as("hv2 would have been chosen without the rule").isEqualTo("tag plb_anti_affinity_web (negative resource-affinity)");
    }

    @Test
    void antiAffinityWithoutANodeLeftBlocksTheLastMemberNamingTheRule() {
        GuestAffinity apart = new GuestAffinity("spread", HA_RULE, Set.of(1, 2, 3, 4), false);
        ClusterSnapshot s = snapshot(List.of(ha(qemu(1, "a", "hv1", 4, "")), ha(qemu(2, "b", "hv2", 4, "")), ha(qemu(3, "c", "hv3", 4, "")),
                ha(qemu(4, "d", "hv4", 4, ""))), apart);
        PlanEntry e = entry(plan(s, DrainRequest.soft("hv1")), 1);
        assertThat(e.action()).isEqualTo(PlanEntry.Action.BLOCK);
        assertThat(e.reason()).contains("hv2 (HA rule 'spread' (negative resource-affinity): VM 2 is there)");
        assertThat(e.rule()).isEqualTo("HA rule 'spread' (negative resource-affinity)");
    }

    @Test
    void aPositiveGroupPartlyOnTheDrainedNodeGoesWhereTheRestIsWhenItHasRoom() {
        ClusterSnapshot s = snapshot(List.of(qemu(1, "app", "hv1", 8, "plb_affinity_shop"), qemu(2, "cache", "hv1", 4, "plb_affinity_shop"),
                qemu(3, "db", "hv4", 8, "plb_affinity_shop")));
        DrainPlan p = plan(s, DrainRequest.soft("hv1"));
        assertThat(entry(p, 1).targetNode()).isEqualTo("hv4");
        assertThat(entry(p, 2).targetNode()).isEqualTo("hv4");
        assertThat(entry(p, 1).rule()).isEqualTo("tag plb_affinity_shop (positive resource-affinity)");
    }

    @Test
    void theOnlyMemberOfAPositiveGroupOnTheDrainedNodeJoinsTheRestOfItsGroup() {
        // hv2 is the emptiest node; the rest of the group is on hv4, which has room.
        ClusterSnapshot tagged = snapshot(List.of(qemu(1, "app", "hv1", 8, "plb_affinity_shop"), qemu(3, "db", "hv4", 8, "plb_affinity_shop")));
        PlanEntry app = entry(plan(tagged, DrainRequest.soft("hv1")), 1);
        assertThat(app.targetNode()).isEqualTo("hv4");
        assertThat(app.rule()).isEqualTo("tag plb_affinity_shop (positive resource-affinity)");

        GuestAffinity together = new GuestAffinity("app-stack", HA_RULE, Set.of(1, 3), true);
        ClusterSnapshot ha = snapshot(List.of(ha(qemu(1, "a", "hv1", 8, "")), ha(qemu(3, "c", "hv4", 8, ""))), together);
        PlanEntry a = entry(plan(ha, DrainRequest.soft("hv1")), 1);
        assertThat(a.targetNode()).isEqualTo("hv4");
        assertThat(a.rule()).isEqualTo("HA rule 'app-stack' (positive resource-affinity)");
    }

    @Test
    void withoutRoomWhereTheRestIsTheDrainedMembersGoTogetherElsewhere() {
        ClusterSnapshot s = snapshot(List.of(qemu(1, "app", "hv1", 24, "plb_affinity_shop"), qemu(2, "cache", "hv1", 24, "plb_affinity_shop"),
                qemu(3, "db", "hv4", 8, "plb_affinity_shop")));
        DrainPlan p = plan(s, DrainRequest.soft("hv1"));
        assertThat(entry(p, 1).targetNode()).as("hv4 has 36 GiB free, not 48").isEqualTo("hv2");
        assertThat(entry(p, 2).targetNode()).isEqualTo("hv2");
    }

    @Test
    void aPositiveHaRuleMovesItsMembersToOneTargetSayingProxmoxMovesThemTogether() {
        GuestAffinity together = new GuestAffinity("app-stack", HA_RULE, Set.of(1, 2, 3), true);
        ClusterSnapshot s = snapshot(List.of(ha(qemu(1, "a", "hv1", 8, "")), ha(qemu(2, "b", "hv1", 8, "")), ha(qemu(3, "c", "hv1", 8, ""))), together);
        DrainPlan p = plan(s, DrainRequest.soft("hv1"));
        assertThat(p.moves()).extracting(PlanEntry::targetNode).containsOnly("hv2");
        assertThat(p.moves()).allSatisfy(e -> assertThat(e.reason())
                .isEqualTo("HA rule 'app-stack' (positive resource-affinity): Proxmox migrates its members together, one migrate request moves them all"));
    }

    @Test
    void aPositiveGroupWithoutANodeForAllIsBlockedAndForceSplitsATagGroup() {
        ClusterSnapshot s = snapshot(List.of(qemu(1, "a", "hv1", 40, "plb_affinity_big"), qemu(2, "b", "hv1", 40, "plb_affinity_big")));
        DrainPlan p = plan(s, DrainRequest.soft("hv1"));
        assertThat(p.blocked()).hasSize(2);
        assertThat(entry(p, 1).reason()).contains("no node has room for VMs [1, 2] together (tag plb_affinity_big (positive resource-affinity))");

        DrainPlan forced = plan(s, DrainRequest.builder("hv1").force(true).build());
        assertThat(forced.moves()).extracting(PlanEntry::targetNode).containsExactlyInAnyOrder("hv2", "hv3");
        assertThat(entry(forced, 1).reason()).startsWith("force: placed apart from tag plb_affinity_big");
    }

    @Test
    void anIgnoreTagLeavesTheGuestToBalancingOnlyADrainStillMovesIt() {
        DrainPlan p = plan(snapshot(List.of(qemu(1, "special", "hv1", 4, "plb_ignore_me"))), DrainRequest.soft("hv1"));
        assertThat(entry(p, 1).action()).isEqualTo(PlanEntry.Action.MOVE);
        assertThat(entry(p, 1).reason()).isEqualTo("tagged plb_ignore_me: balancing leaves it alone, a drain still moves it");
    }

    @Test
    void theTagPrefixesAreConfigurable() {
        DrainPlanner custom = new DrainPlanner(TagPolicy.defaults().withRuleTags("with_", "apart_", "only_", "noplb_"), new PlacementConfig(0.0));
        ClusterSnapshot s = snapshot(List.of(qemu(1, "a", "hv1", 4, "apart_x"), qemu(2, "b", "hv2", 4, "apart_x"), qemu(3, "c", "hv1", 4, "only_hv4"),
                qemu(4, "d", "hv1", 4, "plb_pin_hv2")));
        DrainPlan p = plan(custom, s, DrainRequest.soft("hv1"));
        assertThat(entry(p, 1).targetNode()).as("apart from 2 on hv2").isEqualTo("hv3");
        assertThat(entry(p, 3).targetNode()).isEqualTo("hv4");
        assertThat(entry(p, 4).rule()).as("plb_ pin tags mean nothing with other prefixes").isNull();
        assertThatThrownBy(() -> TagPolicy.defaults().withRuleTags("same_", "same_", "pin_", "ign_"))
                .isInstanceOf(ValidationException.class).hasMessageContaining("must differ");
        assertThatThrownBy(() -> TagPolicy.defaults().withRuleTags("-bad", "anti_", "pin_", "ign_"))
                .isInstanceOf(ValidationException.class).hasMessageContaining("affinityPrefix");
    }

    @Test
    void anUndrainHonoursAntiAffinityOnTheNodeGuestsGoBackTo() {
        // 1 went to hv2 in the drain; since then 2, of its anti-affinity group, landed on hv1.
        ClusterSnapshot s = snapshot(List.of(qemu(1, "a", "hv2", 4, "plb_anti_affinity_web"), qemu(2, "b", "hv1", 4, "plb_anti_affinity_web")));
        DrainPlan p = planner.plan(PlanningInput.undrain(s, DrainRequest.soft("hv1"), List.of(s.guest(1).orElseThrow()), Set.of(), Map.of()));
        assertThat(entry(p, 1).action()).isEqualTo(PlanEntry.Action.BLOCK);
        assertThat(entry(p, 1).reason()).contains("VM 2 is there");
    }

    @Test
    void aPlanThatMovesHaGuestsWhileHaAutoRebalancingIsOnWarns() {
        ClusterSnapshot on = new ClusterSnapshot(Instant.EPOCH, nodes(), List.of(ha(qemu(1, "a", "hv1", 4, "")), qemu(2, "b", "hv1", 4, "")),
                List.of(), true);
        assertThat(plan(on, DrainRequest.soft("hv1")).warnings()).containsExactly("Proxmox HA auto-rebalancing is on: it may move HA guests "
                + "back onto hv1 unless hv1 is in HA maintenance too (ha-manager crm-command node-maintenance enable hv1)");
        ClusterSnapshot noHa = new ClusterSnapshot(Instant.EPOCH, nodes(), List.of(qemu(2, "b", "hv1", 4, "")), List.of(), true);
        assertThat(plan(noHa, DrainRequest.soft("hv1")).warnings()).isEmpty();
    }
}
