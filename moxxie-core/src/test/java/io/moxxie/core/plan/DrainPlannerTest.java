package io.moxxie.core.plan;

import io.moxxie.core.InvalidTargetException;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.model.Node;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static io.moxxie.core.testing.TestClusters.GIB;
import static io.moxxie.core.testing.TestClusters.qemu;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DrainPlannerTest {
    private final DrainPlanner planner = new DrainPlanner(io.moxxie.core.policy.TagPolicy.defaults(), new PlacementConfig(0.0));

    private static Node node(String name, int totalGib, int usedGib) {
        return new Node(name, true, totalGib * GIB, usedGib * GIB, 16, 0.1);
    }

    private static ClusterSnapshot snapshot(List<Node> nodes, List<Guest> guests) {
        return new ClusterSnapshot(Instant.EPOCH, nodes, guests);
    }

    private DrainPlan plan(ClusterSnapshot s, DrainRequest r, Set<String> maintenance) {
        return planner.plan(PlanningInput.drain(s, r, maintenance, Map.of()));
    }

    @Test
    void aDrainThatCannotFitBlocksGuestsInsteadOfOvercommitting() {
        ClusterSnapshot s = snapshot(List.of(node("hv7", 256, 0), node("hv8", 64, 40), node("hv9", 64, 50)),
                List.of(qemu(1, "big", "hv7", 32, ""), qemu(2, "small", "hv7", 8, "")));
        DrainPlan p = plan(s, DrainRequest.hard("hv7"), Set.of());
        assertThat(p.moves()).extracting(PlanEntry::vmid).containsExactly(2);
        PlanEntry blocked = p.blocked().get(0);
        assertThat(blocked.vmid()).isEqualTo(1);
        assertThat(blocked.reason()).startsWith("No suitable target node found")
                .contains("needs 32.0 GiB").contains("best free is 24.0 GiB on hv8");
    }

    @Test
    void everyOtherNodeInMaintenanceIsNamedInTheBlockReason() {
        ClusterSnapshot s = snapshot(List.of(node("hv7", 256, 0), node("hv8", 256, 0), node("hv9", 256, 0)),
                List.of(qemu(1, "vm", "hv7", 4, "")));
        PlanEntry e = plan(s, DrainRequest.soft("hv7"), Set.of("hv8", "hv9")).blocked().get(0);
        assertThat(e.reason()).startsWith("No suitable target node found").contains("in maintenance: hv8, hv9");
    }

    @Test
    void notAllowedNodesAreNamedWithTheHypervisorsReason() {
        ClusterSnapshot s = snapshot(List.of(node("hv7", 256, 0), node("hv8", 256, 0)), List.of(qemu(1, "vm", "hv7", 4, "")));
        MigrationPreconditions pre = new MigrationPreconditions(1, Map.of("hv8", "storage 'local-zfs' not available"), List.of(), List.of(), false);
        DrainPlan p = planner.plan(PlanningInput.drain(s, DrainRequest.soft("hv7"), Set.of(), Map.of(1, pre)));
        assertThat(p.blocked().get(0).reason()).contains("not allowed on hv8 (storage 'local-zfs' not available)");
    }

    @Test
    void neverPlacesOnSourceMaintenanceOrOfflineNodes() {
        Node offline = new Node("hv10", false, 512 * GIB, 0, 16, 0);
        ClusterSnapshot s = snapshot(List.of(node("hv7", 512, 0), node("hv8", 512, 0), node("hv9", 64, 0), offline),
                List.of(qemu(1, "a", "hv7", 8, ""), qemu(2, "b", "hv7", 8, "")));
        DrainPlan p = plan(s, DrainRequest.soft("hv7"), Set.of("hv8"));
        assertThat(p.moves()).extracting(PlanEntry::targetNode).containsOnly("hv9");
    }

    @Test
    void spreadsLoadSoTheBusiestTargetEndsAsLowAsPossible() {
        ClusterSnapshot s = snapshot(List.of(node("hv7", 256, 0), node("hv8", 100, 0), node("hv9", 100, 0)),
                List.of(qemu(1, "a", "hv7", 30, ""), qemu(2, "b", "hv7", 20, ""), qemu(3, "c", "hv7", 20, ""), qemu(4, "d", "hv7", 10, "")));
        DrainPlan p = plan(s, DrainRequest.soft("hv7"), Set.of());
        long hv8 = p.moves().stream().filter(e -> e.targetNode().equals("hv8")).mapToLong(e -> e.guest().memory()).sum();
        long hv9 = p.moves().stream().filter(e -> e.targetNode().equals("hv9")).mapToLong(e -> e.guest().memory()).sum();
        assertThat(hv8).isEqualTo(40 * GIB);
        assertThat(hv9).isEqualTo(40 * GIB);
    }

    @Test
    void headroomIsKeptFreeOnEveryTarget() {
        DrainPlanner withHeadroom = new DrainPlanner(io.moxxie.core.policy.TagPolicy.defaults(), new PlacementConfig(0.10));
        ClusterSnapshot s = snapshot(List.of(node("hv7", 256, 0), node("hv8", 100, 0)), List.of(qemu(1, "a", "hv7", 95, "")));
        PlanEntry e = withHeadroom.plan(PlanningInput.drain(s, DrainRequest.soft("hv7"), Set.of(), Map.of())).blocked().get(0);
        assertThat(e.reason()).contains("after 10% headroom");
    }

    @Test
    void movesAreOrderedAlwaysOnFirstThenLargestFirst() {
        ClusterSnapshot s = snapshot(List.of(node("hv7", 256, 0), node("hv8", 256, 0)),
                List.of(qemu(1, "small", "hv7", 2, ""), qemu(2, "big", "hv7", 32, ""), qemu(3, "crit-small", "hv7", 1, "always-on"),
                        qemu(4, "crit-big", "hv7", 16, "always-on"), qemu(5, "mid", "hv7", 8, "maint-ok")));
        DrainPlan p = plan(s, DrainRequest.soft("hv7"), Set.of());
        assertThat(p.moves()).extracting(PlanEntry::vmid).containsExactly(4, 3, 2, 1);
        assertThat(p.skipped()).extracting(PlanEntry::vmid).containsExactly(5);
    }

    @Test
    void explicitTargetIsValidatedAndUsed() {
        Node offline = new Node("hv10", false, 256 * GIB, 0, 16, 0);
        ClusterSnapshot s = snapshot(List.of(node("hv7", 256, 0), node("hv8", 256, 0), node("hv9", 256, 0), offline),
                List.of(qemu(1, "a", "hv7", 4, ""), qemu(2, "b", "hv7", 4, "")));
        DrainPlan p = plan(s, DrainRequest.builder("hv7").targetNode("hv9").build(), Set.of());
        assertThat(p.moves()).extracting(PlanEntry::targetNode).containsOnly("hv9");

        assertThatThrownBy(() -> plan(s, DrainRequest.builder("hv7").targetNode("hv99").build(), Set.of()))
                .isInstanceOfSatisfying(InvalidTargetException.class, e -> {
                    assertThat(e.reason()).isEqualTo(InvalidTargetException.Reason.UNKNOWN);
                    assertThat(e).hasMessage("targetNode 'hv99' is not a node of the cluster (nodes: hv7, hv8, hv9, hv10)");
                    assertThat(e.clusterNodes()).containsExactly("hv7", "hv8", "hv9", "hv10");
                });
        assertThatThrownBy(() -> plan(s, DrainRequest.builder("hv7").targetNode("hv10").build(), Set.of()))
                .isInstanceOfSatisfying(InvalidTargetException.class, e -> assertThat(e.reason()).isEqualTo(InvalidTargetException.Reason.OFFLINE))
                .hasMessageContaining("offline");
        assertThatThrownBy(() -> plan(s, DrainRequest.builder("hv7").targetNode("hv8").build(), Set.of("hv8")))
                .isInstanceOfSatisfying(InvalidTargetException.class,
                        e -> assertThat(e.reason()).isEqualTo(InvalidTargetException.Reason.IN_MAINTENANCE))
                .hasMessageContaining("in maintenance");
    }

    @Test
    void explicitTargetWithoutRoomBlocksRatherThanChoosingAnother() {
        ClusterSnapshot s = snapshot(List.of(node("hv7", 256, 0), node("hv8", 16, 0), node("hv9", 256, 0)),
                List.of(qemu(1, "a", "hv7", 32, "")));
        DrainPlan p = plan(s, DrainRequest.builder("hv7").targetNode("hv8").build(), Set.of());
        assertThat(p.blocked()).hasSize(1);
        assertThat(p.moves()).isEmpty();
    }

    @Test
    void undrainSendsGuestsBackToTheNodeOnly() {
        ClusterSnapshot s = snapshot(List.of(node("hv7", 256, 0), node("hv8", 256, 0), node("hv9", 256, 0)),
                List.of(qemu(1, "a", "hv8", 4, ""), qemu(2, "b", "hv9", 4, "")));
        DrainPlan p = planner.plan(PlanningInput.undrain(s, DrainRequest.soft("hv7"), s.guests(), Set.of(), Map.of()));
        assertThat(p.moves()).extracting(PlanEntry::targetNode).containsOnly("hv7");
        DrainPlan inMaint = planner.plan(PlanningInput.undrain(s, DrainRequest.soft("hv7"), s.guests(), Set.of("hv7"), Map.of()));
        assertThat(inMaint.blocked()).hasSize(2).allSatisfy(e -> assertThat(e.reason()).contains("hv7 is still in maintenance"));
    }

    @Test
    void reservedMemoryOfMovesInFlightCountsAgainstATarget() {
        ClusterSnapshot s = snapshot(List.of(node("hv7", 256, 0), node("hv8", 64, 0), node("hv9", 64, 30)),
                List.of(qemu(1, "a", "hv7", 30, "")));
        PlanningInput in = new PlanningInput(s, DrainRequest.soft("hv7"), s.guestsOn("hv7"), Set.of(), Map.of(),
                Map.of("hv8", 60 * GIB), false);
        assertThat(planner.plan(in).moves().get(0).targetNode()).isEqualTo("hv9");
    }

    @Test
    void planningTheSameInputTwiceGivesTheSamePlan() {
        List<Guest> guests = new ArrayList<>();
        for (int i = 0; i < 40; i++) guests.add(qemu(100 + i, "g" + i, "hv7", 1 + (i * 7) % 13, i % 5 == 0 ? "always-on" : ""));
        ClusterSnapshot s = snapshot(List.of(node("hv7", 512, 0), node("hv8", 256, 10), node("hv9", 256, 10), node("hv10", 256, 10)), guests);
        assertThat(plan(s, DrainRequest.hard("hv7"), Set.of()).entries()).isEqualTo(plan(s, DrainRequest.hard("hv7"), Set.of()).entries());
    }
}
