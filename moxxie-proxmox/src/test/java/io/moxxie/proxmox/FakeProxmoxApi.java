package io.moxxie.proxmox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.model.Node;
import io.moxxie.core.plan.MigrationType;
import io.moxxie.core.policy.TagPolicy;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.HypervisorException;
import io.moxxie.core.spi.MigrationCommand;
import io.moxxie.core.spi.TaskRef;
import io.moxxie.core.spi.TaskState;
import io.moxxie.core.spi.TransientHypervisorException;
import io.moxxie.proxmox.internal.Upid;
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
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * An in-process fake of the Proxmox VE API ({@code /api2/json}) in front of core's {@link SimulatedCluster}, so that
 * a whole drain runs through HTTP. It speaks the real envelope ({@code {"data": …}}), errors with the text in the
 * status line's reason phrase (and, unless {@link #pre84(boolean) pre-8.4}, also in the body's {@code message}),
 * checks the API token or ticket (+ CSRF token on writes), refuses root-only options and {@code true} for booleans,
 * serves canned fixture answers where registered, and records every request. Faults: any status with any reason
 * phrase, and dropped connections before or after the request took effect.
 */
final class FakeProxmoxApi implements AutoCloseable {
    static final String TOKEN_ID = "moxxie@pve!drain";
    static final String TOKEN_SECRET = "5f2c8d4e-13a7-4b0e-9f61-7c2d8e0a4b19";
    static final String USER = "root@pam";
    static final String PASSWORD = "correct horse battery staple";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Set<String> ROOT_ONLY = Set.of("force", "migration_type", "migration_network", "skiplock");
    private static final Set<String> BOOLEANS = Set.of("online", "with-local-disks", "restart", "forceStop", "keepActive");
    private static final Pattern TAG = Pattern.compile("^[a-z0-9_][a-z0-9_\\-+.]*$", Pattern.CASE_INSENSITIVE);
    private static final DateTimeFormatter LOG_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneOffset.UTC);

    /** One request as the fake saw it. */
    record Call(String method, String path, Map<String, String> params) {
        boolean is(String m, String pathRegex) {
            return method.equals(m) && path.matches(pathRegex);
        }

        @Override
        public String toString() {
            return method + " " + path + (params.isEmpty() ? "" : " " + params);
        }
    }

    private record Fault(String method, Pattern path, AtomicInteger times, int status, String reason, Kind kind) {
        enum Kind { STATUS, DROP_BEFORE, DROP_AFTER }
    }

    private record FakeTask(String node, String type, int vmid, String exitStatus) {
    }

    private final MockWebServer server = new MockWebServer();
    private final SimulatedCluster cluster;
    private final boolean https;
    private final List<Call> calls = new CopyOnWriteArrayList<>();
    private final List<Fault> faults = new CopyOnWriteArrayList<>();
    private final Map<String, String> canned = new ConcurrentHashMap<>();
    private final Map<String, FakeTask> fakeTasks = new ConcurrentHashMap<>();
    private final Map<String, String> taskNodes = new ConcurrentHashMap<>();
    private final Map<String, Instant> taskStarts = new ConcurrentHashMap<>();
    private final Map<String, String> tickets = new ConcurrentHashMap<>();
    private final Set<String> haMaintenance = ConcurrentHashMap.newKeySet();
    private final AtomicInteger fakeSeq = new AtomicInteger(0x5000);
    private volatile boolean pre84;
    private volatile int pveMajor = 9;

    private FakeProxmoxApi(SimulatedCluster cluster, boolean https) {
        this.cluster = cluster;
        this.https = https;
    }

    /** Starts a fake on 127.0.0.1 over HTTPS with {@link TestTls}'s self-signed certificate. */
    static FakeProxmoxApi start(SimulatedCluster cluster) {
        return start(cluster, true);
    }

    static FakeProxmoxApi start(SimulatedCluster cluster, boolean https) {
        FakeProxmoxApi api = new FakeProxmoxApi(cluster, https);
        if (https) api.server.useHttps(TestTls.get().serverSocketFactory, false);
        // Without TCP_NODELAY, Nagle and the client's delayed ACK add ~40 ms to every answer written in two parts.
        api.server.setServerSocketFactory(new NoDelayServerSocketFactory());
        api.server.setDispatcher(new Dispatcher() {
            @Override
            public MockResponse dispatch(RecordedRequest request) {
                return api.dispatch(request);
            }
        });
        try {
            api.server.start(InetAddress.getByName("127.0.0.1"), 0);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return api;
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

    /** Before PVE 8.4 an error's text was only in the status line's reason phrase, not in the body. */
    FakeProxmoxApi pre84(boolean pre84) {
        this.pre84 = pre84;
        return this;
    }

    /** The major version: containers have a migrate precondition check only from 9 on; HA migrate answers null before 9. */
    FakeProxmoxApi pveMajor(int major) {
        this.pveMajor = major;
        return this;
    }

    /** Serves {@code json} (a whole envelope, e.g. a fixture file) for {@code GET path} instead of the simulator's view. */
    FakeProxmoxApi canned(String path, String json) {
        canned.put(path, json);
        return this;
    }

    FakeProxmoxApi haMaintenance(String node) {
        haMaintenance.add(node);
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

    /** The next matching request takes effect, then the connection is closed: the answer is lost. */
    FakeProxmoxApi dropAnswerOfNext(String method, String pathRegex, int times) {
        faults.add(new Fault(method, Pattern.compile(pathRegex), new AtomicInteger(times), 0, null, Fault.Kind.DROP_AFTER));
        return this;
    }

    List<Call> calls() {
        return List.copyOf(calls);
    }

    List<Call> calls(String method, String pathRegex) {
        return calls.stream().filter(c -> c.is(method, pathRegex)).toList();
    }

    void clearCalls() {
        calls.clear();
    }

    @Override
    public void close() {
        try {
            server.shutdown();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ------------------------------------------------------------------ dispatch

    private MockResponse dispatch(RecordedRequest r) {
        HttpUrl url = r.getRequestUrl();
        String method = r.getMethod();
        List<String> segs = new ArrayList<>(url.pathSegments());
        if (segs.size() < 2 || !segs.get(0).equals("api2") || !segs.get(1).equals("json")) {
            return error(501, "no such uri", null);
        }
        segs = segs.subList(2, segs.size());
        String path = "/" + String.join("/", segs);
        Map<String, String> params = new LinkedHashMap<>();
        for (String n : url.queryParameterNames()) params.put(n, url.queryParameter(n));
        if (!method.equals("GET")) params.putAll(form(r.getBody().readUtf8()));
        calls.add(new Call(method, path, Map.copyOf(params)));

        Fault fault = null;
        for (Fault f : faults) {
            if (f.method.equals(method) && f.path.matcher(path).matches() && f.times.getAndDecrement() > 0) {
                fault = f;
                break;
            }
        }
        if (fault != null && fault.kind == Fault.Kind.DROP_BEFORE) return new MockResponse().setSocketPolicy(SocketPolicy.DISCONNECT_AFTER_REQUEST);
        if (fault != null && fault.kind == Fault.Kind.STATUS) {
            return new MockResponse().setStatus("HTTP/1.1 " + fault.status + " " + fault.reason)
                    .setHeader("Content-Type", "application/json;charset=UTF-8").setBody("{\"data\":null}");
        }

        MockResponse response;
        try {
            String authError = authenticate(r, method, path);
            response = authError != null ? error(401, authError, null) : route(method, path, segs, params);
        } catch (TransientHypervisorException e) {
            response = error(596, e.getMessage(), null);
        } catch (HypervisorException e) {
            response = error(500, e.getMessage(), null);
        } catch (IllegalArgumentException e) {
            response = error(400, "Parameter verification failed.", Map.of("params", e.getMessage()));
        }
        if (fault != null && fault.kind == Fault.Kind.DROP_AFTER) return new MockResponse().setSocketPolicy(SocketPolicy.DISCONNECT_AFTER_REQUEST);
        return response;
    }

    private String authenticate(RecordedRequest r, String method, String path) {
        if (path.equals("/access/ticket") && method.equals("POST")) return null;
        String auth = r.getHeader("Authorization");
        if (auth != null) {
            return auth.equals("PVEAPIToken=" + TOKEN_ID + "=" + TOKEN_SECRET) ? null : "invalid token value!";
        }
        String cookie = r.getHeader("Cookie");
        if (cookie == null || !cookie.startsWith("PVEAuthCookie=")) return "No ticket";
        String ticket = URLDecoder.decode(cookie.substring("PVEAuthCookie=".length()), StandardCharsets.UTF_8);
        String csrf = tickets.get(ticket);
        if (csrf == null) return "invalid ticket";
        if (!method.equals("GET") && !csrf.equals(r.getHeader("CSRFPreventionToken"))) return "Permission denied - invalid csrf token";
        return null;
    }

    private MockResponse route(String method, String path, List<String> s, Map<String, String> p) {
        for (String k : p.keySet()) {
            if (ROOT_ONLY.contains(k)) return error(400, "Parameter verification failed.", Map.of(k, "Only root may use this option."));
            if (BOOLEANS.contains(k) && !p.get(k).equals("0") && !p.get(k).equals("1")) {
                return error(400, "Parameter verification failed.", Map.of(k, "type check ('boolean') failed - got '" + p.get(k) + "'"));
            }
        }
        if (method.equals("GET") && canned.containsKey(path)) return json(canned.get(path));
        String key = method + " " + path;
        if (key.equals("POST /access/ticket")) return ticket(p);
        if (key.equals("GET /cluster/resources")) return ok(resources(p.get("type")));
        if (key.equals("GET /cluster/ha/status/manager_status")) return ok(managerStatus());
        if (s.size() == 5 && s.get(0).equals("cluster") && s.get(1).equals("ha") && s.get(2).equals("resources") && method.equals("POST")) {
            return haMigrate(s.get(3), s.get(4), p.get("node"));
        }
        if (s.size() >= 2 && s.get(0).equals("nodes")) {
            String node = s.get(1);
            if (s.size() == 3 && s.get(2).equals("tasks") && method.equals("GET")) return ok(taskList(node, p));
            if (s.size() == 5 && s.get(2).equals("tasks") && s.get(4).equals("status")) return ok(taskStatus(node, s.get(3)));
            if (s.size() == 5 && s.get(2).equals("tasks") && s.get(4).equals("log")) return taskLog(node, s.get(3), p);
            if (s.size() >= 5 && (s.get(2).equals("qemu") || s.get(2).equals("lxc"))) {
                GuestType type = GuestType.parse(s.get(2));
                int vmid = Integer.parseInt(s.get(3));
                String rest = String.join("/", s.subList(4, s.size()));
                if (rest.equals("migrate") && method.equals("GET")) return preconditions(node, type, vmid);
                if (rest.equals("migrate") && method.equals("POST")) return migrate(node, type, vmid, p);
                if (rest.startsWith("status/") && method.equals("POST")) return power(node, type, vmid, s.get(5), p);
                if (rest.equals("config") && method.equals("PUT")) return config(node, type, vmid, p);
            }
        }
        return error(501, "Method '" + key + "' not implemented", null);
    }

    // ------------------------------------------------------------------ endpoints

    private MockResponse ticket(Map<String, String> p) {
        String user = p.get("username");
        String pw = p.get("password");
        if (!USER.equals(user) || pw == null || !(pw.equals(PASSWORD) || tickets.containsKey(pw))) {
            return error(401, "authentication failure", null);
        }
        String hex = Long.toHexString(cluster.scheduler().now().getEpochSecond()).toUpperCase(Locale.ROOT);
        String ticket = "PVE:" + user + ":" + hex + "::" + UUID.randomUUID() + "/+=";
        String csrf = hex + ":" + UUID.randomUUID();
        tickets.put(ticket, csrf);
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("username", user);
        d.put("CSRFPreventionToken", csrf);
        d.put("clustername", "fake-cluster");
        d.put("ticket", ticket);
        return ok(d);
    }

    private List<Object> resources(String type) {
        ClusterSnapshot snap = cluster.snapshot();
        List<Object> out = new ArrayList<>();
        if (type == null || type.equals("vm")) {
            for (Guest g : snap.guests()) out.add(resource(g));
        }
        if (type == null || type.equals("node")) {
            for (Node n : snap.nodes()) {
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("id", "node/" + n.name());
                e.put("type", "node");
                e.put("node", n.name());
                e.put("status", n.online() ? "online" : "offline");
                e.put("maxmem", n.memoryTotal());
                e.put("mem", n.memoryUsed());
                e.put("maxcpu", n.cpus());
                e.put("cpu", n.cpuLoad());
                e.put("level", "");
                e.put("cgroup-mode", 2);
                if (pveMajor >= 9) e.put("hastate", haMaintenance.contains(n.name()) ? "maintenance" : "online");
                out.add(e);
            }
        }
        if (type == null) {
            for (Node n : snap.nodes()) {
                out.add(Map.of("id", "storage/" + n.name() + "/local", "type", "storage", "node", n.name(),
                        "storage", "local", "status", "available", "shared", 0, "plugintype", "dir"));
            }
        }
        return out;
    }

    private Map<String, Object> resource(Guest g) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("id", g.type().wireName() + "/" + g.vmid());
        e.put("type", g.type().wireName());
        e.put("vmid", g.vmid());
        if (!g.name().isEmpty()) e.put("name", g.name());
        e.put("node", g.node());
        e.put("status", switch (g.status()) {
            case RUNNING, PAUSED -> "running";
            case STOPPED -> "stopped";
            case UNKNOWN -> "unknown";
        });
        e.put("template", g.template() ? 1 : 0);
        if (!g.tags().isEmpty()) e.put("tags", TagPolicy.formatTags(g.tags()));
        if (g.lock() != null) e.put("lock", g.lock());
        if (g.haManaged()) e.put("hastate", "migrate".equals(g.lock()) ? "migrate" : g.running() ? "started" : "stopped");
        e.put("maxmem", g.memory());
        e.put("mem", g.memoryUsed());
        e.put("maxcpu", 2);
        e.put("cpu", 0.01);
        e.put("maxdisk", 34359738368L);
        e.put("disk", 0);
        e.put("uptime", g.running() ? 86400 : 0);
        return e;
    }

    private Map<String, Object> managerStatus() {
        Map<String, Object> nodeStatus = new LinkedHashMap<>();
        Map<String, Object> nodeRequest = new LinkedHashMap<>();
        for (Node n : cluster.currentSnapshot().nodes()) {
            boolean m = haMaintenance.contains(n.name());
            nodeStatus.put(n.name(), m ? "maintenance" : n.online() ? "online" : "unknown");
            nodeRequest.put(n.name(), m ? Map.of("maintenance", 1) : Map.of());
        }
        return Map.of("manager_status", Map.of("master_node", cluster.currentSnapshot().nodes().get(0).name(),
                "node_status", nodeStatus, "node_request", nodeRequest), "quorum", Map.of("quorate", "1"));
    }

    private Guest guestOn(String node, GuestType type, int vmid) {
        Guest g = cluster.currentSnapshot().guest(vmid).orElse(null);
        if (g == null || g.type() != type || !g.node().equals(node)) {
            throw new HypervisorException("Configuration file 'nodes/" + node + "/" + (type == GuestType.QEMU ? "qemu-server" : "lxc")
                    + "/" + vmid + ".conf' does not exist");
        }
        return g;
    }

    private MockResponse preconditions(String node, GuestType type, int vmid) {
        if (type == GuestType.LXC && pveMajor < 9) return error(501, "Method 'GET /nodes/" + node + "/lxc/" + vmid + "/migrate' not implemented", null);
        Guest g = guestOn(node, type, vmid);
        MigrationPreconditions pre = cluster.preconditions(g);
        List<String> allowed = new ArrayList<>();
        Map<String, Object> notAllowed = new LinkedHashMap<>();
        for (Node n : cluster.currentSnapshot().nodes()) {
            if (n.name().equals(node)) continue;
            String why = pre.notAllowed().get(n.name());
            if (why == null) {
                allowed.add(n.name());
                if (type == GuestType.QEMU) notAllowed.put(n.name(), Map.of()); // Proxmox lists allowed nodes too, with {}
            } else {
                notAllowed.put(n.name(), type == GuestType.QEMU ? Map.of("unavailable_storages", List.of(why))
                        : Map.of("blocking-ha-resources", List.of(Map.of("sid", why, "cause", "node-affinity"))));
            }
        }
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("running", g.running() ? 1 : 0);
        if (type == GuestType.LXC) {
            d.put("allowed-nodes", allowed);
            d.put("not-allowed-nodes", notAllowed);
            return ok(d);
        }
        d.put("allowed_nodes", allowed);
        d.put("not_allowed_nodes", notAllowed);
        List<Object> disks = new ArrayList<>();
        if (pre.localDisks()) {
            disks.add(Map.of("volid", "local-lvm:vm-" + vmid + "-disk-0", "size", 34359738368L, "cdrom", 0, "is_unused", 0,
                    "drivename", "scsi0", "is_attached", 1));
        }
        d.put("local_disks", disks);
        List<String> local = new ArrayList<>(pre.blockers());
        local.addAll(pre.liveBlockers());
        d.put("local_resources", local);
        Map<String, Object> mapped = new LinkedHashMap<>();
        for (String lb : pre.liveBlockers()) mapped.put(lb, Map.of("name", "mapping-" + lb, "live-migration", 0));
        d.put("mapped-resources", new ArrayList<>(mapped.keySet()));
        d.put("mapped-resource-info", mapped);
        d.put("has-dbus-vmstate", 1);
        return ok(d);
    }

    private MockResponse migrate(String node, GuestType type, int vmid, Map<String, String> p) {
        String target = p.get("target");
        if (target == null) return error(400, "Parameter verification failed.", Map.of("target", "property is missing and it is not optional"));
        if (target.equals(node)) return error(400, "Parameter verification failed.", Map.of("target", "target is local node."));
        Guest g = guestOn(node, type, vmid);
        if (g.haManaged()) {
            // Proxmox queues "ha-manager migrate" in a hamigrate task that ends OK at once, ignoring online/with-local-disks.
            cluster.migrate(new MigrationCommand(g, target, MigrationType.ONLINE, false, Duration.ofSeconds(180)));
            return ok(fakeTask(node, "hamigrate", vmid, "OK"));
        }
        MigrationType mt;
        if (type == GuestType.QEMU) {
            mt = "1".equals(p.get("online")) ? MigrationType.ONLINE : MigrationType.OFFLINE;
            if (mt == MigrationType.ONLINE && g.running() && cluster.preconditions(g).localDisks() && !"1".equals(p.get("with-local-disks"))) {
                throw new HypervisorException("can't live migrate attached local disks without with-local-disks option");
            }
        } else {
            mt = "1".equals(p.get("restart")) ? MigrationType.RESTART : "1".equals(p.get("online")) ? MigrationType.ONLINE : MigrationType.OFFLINE;
            if (g.running() && mt == MigrationType.OFFLINE) throw new HypervisorException("can't migrate running container without --online or --restart");
        }
        Duration timeout = Duration.ofSeconds(p.containsKey("timeout") ? Long.parseLong(p.get("timeout")) : 180);
        TaskRef ref = cluster.migrate(new MigrationCommand(g, target, mt, "1".equals(p.get("with-local-disks")), timeout));
        return ok(register(ref));
    }

    private MockResponse haMigrate(String sid, String action, String target) {
        if (!action.equals("migrate") && !action.equals("relocate")) return error(501, "Method 'POST /cluster/ha/resources/" + sid + "/" + action + "' not implemented", null);
        if (target == null) return error(400, "Parameter verification failed.", Map.of("node", "property is missing and it is not optional"));
        int vmid = Integer.parseInt(sid.substring(sid.indexOf(':') + 1));
        Guest g = cluster.currentSnapshot().guest(vmid).orElseThrow(() -> new HypervisorException("no such resource '" + sid + "'"));
        if (!g.haManaged()) throw new HypervisorException("resource '" + sid + "' is not HA managed");
        if (!g.node().equals(target)) {
            cluster.migrate(new MigrationCommand(g, target, action.equals("relocate") ? MigrationType.OFFLINE : MigrationType.ONLINE,
                    false, Duration.ofSeconds(180)));
        }
        if (pveMajor < 9) return ok(null);
        return ok(Map.of("sid", sid, "requested-node", target, "comigrated-resources", List.of(), "blocking-resources", List.of()));
    }

    private MockResponse power(String node, GuestType type, int vmid, String action, Map<String, String> p) {
        Guest g = guestOn(node, type, vmid);
        String prefix = type == GuestType.QEMU ? "qm" : "vz";
        TaskRef ref = switch (action) {
            case "start" -> cluster.start(g);
            case "shutdown" -> cluster.shutdown(g, Duration.ofSeconds(Long.parseLong(p.getOrDefault("timeout", "60"))));
            case "stop" -> cluster.stop(g);
            default -> throw new HypervisorException("Method 'POST status/" + action + "' not implemented");
        };
        if (g.haManaged()) return ok(fakeTask(node, action.equals("start") ? "hastart" : "hastop", vmid, "OK"));
        return ok(register(ref));
    }

    private MockResponse config(String node, GuestType type, int vmid, Map<String, String> p) {
        Guest g = guestOn(node, type, vmid);
        if ("tags".equals(p.get("delete"))) {
            cluster.setTags(g, List.of());
        } else if (p.containsKey("tags")) {
            List<String> tags = TagPolicy.parseTags(p.get("tags"));
            for (String t : tags) {
                if (!TAG.matcher(t).matches()) return error(400, "Parameter verification failed.", Map.of("tags", "invalid characters in tag"));
            }
            cluster.setTags(g, tags);
        }
        return ok(null);
    }

    // ------------------------------------------------------------------ tasks

    private String register(TaskRef ref) {
        taskNodes.put(ref.id(), ref.node());
        taskStarts.put(ref.id(), cluster.scheduler().now());
        return ref.id();
    }

    private String fakeTask(String node, String type, int vmid, String exit) {
        String upid = String.format(Locale.ROOT, "UPID:%s:%08X:%08X:%08X:%s:%d:%s:", node, fakeSeq.incrementAndGet(), 42,
                cluster.scheduler().now().getEpochSecond(), type, vmid, TOKEN_ID);
        fakeTasks.put(upid, new FakeTask(node, type, vmid, exit));
        taskNodes.put(upid, node);
        taskStarts.put(upid, cluster.scheduler().now());
        return upid;
    }

    private TaskState state(String upid, String node) {
        FakeTask f = fakeTasks.get(upid);
        if (f != null) return TaskState.ok(f.exitStatus);
        return cluster.task(TaskRef.of(upid, node));
    }

    private static boolean isMigration(String upid) {
        return upid.contains(":qmigrate:") || upid.contains(":vzmigrate:");
    }

    /** Proxmox's exit status of a failed migration is terse; the reason is in the log. */
    private static String exitStatus(String upid, TaskState s) {
        if (!s.finished()) return null;
        if (s.successful()) return s.message();
        return isMigration(upid) ? "migration aborted" : s.message();
    }

    private Map<String, Object> taskStatus(String node, String upid) {
        if (!taskNodes.containsKey(upid)) throw new IllegalArgumentException("no such task");
        Upid u = Upid.parse(upid).orElseThrow(() -> new IllegalArgumentException("unable to parse worker upid"));
        TaskState s = state(upid, node);
        Map<String, Object> d = taskEntry(u, upid);
        d.put("status", s.finished() ? "stopped" : "running");
        if (s.finished()) d.put("exitstatus", exitStatus(upid, s));
        return d;
    }

    private static Map<String, Object> taskEntry(Upid u, String upid) {
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("upid", upid);
        d.put("node", u.node());
        d.put("pid", u.pid());
        d.put("pstart", u.pstart());
        d.put("starttime", u.startTime());
        d.put("type", u.type());
        d.put("id", u.id());
        d.put("user", u.user());
        return d;
    }

    private List<Object> taskList(String node, Map<String, String> p) {
        String source = p.getOrDefault("source", "archive");
        long since = Long.parseLong(p.getOrDefault("since", "0"));
        List<Object> out = new ArrayList<>();
        for (Map.Entry<String, String> e : taskNodes.entrySet()) {
            if (!e.getValue().equals(node)) continue;
            String upid = e.getKey();
            Upid u = Upid.parse(upid).orElseThrow();
            if (p.containsKey("vmid") && !u.id().equals(p.get("vmid"))) continue;
            if (p.containsKey("typefilter") && !u.type().equals(p.get("typefilter"))) continue;
            if (u.startTime() < since) continue;
            TaskState s = state(upid, node);
            if (source.equals("active") && s.finished()) continue;
            if (source.equals("archive") && !s.finished()) continue;
            Map<String, Object> d = taskEntry(u, upid);
            if (s.finished()) {
                d.put("endtime", u.startTime() + 1);
                d.put("status", exitStatus(upid, s));
            }
            out.add(d);
        }
        return out;
    }

    private MockResponse taskLog(String node, String upid, Map<String, String> p) {
        Upid u = Upid.parse(upid).orElseThrow(() -> new IllegalArgumentException("unable to parse worker upid"));
        TaskState s = state(upid, node);
        Instant at = taskStarts.getOrDefault(upid, cluster.scheduler().now());
        List<String> lines = new ArrayList<>();
        if (isMigration(upid)) {
            lines.add(LOG_TIME.format(at) + " starting migration of " + (u.type().equals("qmigrate") ? "VM " : "CT ") + u.id());
            lines.add(LOG_TIME.format(at) + " found local disk 'local-lvm:vm-" + u.id() + "-disk-0' (attached)");
        } else {
            lines.add("task started");
        }
        if (s.finished() && !s.successful()) {
            lines.add(LOG_TIME.format(at) + " ERROR: migration aborted (duration 00:00:01): " + s.message());
            lines.add("TASK ERROR: " + exitStatus(upid, s));
        } else if (s.finished()) {
            lines.add("TASK OK");
        }
        int start = Integer.parseInt(p.getOrDefault("start", "0"));
        int limit = Integer.parseInt(p.getOrDefault("limit", "50"));
        List<Object> data = new ArrayList<>();
        for (int i = start; i < Math.min(lines.size(), start + limit); i++) data.add(Map.of("n", i + 1, "t", lines.get(i)));
        Map<String, Object> env = new LinkedHashMap<>();
        env.put("data", data);
        env.put("total", lines.size());
        return json(write(env));
    }

    // ------------------------------------------------------------------ envelope

    private static Map<String, String> form(String body) {
        Map<String, String> out = new LinkedHashMap<>();
        if (body == null || body.isEmpty()) return out;
        for (String kv : body.split("&")) {
            int eq = kv.indexOf('=');
            String k = URLDecoder.decode(eq < 0 ? kv : kv.substring(0, eq), StandardCharsets.UTF_8);
            String v = eq < 0 ? "" : URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8);
            out.merge(k, v, (a, b) -> a + "," + b);
        }
        return out;
    }

    private static MockResponse ok(Object data) {
        Map<String, Object> env = new LinkedHashMap<>();
        env.put("data", data);
        return json(write(env));
    }

    private static MockResponse json(String body) {
        return new MockResponse().setResponseCode(200).setHeader("Content-Type", "application/json;charset=UTF-8").setBody(body);
    }

    /** The text goes into the reason phrase (first line only, as pveproxy does) and, from PVE 8.4 on, the body. */
    private MockResponse error(int status, String message, Map<String, String> errors) {
        Map<String, Object> env = new LinkedHashMap<>();
        env.put("data", null);
        if (!pre84) env.put("message", message + "\n");
        if (errors != null) env.put("errors", errors);
        String reason = message.lines().findFirst().orElse("");
        return new MockResponse().setStatus("HTTP/1.1 " + status + " " + reason)
                .setHeader("Content-Type", "application/json;charset=UTF-8").setBody(write(env));
    }

    private static String write(Object o) {
        try {
            return JSON.writeValueAsString(o);
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

    /** Names of the nodes in the simulator, sorted. */
    Set<String> nodes() {
        Set<String> out = new TreeSet<>();
        cluster.currentSnapshot().nodes().forEach(n -> out.add(n.name()));
        return out;
    }

    static Predicate<Call> migratePost(int vmid) {
        return c -> c.method().equals("POST") && c.path().matches("/nodes/[^/]+/(qemu|lxc)/" + vmid + "/migrate");
    }
}
