package io.moxxie.examples.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code GET /api/v1/events} as a script sees it: Server-Sent Events, one per drain and guest change, the token applied. */
class EventStreamTest {
    static final String TOKEN = "event-stream-test-token-0123456789";
    static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dataDir;
    MoxxieServer server;
    Api api;
    final HttpClient http = HttpClient.newHttpClient();
    final List<InputStream> open = new ArrayList<>();

    @BeforeEach
    void start() {
        // A 2 s idle timeout: the stream's heartbeat comes every second.
        server = TestServers.start(dataDir, Map.of("MOXXIE_API_TOKEN", TOKEN, "MOXXIE_HTTP_IDLE_TIMEOUT", "2"));
        api = new Api(server.uri(), TOKEN);
    }

    @AfterEach
    void stop() throws Exception {
        for (InputStream in : open) in.close();
        if (server != null) server.close();
    }

    /** One SSE event (or comment) block. */
    record Event(String id, String name, JsonNode data, String comment) {
    }

    /** Opens the stream and reads its blocks on a thread of its own into a queue. */
    private BlockingQueue<Event> subscribe() throws Exception {
        HttpResponse<InputStream> res = http.send(HttpRequest.newBuilder(URI.create(server.uri() + "/api/v1/events"))
                .header("Authorization", "Bearer " + TOKEN).build(), HttpResponse.BodyHandlers.ofInputStream());
        assertThat(res.statusCode()).isEqualTo(200);
        assertThat(res.headers().firstValue("Content-Type")).get().asString().startsWith("text/event-stream");
        assertThat(res.headers().firstValue("Cache-Control")).hasValue("no-store");
        open.add(res.body());
        BlockingQueue<Event> events = new LinkedBlockingQueue<>();
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(res.body(), StandardCharsets.UTF_8))) {
                String id = null, name = null, data = null, comment = null;
                for (String line; (line = in.readLine()) != null; ) {
                    if (line.isEmpty()) {
                        events.add(new Event(id, name, data == null ? null : JSON.readTree(data), comment));
                        id = name = data = comment = null;
                    } else if (line.startsWith("id: ")) id = line.substring(4);
                    else if (line.startsWith("event: ")) name = line.substring(7);
                    else if (line.startsWith("data: ")) data = line.substring(6);
                    else if (line.startsWith(": ")) comment = line.substring(2);
                }
            } catch (Exception e) {
                // stream closed
            }
        }, "sse-reader");
        reader.setDaemon(true);
        reader.start();
        return events;
    }

    private static Event next(BlockingQueue<Event> events, java.util.function.Predicate<Event> which) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (System.nanoTime() < deadline) {
            Event e = events.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
            if (e != null && which.test(e)) return e;
        }
        throw new AssertionError("no such event within 60 s");
    }

    @Test
    void aHardDrainIsOneEventPerGuestChangeBetweenItsStartAndItsEnd() throws Exception {
        BlockingQueue<Event> events = subscribe();
        assertThat(next(events, e -> e.comment() != null).comment()).startsWith("moxxie events");

        Api.Result started = api.post("/api/v1/nodes/hv7/drain", "{\"drainMode\": \"hard\", \"maxConcurrent\": 4}");
        assertThat(started.status()).isEqualTo(202);
        String drainId = started.body().get("drainId").asText();

        Event first = next(events, e -> e.name() != null);
        assertThat(first.name()).isEqualTo("drain");
        assertThat(first.data().get("change").asText()).isEqualTo("started");
        assertThat(first.data().at("/drain/drainId").asText()).isEqualTo(drainId);
        assertThat(first.data().at("/drain/totalVMs").asInt()).isEqualTo(15);

        List<Event> guests = new ArrayList<>();
        long lastId = Long.parseLong(first.id());
        Event e;
        while (!(e = next(events, x -> x.name() != null)).name().equals("drain")) {
            assertThat(Long.parseLong(e.id())).as("ids increase").isGreaterThan(lastId);
            lastId = Long.parseLong(e.id());
            assertThat(e.name()).isEqualTo("guest");
            assertThat(e.data().get("drainId").asText()).isEqualTo(drainId);
            assertThat(e.data().get("node").asText()).isEqualTo("hv7");
            assertThat(e.data().at("/vm/vmid").asInt()).isEqualTo(e.data().get("vmid").asInt());
            guests.add(e);
        }
        // (the first moves' events may come before the service lists the drain as running: their status is the stored one)
        JsonNode firstDone = guests.stream().filter(g -> g.data().get("change").asText().equals("completed")).findFirst().orElseThrow().data();
        assertThat(firstDone.at("/drain/etaSeconds").asLong()).as("a running drain's estimate").isPositive();
        assertThat(firstDone.at("/drain/elapsedSeconds").asLong()).isPositive();
        assertThat(firstDone.at("/vm/elapsedSeconds").asLong()).isPositive();
        assertThat(e.data().get("change").asText()).isEqualTo("finished");
        assertThat(e.data().at("/drain/status").asText()).isEqualTo("completed");
        assertThat(e.data().at("/drain/completedVMs").asInt()).isEqualTo(15);
        assertThat(e.data().at("/drain/etaSeconds").isNull()).isTrue();

        List<JsonNode> completed = guests.stream().filter(g -> g.data().get("change").asText().equals("completed")).map(Event::data).toList();
        assertThat(completed).extracting(g -> g.get("vmid").asInt()).doesNotHaveDuplicates().hasSize(15);
        assertThat(guests.stream().filter(g -> g.data().get("change").asText().equals("started")).count()).isGreaterThanOrEqualTo(15);
        // Each completed event carries the drain as it stood: the count goes up by one each time.
        assertThat(completed).extracting(g -> g.at("/drain/completedVMs").asInt()).isSorted();
        assertThat(completed).allSatisfy(g -> assertThat(g.at("/vm/status").asText()).isEqualTo("completed"));
    }

    @Test
    void aQuietStreamHasHeartbeatsAndMaintenanceChangesAreEvents() throws Exception {
        BlockingQueue<Event> events = subscribe();
        next(events, e -> "heartbeat".equals(e.comment()));
        next(events, e -> "heartbeat".equals(e.comment())); // still open past the 2 s idle timeout

        assertThat(api.post("/api/v1/nodes/hv9/maintenance?reason=disk", null).status()).isEqualTo(200);
        Event on = next(events, e -> e.name() != null);
        assertThat(on.name()).isEqualTo("maintenance");
        assertThat(on.data().get("change").asText()).isEqualTo("on");
        assertThat(on.data().at("/maintenance/node").asText()).isEqualTo("hv9");
        assertThat(on.data().at("/maintenance/reason").asText()).isEqualTo("disk");
    }

    @Test
    void theTokenAndTheQueryRulesApplyToTheStream() {
        Api.Result anonymous = new Api(server.uri()).get("/api/v1/events");
        assertThat(anonymous.status()).isEqualTo(401);
        assertThat(anonymous.error()).contains("bearer token");
        Api.Result unknown = api.get("/api/v1/events?token=" + TOKEN);
        assertThat(unknown.status()).isEqualTo(400);
        assertThat(unknown.field()).isEqualTo("token");
        assertThat(unknown.error()).doesNotContain(TOKEN);
        assertThat(api.post("/api/v1/events", null).status()).isEqualTo(405);
    }

    @Test
    void theDashboardLoadsWithoutTheTokenAndTheApiStillNeedsIt() {
        Api anonymous = new Api(server.uri());
        Api.Result page = anonymous.get("/");
        assertThat(page.status()).isEqualTo(200);
        assertThat(page.raw().headers().firstValue("Content-Type")).get().asString().startsWith("text/html");
        assertThat(page.raw().body()).contains("<title>Moxxie</title>", "/dashboard/app.js").doesNotContain("http://", "https://");
        assertThat(anonymous.get("/dashboard/app.js").raw().headers().firstValue("Content-Type")).get().asString().startsWith("text/javascript");
        assertThat(anonymous.get("/api/v1/nodes").status()).isEqualTo(401);
        assertThat(anonymous.get("/dashboard/nope.js").status()).isEqualTo(401);
    }
}
