package io.moxxie.core.model;

import io.moxxie.core.ValidationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ConcurrencyTest {
    @Test
    void serialRunsOneFixedRunsNAndAutoRunsTheExecutorsChoice() {
        assertThat(Concurrency.serial().resolve(6)).isEqualTo(1);
        assertThat(Concurrency.fixed(5).resolve(6)).isEqualTo(5);
        assertThat(Concurrency.auto().resolve(6)).isEqualTo(6);
        assertThat(Concurrency.serial().kind()).isEqualTo(Concurrency.Kind.SERIAL);
        assertThat(Concurrency.fixed(1).kind()).isEqualTo(Concurrency.Kind.FIXED);
        assertThat(Concurrency.auto().isAuto()).isTrue();
        assertThat(Concurrency.fixed(1)).isNotEqualTo(Concurrency.serial());
    }

    @ParameterizedTest
    @ValueSource(strings = {"serial", "auto", "1", "3", "64"})
    void toStringRoundTripsThroughParse(String text) {
        Concurrency c = Concurrency.parse(text);
        assertThat(c).hasToString(text);
        assertThat(Concurrency.parse(c.toString())).isEqualTo(c).hasSameHashCodeAs(c);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, -1, 65, Integer.MAX_VALUE})
    void aFixedConcurrencyOutside1To64IsRefusedNamingMaxConcurrent(int n) {
        assertThatThrownBy(() -> Concurrency.fixed(n)).isInstanceOfSatisfying(ValidationException.class, e -> {
            assertThat(e.field()).isEqualTo("maxConcurrent");
            assertThat(e.value()).isEqualTo(n);
            assertThat(e).hasMessage("maxConcurrent must be between 1 and 64, was " + n);
        });
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "AUTO", "Serial", "-3", "3.5", " 3", "9999999999"})
    void parseRefusesAnythingElseNamingTheValue(String text) {
        assertThatThrownBy(() -> Concurrency.parse(text)).isInstanceOfSatisfying(ValidationException.class, e -> {
            assertThat(e.field()).isEqualTo("maxConcurrent");
            assertThat(e.value()).isEqualTo(text);
            assertThat(e).hasMessageContaining("'" + text + "'");
        });
        assertThatThrownBy(() -> Concurrency.parse("0")).hasMessage("maxConcurrent must be between 1 and 64, was 0");
        assertThatThrownBy(() -> Concurrency.parse(null)).isInstanceOf(ValidationException.class).hasMessageContaining("was 'null'");
    }
}
