package io.moxxie.examples.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A web page the operator opens cannot drive the loopback server: not with a cross-site "simple" request (a form, a
 * {@code text/plain} body), not through DNS rebinding (a foreign {@code Host}), and it is never granted CORS. Each
 * refusal is 403 with the header at fault and changes nothing; the server's own origin and scripts keep working.
 */
class CrossSiteTest extends ServerTestBase {
    private static final String EVIL = "https://evil.example";

    @Override
    Map<String, String> settings() {
        return Map.of("MOXXIE_ALLOWED_HOSTS", "moxxie.example.org, proxy.example.org:8443");
    }

    private RawHttp.Answer send(String method, String path, List<String> headers, String body) {
        StringBuilder head = new StringBuilder(method + " " + path + " HTTP/1.1");
        boolean host = headers.stream().anyMatch(h -> h.regionMatches(true, 0, "Host:", 0, 5));
        if (!host) head.append("\r\nHost: ").append(RawHttp.host(server.uri()));
        for (String h : headers) head.append("\r\n").append(h);
        byte[] bytes = body == null ? null : body.getBytes(StandardCharsets.UTF_8);
        if (bytes != null) head.append("\r\nContent-Length: ").append(bytes.length);
        return RawHttp.send(server.uri(), head.toString(), bytes);
    }

    private void assertForbidden(RawHttp.Answer a, String field, String... errorContains) {
        assertThat(a.status()).as("%s", a).isEqualTo(403);
        assertThat(a.header("Content-Type")).isEqualTo("application/json; charset=utf-8");
        if (errorContains.length > 0) assertThat(a.json().get("error").asText()).contains(errorContains);
        assertThat(a.json().get("field").asText()).isEqualTo(field);
        assertThat(a.header("Access-Control-Allow-Origin")).isNull();
    }

    private JsonNode drains(String node) {
        return api.get("/api/v1/nodes/" + node + "/drains").body();
    }

    @Test
    void aCrossSiteTextPlainDrainIsRefusedAndStartsNothing() {
        RawHttp.Answer withOrigin = send("POST", "/api/v1/nodes/hv8/drain", List.of("Content-Type: text/plain", "Origin: " + EVIL),
                "{\"drainMode\": \"hard\"}");
        assertForbidden(withOrigin, "Origin", "cross-site request refused", "Origin '" + EVIL + "'");

        RawHttp.Answer textPlain = send("POST", "/api/v1/nodes/hv8/drain", List.of("Content-Type: text/plain"), "{\"drainMode\": \"hard\"}");
        assertForbidden(textPlain, "Content-Type", "must have a JSON body (Content-Type: application/json) or none", "'text/plain'");
        RawHttp.Answer noType = send("POST", "/api/v1/nodes/hv8/drain", List.of(), "{\"drainMode\": \"hard\"}");
        assertForbidden(noType, "Content-Type", "Content-Type was missing");

        assertThat(drains("hv8")).isEmpty();
        assertThat(api.get("/api/v1/vms?node=hv8").body().size()).isPositive();
    }

    @Test
    void anHtmlFormPostingMaintenanceIsRefused() {
        JsonNode before = api.get("/api/v1/nodes/hv9/maintenance").body();
        String path = "/api/v1/nodes/hv9/maintenance?drain=true&reason=pwned";
        // What a browser sends for <form method=post action=...> on another site: a form type, an empty body, its origin.
        assertForbidden(send("POST", path, List.of("Content-Type: application/x-www-form-urlencoded", "Origin: " + EVIL), ""), "Origin");
        assertForbidden(send("POST", path, List.of("Content-Type: application/x-www-form-urlencoded", "Origin: null"), ""), "Origin");
        assertForbidden(send("POST", path, List.of("Content-Type: application/x-www-form-urlencoded", "Referer: " + EVIL + "/page.html"), ""),
                "Referer", "Referer '" + EVIL + "/page.html'");
        assertForbidden(send("POST", path, List.of("Content-Type: application/x-www-form-urlencoded"), ""), "Content-Type");
        assertForbidden(send("DELETE", "/api/v1/nodes/hv9/maintenance", List.of("Content-Type: text/plain"), ""), "Content-Type");

        assertThat(api.get("/api/v1/nodes/hv9/maintenance").body()).isEqualTo(before);
        assertThat(drains("hv9")).isEmpty();
    }

