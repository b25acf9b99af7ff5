package io.moxxie.proxmox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.proxmox.simulation.ApiRequest;
import io.moxxie.proxmox.simulation.ApiResponse;
import io.moxxie.proxmox.simulation.SimulatedProxmoxApi;
import io.moxxie.proxmox.simulation.SimulatedProxmoxApi.Call;
import okhttp3.HttpUrl;
import okhttp3.mockwebserver.Dispatcher;
import okhttp3.mockwebserver.MockResponse;
import okhttp3.mockwebserver.MockWebServer;
import okhttp3.mockwebserver.RecordedRequest;
import okhttp3.mockwebserver.SocketPolicy;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * The {@link SimulatedProxmoxApi} behind OkHttp's MockWebServer, over HTTPS with {@link TestTls}'s certificate, with
 * what only a server that writes its own status lines and sockets can add: errors whose text is in the status line's
 * reason phrase (and, {@link #pre84(boolean) unless pre-8.4}, also in the body's {@code message}), faults (any status
 * with any reason phrase, dropped connections before or after the request took effect), canned fixture answers, and
 * TCP_NODELAY. Every request, faulted ones included, is in the API's request log ({@link #calls()}).
 */
final class FakeProxmoxApi implements AutoCloseable {
    static final String TOKEN_ID = "moxxie@pve!drain";
    static final String TOKEN_SECRET = "5f2c8d4e-13a7-4b0e-9f61-7c2d8e0a4b19";
    static final String USER = "root@pam";
    static final String PASSWORD = "correct horse battery staple";

    private static final ObjectMapper JSON = new ObjectMapper();

    private record Fault(String method, Pattern path, AtomicInteger times, int status, String reason, Kind kind) {
        enum Kind { STATUS, DROP_BEFORE, DROP_AFTER, CUT }
    }

    private record Hook(String method, Pattern path, AtomicInteger times, Runnable action) {
    }

    private final MockWebServer server = new MockWebServer();
    private final SimulatedCluster cluster;
    private final boolean https;
    private final List<Fault> faults = new CopyOnWriteArrayList<>();
    private final List<Hook> hooks = new CopyOnWriteArrayList<>();
    private final Map<String, String> canned = new ConcurrentHashMap<>();
    private volatile SimulatedProxmoxApi api;
    private volatile Map<String, Map<String, Integer>> permissions = SimulatedProxmoxApi.DEFAULT_PERMISSIONS;
    private volatile boolean pre84;
    private volatile double cutReads;
    private final java.util.Random cutRandom = new java.util.Random(17);

    private FakeProxmoxApi(SimulatedCluster cluster, boolean https) {
        this.cluster = cluster;
        this.https = https;
        this.api = newApi(SimulatedProxmoxApi.DEFAULT_PVE_MAJOR_VERSION);
    }

    /** The simulated cluster's own task behind a UPID this API handed out. */
    io.moxxie.core.spi.TaskRef clusterTask(String upid, String node) {
        return api.clusterTask(upid, node);
    }

    private SimulatedProxmoxApi newApi(int pveMajor) {
        return SimulatedProxmoxApi.builder(cluster).apiToken(TOKEN_ID, TOKEN_SECRET).password(USER, PASSWORD)
                .pveMajorVersion(pveMajor).permissions(permissions).build();
    }

    /** Starts a fake on 127.0.0.1 over HTTPS with {@link TestTls}'s self-signed certificate. */
    static FakeProxmoxApi start(SimulatedCluster cluster) {
        return start(cluster, true);
    }

    static FakeProxmoxApi start(SimulatedCluster cluster, boolean https) {
        FakeProxmoxApi fake = new FakeProxmoxApi(cluster, https);
        if (https) fake.server.useHttps(TestTls.get().serverSocketFactory, false);
        // Without TCP_NODELAY, Nagle and the client's delayed ACK add ~40 ms to every answer written in two parts.
        fake.server.setServerSocketFactory(new NoDelayServerSocketFactory());
        fake.server.setDispatcher(new Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest request) {
                return fake.dispatch(request);
            }
        });
        try {
            fake.server.start(InetAddress.getByName("127.0.0.1"), 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return fake;
    }

    String baseUrl() {
        return (https ? "https" : "http") + "://127.0.0.1:" + server.getPort();
    }

    /** A client builder for this fake: API token, pinned certificate, short retry delays. */
    ProxmoxClient.Builder clientBuilder() {
        ProxmoxClient.Builder b = ProxmoxClient.builder().baseUrl(baseUrl())
                .credentials(ProxmoxCredentials.apiToken(TOKEN_ID + "=" + TOKEN_SECRET))
                .retryDelay(Duration.ofMillis(1), Duration.ofMillis(5))
                .connectTimeout(Duration.ofSeconds(2)).requestTimeout(Duration.ofSeconds(5));
        if (https) b.tls(TlsTrust.pinnedFingerprints(TestTls.get().fingerprint));
        return b;
    }

    SimulatedCluster cluster() {
        return cluster;
    }

    /** The API behind the fake, with its Proxmox semantics and request log. */
    SimulatedProxmoxApi api() {
        return api;
    }

    /** Before PVE 8.4 an error's text was only in the status line's reason phrase, not in the body. */
    FakeProxmoxApi pre84(boolean pre84) {
        this.pre84 = pre84;
        return this;
    }

    /**
     * The major version: containers have a migrate precondition check only from 9 on; HA migrate answers null before 9.
     * The version is the API's configuration, so it is set before the first request.
     */
    FakeProxmoxApi pveMajor(int major) {
        SimulatedProxmoxApi current = api;
        if (!current.calls().isEmpty()) throw new IllegalStateException("set the Proxmox version before the first request");
        SimulatedProxmoxApi next = newApi(major);
        api = next;
        return this;
    }

    /** The privileges {@code GET /access/permissions} reports; set before the first request, like the version. */
    FakeProxmoxApi permissions(Map<String, Map<String, Integer>> privileges) {
        SimulatedProxmoxApi current = api;
        if (!current.calls().isEmpty()) throw new IllegalStateException("set the privileges before the first request");
        this.permissions = privileges;
        SimulatedProxmoxApi next = newApi(current.pveMajorVersion());
        api = next;
        return this;
    }

    /**
     * Serves {@code json} (a whole envelope, e.g. a fixture file) for {@code GET path} instead of the simulator's view,
     * once the API has checked the credentials.
     */
    FakeProxmoxApi canned(String path, String json) {
        canned.put(path, json);
        return this;
    }

    FakeProxmoxApi haMaintenance(String node) {
        api.haMaintenance(node, true);
        return this;
    }

    /** The next {@code times} matching requests get this status and reason phrase (no body message), without effect. */
    FakeProxmoxApi failNext(String method, String pathRegex, int times, int status, String reason) {
        faults.add(new Fault(method, Pattern.compile(pathRegex), new AtomicInteger(times), status, reason, Fault.Kind.STATUS));
        return this;
    }

    /** The next {@code times} matching requests are read and the connection closed without an answer, without effect. */
    FakeProxmoxApi dropNext(String method, String pathRegex, int times) {
        faults.add(new Fault(method, Pattern.compile(pathRegex), new AtomicInteger(times), 0, null, Fault.Kind.DROP_BEFORE));
        return this;
    }

    /** The next {@code times} matching requests take effect and are answered with their JSON cut in half (malformed). */
    FakeProxmoxApi cutNext(String method, String pathRegex, int times) {
        faults.add(new Fault(method, Pattern.compile(pathRegex), new AtomicInteger(times), 0, null, Fault.Kind.CUT));
        return this;
    }

    /** From now on, that fraction of the successful GETs (chosen by a seeded random: repeatable) is answered with cut JSON. */
    FakeProxmoxApi cutJsonOnReads(double fraction) {
        this.cutReads = fraction;
        return this;
    }

    /**
     * Runs {@code action} before the API answers the next matching request: time passing between two requests of one
     * client call, say (a migration that ends while the client looks for its lost answer).
     */
    FakeProxmoxApi beforeNext(String method, String pathRegex, Runnable action) {
        hooks.add(new Hook(method, Pattern.compile(pathRegex), new AtomicInteger(1), action));
        return this;
    }

    /** The next matching request takes effect, then the connection is closed: the answer is lost. */
    FakeProxmoxApi dropAnswerOfNext(String method, String pathRegex, int times) {
        faults.add(new Fault(method, Pattern.compile(pathRegex), new AtomicInteger(times), 0, null, Fault.Kind.DROP_AFTER));
        return this;
    }

    List<Call> calls() {
        return api.calls();
    }

    List<Call> calls(String method, String pathRegex) {
        return api.calls(method, pathRegex);
    }

    void clearCalls() {
        api.clearCalls();
    }

    @Override
    public void close() {
        try {
            server.shutdown();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ------------------------------------------------------------------ transport

    private MockResponse dispatch(RecordedRequest r) {
        HttpUrl url = r.getRequestUrl();
        Optional<ApiRequest> parsed = ApiRequest.fromHttp(r.getMethod(), "/" + String.join("/", url.pathSegments()),
                url.encodedQuery(), r.getBody().readUtf8(), r.getHeaders().toMultimap());
        if (parsed.isEmpty()) return answer(ApiResponse.error(501, "no such uri", null));
        ApiRequest request = parsed.get();
        SimulatedProxmoxApi api = this.api;
        for (Hook h : hooks) {
            if (h.method.equals(request.method()) && h.path.matcher(request.path()).matches() && h.times.getAndDecrement() > 0) h.action.run();
        }

        Fault fault = null;
        for (Fault f : faults) {
            if (f.method.equals(request.method()) && f.path.matcher(request.path()).matches() && f.times.getAndDecrement() > 0) {
                fault = f;
                break;
            }
        }
        if (fault != null && fault.kind != Fault.Kind.DROP_AFTER && fault.kind != Fault.Kind.CUT) {
            api.record(request);
            if (fault.kind == Fault.Kind.DROP_BEFORE) return new MockResponse().setSocketPolicy(SocketPolicy.DISCONNECT_AFTER_REQUEST);
            return answer(new ApiResponse(fault.status, fault.reason, "{\"data\":null}"));
        }

        ApiResponse response = api.handle(request);
        if (fault != null && fault.kind == Fault.Kind.DROP_AFTER) return new MockResponse().setSocketPolicy(SocketPolicy.DISCONNECT_AFTER_REQUEST);
        boolean cut = fault != null || (request.method().equals("GET") && response.successful() && cutRandomly());
        if (cut) return answer(new ApiResponse(response.status(), response.reasonPhrase(), response.body().substring(0, response.body().length() / 2)));
        String cannedJson = request.method().equals("GET") ? canned.get(request.path()) : null;
        if (cannedJson != null && response.status() != 401) response = new ApiResponse(200, "OK", cannedJson);
        return answer(response);
    }

    private boolean cutRandomly() {
        double fraction = cutReads;
        if (fraction <= 0) return false;
        synchronized (cutRandom) {
            return cutRandom.nextDouble() < fraction;
        }
    }

    /** The API's text goes into the reason phrase (first line only, as pveproxy does) and, from PVE 8.4 on, the body. */
    private MockResponse answer(ApiResponse response) {
        String body = response.body();
        if (pre84 && !response.successful()) body = withoutMessage(body);
        return new MockResponse().setStatus("HTTP/1.1 " + response.status() + " " + response.reasonPhrase())
                .setHeader("Content-Type", "application/json;charset=UTF-8").setBody(body);
    }

    private static String withoutMessage(String body) {
        try {
            JsonNode root = JSON.readTree(body);
            if (root instanceof ObjectNode o) o.remove("message");
            return JSON.writeValueAsString(root);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static final class NoDelayServerSocketFactory extends javax.net.ServerSocketFactory {
        @Override
        public java.net.ServerSocket createServerSocket() throws IOException {
            return new java.net.ServerSocket() {
                @Override
                public java.net.Socket accept() throws IOException {
                    java.net.Socket s = super.accept();
                    s.setTcpNoDelay(true);
                    return s;
                }
            };
        }

        @Override
        public java.net.ServerSocket createServerSocket(int port) throws IOException {
            java.net.ServerSocket s = createServerSocket();
            s.bind(new java.net.InetSocketAddress(port));
            return s;
        }

        @Override
        public java.net.ServerSocket createServerSocket(int port, int backlog) throws IOException {
            java.net.ServerSocket s = createServerSocket();
            s.bind(new java.net.InetSocketAddress(port), backlog);
            return s;
        }

        @Override
        public java.net.ServerSocket createServerSocket(int port, int backlog, InetAddress address) throws IOException {
            java.net.ServerSocket s = createServerSocket();
            s.bind(new java.net.InetSocketAddress(address, port), backlog);
            return s;
        }
    }

    /**
     * A captured answer, as text. The Apache-2.0 captures are copied into the test resources; the copyleft ones
     * (GPL/AGPL test data, see {@code ../shared/pve-api/fixtures/SOURCES.md}) are not redistributed with Moxxie and
     * are read from the workspace's {@code shared/pve-api/fixtures} (or {@code MOXXIE_PVE_FIXTURES}) at test time:
     * missing, they fail the build when {@code CI=true} and skip the test otherwise.
     */
    static String fixture(String name) {
        try (InputStream in = FakeProxmoxApi.class.getResourceAsStream("/fixtures/" + name)) {
            if (in != null) return new String(in.readAllBytes(), StandardCharsets.UTF_8);
            java.nio.file.Path shared = sharedFixtures().resolve(name);
            if (java.nio.file.Files.isRegularFile(shared)) return java.nio.file.Files.readString(shared);
            String how = "fixture " + name + " is read from shared/pve-api/fixtures beside the repository; set MOXXIE_PVE_FIXTURES to its folder";
            if ("true".equals(System.getenv("CI"))) throw new IllegalStateException(how);
            org.junit.jupiter.api.Assumptions.abort(how);
            throw new IllegalStateException(how);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static java.nio.file.Path sharedFixtures() {
        String configured = System.getenv("MOXXIE_PVE_FIXTURES");
        if (configured != null && !configured.isBlank()) return java.nio.file.Path.of(configured);
        java.nio.file.Path dir = java.nio.file.Path.of("").toAbsolutePath();
        for (int i = 0; i < 5 && dir != null; i++, dir = dir.getParent()) {
            java.nio.file.Path candidate = dir.resolve("shared/pve-api/fixtures");
            if (java.nio.file.Files.isDirectory(candidate)) return candidate;
        }
        return java.nio.file.Path.of("shared/pve-api/fixtures");
    }

    static JsonNode fixtureData(String name) {
        try {
            return JSON.readTree(fixture(name)).path("data");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Predicate<Call> migratePost(int vmid) {
        return c -> c.method().equals("POST") && c.path().matches("/nodes/[^/]+/(qemu|lxc)/" + vmid + "/migrate");
    }
}
