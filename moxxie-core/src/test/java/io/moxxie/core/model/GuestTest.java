package io.moxxie.core.model;

import io.moxxie.core.ValidationException;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GuestTest {
    private static final long GIB = 1L << 30;

    @Test
    void aGuestIsMadeByNameWithTheRestDefaulted() {
        Guest web = Guest.qemu(8200, "hv7").name("web-prod-01").tags(List.of("always-on")).memory(8 * GIB).build();

        assertThat(web).isEqualTo(new Guest(8200, "web-prod-01", "hv7", GuestType.QEMU, PowerState.RUNNING, List.of("always-on"),
                8 * GIB, 0, false, false, null));
        assertThat(Guest.lxc(8300, "hv7").build().type()).isEqualTo(GuestType.LXC);
        assertThat(Guest.lxc(8300, "hv7").build().name()).isEmpty();
        assertThat(Guest.lxc(8300, "hv7").build().running()).isTrue();
    }

    @Test
    void toBuilderKeepsEveryFieldItIsNotTold() {
        Guest g = Guest.builder(9302, "hv10", GuestType.QEMU).name("tpl").status(PowerState.STOPPED).tags(List.of("a", "b"))
                .memory(4 * GIB).memoryUsed(GIB).template(true).haManaged(true).lock("backup").build();

        assertThat(g.toBuilder().build()).isEqualTo(g);
        assertThat(g.toBuilder().node("hv7").build()).isEqualTo(g.withNode("hv7"));
        assertThat(g.toBuilder().lock(null).build()).isEqualTo(g.withLock(null));
    }

    @Test
    void theBuilderValidatesAsTheConstructorDoesNamingTheField() {
        assertThatThrownBy(() -> Guest.qemu(0, "hv7").build()).isInstanceOfSatisfying(ValidationException.class, e -> {
            assertThat(e.field()).isEqualTo("vmid");
            assertThat(e.value()).isEqualTo(0);
        }).hasMessage("vmid must be > 0, was 0");
        assertThatThrownBy(() -> Guest.qemu(100, "hv 7").build()).isInstanceOfSatisfying(ValidationException.class,
                e -> assertThat(e.field()).isEqualTo("node"));
        assertThatThrownBy(() -> Guest.qemu(100, "hv7").memory(-1).build()).isInstanceOfSatisfying(ValidationException.class,
                e -> assertThat(e.field()).isEqualTo("memory"));
    }
}
