package io.moxxie.core.execution;

import org.junit.jupiter.api.Test;

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
}
