package io.moxxie.core.rollout;

import io.moxxie.core.NotFoundException;
import io.moxxie.core.ValidationException;
import io.moxxie.core.execution.ExecutorConfig;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.model.RolloutPhase;
import io.moxxie.core.model.RolloutState;
import io.moxxie.core.model.Concurrency;
import io.moxxie.core.plan.RolloutRequest;
import io.moxxie.core.service.MaintenanceService;
import io.moxxie.core.spi.RolloutStore;
import io.moxxie.core.spi.StoreException;
import io.moxxie.core.testing.TestClusters.Env;
import org.junit.jupiter.api.Test;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Predicate;

import static io.moxxie.core.rollout.RolloutFixture.request;
import static io.moxxie.core.testing.TestClusters.GIB;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The rollout service's API as an operator or an embedding application uses it: the dry run's estimates and order, what
 * a request is refused for, the operator's pause, resume, cancel and continue (each taking effect at once), the list of
 * rollouts, and the lifecycle (start, close, a restart taking its rollouts back).
 */
class RolloutServiceApiTest {

    private static RolloutService.Builder rollouts(Env env) {
        return RolloutService.builder(env.service, env.cluster, env.store);
    }

    // ------------------------------------------------------------------ the dry run

    /** A request with the one action every service has. */
    private static RolloutRequest.Builder dryRun(String... nodes) {
        return request(nodes).action("continue");
    }

    @Test
    void theDryRunEstimatesEachDrainAsItsLongestMoveItsMovesSharedOverTheConcurrencyOrItsMemoryOverTheLink() {
        // hv8 moves 32 and 48 GiB live. At the defaults (500 MB/s per move, 5 s overhead, 1.1 GB/s link) the 48 GiB move
        // alone takes 108.079 s; twice that (drain and undrain).
        Env env = new Env();
        RolloutService r = rollouts(env).build();
        RolloutPlan.NodePlan hv8 = r.plan(dryRun("hv8").build()).nodes().get(0);
        assertThat(hv8.guestsToMove()).isEqualTo(2);
        assertThat(hv8.memoryToMove()).isEqualTo(80 * GIB);
        assertThat(hv8.migrationTime()).isEqualTo(Duration.ofMillis(2 * 108_079));
        assertThat(hv8.estimate()).isEqualTo(hv8.migrationTime().plus(Duration.ofMinutes(2)));
        // One at a time: both moves one after the other, 181.799 s.
        assertThat(r.plan(dryRun("hv8").concurrency(Concurrency.serial()).build()).nodes().get(0).migrationTime())
                .isEqualTo(Duration.ofMillis(2 * 181_799));
        // A hard drain of hv10 moves its maint-ok guest offline: no memory to copy live, the overhead only.
        assertThat(r.plan(dryRun("hv10").mode(DrainMode.HARD).build()).nodes().get(0).migrationTime()).isEqualTo(Duration.ofSeconds(10));

        // A slow link (500 MB/s): 80 GiB take 171.799 s through it, more than either.
        Env slow = new Env(c -> c, s -> s.executorConfig(ExecutorConfig.builder().expectedLinkBandwidth(0.5e9).build()));
        RolloutPlan plan = rollouts(slow).build().plan(dryRun("hv8", "hv9").settleTime(Duration.ofMinutes(1)).build());
        assertThat(plan.nodes().get(0).migrationTime()).isEqualTo(Duration.ofMillis(2 * 171_799));
        assertThat(plan.estimate()).isEqualTo(plan.nodes().get(0).estimate().plus(plan.nodes().get(1).estimate()));
        assertThat(plan.order()).isEqualTo("as given");
    }

    @Test
    void everyNodeGoesInOrderOfTheMemoryItMovesLiveAndOfflineNodesAreLeftOutSayingSo() {
        Env env = new Env();
        env.cluster.setNodeOnline("hv9", false);
        RolloutPlan plan = rollouts(env).build().plan(RolloutRequest.builder().allNodes().build());
        assertThat(plan.nodes()).extracting(RolloutPlan.NodePlan::node).containsExactly("hv10", "hv8", "hv7");
        assertThat(plan.order()).startsWith("least memory to move live first (hv10 0.0 GiB, hv8 80.0 GiB, hv7 ")
                .endsWith("): the first nodes cost least if the rollout has to stop; left out: hv9 (offline)");
    }

