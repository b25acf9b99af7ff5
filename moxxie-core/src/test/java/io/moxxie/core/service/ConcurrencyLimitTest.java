package io.moxxie.core.service;

import io.moxxie.core.model.Concurrency;
import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.execution.ExecutorConfig;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.model.PowerState;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.simulation.MigrationModel;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.testing.TestClusters;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.time.Duration;
import java.util.Collections;
import java.util.List;

import static io.moxxie.core.testing.TestClusters.GIB;
import static io.moxxie.core.testing.TestClusters.qemu;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The limits an operator sets are met exactly: never more migrations at once than {@code maxConcurrent}, never more
 * into one target than the per-target limit — and, where there is work for them, exactly that many, not one fewer.
 */
class ConcurrencyLimitTest {

    /**
     * pve1 with twelve guests of 4 GiB and one other node, "roomy", with room for all of them: every move goes there, and
     * only the per-target limit keeps them from all running at once.
     */
    private static final class Lopsided {
        final VirtualScheduler scheduler = new VirtualScheduler();
        final SimulatedCluster cluster;
        final MaintenanceService service;

        Lopsided(ExecutorConfig config) {
            this(config, "");
        }

        /** With {@code tags} on every guest ({@code maint-ok}: a hard drain moves them offline, shut down ahead). */
        Lopsided(ExecutorConfig config, String tags) {
            SimulatedCluster.Builder b = SimulatedCluster.builder(scheduler).model(MigrationModel.DEFAULT)
                    .node("pve1", 64 * GIB, 16).node("roomy", 512 * GIB, 16);
            for (int i = 0; i < 12; i++) b.guest(qemu(100 + i, "vm-" + i, "pve1", 4, tags));
            cluster = b.build();
            service = TestClusters.service(cluster, new InMemoryMaintenanceStore()).executorConfig(config).build();
            service.start();
        }

        DrainStatus drainAndWait(DrainRequest request) {
            DrainStatus s = service.drain(request).status();
            scheduler.runUntilIdle();
            DrainStatus done = service.status(request.node(), s.drainId());
            assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
            return done;
        }

        /** Runs the scheduler for two hours of virtual time: the most guests down (stopped) on pve1 at once meanwhile. */
        int runCountingGuestsDownOnPve1() {
            int[] mostDown = {0};
            scheduler.runUntil(() -> {
                int down = (int) cluster.currentSnapshot().guestsOn("pve1").stream().filter(g -> g.status() == PowerState.STOPPED).count();
                mostDown[0] = Math.max(mostDown[0], down);
                return false;
            }, Duration.ofHours(2));
            return mostDown[0];
        }

        int peakIntoOneTarget() {
            return Collections.max(cluster.peakMigrationsPerTarget().values());
        }
    }

    @ParameterizedTest(name = "perTargetLimit {0}, maxConcurrent {1}")
    @CsvSource({"1, 3", "2, 3", "2, 4", "3, 4", "3, 6"})
    void aConfiguredPerTargetLimitIsReachedAndNeverPassed(int perTarget, int maxConcurrent) {
        Lopsided env = new Lopsided(ExecutorConfig.builder().perTargetLimit(perTarget).build());
        env.drainAndWait(DrainRequest.builder("pve1").mode(DrainMode.HARD).concurrency(Concurrency.fixed(maxConcurrent)).build());
        assertThat(env.cluster.peakMigrationsPerTarget()).containsOnlyKeys("roomy").containsEntry("roomy", perTarget);
        assertThat(env.cluster.peakConcurrentMigrations()).as("slots left free rather than pass the limit").isEqualTo(perTarget);
    }

