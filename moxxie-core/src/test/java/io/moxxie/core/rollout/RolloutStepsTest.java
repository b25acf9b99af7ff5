package io.moxxie.core.rollout;

import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.RolloutPhase;
import io.moxxie.core.model.RolloutState;
import io.moxxie.core.rollout.MaintenanceAction.Result;
import io.moxxie.core.spi.RolloutStep;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static io.moxxie.core.rollout.RolloutFixture.request;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * One node's step of a rollout through each of its phases, as the operator reads it in the step: no tick lost between
 * phases, the drain that fails or leaves a guest behind, an action cancelled with the rollout, Ceph's noout cleared when
 * a step fails with the node's OSDs up, and the durations and texts the messages carry.
 */
class RolloutStepsTest {

    // ------------------------------------------------------------------ texts

    @Test
    void durationsReadAsAnOperatorSaysThem() {
        assertThat(RolloutRun.human(Duration.ofSeconds(-5))).isEqualTo("0 s");
        assertThat(RolloutRun.human(Duration.ZERO)).isEqualTo("0 s");
        assertThat(RolloutRun.human(Duration.ofMillis(59_999))).isEqualTo("59 s");
        assertThat(RolloutRun.human(Duration.ofSeconds(60))).isEqualTo("1 min");
        assertThat(RolloutRun.human(Duration.ofSeconds(61))).isEqualTo("1 min 1 s");
        assertThat(RolloutRun.human(Duration.ofSeconds(150))).isEqualTo("2 min 30 s");
        assertThat(RolloutRun.human(Duration.ofSeconds(3599))).isEqualTo("59 min 59 s");
        assertThat(RolloutRun.human(Duration.ofSeconds(3600))).isEqualTo("1 h");
        assertThat(RolloutRun.human(Duration.ofSeconds(3659))).as("seconds are not shown past an hour").isEqualTo("1 h");
        assertThat(RolloutRun.human(Duration.ofSeconds(3660))).isEqualTo("1 h 1 min");
        assertThat(RolloutRun.human(Duration.ofHours(26).plusMinutes(5))).isEqualTo("26 h 5 min");
    }

    @Test
    void aMessageIsKeptWholeUpToWhatTheStoresHoldAndCutInTheMiddleBeyond() {
        String fits = "a".repeat(RolloutRun.MAX_MESSAGE);
        assertThat(RolloutRun.capped(fits).equals(fits)).as("kept whole").isTrue();
        String over = "b".repeat(2000) + "e".repeat(2001);
        assertThat(over).hasSize(RolloutRun.MAX_MESSAGE + 1);
        String cut = RolloutRun.capped(over);
        assertThat(cut.equals("b".repeat(1998) + " … " + "e".repeat(1998))).as("cut in the middle: %s…", cut.substring(0, 40)).isTrue();
        assertThat(RolloutRun.capped("nul\u0000 bell\u0007 line\nbreak\ttab")).isEqualTo("nul bell line\nbreak\ttab");
    }

    @Test
    void anActionsOutputKeepsItsTailWithoutControlCharacters() {
        int max = RolloutService.MAX_ACTION_OUTPUT;
        String fits = "x".repeat(max);
        assertThat(RolloutRun.tail(fits).equals(fits)).as("kept whole").isTrue();
        String over = "HEAD" + "y".repeat(max - 1);
        assertThat(RolloutRun.tail(over).equals("…D" + "y".repeat(max - 1))).as("the last %s characters", max).isTrue();
        assertThat(RolloutRun.tail(fits + "z").equals("…" + "x".repeat(max - 1) + "z")).isTrue();
        assertThat(RolloutRun.tail("ok\u0000\r\n")).isEqualTo("ok\r\n");
    }

    // ------------------------------------------------------------------ the course of a step

