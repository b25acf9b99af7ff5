package io.moxxie.core.plan;

import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.model.Node;
import io.moxxie.core.model.PlacementRule;
import io.moxxie.core.policy.TagPolicy;
import io.moxxie.core.testing.DebugLogging;
import org.junit.jupiter.api.Test;

import java.io.OutputStream;
import java.io.PrintStream;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

import static io.moxxie.core.testing.TestClusters.GIB;
import static io.moxxie.core.testing.TestClusters.qemu;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * How the planner decides between targets that are equal on the first counts, and what it says when no node is left:
 * each decision checked with DEBUG off and on (the planner's index and its full scan must agree), and with the preferred
 * node first and last in name order (a choice must not depend on which node the scan meets first).
 */
class PlacementTieBreakTest {
    private final DrainPlanner planner = new DrainPlanner(TagPolicy.defaults(), new PlacementConfig(0.0));

    private static Node node(String name, long totalGib, long usedGib, double cpuLoad) {
        return new Node(name, true, totalGib * GIB, usedGib * GIB, 16, cpuLoad);
    }

    private static Node offline(String name) {
        return new Node(name, false, 100 * GIB, 0, 16, 0);
    }

    private DrainPlan plan(List<Node> nodes, List<Guest> guests, List<PlacementRule> rules, Set<String> maintenance) {
        return planner.plan(PlanningInput.drain(new ClusterSnapshot(Instant.EPOCH, nodes, guests, rules, false), DrainRequest.hard("src"),
                maintenance, Map.of()));
    }

    /** The target of the only guest, planned with DEBUG off and on: both must agree. */
    private String target(List<Node> nodes, List<PlacementRule> rules) {
        Supplier<DrainPlan> p = () -> plan(nodes, List.of(qemu(101, "vm", "src", 10, "")), rules, Set.of());
        String quiet = p.get().moves().get(0).targetNode();
        PrintStream err = System.err;
        System.setErr(new PrintStream(OutputStream.nullOutputStream()));
        try (DebugLogging debug = DebugLogging.on(DrainPlanner.class)) {
            assertThat(p.get().moves().get(0).targetNode()).as("the same with DEBUG on").isEqualTo(quiet);
        } finally {
            System.setErr(err);
        }
        return quiet;
    }

    @Test
    void nodesOfDifferentSizesEndingEquallyUsedAreToldApartByCpuLoadThenName() {
        // small: (40 + 10) / 100 = 50 %; large: (90 + 10) / 200 = 50 %.
        assertThat(target(List.of(node("src", 256, 0, 0), node("large", 200, 90, 0.2), node("small", 100, 40, 0.6)), List.of()))
                .isEqualTo("large");
        assertThat(target(List.of(node("src", 256, 0, 0), node("large", 200, 90, 0.6), node("small", 100, 40, 0.2)), List.of()))
                .isEqualTo("small");
        assertThat(target(List.of(node("src", 256, 0, 0), node("large", 200, 90, 0.3), node("small", 100, 40, 0.3)), List.of()))
                .as("then the name").isEqualTo("large");
        assertThat(target(List.of(node("src", 256, 0, 0), node("b-large", 200, 90, 0.3), node("a-small", 100, 40, 0.3)), List.of()))
                .isEqualTo("a-small");
        // Less used by a whole byte is less used, whatever the CPU.
        assertThat(target(List.of(node("src", 256, 0, 0), node("large", 200, 90, 0.1),
                new Node("small", true, 100 * GIB, 40 * GIB - 1, 16, 0.9)), List.of())).isEqualTo("small");
    }

    @Test
    void theRestOfAPositiveGroupDrawsAMemberWhereverItsNodeSortsAndTheHighestPriorityWinsWhereverItSorts() {
        List<Node> nodes = List.of(node("src", 256, 0, 0), node("hv2", 100, 0, 0.1), node("hv3", 100, 10, 0.1), node("hv4", 100, 20, 0.1));
        for (String anchor : List.of("hv3", "hv4")) {
            PlacementRule together = new PlacementRule.GuestAffinity("stack", PlacementRule.Origin.HA_RULE, Set.of(101, 102), true);
            DrainPlan p = plan(nodes, List.of(qemu(101, "app", "src", 10, ""), qemu(102, "db", anchor, 10, "")), List.of(together), Set.of());
            assertThat(p.moves().get(0).targetNode()).as("the rest of the group is on %s", anchor).isEqualTo(anchor);
        }
        for (Map<String, Integer> priorities : List.of(Map.of("hv2", 1, "hv3", 2, "hv4", 0), Map.of("hv2", 0, "hv3", 1, "hv4", 2),
                Map.of("hv3", 2, "hv4", 1))) {
            PlacementRule rule = new PlacementRule.NodeAffinity("prio", PlacementRule.Origin.HA_RULE, Set.of(101), priorities, true);
            String best = priorities.entrySet().stream().max(Map.Entry.comparingByValue()).orElseThrow().getKey();
            assertThat(target(nodes, List.of(rule))).as("priorities %s", priorities).isEqualTo(best);
        }
    }

    @Test
    void aGuestThatFitsToTheByteIsPlacedThereAlsoWhenEveryNodeIsLookedAt() {
        // notAllowed makes the planner scan every candidate even below DEBUG.
        MigrationPreconditions notOnHv9 = new MigrationPreconditions(101, Map.of("hv9", "storage missing"), List.of(), List.of(), false);
        DrainPlan p = planner.plan(PlanningInput.drain(new ClusterSnapshot(Instant.EPOCH, List.of(node("src", 256, 0, 0),
                node("hv8", 100, 90, 0.1), node("hv9", 100, 0, 0.1)), List.of(qemu(101, "vm", "src", 10, ""))), DrainRequest.hard("src"),
                Set.of(), Map.of(101, notOnHv9)));
        assertThat(p.moves()).singleElement().satisfies(e -> assertThat(e.targetNode()).isEqualTo("hv8"));
    }

    @Test
    void withoutRoomTheReasonNamesTheRoomiestNodeTheFirstByNameOnATie() {
        DrainPlan p = plan(List.of(node("src", 256, 0, 0), node("hv9", 100, 95, 0.1), node("hv8", 100, 95, 0.1)),
                List.of(qemu(101, "big", "src", 10, "")), List.of(), Set.of());
        assertThat(p.blocked()).singleElement().satisfies(e -> assertThat(e.reason())
                .isEqualTo("No suitable target node found: not enough memory: needs 10.0 GiB, best free is 5.0 GiB on hv8 "
                        + "(after 0% headroom and planned moves)"));
    }

    @Test
    void aGroupWithoutANodeForAllSaysWhatTheyNeedTogether() {
        PlacementRule together = new PlacementRule.GuestAffinity("stack", PlacementRule.Origin.HA_RULE, Set.of(101, 102), true);
        DrainPlan p = plan(List.of(node("src", 256, 0, 0), node("hv8", 100, 85, 0.1), node("hv9", 100, 90, 0.1)),
                List.of(qemu(101, "app", "src", 10, ""), qemu(102, "db", "src", 6, "")), List.of(together), Set.of());
        assertThat(p.blocked()).hasSize(2).allSatisfy(e -> assertThat(e.reason())
                .isEqualTo("No suitable target node found: no node has room for VMs [101, 102] together (HA rule 'stack' (positive "
                        + "resource-affinity)): they need 16.0 GiB, best free is 15.0 GiB on hv8 (after 0% headroom and planned moves)"));
    }

    @Test
    void withNoOtherNodeAvailableTheReasonSaysWhichAreInMaintenanceAndWhichOffline() {
        Guest g = qemu(101, "vm", "src", 1, "");
        assertThat(plan(List.of(node("src", 256, 0, 0)), List.of(g), List.of(), Set.of()).blocked().get(0).reason())
                .isEqualTo("No suitable target node found: no other node in the cluster");
        assertThat(plan(List.of(node("src", 256, 0, 0), node("hv8", 100, 0, 0), offline("hv9"), offline("hv10")), List.of(g), List.of(),
                Set.of("hv8")).blocked().get(0).reason())
                .isEqualTo("No suitable target node found: every other node is unavailable; in maintenance: hv8; offline: hv10, hv9");
        assertThat(plan(List.of(node("src", 256, 0, 0), node("hv8", 100, 0, 0)), List.of(g), List.of(), Set.of("hv8"))
                .blocked().get(0).reason()).isEqualTo("No suitable target node found: every other node is unavailable; in maintenance: hv8");
        assertThat(plan(List.of(node("src", 256, 0, 0), offline("hv9")), List.of(g), List.of(), Set.of()).blocked().get(0).reason())
                .isEqualTo("No suitable target node found: every other node is unavailable; offline: hv9");
    }

    @Test
    void anUndrainWithNowhereToGoSaysWhy() {
        Guest away = qemu(101, "vm", "hv8", 1, "");
        Guest home = qemu(102, "vm2", "src", 1, "");
        List<Node> nodes = List.of(node("src", 256, 0, 0), node("hv8", 100, 0, 0));
        assertThat(undrainReason(nodes, away, Set.of("src"))).isEqualTo("No suitable target node found: node src is still in maintenance");
        assertThat(undrainReason(List.of(offline("src"), node("hv8", 100, 0, 0)), away, Set.of()))
                .isEqualTo("No suitable target node found: node src is offline");
        assertThat(undrainReason(nodes, home, Set.of())).isEqualTo("No suitable target node found: the guest is already on src");
        ClusterSnapshot gone = new ClusterSnapshot(Instant.EPOCH, List.of(node("hv8", 100, 0, 0)), List.of(away));
        assertThat(planner.plan(PlanningInput.undrain(gone, DrainRequest.hard("src"), List.of(away), Set.of(), Map.of()))
                .blocked().get(0).reason()).isEqualTo("No suitable target node found: node src no longer exists");
    }

    private String undrainReason(List<Node> nodes, Guest g, Set<String> maintenance) {
        ClusterSnapshot s = new ClusterSnapshot(Instant.EPOCH, nodes, List.of(g));
        DrainPlan p = planner.plan(PlanningInput.undrain(s, DrainRequest.hard("src"), List.of(g), maintenance, Map.of()));
        return p.blocked().get(0).reason();
    }

    @Test
    void aTargetNodeThatIsTheGuestsOwnNodeIsNamedAsSuch() {
        Guest elsewhere = qemu(101, "vm", "hv8", 1, "");
        ClusterSnapshot s = new ClusterSnapshot(Instant.EPOCH, List.of(node("src", 256, 0, 0), node("hv8", 100, 0, 0)), List.of(elsewhere));
        DrainPlan d = planner.plan(new PlanningInput(s, DrainRequest.builder("src").targetNode("hv8").build(), List.of(elsewhere),
                Set.of(), Map.of(), Map.of(), false));
        assertThat(d.blocked().get(0).reason())
                .isEqualTo("No suitable target node found: the requested targetNode hv8 is the guest's own node");
    }
}