    /**
     * Guests moved offline are shut down ahead of their turn: the limit holds for them as for live moves, exactly, and no
     * more of them are down at once than their target's lanes can take (one more would only wait, down, for a lane).
     */
    @ParameterizedTest(name = "perTargetLimit {0}, maxConcurrent {1}, offline moves")
    @CsvSource({"1, 3", "2, 3", "3, 6"})
    void thePerTargetLimitIsReachedAndNeverPassedByGuestsShutDownForTheirMove(int perTarget, int maxConcurrent) {
        Lopsided env = new Lopsided(ExecutorConfig.builder().perTargetLimit(perTarget).build(), "maint-ok");
        DrainRequest request = DrainRequest.builder("pve1").mode(DrainMode.HARD).concurrency(Concurrency.fixed(maxConcurrent)).build();
        String drainId = env.service.drain(request).drainId();
        int mostDown = env.runCountingGuestsDownOnPve1();
        DrainStatus done = env.service.status("pve1", drainId);
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(mostDown).as("guests down on pve1 at once").isEqualTo(perTarget);
        assertThat(done.vmStatus()).allSatisfy(v -> assertThat(v.migrationType()).isEqualTo(MigrationType.OFFLINE));
        assertThat(env.cluster.peakMigrationsPerTarget()).containsOnlyKeys("roomy").containsEntry("roomy", perTarget);
        assertThat(env.cluster.peakConcurrentMigrations()).isEqualTo(perTarget);
        assertThat(env.cluster.currentSnapshot().guestsOn("roomy")).hasSize(12)
                .allSatisfy(g -> assertThat(g.status()).isEqualTo(PowerState.RUNNING));
    }

    /**
     * A guest is shut down ahead of its offline move only while its turn is near: the guests that take the free slots and
     * the next two. With no per-target limit (a named target), at most the migrating guests and two more are down on the
     * source at once, and all of them are down by their turn.
     */
    @ParameterizedTest(name = "maxConcurrent {0}: at most {1} down at once")
    @CsvSource({"1, 3", "2, 4", "3, 5"})
    void guestsAreShutDownAheadOnlyForTheFreeSlotsAndTheTwoAfterThem(int maxConcurrent, int mostDownAtOnce) {
        Lopsided env = new Lopsided(ExecutorConfig.defaults(), "maint-ok");
        DrainRequest request = DrainRequest.builder("pve1").mode(DrainMode.HARD).targetNode("roomy")
                .concurrency(Concurrency.fixed(maxConcurrent)).build();
        String drainId = env.service.drain(request).drainId();
        int mostDown = env.runCountingGuestsDownOnPve1();
        DrainStatus done = env.service.status("pve1", drainId);
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(mostDown).as("guests down on pve1 at once").isEqualTo(mostDownAtOnce);
        assertThat(env.cluster.peakConcurrentMigrations()).isEqualTo(maxConcurrent);
        assertThat(env.cluster.currentSnapshot().guestsOn("roomy")).hasSize(12)
                .allSatisfy(g -> assertThat(g.status()).isEqualTo(PowerState.RUNNING));
    }

    /**
     * Guests down for their offline move and waiting for a slot get it in the queue's order, largest first (each second
     * they wait is downtime; the largest move is the longest): with one slot, the first guest down moves at once, and
     * the two that wait down for the slot meanwhile start largest first.
     */
    @Test
    void guestsDownForTheirMoveGetTheSlotLargestFirst() {
        VirtualScheduler scheduler = new VirtualScheduler();
        SimulatedCluster cluster = SimulatedCluster.builder(scheduler).model(MigrationModel.DEFAULT)
                .node("pve1", 64 * GIB, 16).node("roomy", 512 * GIB, 16)
                .guest(qemu(101, "small", "pve1", 2, "maint-ok"))
                .guest(qemu(102, "medium", "pve1", 4, "maint-ok"))
                .guest(qemu(103, "large", "pve1", 8, "maint-ok"))
                .build();
        MaintenanceService service = TestClusters.service(cluster, new InMemoryMaintenanceStore()).build();
        service.start();
        String drainId = service.drain(DrainRequest.builder("pve1").mode(DrainMode.HARD).targetNode("roomy")
                .concurrency(Concurrency.serial()).build()).drainId();
        scheduler.runUntilIdle();

        assertThat(service.status("pve1", drainId).status()).isEqualTo(DrainState.COMPLETED);
        List<Integer> order = cluster.migrations().stream().map(SimulatedCluster.MigrationRecord::vmid).toList();
        assertThat(order).hasSize(3);
        assertThat(order.subList(1, 3)).as("after %s", order.get(0)).isSortedAccordingTo(
                java.util.Comparator.comparingLong((Integer vmid) -> cluster.currentSnapshot().guest(vmid).orElseThrow().memory()).reversed());
        assertThat(cluster.migrations()).allSatisfy(m -> assertThat(m.type()).isEqualTo(MigrationType.OFFLINE));
    }