    @Test
    void aStepGoesFromPhaseToPhaseWithoutWaitingATickInBetween() {
        Duration tick = RolloutService.DEFAULT_TICK;
        RolloutFixture f = new RolloutFixture(c -> c, Duration.ofMinutes(3), b -> b.action(RolloutFixture.action("patch",
                c -> RolloutFixture.done(Result.ok("patched")))));
        Map<RolloutPhase, Instant> entered = new EnumMap<>(RolloutPhase.class);
        String id = f.rollouts.submit(request("hv8").action("patch").settleTime(Duration.ZERO).build()).rolloutId();
        f.env.scheduler.runUntil(() -> {
            f.status(id).step("hv8").ifPresent(s -> entered.putIfAbsent(s.phase(), s.phaseStartedAt()));
            return f.status(id).rollout().ended();
        }, Duration.ofDays(1));
        RolloutStatus done = f.status(id);
        assertThat(done.rollout().state()).isEqualTo(RolloutState.SUCCEEDED);
        RolloutStep step = done.step("hv8").orElseThrow();

        // The gates pass: the drain starts at once.
        assertThat(entered.get(RolloutPhase.DRAINING)).isEqualTo(step.startedAt());
        Instant drained = f.env.store.drain(step.drainId()).orElseThrow().completedAt();
        // The drain's end is seen at the next tick; from there, the empty node, the action done at once, the node never
        // gone and a settle time of 0 lead to the undrain in the same instant.
        assertThat(Duration.between(drained, entered.get(RolloutPhase.EMPTY_CHECK))).isBetween(Duration.ZERO, tick);
        Instant undrain = entered.get(RolloutPhase.UNDRAINING);
        assertThat(entered.get(RolloutPhase.ACTION)).isEqualTo(entered.get(RolloutPhase.EMPTY_CHECK));
        assertThat(entered.get(RolloutPhase.WAIT_BACK)).isEqualTo(entered.get(RolloutPhase.EMPTY_CHECK));
        assertThat(entered.get(RolloutPhase.GATES_BACK)).isEqualTo(entered.get(RolloutPhase.EMPTY_CHECK));
        assertThat(undrain).isEqualTo(entered.get(RolloutPhase.EMPTY_CHECK));
        Instant undrained = f.env.store.drain(step.undrainId()).orElseThrow().completedAt();
        assertThat(Duration.between(undrained, step.phaseStartedAt())).as("DONE").isBetween(Duration.ZERO, tick);
        assertThat(step.endedAt()).as("the step ends when it is done").isEqualTo(step.phaseStartedAt());
        assertThat(done.rollout().completedAt()).isEqualTo(step.endedAt());
        assertThat(step.message()).isEqualTo("hv8 done in " + RolloutRun.human(Duration.between(step.startedAt(), step.endedAt())));
        assertThat(done.rollout().message()).startsWith("1 node(s) done in ");
    }

    @Test
    void aDrainThatFailsFailsItsStepAndLeavesTheNodeInMaintenance() {
        RolloutFixture f = new RolloutFixture();
        f.env.cluster.failMigrations(9101, 100, "storage 'local-lvm' is full");
        String id = f.rollouts.submit(request("hv8", "hv9").build()).rolloutId();
        RolloutStatus failed = f.runToEnd(id);

        assertThat(RolloutFixture.states(failed)).containsExactly("hv8:failed", "hv9:skipped");
        RolloutStep hv8 = failed.step("hv8").orElseThrow();
        assertThat(hv8.phase()).isEqualTo(RolloutPhase.DRAINING);
        assertThat(hv8.message()).startsWith("the drain of hv8 ended failed: ").contains("hv8 stays in maintenance with its guests where they are");
        assertThat(f.env.store.drain(hv8.drainId()).orElseThrow().status()).isEqualTo(DrainState.FAILED);
        assertThat(f.inMaintenance("hv8")).isTrue();
        assertThat(f.env.nodeOf(9101)).isEqualTo("hv8");
        assertThat(failed.rollout().message()).contains("hv8 failed at draining", "Not started: hv9");
    }

