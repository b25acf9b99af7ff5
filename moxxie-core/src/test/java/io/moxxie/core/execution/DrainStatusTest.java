package io.moxxie.core.execution;

import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.Operation;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class DrainStatusTest {
    @Test
    void aStatusIsMadeByNameAndToBuilderKeepsTheRest() {
        VmStatus web = VmStatus.builder(8200).name("web-prod-01").status(GuestState.COMPLETED).sourceNode("hv7").targetNode("hv8").build();
        DrainStatus s = DrainStatus.builder("d-1", "hv7").status(DrainState.COMPLETED).totalVMs(1).completedVMs(1).vmStatus(List.of(web))
                .startedAt(Instant.EPOCH).mode("soft").build();

        assertThat(s.operation()).isEqualTo(Operation.DRAIN);
        assertThat(s.vm(8200)).isEqualTo(web);
        assertThat(s.toBuilder().build()).isEqualTo(s);
        assertThat(s.toBuilder().status(DrainState.FAILED).build().status()).isEqualTo(DrainState.FAILED);
        assertThat(web.toBuilder().build()).isEqualTo(web);
        assertThat(DrainStatus.builder("d-2", "hv7").build().vmStatus()).isEmpty();
        assertThat(DrainStatus.builder("d-2", "hv7").build().status()).isEqualTo(DrainState.IN_PROGRESS);
    }
}
