package io.moxxie.core.plan;

import io.moxxie.core.ValidationException;
import io.moxxie.core.model.Concurrency;
import io.moxxie.core.model.DrainMode;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class DrainRequestTest {
    @Test
    void defaultsAreTheGuides() {
        DrainRequest r = DrainRequest.soft("hv7");
        assertThat(r.mode()).isEqualTo(DrainMode.SOFT);
        assertThat(r.concurrency()).isEqualTo(Concurrency.fixed(3));
        assertThat(r.allowOffline()).isFalse();
        assertThat(r.targetNode()).isEmpty();
        assertThat(r.offlineAllowed()).isFalse();
        assertThat(DrainRequest.hard("hv7").offlineAllowed()).isTrue();
        assertThat(DrainRequest.builder("hv7").concurrency(Concurrency.serial()).build().concurrency().resolve(6)).isEqualTo(1);
    }

    @Test
    void badInputIsRejectedNamingFieldAndValue() {
        assertThatThrownBy(() -> DrainRequest.builder(null).build()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("node cannot be null");
        assertThatThrownBy(() -> DrainRequest.builder("").build()).hasMessageContaining("node").hasMessageContaining("''");
        assertThatThrownBy(() -> DrainRequest.builder("hv7").concurrency(Concurrency.fixed(0)).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxConcurrent").hasMessageContaining("was 0");
        assertThatThrownBy(() -> DrainRequest.builder("hv7").concurrency(Concurrency.fixed(-2)).build()).hasMessageContaining("was -2");
        assertThatThrownBy(() -> DrainRequest.builder("hv7").concurrency(Concurrency.fixed(65)).build()).hasMessageContaining("between 1 and 64");
        assertThatThrownBy(() -> DrainRequest.builder("hv7").concurrency(null).build()).hasMessageContaining("maxConcurrent cannot be null");
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
    void failuresAreValidationExceptionsCarryingTheFieldAndTheValue() {
        assertThatThrownBy(() -> DrainRequest.builder("hv7").concurrency(Concurrency.fixed(65)).build())
                .isInstanceOfSatisfying(ValidationException.class, e -> {
                    assertThat(e.field()).isEqualTo("maxConcurrent");
                    assertThat(e.value()).isEqualTo(65);
                    assertThat(e).hasMessage("maxConcurrent must be between 1 and 64, was 65");
                });
        assertThatThrownBy(() -> DrainRequest.builder("hv7").targetNode("hv7").build())
                .isInstanceOfSatisfying(ValidationException.class, e -> {
                    assertThat(e.field()).isEqualTo("targetNode");
                    assertThat(e.value()).isEqualTo("hv7");
                });
        assertThatThrownBy(() -> DrainRequest.builder("hv 7").build())
                .isInstanceOfSatisfying(ValidationException.class, e -> assertThat(e.field()).isEqualTo("node"));
        assertThatThrownBy(() -> DrainRequest.builder("hv7").mode("medium"))
                .isInstanceOfSatisfying(ValidationException.class, e -> {
                    assertThat(e.field()).isEqualTo("drainMode");
                    assertThat(e.value()).isEqualTo("medium");
                });
    }

    @Test
    void autoConcurrencyStaysAutoAndTakesTheExecutorsChoice() {
        DrainRequest auto = DrainRequest.builder("hv7").concurrency(Concurrency.auto()).build();
        assertThat(auto.concurrency().isAuto()).isTrue();
        assertThat(auto.concurrency().resolve(6)).isEqualTo(6);
        assertThat(auto.toString()).contains("concurrency=auto");
        assertThat(auto.toBuilder().build()).isEqualTo(auto).hasSameHashCodeAs(auto);
        assertThat(auto.toBuilder().concurrency(Concurrency.serial()).build()).isNotEqualTo(auto);
        assertThat(DrainRequest.builder("hv7").concurrency(Concurrency.fixed(5)).build().concurrency().resolve(6)).isEqualTo(5);
    }
}
