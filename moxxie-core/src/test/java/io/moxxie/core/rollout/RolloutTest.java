package io.moxxie.core.rollout;

import io.moxxie.core.NotFoundException;
import io.moxxie.core.ValidationException;
import io.moxxie.core.model.CephHealth;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.GateVerdict;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.Operation;
import io.moxxie.core.model.PowerState;
import io.moxxie.core.model.RolloutPhase;
import io.moxxie.core.model.RolloutState;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.plan.RolloutRequest;
import io.moxxie.core.rollout.MaintenanceAction.Result;
import io.moxxie.core.spi.DrainRecord;
import io.moxxie.core.spi.RolloutStep;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import java.util.stream.Collectors;

import static io.moxxie.core.rollout.RolloutFixture.request;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Rollouts of the guide cluster in virtual time: the workflow, its gates, its failures and an operator's controls. */
class RolloutTest {

    private static Map<Integer, String> placement(RolloutFixture f) {
        return f.env.cluster.currentSnapshot().guests().stream().collect(Collectors.toMap(Guest::vmid, Guest::node));
    }

    @Test
    void aRolloutOfEveryNodeRebootsEachInTurnAndBringsEveryGuestHome() {
        RolloutFixture f = new RolloutFixture(c -> c, Duration.ofMinutes(3));
        f.env.cluster.withCeph(2).withHa();
        Map<Integer, String> before = placement(f);

        RolloutStatus started = f.rollouts.submit(request().allNodes().build());
        RolloutStatus done = f.runToEnd(started.rolloutId());

        assertThat(done.rollout().state()).as(done.rollout().message()).isEqualTo(RolloutState.SUCCEEDED);
        assertThat(RolloutFixture.states(done)).allMatch(s -> s.endsWith(":succeeded"));
        // Least memory to move first: hv10 holds only a maint-ok guest, hv7 the most.
        assertThat(done.steps().get(0).node()).isEqualTo("hv10");
        assertThat(done.steps().get(done.steps().size() - 1).node()).isEqualTo("hv7");
        assertThat(f.reboots).containsExactlyElementsOf(done.steps().stream().map(RolloutStep::node).toList());
        assertThat(placement(f)).as("every guest back on its node").isEqualTo(before);
        for (RolloutStep s : done.steps()) {
            assertThat(s.drainId()).isNotNull();
            assertThat(s.undrainId()).isNotNull();
            assertThat(s.gates()).extracting(GateVerdict::gate).contains("nodes-down", "quorum", "ceph", "ha", "capacity");
            assertThat(f.inMaintenance(s.node())).isFalse();
        }
        assertThat(f.maxNodesOut).as("never two nodes out at once").isEqualTo(1);
        assertThat(f.env.cluster.cephFlags()).as("noout cleared").isEmpty();
        assertThat(f.env.guest(8201).status()).isEqualTo(PowerState.RUNNING);
        assertThat(f.env.guest(8300).status()).as("a maint-ok guest that stayed is started again after the reboot")
                .isEqualTo(PowerState.RUNNING);
    }

    @Test
    void cephNooutIsSetWhileTheNodeIsOutAndRecordedInTheStep() {
        RolloutFixture f = new RolloutFixture(c -> c, Duration.ofMinutes(3));
        f.env.cluster.withCeph(2);
        String id = f.rollouts.submit(request("hv8").build()).rolloutId();
        f.runUntilPhase(id, "hv8", RolloutPhase.WAIT_BACK);
        assertThat(f.env.cluster.cephFlags()).containsExactly("noout");
        assertThat(f.status(id).step("hv8").orElseThrow().gates()).extracting(GateVerdict::gate).contains(RolloutRun.NOOUT_GATE);
        RolloutStatus done = f.runToEnd(id);
        assertThat(done.rollout().state()).isEqualTo(RolloutState.SUCCEEDED);
        assertThat(f.env.cluster.cephFlags()).isEmpty();
    }