    @Test
    void aRequestIsRefusedForItsActionsBeforeAnythingIsRead() {
        Env env = new Env();
        RolloutService r = rollouts(env).action(RolloutFixture.action("patch", c -> RolloutFixture.done(MaintenanceAction.Result.ok("ok"))))
                .build();
        assertThat(r.actionNames()).containsExactly("continue", "patch");
        assertThatThrownBy(() -> r.plan(request("hv8").action("reboot").build())).isInstanceOfSatisfying(ValidationException.class,
                e -> assertThat(e.field()).isEqualTo("action")).hasMessage("unknown action 'reboot'; this server has: [continue, patch]");
        assertThatThrownBy(() -> r.plan(request("hv8").action("patch").beforeDrain("continue").build()))
                .isInstanceOfSatisfying(ValidationException.class, e -> assertThat(e.field()).isEqualTo("beforeDrain"))
                .hasMessageContaining("beforeDrain cannot be 'continue'");
        assertThatThrownBy(() -> r.plan(request("hv8").action("patch").afterUndrain("notify").build()))
                .isInstanceOfSatisfying(ValidationException.class, e -> assertThat(e.field()).isEqualTo("afterUndrain"))
                .hasMessage("unknown action 'notify' for afterUndrain; this server has: [continue, patch]");
        assertThat(r.plan(request("hv8").action("patch").beforeDrain("patch").afterUndrain("patch").build()).nodes()).hasSize(1);
        assertThatThrownBy(() -> r.plan(request("hv99").action("patch").build())).isInstanceOf(NotFoundException.class);
    }

    @Test
    void submitNeedsAStartedServiceARealRequestAndAnOnlineNode() {
        Env env = new Env();
        RolloutService r = rollouts(env).build();
        assertThatThrownBy(() -> r.submit(request("hv8").build())).isInstanceOf(IllegalStateException.class)
                .hasMessage("submit() needs a started RolloutService (call start())");
        r.start();
        assertThatThrownBy(() -> r.submit(request("hv8").dryRun(true).build())).isInstanceOfSatisfying(ValidationException.class,
                e -> assertThat(e.field()).isEqualTo("dryRun"));
        for (String n : new String[] {"hv7", "hv8", "hv9", "hv10"}) env.cluster.setNodeOnline(n, false);
        assertThatThrownBy(() -> r.submit(RolloutRequest.builder().allNodes().build())).isInstanceOfSatisfying(ValidationException.class,
                e -> assertThat(e.field()).isEqualTo("nodes")).hasMessageStartingWith("no online node to roll out: ");
        assertThat(env.store.rollouts(10)).isEmpty();
        r.close();
    }

    // ------------------------------------------------------------------ an operator's requests

    @Test
    void aCancelTakesEffectAtOnceAndAnEndedRolloutRefusesEveryRequest() {
        RolloutFixture f = new RolloutFixture();
        String id = f.rollouts.submit(request("hv8", "hv9").build()).rolloutId();
        f.runUntilPhase(id, "hv8", RolloutPhase.DRAINING);
        f.env.scheduler.runFor(Duration.ofSeconds(2));
        Instant asked = f.env.scheduler.now();
        RolloutStatus answer = f.rollouts.cancel(id);
        assertThat(answer.rollout().cancelRequested()).isTrue();
        f.env.scheduler.runFor(Duration.ZERO);
        RolloutStatus cancelled = f.status(id);
        assertThat(cancelled.rollout().state()).isEqualTo(RolloutState.CANCELLED);
        assertThat(cancelled.rollout().completedAt()).as("not a tick later").isEqualTo(asked);

        for (var request : java.util.List.<java.util.function.Consumer<String>>of(f.rollouts::pause, f.rollouts::resume,
                f.rollouts::cancel)) {
            assertThatThrownBy(() -> request.accept(id)).isInstanceOf(RolloutConflictException.class)
                    .hasMessageContaining("rollout " + id + " has ended (cancelled); it cannot be");
        }
        assertThatThrownBy(() -> f.rollouts.continueNode(id)).isInstanceOf(RolloutConflictException.class)
                .hasMessage("rollout " + id + " has ended (cancelled)");
        assertThatThrownBy(() -> f.rollouts.status("no-such-rollout")).isInstanceOf(NotFoundException.class);
    }

    @Test
    void pauseAndResumeAnswerTheRolloutAsAsked() {
        RolloutFixture f = new RolloutFixture();
        String id = f.rollouts.submit(request("hv8", "hv9").build()).rolloutId();
        assertThat(f.rollouts.pause(id).rollout().pauseRequested()).isTrue();
        assertThat(f.rollouts.resume(id).rollout().pauseRequested()).isFalse();
        assertThat(f.runToEnd(id).rollout().state()).isEqualTo(RolloutState.SUCCEEDED);
    }