    @Test
    void aForeignHostHeaderDnsRebindingGetsNoData() {
        int port = server.port();
        RawHttp.Answer rebound = send("GET", "/api/v1/vms", List.of("Host: evil.example:" + port), null);
        assertForbidden(rebound, "Host", "Host header 'evil.example:" + port + "' does not name this server", "MOXXIE_ALLOWED_HOSTS");
        assertThat(rebound.body()).doesNotContain("web-prod-01");
        assertForbidden(send("GET", "/api/v1/nodes", List.of("Host: localhost:" + (port == 1 ? 2 : 1)), null), "Host");
        assertForbidden(send("GET", "/api/v1/nodes", List.of("Host: 127.0.0.1.evil.example:" + port), null), "Host");
        assertForbidden(send("POST", "/api/v1/nodes/hv8/drain", List.of("Host: evil.example", "Content-Type: application/json"),
                "{\"drainMode\": \"hard\"}"), "Host");
        assertThat(drains("hv8")).isEmpty();

        for (String own : List.of("127.0.0.1:" + port, "localhost:" + port, "LOCALHOST:" + port, "[::1]:" + port,
                "moxxie.example.org", "moxxie.example.org:443", "proxy.example.org:8443")) {
            RawHttp.Answer a = send("GET", "/api/v1/nodes", List.of("Host: " + own), null);
            assertThat(a.status()).as("Host: %s -> %s", own, a).isEqualTo(200);
        }
        assertForbidden(send("GET", "/api/v1/nodes", List.of("Host: proxy.example.org:8080"), null), "Host");
    }

    @Test
    void noOriginIsEverGrantedCorsAndTheServersOwnOriginWorks() {
        RawHttp.Answer preflight = send("OPTIONS", "/api/v1/nodes/hv8/drain", List.of("Origin: " + EVIL,
                "Access-Control-Request-Method: POST", "Access-Control-Request-Headers: content-type"), null);
        assertThat(preflight.status()).isEqualTo(403);
        assertThat(preflight.header("Access-Control-Allow-Origin")).isNull();
        RawHttp.Answer read = send("GET", "/api/v1/vms", List.of("Origin: " + EVIL), null);
        assertForbidden(read, "Origin");
        assertThat(read.body()).doesNotContain("web-prod-01");

        // The dashboard, served from this origin, sends JSON with its own Origin and Referer.
        String own = server.uri().toString();
        RawHttp.Answer same = send("POST", "/api/v1/nodes/hv8/drain?dryRun=true", List.of("Content-Type: application/json; charset=utf-8",
                "Origin: " + own, "Referer: " + own + "/"), "{\"drainMode\": \"hard\"}");
        assertThat(same.status()).as("%s", same).isEqualTo(200);
        assertThat(same.header("Access-Control-Allow-Origin")).isNull();
        RawHttp.Answer viaName = send("POST", "/api/v1/nodes/hv8/maintenance?reason=ok", List.of("Host: localhost:" + server.port(),
                "Origin: http://localhost:" + server.port()), null);
        assertThat(viaName.status()).as("%s", viaName).isEqualTo(200);
        assertThat(api.delete("/api/v1/nodes/hv8/maintenance").status()).isEqualTo(200);
    }

    @Test
    void scriptsWithoutABodyOrWithJsonKeepWorking() {
        // curl -X POST .../maintenance (no body, no Content-Type) and curl -H 'Content-Type: application/json' -d '{...}'
        assertThat(send("POST", "/api/v1/nodes/hv8/maintenance?reason=ok", List.of(), null).status()).isEqualTo(200);
        assertThat(send("DELETE", "/api/v1/nodes/hv8/maintenance", List.of(), null).status()).isEqualTo(200);
        RawHttp.Answer drain = send("POST", "/api/v1/nodes/hv8/drain", List.of("Content-Type: application/json"), "{\"drainMode\": \"soft\"}");
        assertThat(drain.status()).as("%s", drain).isEqualTo(202);
        api.awaitFinished("hv8", drain.json().get("drainId").asText(), Duration.ofSeconds(30));
    }
}