    @Test
    void aNodeThatStepsBackAfterCephNooutWasSetKeepsItsNooutAsItsOwnAndClearsItAtTheEnd() {
        // beforeDrain runs after the gates passed and noout was set: a drain of hv9 started by hand then takes hv9 out at
        // the same time as hv8, so hv8 steps back to its gates with noout set. Its own noout must not block its ceph gate,
        // and must still be cleared once hv8 is back.
        AtomicBoolean handDrain = new AtomicBoolean();
        AtomicReference<RolloutFixture> fixture = new AtomicReference<>();
        RolloutFixture f = new RolloutFixture(c -> c, Duration.ofMinutes(3), b -> b.action(RolloutFixture.action("hand-drain", c -> {
            if (handDrain.compareAndSet(false, true)) fixture.get().env.service.drain(DrainRequest.soft("hv9"));
            return RolloutFixture.done(Result.ok("hv9 drained by hand"));
        })));
        fixture.set(f);
        f.env.cluster.withCeph(2);
        String id = f.rollouts.submit(request("hv8").beforeDrain("hand-drain").build()).rolloutId();
        f.runUntilPhase(id, "hv8", RolloutPhase.DRAINING);
        f.env.scheduler.runFor(Duration.ZERO);
        RolloutStep steppedBack = f.status(id).step("hv8").orElseThrow();
        assertThat(steppedBack.phase()).isEqualTo(RolloutPhase.GATES);
        assertThat(steppedBack.message()).contains("another node went out of service at the same time (hv9 being drained");
        assertThat(f.env.cluster.cephFlags()).containsExactly("noout");

        RolloutStatus done = f.runToEnd(id);
        assertThat(done.rollout().state()).as(done.rollout().message()).isEqualTo(RolloutState.SUCCEEDED);
        assertThat(f.env.cluster.cephFlags()).as("the noout this rollout set is cleared").isEmpty();
    }

    @Test
    void aBlockingGateMakesTheRolloutWaitWithItsReasonAndItGoesOnOnceItClears() {
        RolloutFixture f = new RolloutFixture();
        f.env.cluster.withCeph(1).cephHealth(CephHealth.WARN, "MON_DISK_LOW", "mon hv8 is low on available space");
        String id = f.rollouts.submit(request("hv8").build()).rolloutId();
        f.env.scheduler.runFor(Duration.ofMinutes(5));

        RolloutStatus waiting = f.status(id);
        assertThat(waiting.rollout().state()).isEqualTo(RolloutState.WAITING);
        assertThat(waiting.rollout().message()).contains("gate ceph", "MON_DISK_LOW", "mon hv8 is low on available space");
        assertThat(f.env.store.drains("hv8", 10)).as("nothing drained while a gate blocks").isEmpty();
        assertThat(f.inMaintenance("hv8")).isFalse();

        f.env.cluster.cephHealth(null, null, null);
        assertThat(f.runToEnd(id).rollout().state()).isEqualTo(RolloutState.SUCCEEDED);
    }

    @Test
    void anAllowedCephWarningDoesNotBlock() {
        RolloutFixture f = new RolloutFixture();
        f.env.cluster.withCeph(1).cephHealth(CephHealth.WARN, "PG_NOT_DEEP_SCRUBBED", "3 pgs not deep-scrubbed in time");
        String id = f.rollouts.submit(request("hv8").cephAllowedWarnings(Set.of("PG_NOT_DEEP_SCRUBBED")).build()).rolloutId();
        assertThat(f.runToEnd(id).rollout().state()).isEqualTo(RolloutState.SUCCEEDED);
    }

    @Test
    void quorumLossBlocksTheNextNode() {
        RolloutFixture f = new RolloutFixture();
        f.env.cluster.quorumLost(true);
        String id = f.rollouts.submit(request("hv8").build()).rolloutId();
        f.env.scheduler.runFor(Duration.ofMinutes(1));
        assertThat(f.status(id).rollout().message()).contains("gate quorum", "no quorum");
        f.env.cluster.quorumLost(false);
        assertThat(f.runToEnd(id).rollout().state()).isEqualTo(RolloutState.SUCCEEDED);
    }

    @Test
    void anOsdThatIsNotSafeToStopBlocksItsNode() {
        RolloutFixture f = new RolloutFixture();
        f.env.cluster.withCeph(2);
        int osdOfHv8 = f.env.cluster.cephOsds("hv8").get(0).id();
        f.env.cluster.osdUnsafeToStop(osdOfHv8, "2 PGs are already degraded");
        String id = f.rollouts.submit(request("hv8").gateTimeout(Duration.ofMinutes(10)).build()).rolloutId();
        RolloutStatus failed = f.runToEnd(id);
        assertThat(failed.rollout().state()).isEqualTo(RolloutState.FAILED);
        RolloutStep step = failed.step("hv8").orElseThrow();
        assertThat(step.message()).contains("gate ceph blocked for 10 min", "osd." + osdOfHv8, "2 PGs are already degraded",
                "hv8 was not taken out");
        assertThat(f.inMaintenance("hv8")).isFalse();
        assertThat(f.env.cluster.cephFlags()).as("noout is set only once the gates pass").isEmpty();
    }

