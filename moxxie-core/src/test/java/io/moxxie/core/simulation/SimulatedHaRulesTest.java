package io.moxxie.core.simulation;

import io.moxxie.core.model.MigrationType;
import io.moxxie.core.model.PlacementRule.GuestAffinity;
import io.moxxie.core.spi.HypervisorException;
import io.moxxie.core.spi.MigrationCommand;
import io.moxxie.core.spi.TaskRef;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Set;

import static io.moxxie.core.model.PlacementRule.Origin.HA_RULE;
import static io.moxxie.core.model.PlacementRule.Origin.TAG;
import static io.moxxie.core.testing.TestClusters.GIB;
import static io.moxxie.core.testing.TestClusters.ha;
import static io.moxxie.core.testing.TestClusters.qemu;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The simulated cluster's HA stack enforces HA resource-affinity rules as Proxmox VE 9's does. */
class SimulatedHaRulesTest {
    private final VirtualScheduler scheduler = new VirtualScheduler();

    private SimulatedCluster.Builder nodes() {
        return SimulatedCluster.builder(scheduler).model(MigrationModel.DEFAULT).node("a", 256 * GIB, 16).node("b", 256 * GIB, 16);
    }

    private static MigrationCommand migrate(SimulatedCluster c, int vmid, String target) {
        return new MigrationCommand(c.snapshot().guest(vmid).orElseThrow(), target, MigrationType.ONLINE, false, Duration.ofMinutes(3));
    }

    @Test
    void migratingAMemberOfAPositiveRuleMovesTheOtherHaMembersAlongAndNamesThem() {
        SimulatedCluster c = nodes().guest(ha(qemu(1, "x", "a", 4, ""))).guest(ha(qemu(2, "y", "a", 4, ""))).guest(qemu(3, "not-ha", "a", 4, ""))
                .rule(new GuestAffinity("stack", HA_RULE, Set.of(1, 2, 3), true)).build();
        TaskRef t = c.migrate(migrate(c, 1, "b"));
        assertThat(t.comigrated()).containsExactly(2);
        scheduler.runUntilIdle();
        assertThat(c.currentSnapshot().guestsOn("b")).extracting(g -> g.vmid()).containsExactly(1, 2);
        assertThat(c.calls().get("migrate")).isEqualTo(1L);
    }

    @Test
    void aMoveOntoANodeWithAnotherMemberOfANegativeRuleIsRefusedNamingIt() {
        SimulatedCluster c = nodes().guest(ha(qemu(1, "x", "a", 4, ""))).guest(ha(qemu(2, "y", "b", 4, "")))
                .rule(new GuestAffinity("apart", HA_RULE, Set.of(1, 2), false)).build();
        assertThatThrownBy(() -> c.migrate(migrate(c, 1, "b"))).isInstanceOf(HypervisorException.class)
                .hasMessage("cannot migrate vm:1 to b: blocked by vm:2 (resource-affinity)");
        assertThat(c.currentSnapshot().guest(1).orElseThrow().node()).isEqualTo("a");
    }

    @Test
    void tagRulesAreNotTheHypervisorsBusiness() {
        SimulatedCluster c = nodes().guest(ha(qemu(1, "x", "a", 4, ""))).guest(ha(qemu(2, "y", "b", 4, "")))
                .rule(new GuestAffinity("plb_anti_affinity_web", TAG, Set.of(1, 2), false)).haAutoRebalance(true).build();
        assertThat(c.migrate(migrate(c, 1, "b")).comigrated()).isEmpty();
        assertThat(c.snapshot().haAutoRebalance()).isTrue();
    }
}
