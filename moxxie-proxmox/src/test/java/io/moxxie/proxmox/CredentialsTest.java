package io.moxxie.proxmox;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CredentialsTest {
    private static final String SECRET = "8a1c2b3d-0000-4e5f-9a8b-123456789abc";

    @Test
    void apiTokenIsParsedFromProxmoxsFormAndNeverShowsTheSecret() {
        ProxmoxCredentials c = ProxmoxCredentials.apiToken("moxxie@pve!drain=" + SECRET);

        assertThat(c.isApiToken()).isTrue();
        assertThat(c.principal()).isEqualTo("moxxie@pve!drain");
        assertThat(c.toString()).contains("moxxie@pve!drain").doesNotContain(SECRET);
    }

    @Test
    void malformedTokenIsRefusedWithoutRepeatingIt() {
        assertThatThrownBy(() -> ProxmoxCredentials.apiToken("moxxie@pve" + SECRET))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageNotContaining(SECRET);
        assertThatThrownBy(() -> ProxmoxCredentials.apiToken("moxxie@pve=" + SECRET))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("USER@REALM!TOKENID")
                .hasMessageNotContaining(SECRET);
    }

    @Test
    void passwordNeverShows() {
        ProxmoxCredentials c = ProxmoxCredentials.password("root@pam", "hunter2");
        assertThat(c.toString()).contains("root@pam").doesNotContain("hunter2");
        assertThat(ProxmoxClient.builder().baseUrl("pve1").credentials(c).build().toString())
                .contains("https://pve1:8006").doesNotContain("hunter2");
    }

    @Test
    void rootOnlyOptionsCannotBeSent() {
        for (String key : Params.ROOT_ONLY) {
            assertThatThrownBy(() -> Params.of().put(key, "1")).isInstanceOf(IllegalStateException.class).hasMessageContaining(key);
        }
        assertThat(Params.of().flag("online", true).flag("restart", false).entries())
                .extracting(e -> e.getKey() + "=" + e.getValue()).containsExactly("online=1", "restart=0");
    }

    @Test
    void baseUrlsGetPortAndApiPathWhenMissing() {
        assertThat(ProxmoxClient.Builder.normalize("pve1").toString()).isEqualTo("https://pve1:8006/api2/json");
        assertThat(ProxmoxClient.Builder.normalize("https://10.0.0.1:8006/").toString()).isEqualTo("https://10.0.0.1:8006/api2/json");
        assertThat(ProxmoxClient.Builder.normalize("https://pve1:8006/api2/json").toString()).isEqualTo("https://pve1:8006/api2/json");
        assertThat(ProxmoxClient.Builder.normalize("https://proxy.example/pve").toString()).isEqualTo("https://proxy.example:8006/pve/api2/json");
        assertThatThrownBy(() -> ProxmoxClient.builder().baseUrl("http://")).isInstanceOf(IllegalArgumentException.class);
    }
}