    @Test
    void aFailureInTheMiddleStopsTheRolloutAndLeavesTheFailedNodeInMaintenanceAndTheRestUntouched() {
        RolloutFixture f = new RolloutFixture(c -> c, Duration.ofMinutes(3), b -> b.action(RolloutFixture.action("patch",
                c -> RolloutFixture.done(c.node().equals("hv9")
                        ? new Result(false, 100, "E: Unable to locate package pve-kernel-9\n", "apt-get failed")
                        : Result.ok("patched")))));
        String id = f.rollouts.submit(request("hv8", "hv9", "hv10").action("patch").build()).rolloutId();
        RolloutStatus failed = f.runToEnd(id);

        assertThat(failed.rollout().state()).isEqualTo(RolloutState.FAILED);
        assertThat(RolloutFixture.states(failed)).containsExactly("hv8:succeeded", "hv9:failed", "hv10:skipped");
        RolloutStep hv9 = failed.step("hv9").orElseThrow();
        assertThat(hv9.phase()).isEqualTo(RolloutPhase.ACTION);
        assertThat(hv9.actionExit()).isEqualTo(100);
        assertThat(hv9.actionOutput()).contains("Unable to locate package");
        assertThat(hv9.message()).contains("exit status 100", "hv9 stays in maintenance with its guests where they are");
        assertThat(failed.rollout().message()).contains("hv9 failed", "Not started: hv10", "DELETE /api/v1/nodes/hv9/maintenance?undrain=true");
        // The safe state: hv9 in maintenance and empty of what it had to give; hv10 never touched.
        assertThat(f.inMaintenance("hv9")).isTrue();
        assertThat(f.env.nodeOf(9200)).isNotEqualTo("hv9");
        assertThat(f.env.store.drains("hv10", 10)).isEmpty();
        assertThat(f.inMaintenance("hv10")).isFalse();
        assertThat(f.inMaintenance("hv8")).isFalse();
        assertThat(f.env.nodeOf(9100)).isEqualTo("hv8");
    }

    @Test
    void continueOnFailureGoesOnWhenMaxNodesDownLeavesRoomForTheFailedNode() {
        RolloutFixture f = new RolloutFixture(c -> c, Duration.ofMinutes(3), b -> b.action(RolloutFixture.action("patch",
                c -> RolloutFixture.done(c.node().equals("hv8") ? Result.failed("broken") : Result.ok("patched")))));
        String id = f.rollouts.submit(request("hv8", "hv9").action("patch").continueOnFailure(true).maxNodesDown(2).build())
                .rolloutId();
        RolloutStatus s = f.runToEnd(id);
        assertThat(RolloutFixture.states(s)).containsExactly("hv8:failed", "hv9:succeeded");
        assertThat(s.rollout().state()).isEqualTo(RolloutState.FAILED);
        assertThat(s.rollout().message()).contains("1 of 2 node(s) failed: hv8");
        assertThat(f.inMaintenance("hv8")).isTrue();
    }

    @Test
    void aNodeThatDoesNotComeBackInTimeFailsItsStepWithNooutLeftSetAndSaid() {
        RolloutFixture f = new RolloutFixture(c -> c, Duration.ofHours(2));
        f.env.cluster.withCeph(1);
        String id = f.rollouts.submit(request("hv8", "hv9").nodeBackTimeout(Duration.ofMinutes(30)).build()).rolloutId();
        RolloutStatus s = f.runToEnd(id);
        assertThat(RolloutFixture.states(s)).containsExactly("hv8:failed", "hv9:skipped");
        RolloutStep hv8 = s.step("hv8").orElseThrow();
        assertThat(hv8.phase()).isEqualTo(RolloutPhase.WAIT_BACK);
        assertThat(hv8.message()).contains("hv8 did not come back within 30 min", "offline", "stays in maintenance",
                "Ceph noout stays set");
        assertThat(f.env.cluster.cephFlags()).containsExactly("noout");
        assertThat(Duration.between(hv8.phaseStartedAt(), hv8.endedAt())).isBetween(Duration.ofMinutes(30), Duration.ofMinutes(31));
    }

    @Test
    void theSettleTimeCountsFromTheLastTimeTheNodeWasSeenBack() {
        RolloutFixture f = new RolloutFixture(c -> c, Duration.ofMinutes(4));
        String id = f.rollouts.submit(request("hv8").settleTime(Duration.ofMinutes(5)).build()).rolloutId();
        f.runUntilPhase(id, "hv8", RolloutPhase.GATES_BACK);
        RolloutStep step = f.status(id).step("hv8").orElseThrow();
        // The reboot started when the action did; the node was back 4 minutes later and waited 5 more.
        assertThat(Duration.between(step.backSince(), step.phaseStartedAt())).isGreaterThanOrEqualTo(Duration.ofMinutes(5));
        assertThat(f.env.cluster.currentSnapshot().node("hv8").orElseThrow().online()).isTrue();
        assertThat(f.runToEnd(id).rollout().state()).isEqualTo(RolloutState.SUCCEEDED);
    }

