package io.moxxie.core.model;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ClusterSnapshotTest {
    private static final long GIB = 1L << 30;

    private static ClusterSnapshot snapshot() {
        List<Node> nodes = List.of(new Node("a", true, 64 * GIB, 20 * GIB, 8, 0.1), new Node("b", true, 64 * GIB, 10 * GIB, 8, 0.1),
                new Node("c", true, 64 * GIB, 0, 8, 0.1));
        List<Guest> guests = List.of(Guest.qemu(3, "a").memory(8 * GIB).build(), Guest.qemu(1, "a").memory(4 * GIB).build(),
                Guest.qemu(2, "b").memory(2 * GIB).status(PowerState.STOPPED).build(), Guest.qemu(4, "c").memory(GIB).build());
        return new ClusterSnapshot(Instant.EPOCH, nodes, guests);
    }

    @Test
    void guestsOnANodeComeByVmidFromTheIndex() {
        ClusterSnapshot s = snapshot();
        assertThat(s.guestsOn("a")).extracting(Guest::vmid).containsExactly(1, 3);
        assertThat(s.guestsOn("nowhere")).isEmpty();
    }

    @Test
    void withMovesPutsTheGuestsOnTheirTargetsAndMovesTheMemoryOfTheRunningOnes() {
        ClusterSnapshot s = snapshot();
        s.guestsOn("a"); // the index is built, and carried over below
        ClusterSnapshot after = s.withMoves(Map.of(3, "b", 2, "c"));
        assertThat(after.guest(3).orElseThrow().node()).isEqualTo("b");
        assertThat(after.guestsOn("a")).extracting(Guest::vmid).containsExactly(1);
        assertThat(after.guestsOn("b")).extracting(Guest::vmid).containsExactly(3);
        assertThat(after.guestsOn("c")).extracting(Guest::vmid).containsExactly(2, 4);
        assertThat(after.node("a").orElseThrow().memoryUsed()).isEqualTo(12 * GIB);
        assertThat(after.node("b").orElseThrow().memoryUsed()).as("the stopped guest took no memory with it").isEqualTo(18 * GIB);
        assertThat(after.node("c").orElseThrow().memoryUsed()).isZero();
        // the same as a snapshot built from scratch
        ClusterSnapshot fresh = new ClusterSnapshot(Instant.EPOCH, after.nodes(), after.guests());
        for (String n : List.of("a", "b", "c")) assertThat(after.guestsOn(n)).isEqualTo(fresh.guestsOn(n));
        assertThat(s.guest(3).orElseThrow().node()).as("the original is unchanged").isEqualTo("a");
    }

    @Test
    void withMovesRefusesWhatTheSnapshotDoesNotHold() {
        assertThatThrownBy(() -> snapshot().withMoves(Map.of(99, "a"))).hasMessageContaining("99");
        assertThatThrownBy(() -> snapshot().withMoves(Map.of(1, "zz"))).hasMessageContaining("zz");
    }
}
