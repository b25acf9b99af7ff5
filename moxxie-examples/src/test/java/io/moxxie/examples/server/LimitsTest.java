package io.moxxie.examples.server;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The server's limits, against a server on a free port: bodies, nesting, slow clients, many clients; and every
 * error Jetty itself produces is the API's JSON, never an HTML page or an exception's class name.
 */
class LimitsTest extends ServerTestBase {
    private String host() {
        return RawHttp.host(server.uri());
    }

    private static void assertJsonError(RawHttp.Answer a, int status, String... errorContains) {
        assertThat(a.status()).as("%s", a).isEqualTo(status);
        assertThat(a.header("Content-Type")).as("%s", a).isEqualTo("application/json; charset=utf-8");
        assertThat(a.json().get("error").asText()).doesNotContain("Exception", "jetty", "javalin", "<");
        if (errorContains.length > 0) assertThat(a.json().get("error").asText()).contains(errorContains);
        assertThat(a.body()).doesNotContain("<h1>", "<html");
    }

    @Test
    void aBodyAnnouncedLargerThan1MiBIs413BeforeItIsSent() {
        // Only the headers and 10 bytes go out: the answer comes without the server waiting for the 2 MiB.
        RawHttp.Answer a = RawHttp.send(server.uri(), "POST /api/v1/nodes/hv7/drain HTTP/1.1\r\nHost: " + host()
                + "\r\nContent-Type: application/json\r\nContent-Length: " + (2 << 20), "{\"drainM".getBytes(StandardCharsets.UTF_8));
        assertJsonError(a, 413, "request body larger than 1048576 bytes");
        assertThat(api.get("/api/v1/nodes/hv7/drains").body()).isEmpty();
    }

