package io.moxxie.core.plan;

import io.moxxie.core.model.DrainMode;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DrainRequestTest {
    @Test
    void defaultsAreTheGuides() {
        DrainRequest r = DrainRequest.soft("hv7");
        assertThat(r.mode()).isEqualTo(DrainMode.SOFT);
        assertThat(r.parallel()).isTrue();
        assertThat(r.maxConcurrent()).isEqualTo(3);
        assertThat(r.allowOffline()).isFalse();
        assertThat(r.targetNode()).isEmpty();
        assertThat(r.offlineAllowed()).isFalse();
        assertThat(DrainRequest.hard("hv7").offlineAllowed()).isTrue();
        assertThat(DrainRequest.builder("hv7").parallel(false).maxConcurrent(5).build().effectiveConcurrency(6)).isEqualTo(1);
    }

    @Test
    void badInputIsRejectedNamingFieldAndValue() {
        assertThatThrownBy(() -> DrainRequest.builder(null).build()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("node cannot be null");
        assertThatThrownBy(() -> DrainRequest.builder("").build()).hasMessageContaining("node").hasMessageContaining("''");
        assertThatThrownBy(() -> DrainRequest.builder("hv7").maxConcurrent(0).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxConcurrent").hasMessageContaining("was 0");
        assertThatThrownBy(() -> DrainRequest.builder("hv7").maxConcurrent(-2).build()).hasMessageContaining("was -2");
        assertThatThrownBy(() -> DrainRequest.builder("hv7").maxConcurrent(65).build()).hasMessageContaining("between 1 and 64");
        assertThatThrownBy(() -> DrainRequest.builder("hv7").mode("medium")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("drainMode").hasMessageContaining("'medium'");
        assertThatThrownBy(() -> DrainRequest.builder("hv7").targetNode("hv7").build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("targetNode").hasMessageContaining("'hv7'");
        assertThatThrownBy(() -> DrainRequest.builder("hv7").mode((DrainMode) null).build()).hasMessageContaining("drainMode");
    }

    @Test
    void modeParsingIsCaseInsensitiveAndBlankTargetMeansAuto() {
        assertThat(DrainRequest.builder("hv7").mode("HARD").build().mode()).isEqualTo(DrainMode.HARD);
        assertThat(DrainRequest.builder("hv7").targetNode(" ").build().targetNode()).isEmpty();
    }

    @Test
    void autoConcurrencyTakesTheExecutorsChoiceUnlessNotParallel() {
        DrainRequest auto = DrainRequest.builder("hv7").maxConcurrent(5).autoConcurrency(true).build();
        assertThat(auto.autoConcurrency()).isTrue();
        assertThat(auto.effectiveConcurrency(6)).isEqualTo(6);
        assertThat(auto.toString()).contains("maxConcurrent=auto");
        assertThat(auto.toBuilder().build()).isEqualTo(auto);
        assertThat(auto.toBuilder().parallel(false).build().effectiveConcurrency(6)).isEqualTo(1);
        assertThat(DrainRequest.builder("hv7").maxConcurrent(5).build().effectiveConcurrency(6)).isEqualTo(5);
    }
}