    @Test
    void theContinueActionWaitsForAnOperatorAndContinueIsRefusedWhenNothingWaits() {
        RolloutFixture f = new RolloutFixture();
        String id = f.rollouts.submit(request("hv8", "hv9").action("continue").build()).rolloutId();
        assertThatThrownBy(() -> f.rollouts.continueNode(id)).isInstanceOf(RolloutConflictException.class)
                .hasMessageContaining("nothing waits for continue");

        RolloutStatus waiting = f.runUntilPhase(id, "hv8", RolloutPhase.ACTION);
        f.env.scheduler.runFor(Duration.ofHours(1));
        waiting = f.status(id);
        assertThat(waiting.rollout().state()).isEqualTo(RolloutState.WAITING);
        assertThat(waiting.rollout().message()).contains("hv8", "POST continue");
        assertThat(f.env.cluster.currentSnapshot().guestsOn("hv8")).isEmpty();

        f.rollouts.continueNode(id);
        f.runUntilPhase(id, "hv9", RolloutPhase.ACTION);
        f.env.scheduler.runFor(Duration.ofMinutes(1));
        assertThat(f.status(id).step("hv8").orElseThrow().state()).isEqualTo(RolloutState.SUCCEEDED);
        assertThat(f.status(id).step("hv9").orElseThrow().state()).as("hv8's continue does not continue hv9")
                .isEqualTo(RolloutState.WAITING);
        f.env.scheduler.runFor(Duration.ofMinutes(10));
        assertThat(f.status(id).step("hv9").orElseThrow().phase()).isEqualTo(RolloutPhase.ACTION);
        f.rollouts.continueNode(id);
        assertThat(f.runToEnd(id).rollout().state()).isEqualTo(RolloutState.SUCCEEDED);
    }

    @Test
    void pauseFinishesTheNodeUnderWayThenWaitsAndResumeGoesOn() {
        RolloutFixture f = new RolloutFixture();
        String id = f.rollouts.submit(request("hv8", "hv9").build()).rolloutId();
        f.runUntilPhase(id, "hv8", RolloutPhase.DRAINING);
        f.rollouts.pause(id);
        RolloutStatus paused = f.runUntil(id, RolloutState.PAUSED);
        assertThat(RolloutFixture.states(paused)).containsExactly("hv8:succeeded", "hv9:pending");
        assertThat(paused.rollout().message()).contains("Paused before hv9");
        assertThat(f.inMaintenance("hv8")).isFalse();
        f.env.scheduler.runFor(Duration.ofHours(2));
        assertThat(f.env.store.drains("hv9", 10)).as("no new node while paused").isEmpty();

        f.rollouts.resume(id);
        assertThat(f.runToEnd(id).rollout().state()).isEqualTo(RolloutState.SUCCEEDED);
    }

    @Test
    void cancelStopsTheDrainUnderWayAndLeavesTheNodeInMaintenance() {
        RolloutFixture f = new RolloutFixture();
        String id = f.rollouts.submit(request("hv7", "hv8").build()).rolloutId();
        f.runUntilPhase(id, "hv7", RolloutPhase.DRAINING);
        f.env.scheduler.runUntil(() -> f.status(id).step("hv7").orElseThrow().drainId() != null, Duration.ofMinutes(5));
        String drainId = f.status(id).step("hv7").orElseThrow().drainId();
        f.rollouts.cancel(id);
        RolloutStatus cancelled = f.runToEnd(id);

        assertThat(cancelled.rollout().state()).isEqualTo(RolloutState.CANCELLED);
        assertThat(RolloutFixture.states(cancelled)).containsExactly("hv7:cancelled", "hv8:skipped");
        assertThat(cancelled.rollout().message()).contains("hv7", "stays in maintenance");
        f.env.scheduler.runUntil(() -> f.env.store.drain(drainId).map(d -> d.status().finished()).orElse(false), Duration.ofHours(1));
        assertThat(f.env.store.drain(drainId).map(DrainRecord::status)).contains(DrainState.CANCELLED);
        assertThat(f.inMaintenance("hv7")).isTrue();
        assertThatThrownBy(() -> f.rollouts.pause(id)).isInstanceOf(RolloutConflictException.class).hasMessageContaining("has ended");
    }

    @Test
    void twoRolloutsNeverHaveTwoNodesOutAtOnce() {
        RolloutFixture f = new RolloutFixture();
        String a = f.rollouts.submit(request("hv8").build()).rolloutId();
        String b = f.rollouts.submit(request("hv9").build()).rolloutId();
        f.runToEnd(a);
        f.runToEnd(b);
        assertThat(f.status(a).rollout().state()).isEqualTo(RolloutState.SUCCEEDED);
        assertThat(f.status(b).rollout().state()).isEqualTo(RolloutState.SUCCEEDED);
        assertThat(f.maxNodesOut).isEqualTo(1);
        assertThat(f.outSeen).containsKeys("hv8", "hv9");
    }

