package io.moxxie.core.plan;

import io.moxxie.core.ValidationException;
import io.moxxie.core.model.Concurrency;
import io.moxxie.core.model.DrainMode;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** A rollout request as the REST body gives it: its defaults, the drains it runs, and each refusal naming field and value. */
class RolloutRequestTest {

    @Test
    void theDefaultsAreSoftDrainsOfThreeOneNodeAtATimeWaitingForAnOperator() {
        RolloutRequest r = RolloutRequest.builder().build();
        assertThat(r.allNodes()).isTrue();
        assertThat(r.mode()).isEqualTo(DrainMode.SOFT);
        assertThat(r.concurrency()).isEqualTo(Concurrency.fixed(3));
        assertThat(r.action()).isEqualTo(RolloutRequest.CONTINUE_ACTION).isEqualTo("continue");
        assertThat(r.beforeDrainAction()).isEmpty();
        assertThat(r.afterUndrainAction()).isEmpty();
        assertThat(r.cephAllowedWarnings()).isEmpty();
        assertThat(r.cephNoout()).isTrue();
        assertThat(r.gateTimeout()).isEqualTo(Duration.ofMinutes(30));
        assertThat(r.actionTimeout()).isEqualTo(Duration.ofHours(4));
        assertThat(r.nodeBackTimeout()).isEqualTo(Duration.ofMinutes(30));
        assertThat(r.settleTime()).isEqualTo(Duration.ofMinutes(2));
        assertThat(r.maxNodesDown()).isEqualTo(1);
        assertThat(r.allowOffline()).isFalse();
        assertThat(r.force()).isFalse();
        assertThat(r.continueOnFailure()).isFalse();
        assertThat(r.dryRun()).isFalse();
    }

    @Test
    void everyFieldSurvivesToBuilderAndEachNodesDrainCarriesTheDrainOptions() {
        RolloutRequest r = RolloutRequest.builder().nodes("hv8", "hv7").mode(DrainMode.HARD).concurrency(Concurrency.auto())
                .allowOffline(true).force(true).action("reboot").beforeDrain("silence-alerts").afterUndrain("unsilence_alerts")
                .cephAllowedWarnings(Set.of("PG_NOT_DEEP_SCRUBBED")).cephNoout(false).gateTimeout(Duration.ofMinutes(5))
                .actionTimeout(Duration.ofMinutes(20)).nodeBackTimeout(Duration.ofMinutes(15)).settleTime(Duration.ZERO)
                .maxNodesDown(2).continueOnFailure(true).dryRun(true).build();

        assertThat(r.toBuilder().build()).isEqualTo(r);
        assertThat(r.nodes()).containsExactly("hv8", "hv7");
        assertThat(r.allNodes()).isFalse();
        assertThat(r.beforeDrainAction()).contains("silence-alerts");
        assertThat(r.afterUndrainAction()).contains("unsilence_alerts");
        assertThat(r.drainRequest("hv8")).isEqualTo(DrainRequest.builder("hv8").mode(DrainMode.HARD).concurrency(Concurrency.auto())
                .allowOffline(true).force(true).build());
        assertThat(RolloutRequest.builder().nodes("hv8").build().allNodes()).isFalse();
        assertThat(RolloutRequest.builder().nodes("hv8").allNodes().build().allNodes()).isTrue();
    }

    @Test
    void aBlankBeforeOrAfterActionIsNone() {
        RolloutRequest r = RolloutRequest.builder().beforeDrain(" ").afterUndrain("").build();
        assertThat(r.beforeDrain()).isNull();
        assertThat(r.afterUndrain()).isNull();
    }

