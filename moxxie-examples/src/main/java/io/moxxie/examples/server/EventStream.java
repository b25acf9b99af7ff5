package io.moxxie.examples.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectWriter;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.http.Context;
import io.moxxie.core.execution.DrainListener;
import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.service.MaintenanceService;
import io.moxxie.core.service.MaintenanceView;
import io.moxxie.core.spi.GuestProgress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code GET /api/v1/events}: the drains' progress as Server-Sent Events, for the dashboard and for scripts
 * ({@code curl -N -H "Authorization: Bearer $TOKEN" …/api/v1/events}). Fed by core's {@link DrainListener}, so an
 * open page costs no polling. One event per change, its data one line of JSON:
 * <ul>
 *   <li>{@code drain}: a drain or undrain started or finished — {@code {"change": "started"|"finished", "drain": status}};</li>
 *   <li>{@code guest}: a guest of a drain started moving, completed, failed or was restarted after its move —
 *       {@code {"change", "drainId", "node", "vmid", "vm": vmStatus entry, "drain": status}};</li>
 *   <li>{@code maintenance}: maintenance mode of a node turned on or off through this server.</li>
 * </ul>
 * {@code status} is the drain's status as {@code GET …/drain/{drainId}/status} answers it, at that moment. A comment
 * line ({@code : heartbeat}) every {@link #heartbeat} keeps proxies and the connection's idle timeout from closing a
 * quiet stream. The bearer token applies as on every endpoint (sent in the {@code Authorization} header: the page
 * reads the stream with {@code fetch()}, never with a token in the URL).
 *
 * <p>Threading: the listener methods only queue; one daemon thread builds each event once and writes it to every
 * client in order, so a drain's workers never wait for a browser, and every client sees events in the order they
 * happened. A client whose connection fails is dropped. Thread-safe.
 */
final class EventStream implements DrainListener, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(EventStream.class);
    static final String PATH = "/api/v1/events";
    static final String CONTENT_TYPE = "text/event-stream; charset=utf-8";

    private final MaintenanceService service;
    private final JsonViews views;
    private final ObjectMapper json;
    /** One event, one line: {@code data:} lines are easier to read for scripts than indented JSON. */
    private final ObjectWriter compact;
    private final Duration heartbeat;
    private final ScheduledExecutorService thread;
    private final Set<Client> clients = ConcurrentHashMap.newKeySet();
    private final AtomicLong ids = new AtomicLong();
    /**
     * The node of each drain under way, by drain id: a guest's progress names the guest's source node, which for an
     * undrain is not the drain's, and {@link MaintenanceService#status} answers from memory only when asked with the
     * drain's own node.
     */
    private final Map<String, String> drainNodes = new ConcurrentHashMap<>();

    EventStream(MaintenanceService service, ObjectMapper json, Duration heartbeat) {
        this.service = service;
        this.json = json;
        this.views = new JsonViews(json);
        this.compact = json.writer().without(SerializationFeature.INDENT_OUTPUT);
        this.heartbeat = heartbeat;
        this.thread = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "moxxie-events");
            t.setDaemon(true);
            return t;
        });
        long ms = heartbeat.toMillis();
        thread.scheduleWithFixedDelay(this::sendHeartbeat, ms, ms, TimeUnit.MILLISECONDS);
        service.addListener(this);
        // Drains taken back before this listener was added announced their start to no one.
        for (DrainStatus d : service.activeDrains()) drainNodes.putIfAbsent(d.drainId(), d.node());
    }

    /** The heartbeat for a connection idle timeout: well inside it, and at most every 15 s. */
    static Duration heartbeatFor(Duration idleTimeout) {
        Duration half = idleTimeout.dividedBy(2);
        Duration max = Duration.ofSeconds(15);
        return half.compareTo(max) < 0 ? half : max;
    }

    int clients() {
        return clients.size();
    }

    /** Answers the request with the stream's head and keeps it open; events follow until the client goes away. */
    void open(Context ctx) throws IOException {
        ctx.status(200);
        ctx.res().setContentType(CONTENT_TYPE);
        ctx.header("Cache-Control", "no-store");
        ctx.header("X-Accel-Buffering", "no"); // nginx: pass events through as they come
        Client client = new Client(ctx.res().getOutputStream());
        // retry: what EventSource clients wait before reconnecting; the first comment shows at once that it works.
        client.write("retry: 3000\n: moxxie events; heartbeat every " + heartbeat.toSeconds() + " s\n\n");
        ctx.future(() -> client.closed);
        clients.add(client);
    }

    @Override
    public void drainStarted(DrainStatus status) {
        drainNodes.put(status.drainId(), status.node());
        queue(() -> event("drain", drainEvent("started", status)));
    }

    @Override
    public void drainFinished(DrainStatus status) {
        queue(() -> event("drain", drainEvent("finished", status)));
        // Once the events queued before this one are built: they still look the drain up by its node.
        onEventsThread(() -> drainNodes.remove(status.drainId()));
    }

    @Override
    public void guestStarted(String drainId, GuestProgress guest) {
        queue(() -> event("guest", guestEvent("started", guest)));
    }

    @Override
    public void guestCompleted(String drainId, GuestProgress guest) {
        queue(() -> event("guest", guestEvent("completed", guest)));
    }

    @Override
    public void guestFailed(String drainId, GuestProgress guest) {
        queue(() -> event("guest", guestEvent("failed", guest)));
    }

    @Override
    public void guestRestarted(String drainId, GuestProgress guest) {
        queue(() -> event("guest", guestEvent("restarted", guest)));
    }

    /** Maintenance mode of a node changed through this server. */
    void maintenanceChanged(MaintenanceView view) {
        queue(() -> event("maintenance", json.createObjectNode().put("change", view.inMaintenance() ? "on" : "off")
                .set("maintenance", views.maintenance(view))));
    }

    private ObjectNode drainEvent(String change, DrainStatus status) {
        ObjectNode o = json.createObjectNode().put("change", change);
        DrainStatus now = status;
        if (!status.status().finished()) {
            try {
                now = service.status(status.node(), status.drainId()); // with its elapsed time and estimate
            } catch (RuntimeException e) {
                // as the executor told it
            }
        }
        o.set("drain", views.status(now));
        return o;
    }

    private ObjectNode guestEvent(String change, GuestProgress g) {
        ObjectNode o = json.createObjectNode().put("change", change).put("drainId", g.drainId()).put("node", g.sourceNode())
                .put("vmid", g.vmid());
        DrainStatus drain;
        try {
            drain = service.status(drainNodes.getOrDefault(g.drainId(), g.sourceNode()), g.drainId());
        } catch (RuntimeException e) {
            // the store is behind (an outage): the running drain's own view
            drain = service.activeDrains().stream().filter(d -> d.drainId().equals(g.drainId())).findFirst().orElse(null);
        }
        if (drain != null) {
            o.put("node", drain.node());
            DrainStatus d = drain;
            o.set("vm", d.vmStatus().stream().filter(v -> v.vmid() == g.vmid()).findFirst().<com.fasterxml.jackson.databind.JsonNode>map(views::vm)
                    .orElse(fallback(g)));
            o.set("drain", views.status(drain));
        } else {
            o.set("vm", fallback(g));
        }
        return o;
    }

    private ObjectNode fallback(GuestProgress g) {
        return json.createObjectNode().put("vmid", g.vmid()).put("name", g.name()).put("status", g.status().wireName())
                .put("targetNode", g.targetNode()).put("error", g.error());
    }

    private void queue(java.util.function.Supplier<String> event) {
        if (clients.isEmpty()) return;
        onEventsThread(() -> {
            String text;
            try {
                text = event.get();
            } catch (RuntimeException e) {
                log.warn("Building an event failed: {}", e.toString());
                return;
            }
            for (Client c : clients) send(c, text);
        });
    }

    /** Runs {@code task} after everything queued before it, on the events thread. */
    private void onEventsThread(Runnable task) {
        try {
            thread.execute(task);
        } catch (RejectedExecutionException e) {
            // closed: no more events
        }
    }

    private String event(String name, ObjectNode data) {
        try {
            return "id: " + ids.incrementAndGet() + "\nevent: " + name + "\ndata: " + compact.writeValueAsString(data) + "\n\n";
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private void sendHeartbeat() {
        for (Client c : clients) send(c, ": heartbeat\n\n");
    }

    private void send(Client c, String text) {
        try {
            c.write(text);
        } catch (IOException | RuntimeException e) {
            clients.remove(c);
            c.closed.complete(null);
        }
    }

    /** Ends every stream (clients reconnect to the next server) and stops the thread. */
    @Override
    public void close() {
        service.removeListener(this);
        thread.shutdownNow();
        for (Client c : clients) c.closed.complete(null);
        clients.clear();
    }

    /** One open stream. Its writes happen on the events thread (and the first on the request's). */
    private static final class Client {
        final OutputStream out;
        final CompletableFuture<Void> closed = new CompletableFuture<>();

        Client(OutputStream out) {
            this.out = out;
        }

        synchronized void write(String text) throws IOException {
            out.write(text.getBytes(StandardCharsets.UTF_8));
            out.flush();
        }
    }
}