    @Test
    void ofTwoRolloutsTakingNodesOutAtTheSameInstantTheOneWhoseNodeIsBeingDrainedAlreadyGoesOnWhateverItsName() {
        // hv9's rollout comes first: in the same instant it takes hv9 out and starts its drain, planned while hv8 was in
        // service, before hv8's rollout takes hv8 out. hv8's steps back although its name sorts first: hv9's drain went
        // past the check already and may be moving guests to hv8.
        RolloutFixture f = new RolloutFixture();
        String first = f.rollouts.submit(request("hv9").build()).rolloutId();
        String second = f.rollouts.submit(request("hv8").build()).rolloutId();
        RolloutStatus hv9 = f.runToEnd(first);
        RolloutStatus hv8 = f.runToEnd(second);

        assertThat(hv9.rollout().state()).as(hv9.rollout().message()).isEqualTo(RolloutState.SUCCEEDED);
        assertThat(hv8.rollout().state()).as(hv8.rollout().message()).isEqualTo(RolloutState.SUCCEEDED);
        assertThat(f.maxNodesOut).as("never two nodes out at once").isEqualTo(1);
        Instant hv9Back = hv9.step("hv9").orElseThrow().endedAt();
        Instant hv8Out = f.env.store.drain(hv8.step("hv8").orElseThrow().drainId()).orElseThrow().startedAt();
        assertThat(hv8Out).as("hv8 drained once hv9 is back").isAfterOrEqualTo(hv9Back);
        assertThat(f.env.nodeOf(9200)).isEqualTo("hv9");
    }

    @Test
    void aManualDrainOfAnotherNodeHoldsTheRolloutBack() {
        RolloutFixture f = new RolloutFixture();
        f.env.service.enableMaintenance("hv10", "failed disk", false);
        String id = f.rollouts.submit(request("hv8").gateTimeout(Duration.ofMinutes(15)).build()).rolloutId();
        f.env.scheduler.runFor(Duration.ofMinutes(1));
        assertThat(f.status(id).rollout().message()).contains("gate nodes-down", "hv10 in maintenance (failed disk)", "maxNodesDown is 1");
        f.env.service.disableMaintenance("hv10", false);
        assertThat(f.runToEnd(id).rollout().state()).isEqualTo(RolloutState.SUCCEEDED);
    }

    @Test
    void theHaGateKeepsTheGuestsFromReturningToANodeStillInHaMaintenance() {
        RolloutFixture f = new RolloutFixture(c -> c, Duration.ofMinutes(3), b -> b.action(RolloutFixture.action("ha-maintenance",
                c -> RolloutFixture.done(Result.ok("done")))));
        f.env.cluster.withHa();
        String id = f.rollouts.submit(request("hv8").action("ha-maintenance").build()).rolloutId();
        f.runUntilPhase(id, "hv8", RolloutPhase.ACTION);
        f.env.cluster.haMaintenance("hv8", true);
        f.runUntilPhase(id, "hv8", RolloutPhase.GATES_BACK);
        f.env.scheduler.runFor(Duration.ofMinutes(5));
        RolloutStatus s = f.status(id);
        assertThat(s.rollout().message()).contains("gate ha", "still in HA maintenance", "node-maintenance disable hv8");
        assertThat(s.step("hv8").orElseThrow().undrainId()).isNull();
        f.env.cluster.haMaintenance("hv8", false);
        assertThat(f.runToEnd(id).rollout().state()).isEqualTo(RolloutState.SUCCEEDED);
    }

    @Test
    void theCapacityGateBlocksWhenTheOthersCannotTakeTheGuests() {
        RolloutFixture f = new RolloutFixture(c -> c.guest(io.moxxie.core.testing.TestClusters.qemu(9900, "huge", "hv8", 250, "")),
                Duration.ofMinutes(3));
        RolloutPlan plan = f.rollouts.plan(request("hv8").build());
        GateVerdict capacity = plan.nodes().get(0).gates().stream().filter(v -> v.gate().equals("capacity")).findFirst().orElseThrow();
        assertThat(capacity.pass()).isFalse();
        assertThat(capacity.reason()).contains("9900", "not enough memory");
    }

    @Test
    void aHardRolloutEmptiesEachNodeCompletely() {
        RolloutFixture f = new RolloutFixture();
        String id = f.rollouts.submit(request("hv10").mode(DrainMode.HARD).build()).rolloutId();
        f.runUntilPhase(id, "hv10", RolloutPhase.ACTION);
        assertThat(f.env.cluster.currentSnapshot().guestsOn("hv10")).isEmpty();
        assertThat(f.runToEnd(id).rollout().state()).isEqualTo(RolloutState.SUCCEEDED);
        assertThat(f.env.nodeOf(9300)).isEqualTo("hv10");
    }