    @Test
    void aContinueTakesEffectAtOnceAndIsRefusedWhileTheNodeIsNotAtItsAction() {
        RolloutFixture f = new RolloutFixture();
        String id = f.rollouts.submit(request("hv8").action("continue").build()).rolloutId();
        f.runUntilPhase(id, "hv8", RolloutPhase.DRAINING);
        assertThatThrownBy(() -> f.rollouts.continueNode(id)).isInstanceOf(RolloutConflictException.class)
                .hasMessage("nothing waits for continue in rollout " + id + ": hv8 is at draining");
        f.runUntilPhase(id, "hv8", RolloutPhase.ACTION);
        f.env.scheduler.runFor(Duration.ofMinutes(3));

        Instant said = f.env.scheduler.now();
        RolloutStatus answer = f.rollouts.continueNode(id);
        assertThat(answer.rollout().continueNode()).isEqualTo("hv8");
        f.env.scheduler.runFor(Duration.ZERO);
        assertThat(f.status(id).step("hv8").orElseThrow().phase()).as("not a tick later").isEqualTo(RolloutPhase.WAIT_BACK);
        assertThat(f.status(id).step("hv8").orElseThrow().phaseStartedAt()).isEqualTo(said);
    }

    @Test
    void aContinueIsRefusedWhileAnActionRuns() {
        RolloutFixture f = new RolloutFixture(c -> c, Duration.ofMinutes(3), b -> b.action(RolloutFixture.action("firmware",
                c -> RolloutFixture.running(() -> { }))));
        String id = f.rollouts.submit(request("hv8").action("firmware").build()).rolloutId();
        f.runUntilPhase(id, "hv8", RolloutPhase.ACTION);
        f.env.scheduler.runFor(Duration.ofMinutes(1));
        assertThatThrownBy(() -> f.rollouts.continueNode(id)).isInstanceOf(RolloutConflictException.class)
                .hasMessage("the action firmware is running on hv8; continue is for an action that waits for an operator"
                        + " (cancel stops this one)");
    }

    @Test
    void theRolloutsAreListedNewestFirst() {
        RolloutFixture f = new RolloutFixture();
        String first = f.rollouts.submit(request("hv8").build()).rolloutId();
        f.runToEnd(first);
        String second = f.rollouts.submit(request("hv9").build()).rolloutId();
        assertThat(f.rollouts.rollouts(10)).extracting(s -> s.rollout().rolloutId()).containsExactly(second, first);
        assertThat(f.rollouts.rollouts(1)).singleElement().satisfies(s -> assertThat(s.steps()).hasSize(1));
        assertThatThrownBy(() -> f.rollouts.rollouts(0)).isInstanceOfSatisfying(ValidationException.class,
                e -> assertThat(e.field()).isEqualTo("limit"));
    }

    // ------------------------------------------------------------------ lifecycle

    @Test
    void aClosedServiceLeavesItsRolloutAsRecordedAndTheSameOwnerRestartedTakesItBackAtOnce() {
        RolloutFixture f = new RolloutFixture();
        String id = f.rollouts.submit(request("hv8", "hv9").build()).rolloutId();
        f.runUntilPhase(id, "hv8", RolloutPhase.DRAINING);
        f.rollouts.close();
        f.rollouts.close();
        Instant lease = f.env.store.rollout(id).orElseThrow().leaseExpiresAt();
        RolloutStatus atClose = f.status(id);
        f.env.scheduler.runFor(Duration.ofMinutes(30));
        assertThat(f.status(id).steps()).as("nothing more done").isEqualTo(atClose.steps());
        assertThat(f.env.store.rollout(id).orElseThrow().leaseExpiresAt()).as("no heartbeat").isEqualTo(lease);
        assertThatThrownBy(f.rollouts::start).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");

        RolloutService again = rollouts(f.env).action(f.reboot(Duration.ofMinutes(3))).build();
        again.start();
        again.start();
        assertThat(again.toString()).contains("1 rollout(s) running here");
        boolean ended = f.env.scheduler.runUntil(() -> again.status(id).rollout().ended(), Duration.ofDays(1));
        assertThat(ended).isTrue();
        assertThat(again.status(id).rollout().state()).isEqualTo(RolloutState.SUCCEEDED);
        again.close();
    }

