package io.moxxie.core.rollout;

import io.moxxie.core.model.CephOsd;
import io.moxxie.core.model.HaManagerStatus;
import io.moxxie.core.model.Quorum;
import io.moxxie.core.model.RolloutPhase;
import io.moxxie.core.model.RolloutState;
import io.moxxie.core.rollout.MaintenanceAction.Result;
import io.moxxie.core.spi.HypervisorClient;
import io.moxxie.core.spi.RolloutStep;
import io.moxxie.core.testing.DelegatingHypervisorClient;
import io.moxxie.core.testing.TestClusters.Env;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

import static io.moxxie.core.rollout.RolloutFixture.request;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * After its maintenance action, a node's step waits until the node is back: online, an online member of a quorate
 * cluster, its Ceph OSDs up, and not seen otherwise than online by the HA manager; the step says what is missing, and
 * the settle time counts from the moment nothing was.
 */
class WaitBackTest {

    /** What the rollout reads about hv8 after its action; the rest is the guide cluster's. */
    private static final class Back extends DelegatingHypervisorClient {
        volatile boolean quorate = true;
        volatile boolean member = true;
        volatile boolean osdUp = true;
        volatile String ha = "online";

        Back(HypervisorClient delegate) {
            super(delegate);
        }

        @Override
        public Quorum quorum() {
            Quorum q = delegate.quorum();
            Set<String> online = new java.util.TreeSet<>(q.onlineNodes());
            if (!member) online.remove("hv8");
            return new Quorum(quorate, q.expectedVotes(), online);
        }

        @Override
        public List<CephOsd> cephOsds(String node) {
            return node.equals("hv8") ? List.of(new CephOsd(3, "hv8", osdUp), new CephOsd(4, "hv8", true)) : List.of();
        }

        @Override
        public Optional<HaManagerStatus> haManagerStatus() {
            return Optional.of(new HaManagerStatus("hv7", Map.of("hv7", "online", "hv8", ha, "hv9", "online", "hv10", "online"), Map.of()));
        }
    }

    @Test
    void aNodeIsBackOnlyWhenNothingIsMissingAndSettlesFromThen() {
        Env env = new Env();
        Back back = new Back(env.cluster);
        RolloutService rollouts = RolloutService.builder(env.service, back, env.store)
                .action(RolloutFixture.action("patch", c -> {
                    back.member = false;
                    back.osdUp = false;
                    back.ha = "unknown";
                    return RolloutFixture.done(Result.ok("patched"));
                })).build();
        rollouts.start();
        String id = rollouts.submit(request("hv8").action("patch").settleTime(Duration.ofMinutes(2)).build()).rolloutId();
        env.scheduler.runUntil(() -> rollouts.status(id).step("hv8").map(s -> s.phase() == RolloutPhase.WAIT_BACK).orElse(false),
                Duration.ofHours(1));
        env.scheduler.runFor(Duration.ofSeconds(30));

        RolloutStatus waiting = rollouts.status(id);
        RolloutStep step = waiting.step("hv8").orElseThrow();
        assertThat(step.state()).isEqualTo(RolloutState.WAITING);
        assertThat(step.message()).isEqualTo("waiting for hv8 to be back: not an online member of the quorum; 1 Ceph OSD(s) down: osd.3; "
                + "the HA manager sees it unknown");
        assertThat(waiting.rollout().message()).isEqualTo("hv8: not an online member of the quorum; 1 Ceph OSD(s) down: osd.3; "
                + "the HA manager sees it unknown");
        assertThat(step.backSince()).isNull();

        back.member = true;
        back.osdUp = true;
        back.quorate = false;
        env.scheduler.runFor(Duration.ofSeconds(10));
        assertThat(rollouts.status(id).step("hv8").orElseThrow().message())
                .isEqualTo("waiting for hv8 to be back: the cluster has no quorum; the HA manager sees it unknown");

        back.quorate = true;
        back.ha = "maintenance"; // HA maintenance is the rollout's own business: not missing
        env.scheduler.runFor(Duration.ofSeconds(10));
        RolloutStep settling = rollouts.status(id).step("hv8").orElseThrow();
        Instant backSince = settling.backSince();
        assertThat(backSince).isNotNull();
        assertThat(settling.message()).startsWith("hv8 is back; settling (").endsWith(" of 2 min)");

        back.member = false; // gone again: the settle time starts over once it is back
        env.scheduler.runFor(Duration.ofSeconds(10));
        assertThat(rollouts.status(id).step("hv8").orElseThrow().backSince()).isNull();
        back.member = true;
        env.scheduler.runUntil(() -> rollouts.status(id).step("hv8").orElseThrow().phase() == RolloutPhase.GATES_BACK, Duration.ofHours(1));
        RolloutStep gatesBack = rollouts.status(id).step("hv8").orElseThrow();
        assertThat(gatesBack.backSince()).isAfter(backSince);
        assertThat(Duration.between(gatesBack.backSince(), gatesBack.phaseStartedAt()))
                .isBetween(Duration.ofMinutes(2), Duration.ofMinutes(2).plus(RolloutService.DEFAULT_TICK));

        back.ha = "online";
        env.scheduler.runUntil(() -> rollouts.status(id).rollout().ended(), Duration.ofDays(1));
        assertThat(rollouts.status(id).rollout().state()).isEqualTo(RolloutState.SUCCEEDED);
        rollouts.close();
    }
}
