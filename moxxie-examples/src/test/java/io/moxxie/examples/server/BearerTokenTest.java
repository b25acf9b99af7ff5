package io.moxxie.examples.server;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The bearer token is the exact bytes after {@code Bearer }: nothing trimmed, nothing folded, nothing cached. */
class BearerTokenTest extends ServerTestBase {
    private static final String TOKEN = "s3cret-token";

    @Override
    Map<String, String> settings() {
        return Map.of("MOXXIE_API_TOKEN", TOKEN);
    }

    private RawHttp.Answer drainWith(byte[] authorizationValue) {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        byte[] body = "{\"drainMode\": \"hard\"}".getBytes(StandardCharsets.UTF_8);
        head.writeBytes(("POST /api/v1/nodes/hv7/drain HTTP/1.1\r\nHost: " + RawHttp.host(server.uri())
                + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length + "\r\nAuthorization: ").getBytes(StandardCharsets.ISO_8859_1));
        head.writeBytes(authorizationValue);
        return RawHttp.send(server.uri(), head.toByteArray(), body);
    }

    @Test
    void aTokenPaddedWithNulOrSpacesOrDifferingInCaseIsRefused() {
        for (String variant : List.of("Bearer s3cret-token\0", "Bearer s3cret-token\0\0\0", "Bearer \0s3cret-token", "Bearer  s3cret-token",
                "Bearer s3cret-token\u000b", "Bearer S3CRET-TOKEN", "Bearer s3cret-tokenx", "Bearer s3cret-toke", "Bearer s3cret-token,s3cret-token",
                "Bearer\ts3cret-token", "Basic s3cret-token", "s3cret-token")) {
            RawHttp.Answer a = drainWith(variant.getBytes(StandardCharsets.ISO_8859_1));
            assertThat(a.status()).as("Authorization: %s -> %s", variant.replace("\0", "\\0"), a).isIn(400, 401);
            assertThat(a.header("Content-Type")).isEqualTo("application/json; charset=utf-8");
            assertThat(a.json().get("error").asText()).doesNotContain("Exception");
        }
        Api api = new Api(server.uri(), TOKEN);
        assertThat(api.get("/api/v1/nodes/hv7/drains").body()).isEmpty();
        assertThat(drainWith(("bearer " + TOKEN).getBytes(StandardCharsets.ISO_8859_1)).status()).isEqualTo(202);
    }

    @Test
    void onAKeptAliveConnectionATokenDifferingOnlyInCaseFromThePreviousRequestsIsRefused() {
        // Jetty's header cache matched values ignoring case: the second request was read with the first one's token.
        Api client = new Api(server.uri(), TOKEN);
        assertThat(client.get("/api/v1/nodes").status()).isEqualTo(200);
        for (String wrong : List.of("Bearer s3cret-tokeN", "Bearer S3CRET-TOKEN", "BEARER S3cret-token")) {
            Api.Result r = client.call("POST", "/api/v1/nodes/hv7/drain", "{\"drainMode\": \"hard\"}", wrong);
            assertThat(r.status()).as("%s -> %s", wrong, r).isEqualTo(401);
            assertThat(client.get("/api/v1/nodes").status()).isEqualTo(200);
        }
        assertThat(client.get("/api/v1/nodes/hv7/drains").body()).isEmpty();
    }

    @Test
    void aShortTokenIsRefusedAtStartWhenTheApiIsReachableFromOtherMachines(@TempDir Path other) {
        assertThatThrownBy(() -> TestServers.start(other, Map.of("MOXXIE_BIND", "0.0.0.0", "MOXXIE_API_TOKEN", "fifteen-chars!!")))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("MOXXIE_API_TOKEN has 15 characters, fewer than 16")
                .hasMessageContaining("can be guessed")
                .hasMessageNotContaining("fifteen-chars!!");
        MoxxieServer open = TestServers.start(other, Map.of("MOXXIE_BIND", "0.0.0.0", "MOXXIE_API_TOKEN", "sixteen-chars!!!"));
        open.close();
        // On loopback only, a short token is the operator's business (only this machine can try it).
        MoxxieServer local = TestServers.start(other, Map.of("MOXXIE_API_TOKEN", "short"));
        local.close();
    }
}
