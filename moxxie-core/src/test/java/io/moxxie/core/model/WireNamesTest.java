package io.moxxie.core.model;

import io.moxxie.core.ValidationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.NullSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The wire names the REST API, the stores and the Proxmox client write and read back: every value reads back as
 * itself, whatever its case and surrounding spaces, and anything else is refused naming the field and the value (a
 * hand-edited database row, a typo in a request) — except a power state, which Proxmox may extend.
 */
class WireNamesTest {

    @Test
    void theWireNamesAreTheGuidesAndProxmoxsOwn() {
        assertThat(wire(GuestType.values(), GuestType::wireName)).containsExactly("qemu", "lxc");
        assertThat(wire(Operation.values(), Operation::wireName)).containsExactly("drain", "undrain");
        assertThat(wire(PowerState.values(), PowerState::wireName)).containsExactly("running", "stopped", "paused", "unknown");
        assertThat(wire(MigrationType.values(), MigrationType::wireName)).containsExactly("online", "offline", "restart");
        assertThat(wire(DrainMode.values(), DrainMode::wireName)).containsExactly("soft", "hard");
        assertThat(wire(DrainState.values(), DrainState::wireName)).containsExactly("in_progress", "completed", "failed", "cancelled");
        assertThat(wire(GuestState.values(), GuestState::wireName))
                .containsExactly("pending", "in_progress", "completed", "skipped", "failed");
        assertThat(wire(RolloutState.values(), RolloutState::wireName))
                .containsExactly("pending", "running", "waiting", "paused", "succeeded", "failed", "cancelled", "skipped");
        assertThat(wire(RolloutPhase.values(), RolloutPhase::wireName)).containsExactly("pending", "gates", "before-drain", "draining",
                "empty-check", "action", "wait-back", "gates-back", "undraining", "after-undrain", "done");
    }

    @ParameterizedTest
    @EnumSource(GuestType.class)
    void aGuestTypeReadsBackInAnyCase(GuestType t) {
        assertThat(GuestType.parse(t.wireName())).isEqualTo(t);
        assertThat(GuestType.parse(" " + t.wireName().toUpperCase() + " ")).isEqualTo(t);
    }

    @ParameterizedTest
    @EnumSource(Operation.class)
    void anOperationReadsBackInAnyCase(Operation o) {
        assertThat(Operation.parse(o.wireName())).isEqualTo(o);
        assertThat(Operation.parse(" " + o.wireName().toUpperCase() + " ")).isEqualTo(o);
    }

    @ParameterizedTest
    @EnumSource(PowerState.class)
    void aPowerStateReadsBackInAnyCase(PowerState s) {
        assertThat(PowerState.parse(s.wireName())).isEqualTo(s);
        assertThat(PowerState.parse(" " + s.wireName().toUpperCase() + " ")).isEqualTo(s);
    }

    @ParameterizedTest
    @EnumSource(MigrationType.class)
    void aMigrationTypeReadsBackInAnyCase(MigrationType t) {
        assertThat(MigrationType.parse(t.wireName())).isEqualTo(t);
        assertThat(MigrationType.parse(" " + t.wireName().toUpperCase() + " ")).isEqualTo(t);
    }

    @ParameterizedTest
    @EnumSource(DrainMode.class)
    void aDrainModeReadsBackInAnyCase(DrainMode m) {
        assertThat(DrainMode.parse(m.wireName())).isEqualTo(m);
        assertThat(DrainMode.parse(" " + m.wireName().toUpperCase() + " ")).isEqualTo(m);
    }

    @ParameterizedTest
    @EnumSource(DrainState.class)
    void aDrainStateReadsBackInAnyCase(DrainState s) {
        assertThat(DrainState.parse(s.wireName())).isEqualTo(s);
        assertThat(DrainState.parse(" " + s.wireName().toUpperCase() + " ")).isEqualTo(s);
    }

    @ParameterizedTest
    @EnumSource(GuestState.class)
    void aGuestStateReadsBackInAnyCase(GuestState s) {
        assertThat(GuestState.parse(s.wireName())).isEqualTo(s);
        assertThat(GuestState.parse(" " + s.wireName().toUpperCase() + " ")).isEqualTo(s);
    }

    @ParameterizedTest
    @NullSource
    @ValueSource(strings = {"", "vm", "in-progress", "qemu lxc"})
    void anythingElseIsRefusedNamingTheFieldAndTheValue(String bad) {
        assertRefused(() -> GuestType.parse(bad), "type", bad, "type must be 'qemu' or 'lxc', was '" + bad + "'");
        assertRefused(() -> Operation.parse(bad), "operation", bad, "operation must be 'drain' or 'undrain', was '" + bad + "'");
        assertRefused(() -> MigrationType.parse(bad), "migrationType", bad,
                "migrationType must be one of online, offline, restart, was '" + bad + "'");
        assertRefused(() -> DrainMode.parse(bad), "drainMode", bad, "drainMode must be 'soft' or 'hard', was '" + bad + "'");
        assertRefused(() -> DrainState.parse(bad), "status", bad,
                "drain status must be one of in_progress, completed, failed, cancelled, was '" + bad + "'");
        assertRefused(() -> GuestState.parse(bad), "status", bad,
                "guest status must be one of pending, in_progress, completed, skipped, failed, was '" + bad + "'");
    }

    @ParameterizedTest
    @NullSource
    @ValueSource(strings = {"", "prelaunch", "suspended"})
    void aPowerStateProxmoxMayAddLaterReadsAsUnknown(String other) {
        assertThat(PowerState.parse(other)).isEqualTo(PowerState.UNKNOWN);
    }

    @Test
    void whichStatesAreFinalOrEnded() {
        assertThat(Arrays.stream(DrainState.values()).filter(DrainState::finished))
                .containsExactly(DrainState.COMPLETED, DrainState.FAILED, DrainState.CANCELLED);
        assertThat(Arrays.stream(GuestState.values()).filter(GuestState::finished))
                .containsExactly(GuestState.COMPLETED, GuestState.SKIPPED, GuestState.FAILED);
        assertThat(Arrays.stream(RolloutState.values()).filter(RolloutState::ended))
                .containsExactly(RolloutState.SUCCEEDED, RolloutState.FAILED, RolloutState.CANCELLED, RolloutState.SKIPPED);
    }

    private static void assertRefused(Runnable parse, String field, String value, String message) {
        assertThatThrownBy(parse::run).isInstanceOfSatisfying(ValidationException.class, e -> {
            assertThat(e.field()).isEqualTo(field);
            assertThat(e.value()).isEqualTo(value);
        }).hasMessage(message);
    }

    private static <E> List<String> wire(E[] values, java.util.function.Function<E, String> name) {
        return Arrays.stream(values).map(name).toList();
    }
}