    @Test
    void anUndrainThatFailsFailsTheStepWithTheNodeOutOfMaintenanceAndSaysWhereTheGuestsAre() {
        RolloutFixture f = new RolloutFixture(c -> c, Duration.ofMinutes(3), b -> b.action(RolloutFixture.action("patch", c -> {
            return RolloutFixture.done(Result.ok("patched"));
        })));
        String id = f.rollouts.submit(request("hv8", "hv9").action("patch").build()).rolloutId();
        f.runUntilPhase(id, "hv8", RolloutPhase.WAIT_BACK);
        f.env.cluster.failMigrations(9101, 100, "storage 'local-lvm' is full");
        RolloutStatus failed = f.runToEnd(id);

        assertThat(RolloutFixture.states(failed)).containsExactly("hv8:failed", "hv9:skipped");
        RolloutStep hv8 = failed.step("hv8").orElseThrow();
        assertThat(hv8.phase()).isEqualTo(RolloutPhase.UNDRAINING);
        assertThat(hv8.message()).startsWith("the undrain of hv8 ended failed: ")
                .contains("(hv8 is out of maintenance; the guests not returned are where the drain put them)")
                .endsWith("hv8 is out of maintenance.");
        assertThat(f.env.store.drain(hv8.undrainId()).orElseThrow().status()).isEqualTo(DrainState.FAILED);
        assertThat(f.inMaintenance("hv8")).isFalse();
        assertThat(f.env.nodeOf(9101)).isNotEqualTo("hv8");
        assertThat(f.env.nodeOf(9100)).isEqualTo("hv8");
    }

    @Test
    void aGuestThatCameOntoTheNodeDuringItsDrainFailsTheStepNamingIt() {
        RolloutFixture f = new RolloutFixture();
        String id = f.rollouts.submit(request("hv8").build()).rolloutId();
        f.runUntilPhase(id, "hv8", RolloutPhase.DRAINING);
        f.env.scheduler.runUntil(() -> f.status(id).step("hv8").orElseThrow().drainId() != null, Duration.ofMinutes(5));
        f.env.cluster.relocate(9200, "hv8"); // put there behind the drain's back, after it was planned

        RolloutStatus failed = f.runToEnd(id);
        RolloutStep hv8 = failed.step("hv8").orElseThrow();
        assertThat(hv8.state()).isEqualTo(RolloutState.FAILED);
        assertThat(hv8.phase()).isEqualTo(RolloutPhase.EMPTY_CHECK);
        assertThat(hv8.message()).startsWith("hv8 still holds 1 guest(s) its drain should have moved: 9200 (web-hv9). ");
        assertThat(f.inMaintenance("hv8")).isTrue();
        assertThat(f.reboots).as("the action never ran").isEmpty();
    }

    @Test
    void aCancelStopsTheActionUnderWayAndClearsTheNooutItSetWhenTheOsdsAreUp() {
        AtomicInteger cancelled = new AtomicInteger();
        RolloutFixture f = withNeverEndingFirmwareAction(cancelled);
        f.env.cluster.withCeph(1);
        String id = f.rollouts.submit(request("hv8", "hv9").action("firmware").build()).rolloutId();
        f.runUntilPhase(id, "hv8", RolloutPhase.ACTION);
        f.env.scheduler.runFor(Duration.ofMinutes(1));
        assertThat(f.status(id).step("hv8").orElseThrow().state()).isEqualTo(RolloutState.RUNNING);
        assertThat(f.env.cluster.cephFlags()).containsExactly("noout");

        f.rollouts.cancel(id);
        RolloutStatus s = f.runToEnd(id);
        assertThat(cancelled).as("the action was told to stop").hasValue(1);
        assertThat(RolloutFixture.states(s)).containsExactly("hv8:cancelled", "hv9:skipped");
        assertThat(s.step("hv8").orElseThrow().message()).isEqualTo("cancelled at action. hv8 stays in maintenance with its guests"
                + " where they are. Ceph noout cleared (its OSDs are up).");
        assertThat(f.env.cluster.cephFlags()).isEmpty();
        f.env.scheduler.runFor(Duration.ofHours(1));
        assertThat(cancelled).as("once").hasValue(1);
    }

