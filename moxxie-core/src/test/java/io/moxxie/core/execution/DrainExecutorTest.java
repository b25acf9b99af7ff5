package io.moxxie.core.execution;

import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.model.Operation;
import io.moxxie.core.plan.DrainPlanner;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.DrainRecord;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.testing.TestClusters;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The executor used on its own, as an application that records its drains itself would: it carries out a drain already
 * in the store, and says so when it ends.
 */
class DrainExecutorTest {
    private final VirtualScheduler scheduler = new VirtualScheduler();
    private final SimulatedCluster cluster = SimulatedCluster.builder(scheduler)
            .node("hv1", 64 * TestClusters.GIB, 16).node("hv2", 64 * TestClusters.GIB, 16)
            .guest(TestClusters.qemu(101, "web-01", "hv1", 4, "")).guest(TestClusters.qemu(102, "db-01", "hv1", 8, "")).build();
    private final InMemoryMaintenanceStore store = new InMemoryMaintenanceStore();
    private final ExecutorConfig config = ExecutorConfig.builder().pollInitialDelay(Duration.ofSeconds(2)).build();
    private final DrainExecutor executor = new DrainExecutor(cluster, store, scheduler,
            DrainPlanner.defaults(), config, Set::of);

    /** hv1's drain, recorded in the store as owned by this process: both guests to hv2, live. */
    private DrainRecord recorded(List<GuestProgress> guests) {
        Instant now = scheduler.now();
        DrainRecord d = new DrainRecord("d-1", "hv1", Operation.DRAIN, DrainRequest.soft("hv1"), DrainState.IN_PROGRESS,
                "Draining node hv1 (soft mode)", now, null, "app-1", now.plus(Duration.ofMinutes(1)), false, null);
        store.createDrain(d, guests);
        return d;
    }

    private List<GuestProgress> toHv2() {
        return cluster.currentSnapshot().guestsOn("hv1").stream().map((Guest g) -> GuestProgress.builder("d-1", g).targetNode("hv2")
                .migrationType(MigrationType.ONLINE).status(GuestState.PENDING).build()).toList();
    }

    @Test
    void carriesOutARecordedDrainAndTellsItsEndOnce() {
        List<GuestProgress> guests = toHv2();
        List<DrainStatus> ends = new ArrayList<>();
        RunningDrain run = executor.start(recorded(guests), guests, Map.of(), scheduler.now(), ends::add);
        assertThat(run.drainId()).isEqualTo("d-1");
        scheduler.runUntilIdle();

        assertThat(ends).singleElement().satisfies(s -> {
            assertThat(s.status()).isEqualTo(DrainState.COMPLETED);
            assertThat(s.completedVMs()).isEqualTo(2);
        });
        assertThat(run.isFinished()).isTrue();
        assertThat(cluster.currentSnapshot().guestsOn("hv2")).extracting(Guest::vmid).containsExactlyInAnyOrder(101, 102);
        assertThat(store.guests("d-1")).allSatisfy(g -> assertThat(g.status()).isEqualTo(GuestState.COMPLETED));
        assertThat(executor.config()).isSameAs(config);
    }

    @Test
    void aViewWithoutTheTimeItWasReadIsRefusedBeforeAnythingStarts() {
        List<GuestProgress> guests = toHv2();
        DrainRecord d = recorded(guests);
        assertThatThrownBy(() -> executor.start(d, guests, Map.of(), scheduler.now(), cluster.currentSnapshot(), null, s -> { }))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("view and viewAt must be given together, were a view and null");
        assertThatThrownBy(() -> executor.start(d, guests, Map.of(), scheduler.now(), null, scheduler.now(), s -> { }))
                .isInstanceOf(IllegalArgumentException.class).hasMessageStartingWith("view and viewAt must be given together, were null and ");
        scheduler.runUntilIdle();
        assertThat(cluster.migrations()).isEmpty();
        assertThat(store.guests("d-1")).allSatisfy(g -> assertThat(g.status()).isEqualTo(GuestState.PENDING));
    }
}
