package io.moxxie.core.plan;

import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.Node;
import io.moxxie.core.policy.TagPolicy;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.moxxie.core.testing.TestClusters.GIB;
import static io.moxxie.core.testing.TestClusters.qemu;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * Where the planner puts a guest, at the edges an operator checks a plan against: a guest that fits a node's usable
 * memory to the byte goes there; the target is the one whose memory ends least used after the move (not the one least
 * used now); between targets that end equally used, the less loaded CPU wins.
 */
class PlacementChoiceTest {
    /** 10 % headroom, the default. */
    private final DrainPlanner planner = new DrainPlanner(TagPolicy.defaults(), new PlacementConfig(0.1));

    private static Node node(String name, long total, long used, double cpuLoad) {
        return new Node(name, true, total, used, 16, cpuLoad);
    }

    private DrainPlan plan(List<Node> nodes, List<Guest> guests) {
        return planner.plan(PlanningInput.drain(new ClusterSnapshot(Instant.EPOCH, nodes, guests), DrainRequest.hard("src"),
                Set.of(), Map.of()));
    }

    @Test
    void aGuestThatFitsTheUsableMemoryToTheByteIsPlacedThere() {
        // 100 GiB with 10 % headroom: 90 GiB usable, 82 used, 8 free; the guest has 8 GiB.
        DrainPlan p = plan(List.of(node("src", 256 * GIB, 0, 0.1), node("hv8", 100 * GIB, 82 * GIB, 0.1)),
                List.of(qemu(1, "exact", "src", 8, "")));
        assertThat(p.moves()).singleElement().satisfies(e -> assertThat(e.targetNode()).isEqualTo("hv8"));
        assertThat(p.blocked()).isEmpty();

        // One byte less free: it does not fit, and the plan says by how much.
        DrainPlan tight = plan(List.of(node("src", 256 * GIB, 0, 0.1), node("hv8", 100 * GIB, 82 * GIB + 1, 0.1)),
                List.of(qemu(1, "exact", "src", 8, "")));
        assertThat(tight.moves()).isEmpty();
        assertThat(tight.blocked()).singleElement().satisfies(e -> assertThat(e.reason())
                .isEqualTo("No suitable target node found: not enough memory: needs 8.0 GiB, best free is 8.0 GiB on hv8 "
                        + "(after 10% headroom and planned moves)"));
    }

    @Test
    void theTargetIsTheNodeWhoseMemoryEndsLeastUsedNotTheOneLeastUsedNow() {
        // small: 50 % used now, 90 % after a 40 GiB guest; large: 55 % now, 75 % after.
        DrainPlan p = plan(List.of(node("src", 256 * GIB, 0, 0.1), node("small", 100 * GIB, 50 * GIB, 0.1),
                node("large", 200 * GIB, 110 * GIB, 0.1)), List.of(qemu(1, "vm", "src", 40, "")));
        assertThat(p.moves()).singleElement().satisfies(e -> assertThat(e.targetNode()).isEqualTo("large"));
    }

    @Test
    void betweenTargetsEndingEquallyUsedTheLessLoadedCpuWins() {
        DrainPlan byLoad = plan(List.of(node("src", 256 * GIB, 0, 0.1), node("hv8", 128 * GIB, 0, 0.6),
                node("hv9", 128 * GIB, 0, 0.2)), List.of(qemu(1, "vm", "src", 4, "")));
        assertThat(byLoad.moves()).singleElement().satisfies(e -> assertThat(e.targetNode()).isEqualTo("hv9"));
    }
}
