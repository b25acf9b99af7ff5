package io.moxxie.core.execution;

import io.moxxie.core.ValidationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ExecutorConfigTest {
    @Test
    void theDefaultPerTargetLimitIsHalfTheConcurrencyAndAtLeastTwo() {
        ExecutorConfig c = ExecutorConfig.defaults();
        assertThat(c.perTargetLimit()).isEqualTo(ExecutorConfig.AUTO_PER_TARGET_LIMIT);
        assertThat(c.perTargetLimit(1)).isEqualTo(2);
        assertThat(c.perTargetLimit(3)).isEqualTo(2);
        assertThat(c.perTargetLimit(4)).isEqualTo(2);
        assertThat(c.perTargetLimit(5)).isEqualTo(3);
        assertThat(c.perTargetLimit(6)).isEqualTo(3);
        assertThat(c.perTargetLimit(64)).isEqualTo(32);
    }

    @Test
    void aConfiguredPerTargetLimitHoldsWhateverTheConcurrency() {
        ExecutorConfig c = ExecutorConfig.builder().perTargetLimit(1).build();
        assertThat(c.perTargetLimit(3)).isEqualTo(1);
        assertThat(c.perTargetLimit(64)).isEqualTo(1);
    }

    @Test
    void autoConcurrencyIsTwiceTheStreamsThatFillTheLink() {
        assertThat(ExecutorConfig.defaults().streamsFillingLink()).isEqualTo(3); // ceil(1.1 / 0.5)
        assertThat(ExecutorConfig.defaults().autoConcurrency()).isEqualTo(6);
        assertThat(ExecutorConfig.builder().expectedLinkBandwidth(1.25e9).expectedMigrationRate(0.6e9).build().autoConcurrency()).isEqualTo(6);
        assertThat(ExecutorConfig.builder().expectedLinkBandwidth(1e9).expectedMigrationRate(0.5e9).build().autoConcurrency()).isEqualTo(4);
        assertThat(ExecutorConfig.builder().expectedLinkBandwidth(0.1e9).expectedMigrationRate(1e9).build().autoConcurrency()).isEqualTo(2);
        // However wide the link: no more than 10 from one source (OpenSSH's MaxStartups).
        assertThat(ExecutorConfig.builder().expectedLinkBandwidth(100e9).expectedMigrationRate(0.1e9).build().autoConcurrency()).isEqualTo(10);
    }

    @Test
    void aNegativePerTargetLimitIsRejectedNamingIt() {
        assertThatThrownBy(() -> ExecutorConfig.builder().perTargetLimit(-1).build()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("perTargetLimit").hasMessageContaining("was -1");
    }

    /** Every option a configuration file may get wrong, with a value out of its range and the builder call that sets it. */
    static Stream<org.junit.jupiter.params.provider.Arguments> invalidOptions() {
        Duration zero = Duration.ZERO;
        Duration negative = Duration.ofSeconds(-1);
        return Stream.of(
                invalid("migrationTimeout", zero, b -> b.migrationTimeout(zero)),
                invalid("drainTimeout", negative, b -> b.drainTimeout(negative)),
                invalid("pollInitialDelay", zero, b -> b.pollInitialDelay(zero)),
                invalid("pollMaxDelay", zero, b -> b.pollMaxDelay(zero)),
                invalid("shutdownTimeout", zero, b -> b.shutdownTimeout(zero)),
                invalid("lockWaitTimeout", zero, b -> b.lockWaitTimeout(zero)),
                invalid("powerTimeout", zero, b -> b.powerTimeout(zero)),
                invalid("maxRetries", -1, b -> b.maxRetries(-1)),
                invalid("retryInitialDelay", zero, b -> b.retryInitialDelay(zero)),
                invalid("retryMaxDelay", zero, b -> b.retryMaxDelay(zero)),
                invalid("retriesOnNewTarget", -1, b -> b.retriesOnNewTarget(-1)),
                invalid("preconditionMaxAge", null, b -> b.preconditionMaxAge(null)),
                invalid("clusterViewMaxAge", null, b -> b.clusterViewMaxAge(null)),
                invalid("expectedMigrationRate", 0.0, b -> b.expectedMigrationRate(0)),
                invalid("expectedLinkBandwidth", -1.0, b -> b.expectedLinkBandwidth(-1)),
                invalid("expectedMigrationOverhead", null, b -> b.expectedMigrationOverhead(null)));
    }

    private static org.junit.jupiter.params.provider.Arguments invalid(String field, Object value, UnaryOperator<ExecutorConfig.Builder> set) {
        return org.junit.jupiter.params.provider.Arguments.of(field, value, set);
    }

    @ParameterizedTest(name = "{0} = {1}")
    @MethodSource("invalidOptions")
    void eachOptionOutOfItsRangeIsRejectedNamingTheOptionAndTheValue(String field, Object value, UnaryOperator<ExecutorConfig.Builder> set) {
        assertThatThrownBy(() -> set.apply(ExecutorConfig.builder()).build()).isInstanceOfSatisfying(ValidationException.class, e -> {
            assertThat(e.field()).isEqualTo(field);
            assertThat(e.value()).isEqualTo(value);
            assertThat(e.getMessage()).startsWith(field + " ").contains(value == null ? "cannot be null" : "was " + value);
        });
    }

    @Test
    void theSmallestValueOfEachOptionIsAccepted() {
        Duration tick = Duration.ofMillis(1);
        ExecutorConfig c = ExecutorConfig.builder().perTargetLimit(0).migrationTimeout(tick).drainTimeout(tick).pollInitialDelay(tick)
                .pollMaxDelay(tick).shutdownTimeout(tick).lockWaitTimeout(tick).powerTimeout(tick).maxRetries(0).retryInitialDelay(tick)
                .retryMaxDelay(tick).retriesOnNewTarget(0).preconditionMaxAge(Duration.ZERO).clusterViewMaxAge(Duration.ZERO)
                .expectedMigrationRate(1).expectedLinkBandwidth(1).expectedMigrationOverhead(Duration.ZERO).build();
        assertThat(c.toBuilder().build()).isEqualTo(c);
        assertThat(ExecutorConfig.builder().perTargetLimit(1).build().perTargetLimit(10)).isEqualTo(1);
    }
}
