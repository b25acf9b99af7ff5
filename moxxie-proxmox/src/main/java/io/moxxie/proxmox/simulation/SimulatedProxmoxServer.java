package io.moxxie.proxmox.simulation;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import com.sun.net.httpserver.HttpsConfigurator;
import com.sun.net.httpserver.HttpsServer;
import io.moxxie.core.Checks;

import javax.net.ssl.SSLContext;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Serves a {@link SimulatedProxmoxApi} over HTTP, or HTTPS with a given {@link SSLContext}, on a free port of
 * {@code 127.0.0.1}, with the JDK's own {@code com.sun.net.httpserver}: no dependency beyond the JDK, so that demos
 * and benchmarks can point a real {@link io.moxxie.proxmox.ProxmoxClient} at it.
 *
 * <pre>{@code
 * SimulatedProxmoxApi api = SimulatedProxmoxApi.builder(cluster).apiToken("moxxie@pve!drain", secret).build();
 * try (SimulatedProxmoxServer server = SimulatedProxmoxServer.start(api);
 *      ProxmoxClient client = ProxmoxClient.builder().baseUrl(server.baseUrl())
 *              .apiToken("moxxie@pve!drain=" + secret).build()) {
 *     // drain through HTTP; api.calls() lists what the client sent
 * }
 * }</pre>
 *
 * <p>The JDK's server writes its own reason phrase for a status ({@code Internal Server Error}, or none for 596) and
 * cannot write the error text there as pveproxy does; the text reaches the client in the body's {@code message},
 * as with PVE 8.4 and later. A test that needs errors as older versions send them (text in the reason phrase only),
 * or dropped connections, needs a server that can write them, such as OkHttp's MockWebServer in front of
 * {@link SimulatedProxmoxApi#handle}. A request outside {@code /api2/json} gets 501 "no such uri".
 *
 * <p>Loading this class sets the system property {@code sun.net.httpserver.nodelay} to {@code true} unless it is set
 * already: the JDK's server writes an answer's headers and body separately, and without TCP_NODELAY every request
 * would wait some 40 ms for the client's delayed ACK. The JDK reads the property once, when its server is first used
 * in the JVM; an HTTP server of the JDK started earlier keeps the JVM slower here.
 *
 * <p>Thread-safe. Requests are handled on daemon threads named {@code moxxie-simulated-pve-N}; {@link #close()}
 * stops the server at once, dropping requests in flight.
 */
public final class SimulatedProxmoxServer implements AutoCloseable {
    private static final AtomicInteger THREADS = new AtomicInteger();
    private static final String LOOPBACK = "127.0.0.1";
    private static final String NO_DELAY = "sun.net.httpserver.nodelay";

    static {
        // The JDK's server sends the headers and the body of an answer in two packets; without TCP_NODELAY, Nagle's
        // algorithm holds the body back until the client's delayed ACK comes, some 40 ms later, on every request.
        if (System.getProperty(NO_DELAY) == null) System.setProperty(NO_DELAY, "true");
    }

    private final SimulatedProxmoxApi api;
    private final HttpServer server;
    private final ExecutorService executor;
    private final String scheme;

    private SimulatedProxmoxServer(SimulatedProxmoxApi api, HttpServer server, ExecutorService executor, String scheme) {
        this.api = api;
        this.server = server;
        this.executor = executor;
        this.scheme = scheme;
    }

    /**
     * Serves {@code api} over plain HTTP on a free port of {@code 127.0.0.1}.
     *
     * @throws IllegalArgumentException when {@code api} is null
     * @throws UncheckedIOException     when no port can be bound
     */
    public static SimulatedProxmoxServer start(SimulatedProxmoxApi api) {
        Checks.notNull("api", api);
        return start(api, null, "http");
    }

    /**
     * Serves {@code api} over HTTPS on a free port of {@code 127.0.0.1}, with the key and certificate of
     * {@code sslContext}; a client must trust that certificate (e.g. {@code TlsTrust.pinnedFingerprints(…)}).
     *
     * @throws IllegalArgumentException when an argument is null
     * @throws UncheckedIOException     when no port can be bound
     */
    public static SimulatedProxmoxServer start(SimulatedProxmoxApi api, SSLContext sslContext) {
        Checks.notNull("api", api);
        Checks.notNull("sslContext", sslContext);
        return start(api, sslContext, "https");
    }

    private static SimulatedProxmoxServer start(SimulatedProxmoxApi api, SSLContext sslContext, String scheme) {
        InetSocketAddress loopback = new InetSocketAddress(LOOPBACK, 0);
        ExecutorService executor = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "moxxie-simulated-pve-" + THREADS.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        try {
            HttpServer server;
            if (sslContext != null) {
                HttpsServer https = HttpsServer.create(loopback, 0);
                https.setHttpsConfigurator(new HttpsConfigurator(sslContext));
                server = https;
            } else {
                server = HttpServer.create(loopback, 0);
            }
            server.setExecutor(executor);
            server.createContext("/", exchange -> serve(api, exchange));
            server.start();
            return new SimulatedProxmoxServer(api, server, executor, scheme);
        } catch (IOException e) {
            executor.shutdownNow();
            throw new UncheckedIOException("cannot serve the simulated Proxmox API on " + loopback + ": " + e.getMessage(), e);
        }
    }

    private static void serve(SimulatedProxmoxApi api, HttpExchange exchange) throws IOException {
        try {
            ApiResponse response;
            try {
                String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
                URI uri = exchange.getRequestURI();
                response = ApiRequest.fromHttp(exchange.getRequestMethod(), uri.getPath(), uri.getRawQuery(), body,
                                exchange.getRequestHeaders())
                        .map(api::handle)
                        .orElseGet(() -> ApiResponse.error(501, "no such uri", null));
            } catch (IllegalArgumentException e) {
                response = ApiResponse.error(400, "Parameter verification failed.", Map.of("params", String.valueOf(e.getMessage())));
            }
            byte[] bytes = response.body().getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().set("Content-Type", "application/json;charset=UTF-8");
            exchange.sendResponseHeaders(response.status(), bytes.length == 0 ? -1 : bytes.length);
            if (bytes.length > 0) exchange.getResponseBody().write(bytes);
        } finally {
            exchange.close();
        }
    }

    /** The API served. */
    public SimulatedProxmoxApi api() {
        return api;
    }

    /** The port bound on {@code 127.0.0.1}. */
    public int port() {
        return server.getAddress().getPort();
    }

    /** {@code http://127.0.0.1:PORT} or {@code https://…}, to give to {@code ProxmoxClient.Builder.baseUrl}. */
    public String baseUrl() {
        return scheme + "://" + LOOPBACK + ":" + port();
    }

    /** Stops serving at once and ends the server's threads. */
    @Override
    public void close() {
        server.stop(0);
        executor.shutdownNow();
    }

    @Override
    public String toString() {
        return "SimulatedProxmoxServer[" + baseUrl() + ", " + api + "]";
    }
}
