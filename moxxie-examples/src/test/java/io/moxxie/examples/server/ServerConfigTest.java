package io.moxxie.examples.server;

import org.junit.jupiter.api.Test;

import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class ServerConfigTest {
    @Test
    void withNothingSetItServesTheDemoOnLoopback8080WithStateUnderMoxxieData() {
        ServerConfig c = ServerConfig.defaults();
        assertThat(c.port()).isEqualTo(8080);
        assertThat(c.bind()).isEqualTo("127.0.0.1");
        assertThat(c.dataDir()).isEqualTo(Path.of("./moxxie-data"));
        assertThat(c.demoSpeed()).isEqualTo(10);
        assertThat(c.demo()).isTrue();
        assertThat(c.apiToken()).isNull();
        assertThat(c.loopbackOnly()).isTrue();
    }

    @Test
    void flagsOfTheSameNameOrTheirShortFormOverrideTheEnvironment() {
        ServerConfig c = ServerConfig.from(Map.of("MOXXIE_PORT", "9000", "MOXXIE_DEMO_SPEED", "5", "MOXXIE_BIND", "::1"),
                new String[]{"--MOXXIE_PORT=9090", "--demo-speed", "2.5", "--data-dir=/tmp/x"});
        assertThat(c.port()).isEqualTo(9090);
        assertThat(c.demoSpeed()).isEqualTo(2.5);
        assertThat(c.dataDir()).isEqualTo(Path.of("/tmp/x"));
        assertThat(c.bind()).isEqualTo("::1");
        assertThat(c.loopbackOnly()).isTrue();
    }

    @Test
    void badValuesAndUnknownFlagsAreNamed() {
        assertThatThrownBy(() -> ServerConfig.from(Map.of("MOXXIE_PORT", "http"), new String[0]))
                .hasMessage("MOXXIE_PORT must be a whole number, was 'http'");
        assertThatThrownBy(() -> ServerConfig.from(Map.of(), new String[]{"--MOXXIE_PORT=70000"}))
                .hasMessage("MOXXIE_PORT must be between 0 and 65535, was 70000");
        assertThatThrownBy(() -> ServerConfig.from(Map.of(), new String[]{"--speed=3"}))
                .hasMessageStartingWith("unknown flag --speed (known: --MOXXIE_PORT,");
        assertThatThrownBy(() -> ServerConfig.from(Map.of(), new String[]{"--demo-speed=0"}))
                .hasMessage("MOXXIE_DEMO_SPEED must be > 0 and <= 100000, was 0.0");
        assertThatThrownBy(() -> ServerConfig.from(Map.of(), new String[]{"--port"})).hasMessage("flag --port needs a value");
        assertThatThrownBy(() -> ServerConfig.from(Map.of("MOXXIE_PVE_URL", "https://pve1:8006"), new String[0]))
                .hasMessageContaining("MOXXIE_PVE_URL is set but MOXXIE_PVE_TOKEN is not");
    }

    @Test
    void secretsNeverAppearInItsDescription() {
        ServerConfig c = ServerConfig.from(Map.of("MOXXIE_API_TOKEN", "tok-123", "MOXXIE_JDBC_URL",
                "jdbc:postgresql://db/moxxie?user=m&password=pw-456", "MOXXIE_JDBC_PASSWORD", "pw-789", "MOXXIE_PVE_URL",
                "https://pve1:8006", "MOXXIE_PVE_TOKEN", "root@pam!moxxie=sec-000"), new String[0]);
        assertThat(c.toString()).doesNotContain("tok-123", "pw-456", "pw-789", "sec-000").contains("password=****");
    }

    @Test
    void aNonLoopbackBindNeedsAToken() {
        ServerConfig open = ServerConfig.from(Map.of("MOXXIE_BIND", "0.0.0.0"), new String[0]);
        assertThat(open.loopbackOnly()).isFalse();
        assertThatThrownBy(open::checkSafeToServe).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("MOXXIE_BIND=0.0.0.0").hasMessageContaining("MOXXIE_API_TOKEN is not set");
        ServerConfig.from(Map.of("MOXXIE_BIND", "0.0.0.0", "MOXXIE_API_TOKEN", "t"), new String[0]).checkSafeToServe();
    }

    @Test
    void theUsageListsEverySetting() {
        for (ServerConfig.Option o : ServerConfig.OPTIONS) assertThat(ServerConfig.usage()).contains(o.name());
    }
}