    @Test
    void theDryRunAnswersOrderPlansGatesAndEstimatesAndChangesNothing() {
        RolloutFixture f = new RolloutFixture();
        f.env.service.enableMaintenance("hv10", "spare", false);
        RolloutPlan plan = f.rollouts.plan(request().allNodes().dryRun(true).build());
        assertThat(plan.nodes()).extracting(RolloutPlan.NodePlan::node).first().isEqualTo("hv10");
        assertThat(plan.order()).contains("least memory to move live first", "hv7");
        RolloutPlan.NodePlan hv7 = plan.nodes().stream().filter(n -> n.node().equals("hv7")).findFirst().orElseThrow();
        assertThat(hv7.guestsToMove()).isEqualTo(hv7.drain().moves().size()).isGreaterThan(5);
        assertThat(hv7.migrationTime()).isPositive();
        assertThat(hv7.gatesPass()).as("hv10 in maintenance blocks every other node: %s", hv7.gates()).isFalse();
        assertThat(plan.estimate()).isEqualTo(plan.nodes().stream().map(RolloutPlan.NodePlan::estimate).reduce(Duration.ZERO, Duration::plus));
        assertThat(f.env.store.drains("hv7", 10)).isEmpty();
        assertThat(f.env.store.rollouts(10)).isEmpty();
    }

    @Test
    void badRequestsAreRefusedNamingTheField() {
        RolloutFixture f = new RolloutFixture();
        assertThatThrownBy(() -> f.rollouts.submit(request("hv8").action("upgrade").build()))
                .isInstanceOf(ValidationException.class).hasMessageContaining("unknown action 'upgrade'")
                .extracting(e -> ((ValidationException) e).field()).isEqualTo("action");
        assertThatThrownBy(() -> f.rollouts.submit(request("hv8").beforeDrain("continue").build()))
                .isInstanceOf(ValidationException.class).extracting(e -> ((ValidationException) e).field()).isEqualTo("beforeDrain");
        assertThatThrownBy(() -> f.rollouts.submit(request("hv8", "hv99").build())).isInstanceOf(NotFoundException.class)
                .hasMessageContaining("hv99");
        assertThatThrownBy(() -> RolloutRequest.builder().nodes("hv8", "hv8").build()).isInstanceOf(ValidationException.class)
                .hasMessageContaining("twice");
        assertThatThrownBy(() -> RolloutRequest.builder().maxNodesDown(0).build()).isInstanceOf(ValidationException.class)
                .extracting(e -> ((ValidationException) e).field()).isEqualTo("maxNodesDown");
        assertThatThrownBy(() -> RolloutRequest.builder().cephAllowedWarnings(Set.of("noout; rm -rf")).build())
                .isInstanceOf(ValidationException.class).extracting(e -> ((ValidationException) e).field()).isEqualTo("cephAllowedWarnings");
        f.env.cluster.setNodeOnline("hv9", false);
        assertThatThrownBy(() -> f.rollouts.submit(request("hv9").build())).isInstanceOf(ValidationException.class)
                .hasMessageContaining("hv9 is offline");
        assertThat(f.env.store.rollouts(10)).as("nothing recorded").isEmpty();
    }

    @Test
    void anotherInstanceTakesOverARolloutWhoseOwnerDiedAndGoesOnFromThePhaseRecorded() {
        RolloutFixture f = new RolloutFixture();
        String id = f.rollouts.submit(request("hv8", "hv9").build()).rolloutId();
        f.runUntilPhase(id, "hv8", RolloutPhase.WAIT_BACK);
        String drainOfHv8 = f.status(id).step("hv8").orElseThrow().drainId();
        // The owner dies: its service and rollouts stop working; the store keeps what they wrote.
        f.rollouts.close();
        f.env.service.close();

        io.moxxie.core.service.MaintenanceService other = io.moxxie.core.testing.TestClusters.service(f.env.cluster, f.env.store)
                .ownerId("other").build();
        other.start();
        RolloutService otherRollouts = RolloutService.builder(other, f.env.cluster, f.env.store).action(f.reboot(Duration.ofMinutes(3)))
                .build();
        otherRollouts.start();
        assertThat(f.env.scheduler.runUntil(() -> f.env.store.rollout(id).orElseThrow().ended(), Duration.ofDays(1))).isTrue();

        RolloutStatus done = otherRollouts.status(id);
        assertThat(done.rollout().state()).isEqualTo(RolloutState.SUCCEEDED);
        assertThat(done.rollout().owner()).isEqualTo("other");
        assertThat(done.step("hv8").orElseThrow().drainId()).isEqualTo(drainOfHv8);
        assertThat(f.env.store.drains("hv8", 10).stream().filter(d -> d.operation() == Operation.DRAIN)).as("hv8 drained once").hasSize(1);
        assertThat(f.reboots).as("hv8 rebooted once, hv9 once").containsExactly("hv8", "hv9");
        assertThat(f.env.nodeOf(9100)).isEqualTo("hv8");
        otherRollouts.close();
        other.close();
    }

