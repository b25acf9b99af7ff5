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
        ServerConfig.from(Map.of("MOXXIE_BIND", "0.0.0.0", "MOXXIE_API_TOKEN", "t0ken-of-16-chars"), new String[0]).checkSafeToServe();
    }

    @Test
    void aPlainHttpProxmoxUrlIsRefusedUnlessExplicitlyAllowedForALab() {
        Map<String, String> plain = Map.of("MOXXIE_PVE_URL", "https://pve1:8006,http://pve2:8006", "MOXXIE_PVE_TOKEN", "root@pam!moxxie=sec-000");
        assertThatThrownBy(() -> ServerConfig.from(plain, new String[0]))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("MOXXIE_PVE_URL http://pve2:8006 is plain HTTP: the API token would cross the network in clear text")
                .hasMessageContaining("https://<node>:8006").hasMessageContaining("MOXXIE_PVE_ALLOW_PLAIN_HTTP=true")
                .hasMessageNotContaining("sec-000");
        assertThatThrownBy(() -> ServerConfig.from(Map.of("MOXXIE_PVE_URL", "pve1:8006", "MOXXIE_PVE_TOKEN", "t"), new String[0]))
                .hasMessage("MOXXIE_PVE_URL must start with https://, was 'pve1:8006'");
        ServerConfig lab = ServerConfig.from(plain, new String[]{"--pve-allow-plain-http"});
        assertThat(lab.pveAllowPlainHttp()).isTrue();
        assertThat(ServerConfig.from(Map.of("MOXXIE_PVE_URL", "HTTPS://pve1:8006", "MOXXIE_PVE_TOKEN", "t"), new String[0]).pveAllowPlainHttp()).isFalse();
    }

    @Test
    void insecureTogetherWithAFingerprintOrACaIsAConfigurationErrorNamingBoth() {
        Map<String, String> base = Map.of("MOXXIE_PVE_URL", "https://pve1:8006", "MOXXIE_PVE_TOKEN", "root@pam!moxxie=sec-000",
                "MOXXIE_PVE_INSECURE", "true");
        java.util.HashMap<String, String> withFingerprint = new java.util.HashMap<>(base);
        withFingerprint.put("MOXXIE_PVE_FINGERPRINT", "AB:CD");
        assertThatThrownBy(() -> ServerConfig.from(withFingerprint, new String[0]))
                .hasMessageStartingWith("MOXXIE_PVE_INSECURE=true contradicts MOXXIE_PVE_FINGERPRINT");
        java.util.HashMap<String, String> withCa = new java.util.HashMap<>(base);
        withCa.put("MOXXIE_PVE_CA", "/etc/pve/pve-root-ca.pem");
        assertThatThrownBy(() -> ServerConfig.from(withCa, new String[0]))
                .hasMessageStartingWith("MOXXIE_PVE_INSECURE=true contradicts MOXXIE_PVE_CA");
        assertThat(ServerConfig.from(base, new String[0]).pveInsecure()).isTrue();
    }

    @Test
    void allowedHostsIdleTimeoutAndLeaseAreRead() {
        ServerConfig c = ServerConfig.from(Map.of("MOXXIE_ALLOWED_HOSTS", " Moxxie.Example.org, proxy:8443 ,, [fe80::1]:80",
                "MOXXIE_HTTP_IDLE_TIMEOUT", "2.5", "MOXXIE_LEASE", "6"), new String[0]);
        assertThat(c.allowedHosts()).containsExactly("moxxie.example.org", "proxy:8443", "[fe80::1]:80");
        assertThat(c.idleTimeout()).isEqualTo(java.time.Duration.ofMillis(2500));
        assertThat(c.lease()).isEqualTo(java.time.Duration.ofSeconds(6));
        assertThat(ServerConfig.defaults().idleTimeout()).isEqualTo(java.time.Duration.ofSeconds(30));
        assertThat(ServerConfig.defaults().lease()).isEqualTo(java.time.Duration.ofSeconds(60));
        assertThatThrownBy(() -> ServerConfig.from(Map.of("MOXXIE_ALLOWED_HOSTS", "https://moxxie.example.org/"), new String[0]))
                .hasMessageContaining("MOXXIE_ALLOWED_HOSTS must list host names").hasMessageContaining("'https://moxxie.example.org/'");
        assertThatThrownBy(() -> ServerConfig.from(Map.of("MOXXIE_HTTP_IDLE_TIMEOUT", "0"), new String[0]))
                .hasMessage("MOXXIE_HTTP_IDLE_TIMEOUT must be > 0 and <= 86400 seconds, was '0'");
    }

    @Test
    void theUsageListsEverySetting() {
        for (ServerConfig.Option o : ServerConfig.OPTIONS) assertThat(ServerConfig.usage()).contains(o.name());
    }

    @Test
    void rolloutActionsComeFromTheirSettingsNamedLowerCaseAndTheirCommandsNeverShow() {
        ServerConfig c = ServerConfig.from(Map.of("MOXXIE_ROLLOUT_ACTION_APT_UPGRADE", "ssh root@\"$MOXXIE_NODE\" apt-get -y dist-upgrade",
                        "MOXXIE_ROLLOUTS", "not an action"),
                new String[]{"--MOXXIE_ROLLOUT_ACTION_HA_MAINTENANCE=ha-manager crm-command node-maintenance enable \"$MOXXIE_NODE\"",
                        "--rollout-action-reboot", "ssh root@\"$MOXXIE_NODE\" reboot"});
        assertThat(c.rolloutActions()).containsOnlyKeys("apt-upgrade", "ha-maintenance", "reboot");
        assertThat(c.rolloutActions().get("reboot")).isEqualTo("ssh root@\"$MOXXIE_NODE\" reboot");
        assertThat(c.toString()).contains("rolloutActions=[apt-upgrade, ha-maintenance, reboot]").doesNotContain("ssh", "dist-upgrade");
        assertThat(ServerConfig.defaults().rolloutActions()).isEmpty();
        assertThat(ServerConfig.usage()).contains("MOXXIE_ROLLOUT_ACTION_<NAME>");

        assertThatThrownBy(() -> ServerConfig.from(Map.of("MOXXIE_ROLLOUT_ACTION_CONTINUE", "true"), new String[0]))
                .hasMessageContaining("MOXXIE_ROLLOUT_ACTION_CONTINUE cannot be set: 'continue' is the built-in action");
        assertThatThrownBy(() -> ServerConfig.from(Map.of("MOXXIE_ROLLOUT_ACTION_PATCH", " "), new String[0]))
                .hasMessageContaining("MOXXIE_ROLLOUT_ACTION_PATCH is empty");
        assertThatThrownBy(() -> ServerConfig.from(Map.of("MOXXIE_ROLLOUT_ACTION_", "true"), new String[0]))
                .hasMessageContaining("must name an action").hasMessageContaining("was ''");
        assertThatThrownBy(() -> ServerConfig.from(Map.of(), new String[]{"--MOXXIE_ROLLOUT_ACTION_X"}))
                .hasMessage("flag --MOXXIE_ROLLOUT_ACTION_X needs a value");
    }
}
