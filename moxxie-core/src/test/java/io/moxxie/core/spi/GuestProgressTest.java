package io.moxxie.core.spi;

import io.moxxie.core.ValidationException;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.model.PowerState;
import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GuestProgressTest {
    private static final Instant T0 = Instant.parse("2025-01-15T10:30:00Z");

    private final Guest web = Guest.qemu(8200, "hv7").name("web-prod-01").memory(8L << 30).haManaged(true).build();

    @Test
    void aGuestsProgressStartsPendingWithWhatTheGuestIsNow() {
        GuestProgress p = GuestProgress.builder("d-1", web).targetNode("hv8").migrationType(MigrationType.ONLINE).build();

        assertThat(p).isEqualTo(new GuestProgress("d-1", 8200, "web-prod-01", GuestType.QEMU, "hv7", "hv8", MigrationType.ONLINE,
                GuestState.PENDING, false, true, true, 8L << 30, 0, null, null, null, null, null));
        assertThat(GuestProgress.builder("d-1", web.withStatus(PowerState.STOPPED)).build().wasRunning()).isFalse();
    }

    @Test
    void withersChangeOnlyWhatTheySay() {
        GuestProgress p = GuestProgress.builder("d-1", web).targetNode("hv8").migrationType(MigrationType.ONLINE).note("n").build();
        GuestProgress started = p.started("hv9", MigrationType.OFFLINE, 2, T0).withTask("UPID:1");

        assertThat(started).isEqualTo(p.toBuilder().targetNode("hv9").migrationType(MigrationType.OFFLINE).status(GuestState.IN_PROGRESS)
                .attempts(2).taskId("UPID:1").startedAt(T0).build());
        assertThat(started.started("hv8", MigrationType.ONLINE, 3, T0.plusSeconds(9)).startedAt()).as("first start kept").isEqualTo(T0);
        assertThat(started.started("hv8", MigrationType.ONLINE, 3, T0.plusSeconds(9)).taskId()).isNull();

        GuestProgress done = started.completed("hv9", T0.plusSeconds(30));
        assertThat(done).isEqualTo(started.toBuilder().status(GuestState.COMPLETED).completedAt(T0.plusSeconds(30)).build());
        GuestProgress failed = started.failed("boom", T0.plusSeconds(30));
        assertThat(failed).isEqualTo(started.toBuilder().status(GuestState.FAILED).error("boom").completedAt(T0.plusSeconds(30)).build());
        assertThat(failed.pendingAgain("hv10", MigrationType.ONLINE)).isEqualTo(failed.toBuilder().targetNode("hv10")
                .migrationType(MigrationType.ONLINE).status(GuestState.PENDING).error(null).completedAt(null).build());
        assertThat(p.toBuilder().build()).isEqualTo(p);
    }

    @Test
    void aMissingTypeOrSourceIsNamed() {
        assertThatThrownBy(() -> GuestProgress.builder("d-1", 100).sourceNode("hv7").build())
                .isInstanceOfSatisfying(ValidationException.class, e -> assertThat(e.field()).isEqualTo("type"));
        assertThatThrownBy(() -> GuestProgress.builder("d-1", 100).type(GuestType.LXC).build())
                .isInstanceOfSatisfying(ValidationException.class, e -> assertThat(e.field()).isEqualTo("sourceNode"));
    }
}