    @Test
    void aCommandActionInterruptedByItsOwnersDeathWaitsForAnOperator() {
        RolloutFixture f = new RolloutFixture(c -> c, Duration.ofMinutes(3), b -> b.action(RolloutFixture.action("slow",
                c -> RolloutFixture.running(() -> { }))));
        String id = f.rollouts.submit(request("hv8").action("slow").build()).rolloutId();
        f.runUntilPhase(id, "hv8", RolloutPhase.ACTION);
        f.env.scheduler.runFor(Duration.ofMinutes(1));
        assertThat(f.status(id).rollout().state()).isEqualTo(RolloutState.RUNNING);
        assertThatThrownBy(() -> f.rollouts.continueNode(id)).as("no continue for an action that runs")
                .isInstanceOf(RolloutConflictException.class).hasMessageContaining("the action slow is running on hv8");
        f.rollouts.close();
        f.env.service.close();

        io.moxxie.core.service.MaintenanceService other = io.moxxie.core.testing.TestClusters.service(f.env.cluster, f.env.store)
                .ownerId("other").build();
        other.start();
        RolloutService otherRollouts = RolloutService.builder(other, f.env.cluster, f.env.store).action(f.reboot(Duration.ofMinutes(3)))
                .build();
        otherRollouts.start();
        f.env.scheduler.runUntil(() -> "other".equals(f.env.store.rollout(id).orElseThrow().owner())
                && f.env.store.rollout(id).orElseThrow().state() == RolloutState.WAITING, Duration.ofMinutes(10));
        RolloutStatus s = otherRollouts.status(id);
        assertThat(s.rollout().message()).contains("slow was running in a process that stopped", "POST continue");
        otherRollouts.continueNode(id);
        assertThat(f.env.scheduler.runUntil(() -> f.env.store.rollout(id).orElseThrow().ended(), Duration.ofDays(1))).isTrue();
        assertThat(otherRollouts.status(id).rollout().state()).isEqualTo(RolloutState.SUCCEEDED);
        otherRollouts.close();
        other.close();
    }

    @Test
    void aDrainByHandIsRefusedWhileARolloutHasTheOnlyNodeItMayTakeOut() {
        RolloutFixture f = new RolloutFixture();
        f.rollouts.checkDrainAllowed("hv9");
        String id = f.rollouts.submit(request("hv8").action("continue").build()).rolloutId();
        f.runUntilPhase(id, "hv8", RolloutPhase.ACTION);
        assertThatThrownBy(() -> f.rollouts.checkDrainAllowed("hv9")).isInstanceOf(RolloutConflictException.class)
                .hasMessageContaining("maxNodesDown 1", "hv8", "draining hv9 now would take one more out");
        f.rollouts.checkDrainAllowed("hv8");
        f.rollouts.checkDrainAllowed("hv99"); // an unknown node is the drain's to refuse (404), not the rollout's
        f.rollouts.continueNode(id);
        f.runToEnd(id);
        f.rollouts.checkDrainAllowed("hv9");
    }

    @Test
    void anActionsOutputIsKeptAsItsTailWithoutControlCharactersAndMessagesStayWithinWhatStoresHold() {
        String output = "x".repeat(10_000) + "\u0000boot\u001b[0m ok\n";
        assertThat(RolloutRun.tail(output)).hasSize(RolloutService.MAX_ACTION_OUTPUT + 1).endsWith("boot[0m ok\n").doesNotContain("\u0000");
        String message = "a".repeat(3000) + "middle" + "z".repeat(3000);
        assertThat(RolloutRun.capped(message)).hasSizeLessThanOrEqualTo(RolloutRun.MAX_MESSAGE).startsWith("aaa").endsWith("zzz").contains(" … ");
    }

    @Test
    void aNodeInHaMaintenanceReceivesNoGuestFromADrain() {
        RolloutFixture f = new RolloutFixture();
        f.env.cluster.withHa().haMaintenance("hv10", true);
        io.moxxie.core.plan.DrainPlan plan = f.env.service.plan(io.moxxie.core.plan.DrainRequest.soft("hv8"));
        assertThat(plan.moves()).isNotEmpty().allSatisfy(e -> assertThat(e.targetNode()).isNotEqualTo("hv10"));
    }

    @Test
    void aDrainStartedButNotRecordedBeforeAStoreFailureIsFollowedNotStartedAgain() {
        RolloutFixture f = new RolloutFixture();
        // The first write of hv8's step that names its drain fails, as if the process died right after starting it.
        io.moxxie.core.spi.RolloutStore failingOnce = new FailFirstStepWrite(f.env.store);
        f.rollouts.close();
        RolloutService rollouts = RolloutService.builder(f.env.service, f.env.cluster, failingOnce).action(f.reboot(Duration.ofMinutes(3)))
                .build();
        rollouts.start();
        String id = rollouts.submit(request("hv8").build()).rolloutId();
        assertThat(f.env.scheduler.runUntil(() -> f.env.store.rollout(id).orElseThrow().ended(), Duration.ofDays(1))).isTrue();
        assertThat(rollouts.status(id).rollout().state()).isEqualTo(RolloutState.SUCCEEDED);
        assertThat(f.env.store.drains("hv8", 10).stream().filter(d -> d.operation() == Operation.DRAIN)).as("drained once").hasSize(1);
        rollouts.close();
    }

