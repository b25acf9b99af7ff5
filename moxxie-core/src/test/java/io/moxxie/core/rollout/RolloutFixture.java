package io.moxxie.core.rollout;

import io.moxxie.core.model.RolloutState;
import io.moxxie.core.plan.RolloutRequest;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.RolloutStep;
import io.moxxie.core.testing.TestClusters.Env;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;

/** The guide cluster with a rollout service on it, in virtual time, and what a rollout test watches. */
final class RolloutFixture {
    final Env env;
    final RolloutService rollouts;
    /** The nodes rebooted by the {@code reboot} action, in order. */
    final List<String> reboots = new CopyOnWriteArrayList<>();
    /** The most nodes out of service at once, sampled every virtual second while a test runs. */
    int maxNodesOut;
    final Map<String, Integer> outSeen = new TreeMap<>();

    RolloutFixture() {
        this(c -> c, Duration.ofMinutes(3));
    }

    RolloutFixture(UnaryOperator<SimulatedCluster.Builder> cluster, Duration rebootTakes) {
        this(cluster, rebootTakes, b -> b);
    }

    RolloutFixture(UnaryOperator<SimulatedCluster.Builder> cluster, Duration rebootTakes, UnaryOperator<RolloutService.Builder> builder) {
        env = new Env(cluster, s -> s);
        rollouts = builder.apply(RolloutService.builder(env.service, env.cluster, env.store).action(reboot(rebootTakes))).build();
        rollouts.start();
        env.scheduler.scheduleWithFixedDelay(Duration.ofSeconds(1), Duration.ofSeconds(1), () -> {
            Map<String, String> out = env.service.nodesOutOfService(env.cluster.currentSnapshot());
            maxNodesOut = Math.max(maxNodesOut, out.size());
            out.keySet().forEach(n -> outSeen.merge(n, 1, Integer::sum));
        });
    }

    /** {@code reboot}: reboots the node (down for {@code takes}) and is done at once, as {@code ssh … reboot} returns. */
    MaintenanceAction reboot(Duration takes) {
        return action("reboot", c -> {
            reboots.add(c.node());
            env.cluster.reboot(c.node(), takes);
            return done(MaintenanceAction.Result.ok("rebooted " + c.node()));
        });
    }

    /** An action named {@code name} whose runs {@code start} gives. */
    static MaintenanceAction action(String name, Function<MaintenanceAction.Context, MaintenanceAction.Run> start) {
        return new MaintenanceAction() {
            @Override
            public String name() {
                return name;
            }

            @Override
            public Run start(Context context) {
                return start.apply(context);
            }
        };
    }

    static MaintenanceAction.Run done(MaintenanceAction.Result result) {
        return MaintenanceAction.Run.done(result);
    }

    /** A run that never ends by itself (a firmware update that hangs); {@code onCancel} runs at each cancel. */
    static MaintenanceAction.Run running(Runnable onCancel) {
        return new MaintenanceAction.Run() {
            @Override
            public Optional<MaintenanceAction.Result> poll() {
                return Optional.empty();
            }

            @Override
            public void cancel() {
                onCancel.run();
            }
        };
    }

    static RolloutRequest.Builder request(String... nodes) {
        return RolloutRequest.builder().nodes(nodes).action("reboot").settleTime(Duration.ofMinutes(2));
    }

    RolloutStatus status(String id) {
        return rollouts.status(id);
    }

    /** Runs virtual time until the rollout ended (or a day passed) and answers its status. */
    RolloutStatus runToEnd(String id) {
        boolean ended = env.scheduler.runUntil(() -> status(id).rollout().ended(), Duration.ofDays(1));
        assertThat(ended).as("rollout %s ended within a virtual day: %s", id, status(id).rollout().message()).isTrue();
        return status(id);
    }

    /** Runs until the rollout's state is {@code state} (or a day passed). */
    RolloutStatus runUntil(String id, RolloutState state) {
        boolean reached = env.scheduler.runUntil(() -> status(id).rollout().state() == state, Duration.ofDays(1));
        assertThat(reached).as("rollout %s reached %s: %s", id, state, status(id).rollout().message()).isTrue();
        return status(id);
    }

    /** Runs until {@code node}'s step is in {@code phase} (or a day passed). */
    RolloutStatus runUntilPhase(String id, String node, io.moxxie.core.model.RolloutPhase phase) {
        boolean reached = env.scheduler.runUntil(() -> status(id).step(node).map(s -> s.phase() == phase).orElse(false), Duration.ofDays(1));
        assertThat(reached).as("%s of rollout %s reached %s: %s", node, id, phase, status(id).rollout().message()).isTrue();
        return status(id);
    }

    static List<String> states(RolloutStatus s) {
        List<String> out = new ArrayList<>();
        for (RolloutStep step : s.steps()) out.add(step.node() + ":" + step.state().wireName());
        return out;
    }

    boolean inMaintenance(String node) {
        return env.store.maintenance(node).map(m -> m.inMaintenance()).orElse(false);
    }
}
