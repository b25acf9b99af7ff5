package io.moxxie.examples.demo;

import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.Node;
import io.moxxie.core.model.PowerState;
import io.moxxie.core.plan.DrainPlan;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.plan.PlacementConfig;
import io.moxxie.core.service.MaintenanceService;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class DemoClusterTest {
    private static final List<String> MOVABLE = List.of("hv7", "hv8", "hv9");
    private static final List<String> ALL = List.of("hv7", "hv8", "hv9", "hv10");

    private static SimulatedCluster initial() {
        SimulatedCluster.Builder b = SimulatedCluster.builder(new VirtualScheduler());
        DemoCluster.initial(b);
        return b.build();
    }

    @Test
    void hv7HoldsTheGuidesGuestsAndTheOtherNodesTheCasesItsExamplesNeed() {
        ClusterSnapshot s = initial().currentSnapshot();
        List<Guest> hv7 = s.guestsOn("hv7");
        assertThat(hv7).hasSize(15);
        assertThat(s.guest(8200).orElseThrow()).satisfies(g -> {
            assertThat(g.name()).isEqualTo("web-prod-01");
            assertThat(g.tags()).containsExactly("always-on", "env-prod", "client-acme");
        });
        assertThat(s.guest(8201).orElseThrow().name()).isEqualTo("db-prod-01");
        assertThat(s.guest(8201).orElseThrow().tags()).containsExactly("always-on");
        assertThat(s.guest(8300).orElseThrow().tags()).containsExactly("maint-ok", "env-dev", "client-acme");
        assertThat(hv7).anyMatch(g -> g.type() == GuestType.LXC).anyMatch(g -> g.status() == PowerState.STOPPED).anyMatch(Guest::haManaged);
        for (String n : List.of("hv8", "hv9")) assertThat(s.guestsOn(n)).isNotEmpty();
        List<Guest> hv10 = s.guestsOn("hv10");
        assertThat(hv10).anyMatch(Guest::template);
        assertThat(s.guest(9301).orElseThrow().tags()).contains("maint-ok");
    }

    @Test
    void theGpuGuestOnHv10CannotMove() {
        SimulatedCluster c = initial();
        assertThat(c.preconditions(c.currentSnapshot().guest(9301).orElseThrow()).blockers()).containsExactly("hostpci0");
    }

    @Test
    void aHardDrainOfAnyOneOfHv7ToHv9FitsOnTheOtherNodes() {
        for (String node : MOVABLE) {
            SimulatedCluster c = initial();
            try (MaintenanceService s = MaintenanceService.builder(c, new InMemoryMaintenanceStore()).scheduler(c.scheduler()).build()) {
                DrainPlan plan = s.plan(DrainRequest.hard(node));
                assertThat(plan.blocked()).as("blocked in a hard drain of %s", node).isEmpty();
                assertThat(plan.moves()).hasSize(c.currentSnapshot().guestsOn(node).size());
            }
        }
    }

    @Test
    void theGuestsOfTwoNodesDoNotFitOnTheOtherTwo() {
        ClusterSnapshot s = initial().currentSnapshot();
        PlacementConfig placement = PlacementConfig.defaults();
        for (String a : ALL) {
            for (String b : ALL) {
                if (a.compareTo(b) >= 0) continue;
                long guests = memoryOfGuests(s, a) + memoryOfGuests(s, b);
                long room = 0;
                for (String other : ALL) {
                    if (other.equals(a) || other.equals(b)) continue;
                    Node n = s.node(other).orElseThrow();
                    room += placement.usable(n.memoryTotal()) - n.memoryUsed();
                }
                assertThat(guests).as("guests of %s and %s against the free memory of the other two", a, b).isGreaterThan(room);
            }
        }
    }

    private static long memoryOfGuests(ClusterSnapshot s, String node) {
        return s.guestsOn(node).stream().mapToLong(Guest::memory).sum();
    }

    @Test
    void aReopenedDemoClusterHasItsGuestsWhereTheyWereAndItsTimeCarriesOn(@TempDir Path dir) throws Exception {
        Instant before;
        try (DemoCluster demo = DemoCluster.open(dir, 1000, 2)) {
            assertThat(demo.resumed()).isFalse();
            SimulatedCluster c = demo.cluster();
            c.setTags(c.currentSnapshot().guest(8300).orElseThrow(), List.of("env-dev"));
            c.setNodeOnline("hv9", false);
            Thread.sleep(50);
            before = demo.scheduler().now();
        }
        try (DemoCluster again = DemoCluster.open(dir, 1000, 2)) {
            assertThat(again.resumed()).isTrue();
            ClusterSnapshot s = again.cluster().currentSnapshot();
            assertThat(s.guest(8300).orElseThrow().tags()).containsExactly("env-dev");
            assertThat(s.node("hv9").orElseThrow().online()).isFalse();
            assertThat(s.guests()).hasSize(initial().currentSnapshot().guests().size());
            assertThat(again.cluster().preconditionOverrides()).containsKey(9301);
            assertThat(again.scheduler().now()).isAfterOrEqualTo(before);
        }
    }
}
