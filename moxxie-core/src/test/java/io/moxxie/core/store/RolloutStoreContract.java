package io.moxxie.core.store;

import io.moxxie.core.model.Concurrency;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.model.GateVerdict;
import io.moxxie.core.model.RolloutPhase;
import io.moxxie.core.model.RolloutState;
import io.moxxie.core.plan.RolloutRequest;
import io.moxxie.core.spi.RolloutRecord;
import io.moxxie.core.spi.RolloutStep;
import io.moxxie.core.spi.RolloutStore;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The {@link RolloutStore} contract, as one abstract test that every implementation runs (the in-memory store in
 * core, and H2, PostgreSQL and MariaDB in {@code moxxie-jdbc-store}); the rollout half of what
 * {@link MaintenanceStoreContract} is for drains, in its style. An implementation whose data can be shared by several
 * instances overrides {@link #anotherInstance(RolloutStore)}, so that fencing, operators' requests and takeover are
 * checked across instances, as they happen between processes.
 *
 * <p>Times and durations used here are whole milliseconds: every backend keeps at least that.
 */
public abstract class RolloutStoreContract {
    protected static final Instant T0 = Instant.parse("2025-01-15T10:00:00Z");
    protected static final Duration LEASE = Duration.ofSeconds(30);
    /** Quotes, a backslash, SQL, line breaks, a tab, accents, CJK and an emoji outside the BMP. */
    protected static final String NASTY = "it's \"done\" \\ -- ; DROP TABLE rollout;\nline 2\r\n\ttabbed, é ü 節点 🚀 \\n";

    protected RolloutStore store;

    /** An empty store; called before every test. */
    protected abstract RolloutStore createStore();

    /**
     * Another instance over the same data, as a second process would have it. The default returns {@code store}
     * itself, for stores whose data cannot be shared (the in-memory one).
     */
    protected RolloutStore anotherInstance(RolloutStore store) {
        return store;
    }

    @BeforeEach
    void createTheStore() {
        store = createStore();
    }

    // ------------------------------------------------------------------ fixtures

    protected static Instant at(long seconds) {
        return T0.plusSeconds(seconds);
    }

    protected static RolloutRecord rollout(String rolloutId, String owner, String... nodes) {
        return new RolloutRecord(rolloutId, RolloutRequest.builder().nodes(nodes).build(), RolloutState.RUNNING,
                "Rolling through " + nodes.length + " nodes", T0, null, owner, owner == null ? null : T0.plus(LEASE), false, false, null);
    }

    protected static List<RolloutStep> pending(String rolloutId, String... nodes) {
        List<RolloutStep> out = new ArrayList<>();
        for (int i = 0; i < nodes.length; i++) out.add(RolloutStep.pending(rolloutId, i, nodes[i]));
        return out;
    }

    /** A rollout of hv7, hv8, hv9 owned by {@code owner}, created; its steps pending. */
    protected RolloutRecord created(String rolloutId, String owner) {
        RolloutRecord r = rollout(rolloutId, owner, "hv7", "hv8", "hv9");
        store.createRollout(r, pending(rolloutId, "hv7", "hv8", "hv9"));
        return r;
    }

    /** A step with every field set, nasty text in each. */
    protected static RolloutStep busyStep(String rolloutId, int index, String node) {
        return new RolloutStep(rolloutId, index, node, RolloutPhase.ACTION, RolloutState.WAITING, at(10), at(20), null,
                "d-" + index, null,
                List.of(GateVerdict.pass("quorum", "4 of 4 votes online, 3 left without " + node),
                        GateVerdict.block("ceph", "HEALTH_WARN:\n\tOSD_DOWN\t1 osd down\\n " + NASTY),
                        GateVerdict.pass("ha", ""),
                        GateVerdict.block("", "\t\n\\")),
                null, "", "Waiting for an operator's continue for " + node + ": " + NASTY, null);
    }

    // ------------------------------------------------------------------ createRollout, rollout, steps

    @Test
    void aCreatedRolloutReadsBackWithEveryFieldOfItsRequestAndItsSteps() {
        RolloutRequest request = RolloutRequest.builder().nodes("hv7.example.com", "hv-8", "hv,9", "n'o\"de\\x", "ноде-1")
                .mode(DrainMode.HARD).concurrency(Concurrency.fixed(5)).allowOffline(true).force(true).action("kernel-update")
                .beforeDrain("pre_check").afterUndrain("post-check").cephAllowedWarnings(Set.of("PG_NOT_DEEP_SCRUBBED", "OSDMAP_FLAGS"))
                .cephNoout(false).gateTimeout(Duration.ofMinutes(7)).actionTimeout(Duration.ofMillis(3_600_001))
                .nodeBackTimeout(Duration.ofSeconds(905)).settleTime(Duration.ZERO).maxNodesDown(2).continueOnFailure(true)
                .dryRun(true).build();
        RolloutRecord rollout = new RolloutRecord("r-1", request, RolloutState.PAUSED, NASTY, at(0), null, "service-a", at(30),
                true, true, "hv,9");
        RolloutStep done = new RolloutStep("r-1", 0, "hv,9", RolloutPhase.DONE, RolloutState.SUCCEEDED, at(1), at(90), at(100),
                "d-1", "u-1", List.of(GateVerdict.pass("quorum", "ok")), 0, "Reading package lists...\nDone ✓\n", "hv,9 is back", at(60));
        RolloutStep failed = new RolloutStep("r-1", 1, "hv7.example.com", RolloutPhase.ACTION, RolloutState.FAILED, at(101),
                at(150), at(160), "d-2", null, List.of(), -1, NASTY, "The action failed: " + NASTY, null);
        List<RolloutStep> steps = new ArrayList<>(List.of(done, failed, busyStep("r-1", 2, "hv-8")));
        steps.add(RolloutStep.pending("r-1", 3, "n'o\"de\\x"));
        steps.add(RolloutStep.pending("r-1", 4, "ноде-1"));

        store.createRollout(rollout, steps);

        assertThat(store.rollout("r-1")).contains(rollout);
        assertThat(store.rollout("r-1").orElseThrow().request()).isEqualTo(request);
        assertThat(store.steps("r-1")).containsExactlyElementsOf(steps);
        RolloutStore other = anotherInstance(store);
        assertThat(other.rollout("r-1")).contains(rollout);
        assertThat(other.rollout("r-1").orElseThrow().request().nodes())
                .containsExactly("hv7.example.com", "hv-8", "hv,9", "n'o\"de\\x", "ноде-1");
        assertThat(other.steps("r-1")).containsExactlyElementsOf(steps);
        assertThat(other.steps("r-1").get(2).gates()).containsExactlyElementsOf(busyStep("r-1", 2, "hv-8").gates());
    }

    @Test
    void aRolloutOfEveryNodeReadsBackWithNoNodesTheDefaultsAndNoOwner() {
        RolloutRecord rollout = new RolloutRecord("r-all", RolloutRequest.builder().allNodes().build(), RolloutState.PENDING, null,
                at(0), null, null, null, false, false, null);

        store.createRollout(rollout, List.of());

        RolloutRecord read = anotherInstance(store).rollout("r-all").orElseThrow();
        assertThat(read).isEqualTo(rollout);
        assertThat(read.request().allNodes()).isTrue();
        assertThat(read.request().beforeDrainAction()).isEmpty();
        assertThat(read.request().cephAllowedWarnings()).isEmpty();
        assertThat(read.message()).isEmpty();
        assertThat(store.steps("r-all")).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"serial", "1", "3", "64", "auto"})
    void aRolloutReadsBackWithItsDrainsConcurrency(String concurrency) {
        RolloutRequest request = RolloutRequest.builder().nodes("hv7").concurrency(Concurrency.parse(concurrency)).build();
        store.createRollout(new RolloutRecord("r-c", request, RolloutState.RUNNING, "", at(0), null, "a", at(30), false, false,
                null), pending("r-c", "hv7"));

        RolloutRequest read = anotherInstance(store).rollout("r-c").orElseThrow().request();
        assertThat(read.concurrency()).hasToString(concurrency);
        assertThat(read).isEqualTo(request);
    }

    @Test
    void stepsReadBackInTheirOrderWhateverOrderTheyWereGivenIn() {
        List<RolloutStep> steps = pending("r-1", "hv9", "hv7", "hv8");
        store.createRollout(rollout("r-1", "a", "hv7", "hv8", "hv9"), List.of(steps.get(2), steps.get(0), steps.get(1)));

        assertThat(store.steps("r-1")).extracting(RolloutStep::node).containsExactly("hv9", "hv7", "hv8");
    }

    @Test
    void anUnknownRolloutHasNoRecordAndNoSteps() {
        assertThat(store.rollout("nope")).isEmpty();
        assertThat(store.steps("nope")).isEmpty();
    }

    @Test
    void reusingARolloutIdIsRejectedAndTheFirstIsKept() {
        RolloutRecord first = created("r-1", "a");

        assertThatThrownBy(() -> anotherInstance(store).createRollout(rollout("r-1", "b", "hv1"), pending("r-1", "hv1")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("r-1");
        assertThat(store.rollout("r-1")).contains(first);
        assertThat(store.steps("r-1")).extracting(RolloutStep::node).containsExactly("hv7", "hv8", "hv9");
    }

    // ------------------------------------------------------------------ updateRollout

    @Test
    void theOwnerWritesStateMessageAndCompletionTime() {
        RolloutRecord r = created("r-1", "a");
        RolloutRecord failed = r.withState(RolloutState.FAILED, "hv8 failed: " + NASTY, at(500));

        assertThat(store.updateRollout(failed)).isTrue();
        assertThat(store.updateRollout(failed)).isTrue();

        assertThat(anotherInstance(store).rollout("r-1")).contains(failed);
        assertThat(store.unfinishedRollouts()).isEmpty();
    }

    @Test
    void anUpdateWritesNeitherTheRequestNorTheOwnerNorTheOperatorsRequests() {
        RolloutRecord r = created("r-1", "a");
        RolloutStore operator = anotherInstance(store);
        operator.requestRolloutPause("r-1", true);
        operator.requestRolloutContinue("r-1", "hv7");
        store.renewRolloutLease("r-1", "a", at(90));
        // What the owner holds is stale (no requests, the old lease) and says other things besides.
        RolloutRecord stale = new RolloutRecord("r-1", RolloutRequest.builder().nodes("hv1").maxNodesDown(3).build(),
                RolloutState.WAITING, "Waiting for the quorum gate", at(999), null, "a", at(31), false, true, "hv9");

        assertThat(store.updateRollout(stale)).isTrue();

        RolloutRecord read = store.rollout("r-1").orElseThrow();
        assertThat(read.state()).isEqualTo(RolloutState.WAITING);
        assertThat(read.message()).isEqualTo("Waiting for the quorum gate");
        assertThat(read.request()).isEqualTo(r.request());
        assertThat(read.createdAt()).isEqualTo(r.createdAt());
        assertThat(read.owner()).isEqualTo("a");
        assertThat(read.leaseExpiresAt()).isEqualTo(at(90));
        assertThat(read.pauseRequested()).as("the pause the operator asked for").isTrue();
        assertThat(read.cancelRequested()).as("the owner cannot cancel by writing").isFalse();
        assertThat(read.continueNode()).isEqualTo("hv7");
    }

    @Test
    void anUpdateFromAnotherOwnerChangesNothing() {
        RolloutRecord r = created("r-1", "a");

        boolean written = anotherInstance(store).updateRollout(r.withOwner("b", at(60)).withState(RolloutState.CANCELLED, "not mine", at(5)));

        assertThat(written).isFalse();
        assertThat(store.rollout("r-1")).contains(r);
    }

    @Test
    void anUpdateOfAnUnknownRolloutReturnsFalse() {
        assertThat(store.updateRollout(rollout("nope", "a", "hv7"))).isFalse();
    }

    // ------------------------------------------------------------------ updateStep

    @Test
    void stepProgressIsWrittenAsItHappens() {
        created("r-1", "a");
        RolloutStep step = store.steps("r-1").get(1);

        RolloutStep gates = step.enter(RolloutPhase.GATES, at(1), "Checking the gates").withGates(busyStep("r-1", 1, "hv8").gates())
                .with(RolloutState.WAITING, "Waiting for ceph: " + NASTY);
        assertThat(store.updateStep(gates, "a")).isTrue();
        assertThat(store.updateStep(gates, "a")).isTrue();
        assertThat(anotherInstance(store).steps("r-1").get(1)).isEqualTo(gates);

        RolloutStep draining = gates.enter(RolloutPhase.DRAINING, at(2), "Draining hv8").withDrain("d-8");
        RolloutStep acted = draining.enter(RolloutPhase.ACTION, at(3), "Running kernel-update").withAction(0, "ok\n" + NASTY);
        RolloutStep back = acted.enter(RolloutPhase.WAIT_BACK, at(4), "Waiting for hv8").withBackSince(at(5));
        RolloutStep done = back.enter(RolloutPhase.DONE, at(6), "").withUndrain("u-8").ended(RolloutState.SUCCEEDED, at(7), "hv8 done");
        for (RolloutStep s : List.of(draining, acted, back, done)) {
            assertThat(store.updateStep(s, "a")).isTrue();
            assertThat(anotherInstance(store).steps("r-1").get(1)).isEqualTo(s);
        }
        assertThat(store.steps("r-1").get(1).startedAt()).isEqualTo(at(1));
    }

    @Test
    void updatingOneStepLeavesTheOthersAlone() {
        created("r-1", "a");
        List<RolloutStep> before = store.steps("r-1");

        RolloutStep busy = busyStep("r-1", 1, "hv8");
        store.updateStep(busy, "a");

        assertThat(store.steps("r-1")).containsExactly(before.get(0), busy, before.get(2));
    }

    @Test
    void aProcessThatLostTheRolloutCannotWriteItsSteps() {
        created("r-1", "a");
        RolloutStep pending = store.steps("r-1").get(0);
        assertThat(anotherInstance(store).takeOverRollout("r-1", "b", at(31), at(61))).isPresent();

        assertThat(store.updateStep(pending.enter(RolloutPhase.GATES, at(32), "zombie"), "a")).isFalse();
        assertThat(store.steps("r-1").get(0)).isEqualTo(pending);
        RolloutStep mine = pending.enter(RolloutPhase.GATES, at(33), "Checking the gates");
        assertThat(anotherInstance(store).updateStep(mine, "b")).isTrue();
        assertThat(store.steps("r-1").get(0)).isEqualTo(mine);
    }

    @Test
    void updatingAStepOfAnUnknownRolloutIsRejected() {
        assertThatThrownBy(() -> store.updateStep(RolloutStep.pending("nope", 0, "hv7"), "a"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("nope");
    }

    // ------------------------------------------------------------------ rollouts, unfinishedRollouts

    @Test
    void rolloutsAreListedNewestFirstAndLimited() {
        for (int i = 1; i <= 4; i++) {
            store.createRollout(new RolloutRecord("r-" + i, RolloutRequest.builder().nodes("hv" + i, "hv,x" + i).build(),
                    RolloutState.SUCCEEDED, "done", at(i * 100L), at(i * 100L + 50), "a", null, false, false, null), List.of());
        }

        assertThat(store.rollouts(3)).extracting(RolloutRecord::rolloutId).containsExactly("r-4", "r-3", "r-2");
        assertThat(anotherInstance(store).rollouts(10)).hasSize(4);
        assertThat(store.rollouts(10).get(0).request().nodes()).containsExactly("hv4", "hv,x4");
        assertThat(store.rollouts(10).get(3).request().nodes()).containsExactly("hv1", "hv,x1");
        assertThat(store.rollouts(0)).isEmpty();
    }

    @Test
    void rolloutsCreatedInTheSameInstantAreListedLatestCreatedFirst() {
        store.createRollout(rollout("r-b", "a", "hv1"), List.of());
        store.createRollout(rollout("r-a", "a", "hv2"), List.of());
        store.createRollout(rollout("r-c", "a", "hv3"), List.of());

        assertThat(store.rollouts(5)).extracting(RolloutRecord::rolloutId).containsExactly("r-c", "r-a", "r-b");
    }

    @Test
    void unfinishedRolloutsAreThoseNotEndedWhoeverOwnsThem() {
        created("r-running", "a");
        RolloutStore other = anotherInstance(store);
        other.createRollout(rollout("r-waiting", "b", "hv1").withState(RolloutState.WAITING, "gate", null), List.of());
        store.createRollout(rollout("r-paused", null, "hv2").withState(RolloutState.PAUSED, "paused", null), List.of());
        store.createRollout(rollout("r-pending", "a", "hv3").withState(RolloutState.PENDING, "", null), List.of());
        for (RolloutState ended : List.of(RolloutState.SUCCEEDED, RolloutState.FAILED, RolloutState.CANCELLED)) {
            RolloutRecord r = rollout("r-" + ended.wireName(), "a", "hv4");
            store.createRollout(r, List.of());
            store.updateRollout(r.withState(ended, ended.wireName(), at(5)));
        }

        assertThat(other.unfinishedRollouts()).extracting(RolloutRecord::rolloutId)
                .containsExactlyInAnyOrder("r-running", "r-waiting", "r-paused", "r-pending");
        assertThat(other.unfinishedRollouts()).filteredOn(r -> r.rolloutId().equals("r-running"))
                .singleElement().satisfies(r -> assertThat(r.request().nodes()).containsExactly("hv7", "hv8", "hv9"));
    }

    // ------------------------------------------------------------------ renewRolloutLease

    @Test
    void theOwnerExtendsItsLease() {
        created("r-1", "a");

        assertThat(store.renewRolloutLease("r-1", "a", at(60))).isTrue();
        assertThat(store.renewRolloutLease("r-1", "a", at(60))).isTrue();

        assertThat(anotherInstance(store).rollout("r-1").orElseThrow().leaseExpiresAt()).isEqualTo(at(60));
    }

    @Test
    void onlyTheOwnerCanRenewTheLease() {
        created("r-1", "a");

        assertThat(anotherInstance(store).renewRolloutLease("r-1", "b", at(600))).isFalse();

        RolloutRecord read = store.rollout("r-1").orElseThrow();
        assertThat(read.owner()).isEqualTo("a");
        assertThat(read.leaseExpiresAt()).isEqualTo(T0.plus(LEASE));
    }

    @Test
    void theLeaseOfAnEndedOrUnknownRolloutCannotBeRenewed() {
        RolloutRecord r = created("r-1", "a");
        store.updateRollout(r.withState(RolloutState.SUCCEEDED, "done", at(5)));

        assertThat(store.renewRolloutLease("r-1", "a", at(60))).isFalse();
        assertThat(store.renewRolloutLease("nope", "a", at(60))).isFalse();
        assertThat(store.rollout("r-1").orElseThrow().leaseExpiresAt()).isEqualTo(T0.plus(LEASE));
    }

    // ------------------------------------------------------------------ takeOverRollout

    @Test
    void aRolloutWhoseLeaseStillHoldsCannotBeTakenOver() {
        created("r-1", "a");

        assertThat(anotherInstance(store).takeOverRollout("r-1", "b", at(10), at(40))).isEmpty();
        // Expiring at exactly "now" is not expired "before now"; a nanosecond later it is (stores keep microseconds).
        assertThat(anotherInstance(store).takeOverRollout("r-1", "b", T0.plus(LEASE), at(60))).isEmpty();

        assertThat(store.rollout("r-1").orElseThrow().owner()).isEqualTo("a");
        assertThat(anotherInstance(store).takeOverRollout("r-1", "b", T0.plus(LEASE).plusNanos(1), at(60)))
                .as("a nanosecond after the lease").map(RolloutRecord::owner).contains("b");
    }

    @Test
    void afterTheLeaseExpiredAnotherProcessTakesTheRolloutOverAndTheOldOwnerIsFencedOff() {
        RolloutRecord r = created("r-1", "a");
        store.requestRolloutPause("r-1", true);
        RolloutStore other = anotherInstance(store);

        Optional<RolloutRecord> taken = other.takeOverRollout("r-1", "b", at(31), at(61));

        assertThat(taken).isPresent();
        assertThat(taken.get().owner()).isEqualTo("b");
        assertThat(taken.get().leaseExpiresAt()).isEqualTo(at(61));
        assertThat(taken.get().request()).isEqualTo(r.request());
        assertThat(taken.get().pauseRequested()).isTrue();
        assertThat(store.rollout("r-1")).contains(taken.get());

        assertThat(store.updateRollout(r.withState(RolloutState.SUCCEEDED, "zombie", at(32)))).isFalse();
        assertThat(store.renewRolloutLease("r-1", "a", at(90))).isFalse();
        assertThat(store.rollout("r-1").orElseThrow().state()).isEqualTo(RolloutState.RUNNING);

        assertThat(other.updateRollout(taken.get().withState(RolloutState.RUNNING, "Taken over", null))).isTrue();
        assertThat(other.renewRolloutLease("r-1", "b", at(91))).isTrue();
    }

    @Test
    void aRolloutWithoutALeaseCanBeTakenOver() {
        store.createRollout(rollout("r-1", null, "hv7"), pending("r-1", "hv7"));

        assertThat(store.takeOverRollout("r-1", "b", at(0), at(30))).map(RolloutRecord::owner).contains("b");
        assertThat(store.updateStep(RolloutStep.pending("r-1", 0, "hv7").enter(RolloutPhase.GATES, at(1), ""), "b")).isTrue();
    }

    @Test
    void theOwnerMayTakeItsOwnRolloutBackWhileTheLeaseHolds() {
        created("r-1", "a");

        assertThat(store.takeOverRollout("r-1", "a", at(1), at(100))).map(RolloutRecord::leaseExpiresAt).contains(at(100));
    }

    @Test
    void anEndedOrUnknownRolloutCannotBeTakenOver() {
        for (RolloutState ended : List.of(RolloutState.SUCCEEDED, RolloutState.FAILED, RolloutState.CANCELLED)) {
            String id = "r-" + ended.wireName();
            RolloutRecord r = rollout(id, "a", "hv7");
            store.createRollout(r, List.of());
            store.updateRollout(r.withState(ended, "ended", at(5)));

            assertThat(anotherInstance(store).takeOverRollout(id, "b", at(1000), at(1030))).as(id).isEmpty();
            assertThat(store.rollout(id).orElseThrow().owner()).isEqualTo("a");
        }
        assertThat(store.takeOverRollout("nope", "b", at(1000), at(1030))).isEmpty();
    }

    // ------------------------------------------------------------------ operators' requests

    @Test
    void pauseCancelAndContinueRequestsAreSeenByTheOwner() {
        created("r-1", "a");
        RolloutStore operator = anotherInstance(store);

        operator.requestRolloutPause("r-1", true);
        operator.requestRolloutPause("r-1", true);
        operator.requestRolloutContinue("r-1", "hv,8");
        operator.requestRolloutContinue("r-1", "hv,8");
        RolloutRecord read = store.rollout("r-1").orElseThrow();
        assertThat(read.pauseRequested()).isTrue();
        assertThat(read.cancelRequested()).isFalse();
        assertThat(read.continueNode()).isEqualTo("hv,8");

        operator.requestRolloutPause("r-1", false);
        operator.requestRolloutCancel("r-1");
        operator.requestRolloutCancel("r-1");
        read = store.rollout("r-1").orElseThrow();
        assertThat(read.pauseRequested()).as("resumed").isFalse();
        assertThat(read.cancelRequested()).isTrue();
        assertThat(read.continueNode()).isEqualTo("hv,8");
        assertThat(read.state()).isEqualTo(RolloutState.RUNNING);
        assertThat(read.owner()).isEqualTo("a");
    }

    @Test
    void requestsToAnEndedOrUnknownRolloutChangeNothing() {
        RolloutRecord r = created("r-1", "a");
        RolloutRecord done = r.withState(RolloutState.SUCCEEDED, "done", at(5));
        store.updateRollout(done);

        store.requestRolloutPause("r-1", true);
        store.requestRolloutCancel("r-1");
        store.requestRolloutContinue("r-1", "hv7");
        store.requestRolloutPause("nope", true);
        store.requestRolloutCancel("nope");
        store.requestRolloutContinue("nope", "hv7");

        assertThat(store.rollout("r-1")).contains(done);
        assertThat(store.rollout("nope")).isEmpty();
    }

    // ------------------------------------------------------------------ concurrency

    @Test
    @Timeout(120)
    void ofTwoProcessesTakingOverAnExpiredRolloutExactlyOneWins() throws Exception {
        RolloutStore b = store;
        RolloutStore c = anotherInstance(store);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            for (int round = 0; round < 25; round++) {
                String id = "t-" + round;
                store.createRollout(rollout(id, "dead", "hv" + round), pending(id, "hv" + round));
                CountDownLatch go = new CountDownLatch(1);
                Future<Optional<RolloutRecord>> first = pool.submit(() -> {
                    go.await();
                    return b.takeOverRollout(id, "b", at(100), at(130));
                });
                Future<Optional<RolloutRecord>> second = pool.submit(() -> {
                    go.await();
                    return c.takeOverRollout(id, "c", at(100), at(130));
                });
                go.countDown();
                Optional<RolloutRecord> rb = first.get(60, TimeUnit.SECONDS);
                Optional<RolloutRecord> rc = second.get(60, TimeUnit.SECONDS);

                assertThat(rb.isPresent() ^ rc.isPresent()).as("round %d: exactly one wins", round).isTrue();
                String winner = rb.isPresent() ? "b" : "c";
                String loser = rb.isPresent() ? "c" : "b";
                assertThat(store.rollout(id).orElseThrow().owner()).isEqualTo(winner);
                assertThat((rb.isPresent() ? c : b).updateStep(RolloutStep.pending(id, 0, "hv" + round)
                        .enter(RolloutPhase.GATES, at(101), loser), loser)).as("round %d: the loser is fenced off", round).isFalse();
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