    @Test
    void aStartTheStoreFailsLeavesTheServiceNotStartedAndAStartAgainRunsTheHeartbeat() {
        Env env = new Env();
        AtomicBoolean storeDown = new AtomicBoolean(true);
        RolloutStore store = failing(env.store, method -> storeDown.get(), "the store is down");
        RolloutService r = RolloutService.builder(env.service, env.cluster, store).build();
        assertThatThrownBy(r::start).isInstanceOf(StoreException.class).hasMessage("the store is down");
        assertThatThrownBy(() -> r.submit(request("hv8").action("continue").build())).isInstanceOf(IllegalStateException.class)
                .hasMessage("submit() needs a started RolloutService (call start())");

        storeDown.set(false);
        r.start();
        String id = r.submit(request("hv8").action("continue").build()).rolloutId();
        env.scheduler.runFor(MaintenanceService.DEFAULT_LEASE.multipliedBy(3));
        assertThat(env.store.rollout(id).orElseThrow().leaseExpiresAt()).as("renewed by the heartbeat")
                .isAfter(env.scheduler.now());
        r.close();
    }

    @Test
    void aStartedInstanceTakesOverAtItsHeartbeatARolloutWhoseOwnerStoppedOnceItsLeaseHasRunOut() {
        RolloutFixture f = new RolloutFixture();
        MaintenanceService other = io.moxxie.core.testing.TestClusters.service(f.env.cluster, f.env.store).ownerId("other").build();
        other.start();
        Duration lease = Duration.ofSeconds(30);
        RolloutService otherRollouts = RolloutService.builder(other, f.env.cluster, f.env.store).action(f.reboot(Duration.ofMinutes(3)))
                .lease(lease).build();
        otherRollouts.start();
        String id = f.rollouts.submit(request("hv8", "hv9").build()).rolloutId();
        f.runUntilPhase(id, "hv8", RolloutPhase.WAIT_BACK);
        assertThat(f.env.store.rollout(id).orElseThrow().owner()).isEqualTo("test-owner");

        f.rollouts.close();
        f.env.service.close();
        Instant expires = f.env.store.rollout(id).orElseThrow().leaseExpiresAt();
        assertThat(f.env.scheduler.runUntil(() -> "other".equals(f.env.store.rollout(id).orElseThrow().owner()), Duration.ofMinutes(5)))
                .isTrue();
        Instant taken = f.env.scheduler.now();
        assertThat(taken).as("at the first heartbeat (a third of its lease) after the lease ran out")
                .isAfter(expires).isBeforeOrEqualTo(expires.plus(lease.dividedBy(3)));
        assertThat(f.env.store.rollout(id).orElseThrow().leaseExpiresAt()).as("its own lease").isEqualTo(taken.plus(lease));

        assertThat(f.env.scheduler.runUntil(() -> otherRollouts.status(id).rollout().ended(), Duration.ofDays(1))).isTrue();
        assertThat(otherRollouts.status(id).rollout().state()).isEqualTo(RolloutState.SUCCEEDED);
        assertThat(f.reboots).as("each node rebooted once").containsExactly("hv8", "hv9");
        otherRollouts.close();
        other.close();
    }

    @Test
    void anInstanceThatLostItsRolloutToAnotherStopsWorkingOnItAndTakesItBackWhenThatOneStops() {
        // The owner's store refuses its lease renewals for a while (its connection pool is stuck): the rollout's lease
        // runs out and another instance takes it over. The owner, alive, leaves it alone from then on, and takes it back
        // like any other instance once the new owner stops.
        Env env = new Env();
        AtomicBoolean renewalsFail = new AtomicBoolean();
        RolloutStore stuck = failing(env.store, method -> renewalsFail.get() && method.equals("renewRolloutLease"), "pool exhausted");
        List<String> actions = new CopyOnWriteArrayList<>();
        MaintenanceAction patch = RolloutFixture.action("patch", c -> {
            actions.add(c.node());
            return RolloutFixture.running(() -> { });
        });
        // A tick longer than the heartbeat: the heartbeat, not a tick, finds the lease lost.
        RolloutService first = RolloutService.builder(env.service, env.cluster, stuck).action(patch).tick(Duration.ofMinutes(2)).build();
        first.start();
        String id = first.submit(request("hv8").action("patch").build()).rolloutId();
        env.scheduler.runUntil(() -> env.store.steps(id).get(0).phase() == RolloutPhase.ACTION, Duration.ofHours(1));
        renewalsFail.set(true);

        MaintenanceService otherService = io.moxxie.core.testing.TestClusters.service(env.cluster, env.store).ownerId("other").build();
        otherService.start();
        RolloutService other = RolloutService.builder(otherService, env.cluster, env.store).action(patch).build();
        other.start();
        assertThat(env.scheduler.runUntil(() -> "other".equals(env.store.rollout(id).orElseThrow().owner()), Duration.ofMinutes(5)))
                .isTrue();
        renewalsFail.set(false);
        env.scheduler.runFor(Duration.ofMinutes(2));
        assertThat(first.toString()).as("the first instance dropped it").contains("0 rollout(s) running here");
        assertThat(env.store.rollout(id).orElseThrow().owner()).isEqualTo("other");
        assertThat(env.store.rollout(id).orElseThrow().message()).as("the new owner waits for an operator")
                .contains("was running in a process that stopped");

        other.close();
        otherService.close();
        assertThat(env.scheduler.runUntil(() -> "test-owner".equals(env.store.rollout(id).orElseThrow().owner()), Duration.ofMinutes(5)))
                .as("taken back once the other's lease ran out").isTrue();
        assertThat(first.toString()).contains("1 rollout(s) running here");
        assertThat(actions).as("the action started once, by the first owner").containsExactly("hv8");
        first.close();
    }

