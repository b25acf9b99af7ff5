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

    @Test
    void theHeaderFormIsAcceptedAndEveryMalformedPartIsNamedWithoutTheSecret() {
        ProxmoxCredentials c = ProxmoxCredentials.apiToken(" PVEAPIToken=moxxie@pve!drain=" + SECRET + " ");
        assertThat(c.principal()).isEqualTo("moxxie@pve!drain");
        assertThat(c.secret()).isEqualTo(SECRET);
        assertThat(c.kind()).isEqualTo(ProxmoxCredentials.Kind.API_TOKEN);
        assertThat(c.describe()).isEqualTo("API token moxxie@pve!drain");
        assertThat(c).isEqualTo(ProxmoxCredentials.apiToken("moxxie@pve!drain", SECRET))
                .hasSameHashCodeAs(ProxmoxCredentials.apiToken("moxxie@pve!drain", SECRET))
                .isNotEqualTo(ProxmoxCredentials.apiToken("moxxie@pve!drain", SECRET + "x"))
                .isNotEqualTo(ProxmoxCredentials.apiToken("moxxie@pve!other", SECRET))
                .isNotEqualTo(ProxmoxCredentials.password("moxxie@pve", SECRET));

        assertThatThrownBy(() -> ProxmoxCredentials.apiToken("=" + SECRET)).as("no token id")
                .hasMessageContaining("USER@REALM!TOKENID=SECRET").hasMessageNotContaining(SECRET);
        assertThatThrownBy(() -> ProxmoxCredentials.apiToken("moxxie@pve!drain=")).as("no secret")
                .hasMessageContaining("USER@REALM!TOKENID=SECRET");
        assertThatThrownBy(() -> ProxmoxCredentials.apiToken("moxxie@pve!drain", "  ")).as("blank secret")
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("secret");
        assertThatThrownBy(() -> ProxmoxCredentials.apiToken("moxxie!drain", SECRET)).as("no realm")
                .hasMessageContaining("tokenId").hasMessageContaining("'moxxie!drain'");
        assertThat(ProxmoxCredentials.apiToken("moxxie@pve!d=" + SECRET.substring(0, 1)).secret())
                .as("a one-character secret is still a secret").isEqualTo(SECRET.substring(0, 1));
    }

    @Test
    void aPasswordNeedsAUserWithItsRealmAndIsKeptAsGiven() {
        ProxmoxCredentials c = ProxmoxCredentials.password(" root@pam ", " hunter2 ");
        assertThat(c.isApiToken()).isFalse();
        assertThat(c.kind()).isEqualTo(ProxmoxCredentials.Kind.PASSWORD);
        assertThat(c.principal()).isEqualTo("root@pam");
        assertThat(c.secret()).as("spaces in a password are part of it").isEqualTo(" hunter2 ");
        assertThat(c.describe()).isEqualTo("user root@pam");
        assertThat(c.toString()).isEqualTo("Password[root@pam, secret=***]");
        assertThat(ProxmoxCredentials.apiToken("moxxie@pve!drain", SECRET).toString())
                .isEqualTo("ApiToken[moxxie@pve!drain, secret=***]");

        assertThatThrownBy(() -> ProxmoxCredentials.password("root", "hunter2"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("user").hasMessageContaining("'root'")
                .hasMessageNotContaining("hunter2");
        assertThatThrownBy(() -> ProxmoxCredentials.password("root@pam", ""))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("password");
    }
}