    @Test
    void aChunkedBodyLargerThan1MiBIs413() throws Exception {
        byte[] big = new byte[(1 << 20) + 100];
        java.util.Arrays.fill(big, (byte) ' ');
        big[0] = '{';
        big[big.length - 1] = '}';
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpRequest r = HttpRequest.newBuilder(server.uri().resolve("/api/v1/nodes/hv7/drain")).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(big))).build();
        HttpResponse<String> response = client.send(r, HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(413);
        assertThat(response.body()).contains("request body larger than 1048576 bytes");
        // Exactly 1 MiB is still read.
        byte[] limit = java.util.Arrays.copyOf(big, 1 << 20);
        limit[limit.length - 1] = '}';
        assertThat(api.post("/api/v1/nodes/hv7/drain?dryRun=true", new String(limit, StandardCharsets.UTF_8)).status()).isEqualTo(200);
    }

    @Test
    void deeplyNestedJsonIs400() {
        String deep = "{\"drainMode\": " + "[".repeat(5000) + "]".repeat(5000) + "}";
        Api.Result r = api.post("/api/v1/nodes/hv7/drain", deep);
        assertThat(r.status()).isEqualTo(400);
        assertThat(r.error()).isEqualTo("malformed JSON: nested deeper than 32 levels");
        String just = "{\"drainMode\": " + "[".repeat(31) + "]".repeat(31) + "}";
        assertThat(api.post("/api/v1/nodes/hv7/drain", just).error()).isEqualTo("drainMode must be a string, was " + "[".repeat(31) + "]".repeat(31));
        assertThat(api.get("/api/v1/nodes/hv7/drains").body()).isEmpty();
    }

    @Test
    void slowClientsAreCutOffAndDoNotStopOthersFromBeingServed(@TempDir Path other) throws Exception {
        restart(other, Map.of("MOXXIE_HTTP_IDLE_TIMEOUT", "1"));
        List<Socket> slow = new ArrayList<>();
        try {
            for (int i = 0; i < 200; i++) {
                Socket s = new Socket();
                s.connect(new InetSocketAddress(server.uri().getHost(), server.port()), 5000);
                s.setSoTimeout(30_000);
                // Half a request, then nothing: the slowloris pattern.
                s.getOutputStream().write(("POST /api/v1/nodes/hv7/drain HTTP/1.1\r\nHost: " + host() + "\r\nContent-Type: application/json\r\n"
                        + (i % 2 == 0 ? "X-Slow: " : "Content-Length: 100\r\n\r\n{\"drain")).getBytes(StandardCharsets.ISO_8859_1));
                s.getOutputStream().flush();
                slow.add(s);
            }
            for (int i = 0; i < 20; i++) assertThat(api.get("/api/v1/nodes").status()).isEqualTo(200);
            // Each slow connection is closed by the server (after its idle timeout of 1 s here), with at most an error answer.
            for (Socket s : slow) {
                InputStream in = s.getInputStream();
                try {
                    byte[] rest = in.readAllBytes();
                    String text = new String(rest, StandardCharsets.ISO_8859_1);
                    assertThat(text).satisfiesAnyOf(t -> assertThat(t).isEmpty(), t -> assertThat(t).startsWith("HTTP/1.1 408"));
                    assertThat(text).doesNotContain("<html", "HTTP/1.1 202");
                } catch (SocketTimeoutException e) {
                    throw new AssertionError("a connection sending half a request was still open after 30 s", e);
                } catch (IOException e) {
                    // reset by the server: closed too
                }
            }
        } finally {
            for (Socket s : slow) s.close();
        }
        assertThat(api.get("/api/v1/nodes/hv7/drains").body()).isEmpty();
    }

    @Test
    void aThousandConcurrentNodeListsAreAllAnswered() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(16);
        try {
            HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).executor(pool)
                    .connectTimeout(Duration.ofSeconds(30)).build();
            HttpRequest r = HttpRequest.newBuilder(server.uri().resolve("/api/v1/nodes")).timeout(Duration.ofSeconds(120)).build();
            List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
            for (int i = 0; i < 1000; i++) all.add(client.sendAsync(r, HttpResponse.BodyHandlers.ofString()));
            CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)).get(180, TimeUnit.SECONDS);
            for (CompletableFuture<HttpResponse<String>> f : all) {
                assertThat(f.get().statusCode()).isEqualTo(200);
                assertThat(f.get().body()).contains("\"node\": \"hv7\"", "\"node\": \"hv10\"");
            }
        } finally {
            pool.shutdownNow();
        }
    }

    // ------------------------------------------------------------------ errors below the API are JSON too

    @Test
    void aMalformedUrlEscapeIsAJson400() {
        assertJsonError(RawHttp.send(server.uri(), "GET /api/v1/nodes/%ZZ/maintenance HTTP/1.1\r\nHost: " + host(), null), 400, "malformed");
        assertJsonError(RawHttp.send(server.uri(), "GET /api/v1/nodes/hv7%/maintenance HTTP/1.1\r\nHost: " + host(), null), 400, "malformed");
        assertJsonError(RawHttp.send(server.uri(), "GET /api/v1/vms?tags=%ZZ HTTP/1.1\r\nHost: " + host(), null), 400, "malformed");
    }

    @Test
    void badRequestsOversizedHeadersUnknownMethodsAndRoutesAreJson() {
        assertJsonError(RawHttp.send(server.uri(), "GET /api/v1/nodes HTTP/1.1\r\nHost: " + host() + "\r\nX-Big: " + "x".repeat(20_000), null),
                431, "request headers larger than 8192 bytes");
        assertJsonError(RawHttp.send(server.uri(), "GET /api/v1/nodes/" + "x".repeat(20_000) + " HTTP/1.1\r\nHost: " + host(), null), 414);
        assertJsonError(RawHttp.send(server.uri(), "GET /api/v1/nodes HTTP/1.1\r\nHost: " + host() + "\r\nX-Bad: a\0b", null), 400, "malformed");
        assertJsonError(RawHttp.send(server.uri(), "GARBAGE", null), 400, "malformed");
        assertJsonError(RawHttp.send(server.uri(), "GET /api/v1/nodes HTTP/1.1\r\nHost: " + host() + "\r\nContent-Length: -5", null), 400);
        RawHttp.Answer foo = RawHttp.send(server.uri(), "FOO /api/v1/nodes/hv7/maintenance HTTP/1.1\r\nHost: " + host(), null);
        assertJsonError(foo, 405, "method FOO not allowed on /api/v1/nodes/hv7/maintenance (allowed: DELETE, GET, POST)");
        assertJsonError(RawHttp.send(server.uri(), "GET /nope HTTP/1.1\r\nHost: " + host(), null), 404, "no such endpoint: GET /nope");
        assertJsonError(RawHttp.send(server.uri(), "GET /api/v1/../../etc/passwd HTTP/1.1\r\nHost: " + host(), null), 404, "no such endpoint");
    }
}