    @Test
    void theRequestKeepsItsOwnCopies() {
        List<String> nodes = new ArrayList<>(List.of("hv7"));
        RolloutRequest.Builder b = RolloutRequest.builder().nodes(nodes);
        nodes.add("hv8");
        RolloutRequest r = b.build();
        assertThat(r.nodes()).containsExactly("hv7");
        assertThatThrownBy(() -> r.nodes().add("hv9")).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void badFieldsAreRefusedNamingFieldAndValue() {
        refused(b -> b.nodes((List<String>) null), "nodes", null, "nodes cannot be null");
        refused(b -> b.nodes("hv7", "hv8", "hv7"), "nodes", "hv7", "nodes names 'hv7' twice");
        refused(b -> b.nodes("hv 7"), "nodes", "hv 7", "nodes must be a node name (no spaces or '/'), was 'hv 7'");
        refused(b -> b.mode(null), "drainMode", null, "drainMode cannot be null");
        refused(b -> b.concurrency(null), "maxConcurrent", null, "maxConcurrent cannot be null");
        refused(b -> b.action(null), "action", null, "action cannot be null");
        refused(b -> b.action("Reboot"), "action", "Reboot",
                "action must be an action name (lower-case letters, digits, '-', '_'), was 'Reboot'");
        refused(b -> b.action("reboot; rm -rf /"), "action", "reboot; rm -rf /",
                "action must be an action name (lower-case letters, digits, '-', '_'), was 'reboot; rm -rf /'");
        refused(b -> b.beforeDrain("1st"), "beforeDrain", "1st",
                "beforeDrain must be an action name (lower-case letters, digits, '-', '_'), was '1st'");
        refused(b -> b.afterUndrain("x".repeat(65)), "afterUndrain", "x".repeat(65),
                "afterUndrain must be an action name (lower-case letters, digits, '-', '_'), was '" + "x".repeat(65) + "'");
        refused(b -> b.cephAllowedWarnings(null), "cephAllowedWarnings", null, "cephAllowedWarnings cannot be null");
        refused(b -> b.cephAllowedWarnings(Set.of("pg_degraded")), "cephAllowedWarnings", "pg_degraded",
                "cephAllowedWarnings must hold Ceph health check codes such as PG_NOT_DEEP_SCRUBBED, was 'pg_degraded'");
        refused(b -> b.cephAllowedWarnings(Collections.<String>singleton(null)), "cephAllowedWarnings", null,
                "cephAllowedWarnings must hold Ceph health check codes such as PG_NOT_DEEP_SCRUBBED, was 'null'");
        refused(b -> b.gateTimeout(Duration.ZERO), "gateTimeout", Duration.ZERO, "gateTimeout must be > 0, was PT0S");
        refused(b -> b.actionTimeout(Duration.ofSeconds(-1)), "actionTimeout", Duration.ofSeconds(-1), "actionTimeout must be > 0, was PT-1S");
        refused(b -> b.nodeBackTimeout(null), "nodeBackTimeout", null, "nodeBackTimeout cannot be null");
        refused(b -> b.settleTime(null), "settleTime", null, "settleTime cannot be null");
        refused(b -> b.settleTime(Duration.ofSeconds(-1)), "settleTime", Duration.ofSeconds(-1), "settleTime must be >= 0, was PT-1S");
        refused(b -> b.maxNodesDown(0), "maxNodesDown", 0, "maxNodesDown must be >= 1, was 0");
    }

    @Test
    void theLimitsAreInclusive() {
        List<String> many = new ArrayList<>();
        for (int i = 0; i < RolloutRequest.MAX_NODES; i++) many.add("n" + i);
        assertThat(RolloutRequest.builder().nodes(many).build().nodes()).hasSize(10_000);
        many.add("n-one-more");
        refused(b -> b.nodes(many), "nodes", 10_001, "nodes may name at most 10000 nodes, was 10001");

        assertThat(RolloutRequest.builder().action("a" + "b".repeat(63)).build().action()).hasSize(64);
        assertThat(RolloutRequest.builder().cephAllowedWarnings(Set.of("A" + "B".repeat(63))).build().cephAllowedWarnings()).hasSize(1);
        refused(b -> b.cephAllowedWarnings(Set.of("A" + "B".repeat(64))), "cephAllowedWarnings", "A" + "B".repeat(64),
                "cephAllowedWarnings must hold Ceph health check codes such as PG_NOT_DEEP_SCRUBBED, was 'A" + "B".repeat(64) + "'");
        assertThat(RolloutRequest.builder().settleTime(Duration.ZERO).build().settleTime()).isZero();
        assertThat(RolloutRequest.builder().gateTimeout(Duration.ofNanos(1)).build().gateTimeout()).isEqualTo(Duration.ofNanos(1));
    }

    private static void refused(UnaryOperator<RolloutRequest.Builder> change, String field, Object value, String message) {
        assertThatThrownBy(() -> change.apply(RolloutRequest.builder()).build()).isInstanceOfSatisfying(ValidationException.class, e -> {
            assertThat(e.field()).isEqualTo(field);
            assertThat(e.value()).isEqualTo(value);
        }).hasMessage(message);
    }
}