    @Test
    void aDrainAndAnUndrainThatEndedBeforeTheirIdsWereRecordedAreFollowedNotRunAgain() {
        // hv10 holds only a maint-ok guest: its drain and its undrain move nothing and end as they start, so a second one
        // would be a second record, not a conflict with the first.
        for (Predicate<RolloutStep> failing : List.<Predicate<RolloutStep>>of(
                s -> s.drainId() != null, s -> s.undrainId() != null)) {
            RolloutFixture f = new RolloutFixture();
            f.rollouts.close();
            RolloutService rollouts = RolloutService.builder(f.env.service, f.env.cluster, new FailFirstStepWrite(f.env.store, failing))
                    .action(f.reboot(Duration.ofMinutes(3))).build();
            rollouts.start();
            String id = rollouts.submit(request("hv10").build()).rolloutId();
            assertThat(f.env.scheduler.runUntil(() -> f.env.store.rollout(id).orElseThrow().ended(), Duration.ofDays(1))).isTrue();
            RolloutStatus done = rollouts.status(id);
            assertThat(done.rollout().state()).as(done.rollout().message()).isEqualTo(RolloutState.SUCCEEDED);
            RolloutStep step = done.step("hv10").orElseThrow();
            assertThat(f.env.store.drains("hv10", 10)).extracting(DrainRecord::drainId).as("drained once, undrained once")
                    .containsExactly(step.undrainId(), step.drainId());
            rollouts.close();
        }
    }

    @Test
    void aDrainOfTheNodeFromBeforeTheRolloutIsNotTakenForTheRolloutsOwn() {
        RolloutFixture f = new RolloutFixture();
        String byHand = f.env.service.drain(DrainRequest.soft("hv8")).drainId();
        f.env.runUntilIdle();
        String id = f.rollouts.submit(request("hv8").build()).rolloutId();
        RolloutStatus done = f.runToEnd(id);
        assertThat(done.rollout().state()).isEqualTo(RolloutState.SUCCEEDED);
        RolloutStep step = done.step("hv8").orElseThrow();
        assertThat(step.drainId()).isNotEqualTo(byHand);
        assertThat(f.env.store.drain(step.drainId()).orElseThrow().startedAt()).isAfterOrEqualTo(step.startedAt());
    }

    /** A rollout store whose first step write that {@code failing} matches fails (a store outage at the worst moment). */
    private static final class FailFirstStepWrite implements io.moxxie.core.spi.RolloutStore {
        private final io.moxxie.core.store.InMemoryMaintenanceStore d;
        private final Predicate<RolloutStep> failing;
        private boolean failed;

        FailFirstStepWrite(io.moxxie.core.store.InMemoryMaintenanceStore d) {
            this(d, s -> s.drainId() != null);
        }

        FailFirstStepWrite(io.moxxie.core.store.InMemoryMaintenanceStore d, Predicate<RolloutStep> failing) {
            this.d = d;
            this.failing = failing;
        }

        @Override
        public boolean updateStep(RolloutStep step, String owner) {
            if (!failed && failing.test(step)) {
                failed = true;
                throw new io.moxxie.core.spi.StoreUnavailableException("connection refused");
            }
            return d.updateStep(step, owner);
        }

        @Override public void createRollout(io.moxxie.core.spi.RolloutRecord r, List<RolloutStep> s) { d.createRollout(r, s); }
        @Override public boolean updateRollout(io.moxxie.core.spi.RolloutRecord r) { return d.updateRollout(r); }
        @Override public Optional<io.moxxie.core.spi.RolloutRecord> rollout(String id) { return d.rollout(id); }
        @Override public List<RolloutStep> steps(String id) { return d.steps(id); }
        @Override public List<io.moxxie.core.spi.RolloutRecord> rollouts(int limit) { return d.rollouts(limit); }
        @Override public List<io.moxxie.core.spi.RolloutRecord> unfinishedRollouts() { return d.unfinishedRollouts(); }
        @Override public boolean renewRolloutLease(String id, String o, java.time.Instant t) { return d.renewRolloutLease(id, o, t); }
        @Override public Optional<io.moxxie.core.spi.RolloutRecord> takeOverRollout(String id, String o, java.time.Instant n, java.time.Instant t) {
            return d.takeOverRollout(id, o, n, t);
        }
        @Override public void requestRolloutPause(String id, boolean p) { d.requestRolloutPause(id, p); }
        @Override public void requestRolloutCancel(String id) { d.requestRolloutCancel(id); }
        @Override public void requestRolloutContinue(String id, String n) { d.requestRolloutContinue(id, n); }
    }
}