    @Test
    void aGateAddedToTheBuilderHoldsTheRolloutWhichLooksAgainEveryTickAskedFor() {
        Env env = new Env();
        AtomicBoolean frozen = new AtomicBoolean(true);
        Gate freeze = new Gate() {
            @Override
            public String name() {
                return "change-freeze";
            }

            @Override
            public io.moxxie.core.model.GateVerdict beforeNode(GateContext context) {
                return frozen.get() ? io.moxxie.core.model.GateVerdict.block(name(), "the change freeze lasts until 10:01:30")
                        : io.moxxie.core.model.GateVerdict.pass(name(), "no change freeze");
            }

            @Override
            public io.moxxie.core.model.GateVerdict beforeReturn(GateContext context) {
                return io.moxxie.core.model.GateVerdict.pass(name(), "returning is always allowed");
            }
        };
        RolloutService r = rollouts(env).gate(freeze).tick(Duration.ofMinutes(1)).lease(Duration.ofSeconds(90)).build();
        r.start();
        Instant submitted = env.scheduler.now();
        String id = r.submit(request("hv8").action("continue").build()).rolloutId();
        assertThat(env.store.rollout(id).orElseThrow().leaseExpiresAt()).isEqualTo(submitted.plus(Duration.ofSeconds(90)));
        env.scheduler.schedule(Duration.ofSeconds(90), () -> frozen.set(false));
        env.scheduler.runFor(Duration.ofSeconds(80));
        assertThat(r.status(id).rollout().message()).isEqualTo("hv8: waiting for gate change-freeze: the change freeze lasts until 10:01:30");

        assertThat(env.scheduler.runUntil(() -> r.status(id).step("hv8").orElseThrow().phase() == RolloutPhase.DRAINING, Duration.ofHours(1)))
                .isTrue();
        assertThat(r.status(id).step("hv8").orElseThrow().phaseStartedAt()).as("seen at the tick after the freeze ended, a minute apart")
                .isEqualTo(submitted.plus(Duration.ofMinutes(2)));
        assertThat(r.status(id).step("hv8").orElseThrow().gates()).extracting(io.moxxie.core.model.GateVerdict::gate).contains("change-freeze");
        r.close();
    }

    @Test
    void aRolloutServiceNeedsTheMaintenanceServiceStarted() {
        io.moxxie.core.time.VirtualScheduler scheduler = new io.moxxie.core.time.VirtualScheduler();
        var cluster = io.moxxie.core.testing.TestClusters.guideCluster(scheduler).build();
        var store = new io.moxxie.core.store.InMemoryMaintenanceStore();
        var service = io.moxxie.core.testing.TestClusters.service(cluster, store).build();
        RolloutService r = RolloutService.builder(service, cluster, store).build();
        assertThatThrownBy(r::start).isInstanceOf(IllegalStateException.class)
                .hasMessage("start the MaintenanceService before the RolloutService");
    }

    /** {@code store}, but a call whose method name {@code fails} matches (asked at the call) throws a {@link StoreException} saying {@code message}. */
    private static RolloutStore failing(RolloutStore store, Predicate<String> fails, String message) {
        return (RolloutStore) Proxy.newProxyInstance(RolloutStore.class.getClassLoader(), new Class<?>[] {RolloutStore.class},
                (proxy, method, args) -> {
                    if (fails.test(method.getName())) throw new StoreException(message);
                    try {
                        return method.invoke(store, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                });
    }
}
