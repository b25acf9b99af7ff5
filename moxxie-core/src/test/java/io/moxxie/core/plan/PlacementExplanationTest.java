package io.moxxie.core.plan;

import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.model.Node;
import io.moxxie.core.model.PlacementRule;
import io.moxxie.core.policy.TagPolicy;
import io.moxxie.core.testing.DebugLogging;
import io.moxxie.core.testing.LogCapture;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.moxxie.core.testing.TestClusters.GIB;
import static io.moxxie.core.testing.TestClusters.qemu;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * What an operator reads with the planner's DEBUG on, asking why a guest went where it went: the candidates with their
 * memory use after the move, the nodes it did not go to with why, the rules that decided; and, for a guest with no
 * target, why not. Nothing of it is built below DEBUG.
 */
class PlacementExplanationTest {
    private final DrainPlanner planner = new DrainPlanner(TagPolicy.defaults(), new PlacementConfig(0.1));

    private static Node node(String name, long totalGib, long usedGib) {
        return new Node(name, true, totalGib * GIB, usedGib * GIB, 16, 0.1);
    }

    private String explain(List<Node> nodes, List<Guest> guests, List<PlacementRule> rules, Map<Integer, MigrationPreconditions> pre) {
        ClusterSnapshot snapshot = new ClusterSnapshot(Instant.EPOCH, nodes, guests, rules, false);
        try (LogCapture log = new LogCapture(); DebugLogging debug = DebugLogging.on(DrainPlanner.class)) {
            planner.plan(PlanningInput.drain(snapshot, DrainRequest.hard("src"), Set.of(), pre));
            return log.text();
        }
    }

    @Test
    void eachPlacementNamesTheCandidatesMemoryUseAfterTheMoveAndWhyNotTheOthers() {
        String log = explain(List.of(node("src", 256, 0), node("hv8", 100, 50), node("hv9", 100, 20), node("hv10", 100, 0),
                        node("tiny", 10, 5)),
                List.of(qemu(101, "web", "src", 10, "")),
                List.of(), Map.of(101, new MigrationPreconditions(101, Map.of("hv10", "storage 'local-zfs' not available"),
                        List.of(), List.of(), false)));
        assertThat(log).contains("Placing VM 101 (web, 10.0 GiB, online) on hv9: lowest memory use after the move (hv8 60.0%, hv9 30.0%); "
                + "not on hv10 (storage 'local-zfs' not available), tiny (not enough memory: 4.0 GiB free, 10.0 GiB needed)");
    }

    @Test
    void aPlacementARuleDecidedNamesTheRule() {
        PlacementRule prefer = new PlacementRule.NodeAffinity("db-nodes", PlacementRule.Origin.HA_RULE, Set.of(101),
                Map.of("hv8", 1), false);
        String log = explain(List.of(node("src", 256, 0), node("hv8", 100, 50), node("hv9", 100, 20)),
                List.of(qemu(101, "db", "src", 10, "")), List.of(prefer), Map.of());
        assertThat(log).contains("Placing VM 101 (db, 10.0 GiB, online) on hv8: lowest memory use after the move (hv8 60.0%, hv9 30.0%)"
                + "; decided by HA rule 'db-nodes' (node-affinity)");
    }

    @Test
    void guestsPlacedTogetherAreExplainedAsOneAndAGuestWithoutTargetSaysWhy() {
        PlacementRule together = new PlacementRule.GuestAffinity("app", PlacementRule.Origin.HA_RULE, Set.of(101, 102), true);
        String log = explain(List.of(node("src", 256, 0), node("hv8", 100, 50), node("hv9", 100, 20)),
                List.of(qemu(101, "app-a", "src", 10, ""), qemu(102, "app-b", "src", 6, ""), qemu(103, "huge", "src", 200, "")),
                List.of(together), Map.of());
        assertThat(log).contains("Placing VMs [101, 102] (16.0 GiB together, online) on hv9: lowest memory use after the move "
                + "(hv8 66.0%, hv9 36.0%); decided by HA rule 'app' (positive resource-affinity)");
        assertThat(log).contains("No target for VM 103 (huge): No suitable target node found: not enough memory: needs 200.0 GiB, "
                + "best free is 70.0 GiB on hv9 (after 10% headroom and planned moves)");
    }

    @Test
    void belowDebugNothingIsSaid() {
        ClusterSnapshot snapshot = new ClusterSnapshot(Instant.EPOCH, List.of(node("src", 256, 0), node("hv8", 100, 50)),
                List.of(qemu(101, "web", "src", 10, "")));
        try (LogCapture log = new LogCapture()) {
            planner.plan(PlanningInput.drain(snapshot, DrainRequest.hard("src"), Set.of(), Map.of()));
            assertThat(log.text()).doesNotContain("Placing");
        }
    }
}