    /** By default: half the drain's concurrency rounded up, and at least 2. */
    @ParameterizedTest(name = "maxConcurrent {0}: {1} into one target")
    @CsvSource({"2, 2", "3, 2", "4, 2", "5, 3", "6, 3", "7, 4"})
    void theDefaultPerTargetLimitIsHalfTheConcurrencyRoundedUpAndAtLeastTwo(int maxConcurrent, int perTarget) {
        Lopsided env = new Lopsided(ExecutorConfig.defaults());
        env.drainAndWait(DrainRequest.builder("pve1").mode(DrainMode.HARD).concurrency(Concurrency.fixed(maxConcurrent)).build());
        assertThat(env.peakIntoOneTarget()).isEqualTo(perTarget);
        assertThat(ExecutorConfig.defaults().perTargetLimit(maxConcurrent)).isEqualTo(perTarget);
    }

    /**
     * An {@code auto} drain may run up to {@link ExecutorConfig#AUTO_MAX_PER_SOURCE} slots, but its per-target limit is
     * half of where it starts ({@link ExecutorConfig#autoConcurrency()}: 6 with the defaults, so 3), not half of its slots.
     */
    @Test
    void anAutoDrainsPerTargetLimitIsHalfItsStartingConcurrency() {
        Lopsided env = new Lopsided(ExecutorConfig.defaults());
        env.drainAndWait(DrainRequest.builder("pve1").mode(DrainMode.HARD).concurrency(Concurrency.auto()).build());
        assertThat(ExecutorConfig.defaults().perTargetLimit(ExecutorConfig.defaults().autoConcurrency())).isEqualTo(3);
        assertThat(env.peakIntoOneTarget()).isLessThanOrEqualTo(3);
    }

    @Test
    void aDrainToANamedTargetUsesEverySlotOnIt() {
        Lopsided env = new Lopsided(ExecutorConfig.builder().perTargetLimit(1).build());
        env.drainAndWait(DrainRequest.builder("pve1").mode(DrainMode.HARD).targetNode("roomy").concurrency(Concurrency.fixed(4)).build());
        assertThat(env.cluster.peakMigrationsPerTarget()).containsOnlyKeys("roomy").containsEntry("roomy", 4);
    }

    @Test
    void anUndrainUsesEverySlotIntoTheNodeItReturnsTo() {
        Lopsided env = new Lopsided(ExecutorConfig.defaults());
        env.drainAndWait(DrainRequest.builder("pve1").mode(DrainMode.HARD).concurrency(Concurrency.fixed(4)).build());
        DrainStatus u = env.service.undrain("pve1").status();
        env.scheduler.runUntilIdle();
        assertThat(env.service.status("pve1", u.drainId()).status()).isEqualTo(DrainState.COMPLETED);
        assertThat(env.cluster.currentSnapshot().guestsOn("pve1")).hasSize(12);
        assertThat(env.cluster.peakMigrationsPerTarget()).containsEntry("pve1", 4);
    }

    @Test
    void autoConcurrencyFollowsTheExpectedLinkAndStreamRates() {
        // 2 GB/s over 0.5 GB/s streams: 4 fill the link, 8 at once.
        ExecutorConfig config = ExecutorConfig.builder().expectedLinkBandwidth(2e9).expectedMigrationRate(0.5e9).perTargetLimit(12).build();
        assertThat(config.streamsFillingLink()).isEqualTo(4);
        assertThat(config.autoConcurrency()).isEqualTo(8);
        Lopsided env = new Lopsided(config);
        env.drainAndWait(DrainRequest.builder("pve1").mode(DrainMode.HARD).concurrency(Concurrency.auto()).build());
        assertThat(env.cluster.peakConcurrentMigrations()).isEqualTo(8);
    }
}