    @Test
    void anActionThatFailsWithTheNodesOsdsUpClearsNooutAndSaysSo() {
        RolloutFixture f = new RolloutFixture(c -> c, Duration.ofMinutes(3), b -> b.action(RolloutFixture.action("patch",
                c -> RolloutFixture.done(Result.failed("dpkg was interrupted")))));
        f.env.cluster.withCeph(1);
        String id = f.rollouts.submit(request("hv8").action("patch").build()).rolloutId();
        RolloutStatus s = f.runToEnd(id);
        RolloutStep hv8 = s.step("hv8").orElseThrow();
        assertThat(hv8.message()).isEqualTo("the action patch failed: dpkg was interrupted. hv8 stays in maintenance with its guests"
                + " where they are. Ceph noout cleared (its OSDs are up).");
        assertThat(f.env.cluster.cephFlags()).isEmpty();
    }

    @Test
    void aFailureBeforeTheNodeWentOutSaysNothingChangedOnIt() {
        RolloutFixture f = new RolloutFixture();
        f.env.cluster.quorumLost(true);
        String id = f.rollouts.submit(request("hv8").gateTimeout(Duration.ofMinutes(2)).build()).rolloutId();
        RolloutStatus s = f.runToEnd(id);
        RolloutStep hv8 = s.step("hv8").orElseThrow();
        assertThat(hv8.phase()).isEqualTo(RolloutPhase.GATES);
        assertThat(hv8.message()).startsWith("gate quorum blocked for 2 min (gateTimeout 2 min): the cluster has no quorum")
                .endsWith("hv8 was not taken out: nothing changed on it.");
        assertThat(Duration.between(hv8.phaseStartedAt(), hv8.endedAt())).as("failed at the first tick past the timeout")
                .isBetween(Duration.ofMinutes(2), Duration.ofMinutes(2).plus(RolloutService.DEFAULT_TICK));
    }

    @Test
    void anActionThatRunsPastItsTimeoutIsStoppedAndFailsTheStepWhileRunningItSaysSo() {
        AtomicInteger cancelled = new AtomicInteger();
        RolloutFixture f = withNeverEndingFirmwareAction(cancelled);
        String id = f.rollouts.submit(request("hv8").action("firmware").actionTimeout(Duration.ofMinutes(10)).build()).rolloutId();
        f.runUntilPhase(id, "hv8", RolloutPhase.ACTION);
        f.env.scheduler.runFor(Duration.ofMinutes(1));
        RolloutStep running = f.status(id).step("hv8").orElseThrow();
        assertThat(running.state()).isEqualTo(RolloutState.RUNNING);
        assertThat(running.message()).isEqualTo("running the action firmware on hv8");
        assertThat(f.status(id).rollout().message()).isEqualTo("hv8: running the action firmware on hv8");
        assertThat(f.status(id).rollout().state()).isEqualTo(RolloutState.RUNNING);

        RolloutStatus s = f.runToEnd(id);
        RolloutStep hv8 = s.step("hv8").orElseThrow();
        assertThat(hv8.state()).isEqualTo(RolloutState.FAILED);
        assertThat(hv8.message()).startsWith("the action firmware did not end within 10 min (actionTimeout). hv8 stays in maintenance");
        assertThat(Duration.between(hv8.phaseStartedAt(), hv8.endedAt())).as("at the first tick past the timeout")
                .isBetween(Duration.ofMinutes(10), Duration.ofMinutes(10).plus(RolloutService.DEFAULT_TICK));
        assertThat(cancelled).as("the action was told to stop").hasValue(1);
    }

    /** A fixture whose action {@code firmware} runs until it is cancelled, counting the cancels. */
    private static RolloutFixture withNeverEndingFirmwareAction(AtomicInteger cancelled) {
        return new RolloutFixture(c -> c, Duration.ofMinutes(3), b -> b.action(RolloutFixture.action("firmware",
                c -> RolloutFixture.running(cancelled::incrementAndGet))));
    }
}
