package io.moxxie.proxmox.simulation;

import io.moxxie.core.Checks;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.model.Node;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.policy.TagPolicy;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.HypervisorException;
import io.moxxie.core.spi.MigrationCommand;
import io.moxxie.core.spi.MigrationProgress;
import io.moxxie.core.spi.TaskRef;
import io.moxxie.core.spi.TaskState;
import io.moxxie.core.spi.TransientHypervisorException;
import io.moxxie.core.time.Scheduler;
import io.moxxie.proxmox.internal.Upid;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;

/**
 * The Proxmox VE API ({@code /api2/json}) of a {@link SimulatedCluster}, without a transport: {@link #handle(ApiRequest)}
 * answers a request as pveproxy would, so that the real {@link io.moxxie.proxmox.ProxmoxClient} can drain a simulated
 * cluster — over {@link SimulatedProxmoxServer}, or over any HTTP server a test brings. For tests, demos, and
 * benchmarks of integrations (HTTP requests per migrated guest) without a cluster.
 *
 * <p>What it speaks, as PVE 9 (or the {@linkplain Builder#pveMajorVersion(int) major version} given) does:
 * <ul>
 *   <li>the envelope {@code {"data": …}} ({@code "total"} besides for a task log); errors with the text in the body's
 *       {@code message} (PVE 8.4 and later) and in {@link ApiResponse#reasonPhrase()}, and per parameter for a 400;
 *       500 for a refusal of the cluster, 596 for a transient one (as when pveproxy cannot reach the node);</li>
 *   <li>authentication: the API token in {@code Authorization: PVEAPIToken=ID=SECRET}, or a ticket from
 *       {@code POST /access/ticket} (password or current ticket) as {@code PVEAuthCookie} with the
 *       {@code CSRFPreventionToken} header on writes; 401 otherwise;</li>
 *   <li>the root-only options ({@code force}, {@code migration_type}, {@code migration_network}, {@code skiplock})
 *       refused, as they are for a token, and booleans that are not {@code 1}/{@code 0} refused;</li>
 *   <li>{@code GET /cluster/resources} ({@code type=vm|node}), {@code GET /cluster/ha/status/manager_status},
 *       {@code GET|POST /nodes/{n}/{qemu|lxc}/{id}/migrate} (the lxc check only from PVE 9),
 *       {@code POST /cluster/ha/resources/{sid}/migrate|relocate}, {@code POST …/status/start|shutdown|stop},
 *       {@code PUT …/config} ({@code tags}, {@code delete=tags}), {@code GET /nodes/{n}/tasks} ({@code source},
 *       {@code vmid}, {@code typefilter}, {@code since}), {@code …/tasks/{upid}/status} and {@code …/log}
 *       ({@code start}, {@code limit}, {@code limit=0} for the rest of the log, as {@code PVE::Tools::dump_logfile});
 *       anything else is a 501;</li>
 *   <li>HA-managed guests as Proxmox treats them: a plain migrate or power call becomes an HA task that ends OK at
 *       once, the move itself happens later; nodes can be put in HA maintenance ({@link #haMaintenance}).</li>
 * </ul>
 * A live migration's task log has qemu-server's lines: the set-up, then once a simulated second while memory is
 * copied {@code migration active, transferred 735.9 MiB of 4.0 GiB VM-state, 543.8 MiB/s} (from
 * {@link SimulatedCluster#migrationProgress}, sizes as {@code PVE::Format::render_bytes}), and the end.
 * Every request that reaches {@link #handle} is recorded ({@link #calls()}), headers left out.
 *
 * <p>Thread-safe: requests may be handled concurrently; the cluster serialises what changes it.
 */
public final class SimulatedProxmoxApi {
    /** The major version simulated unless {@link Builder#pveMajorVersion(int)} says otherwise. */
    public static final int DEFAULT_PVE_MAJOR_VERSION = 9;

    private static final Set<String> ROOT_ONLY = Set.of("force", "migration_type", "migration_network", "skiplock");
    private static final Set<String> BOOLEANS = Set.of("online", "with-local-disks", "restart", "forceStop", "keepActive");
    private static final Pattern TAG = Pattern.compile("^[a-z0-9_][a-z0-9_\\-+.]*$", Pattern.CASE_INSENSITIVE);
    private static final DateTimeFormatter LOG_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss").withZone(ZoneOffset.UTC);
    private static final Duration DEFAULT_MIGRATE_TIMEOUT = Duration.ofSeconds(180);
    private static final Set<String> TASK_LOG_PARAMS = Set.of("start", "limit", "download");
    /** A migration that shows no progress this long after its start (a hung one) is no longer followed for its log. */
    private static final Duration PROGRESS_WAIT = Duration.ofMinutes(5);

    /**
     * One request as the API saw it: method, path below {@code /api2/json} and parameters (headers, which carry the
     * secrets, are not kept).
     *
     * @param method the HTTP method
     * @param path   the path below {@code /api2/json}
     * @param params query and form parameters
     */
    public record Call(String method, String path, Map<String, String> params) {
        /** @throws IllegalArgumentException when an argument is null */
        public Call {
            Checks.notNull("method", method);
            Checks.notNull("path", path);
            params = Collections.unmodifiableMap(new LinkedHashMap<>(Checks.notNull("params", params)));
        }

        /** True when the method is {@code method} and the whole path matches {@code pathRegex}. */
        public boolean matches(String method, String pathRegex) {
            return this.method.equals(method) && path.matches(pathRegex);
        }

        /** {@code POST /cluster/ha/resources/vm:300/migrate {node=pve2}}. */
        @Override
        public String toString() {
            return method + " " + path + (params.isEmpty() ? "" : " " + params);
        }
    }

    private final SimulatedCluster cluster;
    private final String tokenId;
    private final String tokenSecret;
    private final String user;
    private final String password;
    private final int pveMajor;
    private final Queue<Call> calls = new ConcurrentLinkedQueue<>();
    /** Tasks that end OK at once, the cluster doing the work later: the HA stack's hamigrate, hastart, hastop. */
    private final Set<String> haTasks = ConcurrentHashMap.newKeySet();
    private final Map<String, String> taskNodes = new ConcurrentHashMap<>();
    private final Map<String, Instant> taskStarts = new ConcurrentHashMap<>();
    /** The lines qemu-server writes for a live migration after the first two, by UPID; each guarded by itself. */
    private final Map<String, MigrationLines> migrationLines = new ConcurrentHashMap<>();
    private final Map<String, String> tickets = new ConcurrentHashMap<>();
    private final Set<String> haMaintenance = ConcurrentHashMap.newKeySet();
    private final AtomicInteger haTaskSeq = new AtomicInteger(0x5000);

    private SimulatedProxmoxApi(Builder b) {
        this.cluster = b.cluster;
        this.tokenId = b.tokenId;
        this.tokenSecret = b.tokenSecret;
        this.user = b.user;
        this.password = b.password;
        this.pveMajor = b.pveMajor;
    }

    /**
     * Starts a builder for the API of {@code cluster}; give it the credentials it accepts.
     *
     * @throws IllegalArgumentException when {@code cluster} is null
     */
    public static Builder builder(SimulatedCluster cluster) {
        return new Builder(Checks.notNull("cluster", cluster));
    }

    /** The cluster behind the API. */
    public SimulatedCluster cluster() {
        return cluster;
    }

    /** The simulated major version of Proxmox VE. */
    public int pveMajorVersion() {
        return pveMajor;
    }

    /**
     * Puts a node into the HA stack's maintenance mode or takes it out ({@code ha-manager crm-command
     * node-maintenance enable|disable}): HA guests may not move there, {@code /cluster/resources} (PVE 9) and the HA
     * manager status say so.
     *
     * @return this API
     * @throws IllegalArgumentException when {@code node} is not a node name
     */
    public SimulatedProxmoxApi haMaintenance(String node, boolean inMaintenance) {
        Checks.nodeName("node", node);
        if (inMaintenance) haMaintenance.add(node);
        else haMaintenance.remove(node);
        return this;
    }

    /** The nodes in HA maintenance, sorted. */
    public Set<String> haMaintenanceNodes() {
        return Collections.unmodifiableSet(new TreeSet<>(haMaintenance));
    }

    /** Every request recorded so far, oldest first. */
    public List<Call> calls() {
        return List.copyOf(calls);
    }

    /** The recorded requests with this method whose path matches {@code pathRegex}, oldest first. */
    public List<Call> calls(String method, String pathRegex) {
        return calls.stream().filter(c -> c.matches(method, pathRegex)).toList();
    }

    /** Forgets the recorded requests. */
    public void clearCalls() {
        calls.clear();
    }

    /**
     * Records a request that its transport answered itself without handing it to {@link #handle} — an injected
     * fault, say — so that {@link #calls()} still lists every request that arrived.
     *
     * @throws IllegalArgumentException when {@code request} is null
     */
    public void record(ApiRequest request) {
        Checks.notNull("request", request);
        calls.add(new Call(request.method(), request.path(), request.params()));
    }

    /**
     * Records the request and answers it as Proxmox would, changing the cluster where the request asks for it.
     * Never throws for what the client sent: a refusal is an error answer.
     *
     * @throws IllegalArgumentException when {@code request} is null
     */
    public ApiResponse handle(ApiRequest request) {
        record(request);
        String method = request.method();
        String path = request.path();
        try {
            String authError = authenticate(request);
            if (authError != null) return ApiResponse.error(401, authError, null);
            List<String> segments = Arrays.stream(path.split("/")).filter(s -> !s.isEmpty()).toList();
            return route(method, path, segments, request.params());
        } catch (TransientHypervisorException e) {
            return ApiResponse.error(596, e.getMessage(), null);
        } catch (HypervisorException e) {
            return ApiResponse.error(500, e.getMessage(), null);
        } catch (IllegalArgumentException e) {
            return ApiResponse.error(400, "Parameter verification failed.", Map.of("params", String.valueOf(e.getMessage())));
        }
    }

    @Override
    public String toString() {
        return "SimulatedProxmoxApi[PVE " + pveMajor + (tokenId != null ? ", token " + tokenId : "")
                + (user != null ? ", user " + user : "") + "]";
    }

    // ------------------------------------------------------------------ authentication and routing

    private String authenticate(ApiRequest r) {
        if (r.path().equals("/access/ticket") && r.method().equals("POST")) return null;
        String auth = r.header("Authorization");
        if (auth != null) {
            return tokenId != null && auth.equals("PVEAPIToken=" + tokenId + "=" + tokenSecret) ? null : "invalid token value!";
        }
        String cookie = r.header("Cookie");
        if (cookie == null || !cookie.startsWith("PVEAuthCookie=")) return "No ticket";
        String ticket = URLDecoder.decode(cookie.substring("PVEAuthCookie=".length()), StandardCharsets.UTF_8);
        String csrf = tickets.get(ticket);
        if (csrf == null) return "invalid ticket";
        if (!r.method().equals("GET") && !csrf.equals(r.header("CSRFPreventionToken"))) return "Permission denied - invalid csrf token";
        return null;
    }

    private ApiResponse route(String method, String path, List<String> s, Map<String, String> p) {
        for (Map.Entry<String, String> e : p.entrySet()) {
            String k = e.getKey();
            if (ROOT_ONLY.contains(k)) return parameterError(k, "Only root may use this option.");
            if (BOOLEANS.contains(k) && !e.getValue().equals("0") && !e.getValue().equals("1")) {
                return parameterError(k, "type check ('boolean') failed - got '" + e.getValue() + "'");
            }
        }
        String key = method + " " + path;
        if (key.equals("POST /access/ticket")) return ticket(p);
        if (key.equals("GET /cluster/resources")) return ApiResponse.ok(resources(p.get("type")));
        if (key.equals("GET /cluster/ha/status/manager_status")) return ApiResponse.ok(managerStatus());
        if (s.size() == 5 && s.get(0).equals("cluster") && s.get(1).equals("ha") && s.get(2).equals("resources") && method.equals("POST")) {
            return haMigrate(s.get(3), s.get(4), p.get("node"));
        }
        if (s.size() >= 2 && s.get(0).equals("nodes")) {
            String node = s.get(1);
            if (s.size() == 3 && s.get(2).equals("tasks") && method.equals("GET")) return ApiResponse.ok(taskList(node, p));
            if (s.size() == 5 && s.get(2).equals("tasks") && s.get(4).equals("status")) return ApiResponse.ok(taskStatus(node, s.get(3)));
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
        return notImplemented(key);
    }

    private static ApiResponse parameterError(String param, String text) {
        return ApiResponse.error(400, "Parameter verification failed.", Map.of(param, text));
    }

    private static ApiResponse notImplemented(String methodAndPath) {
        return ApiResponse.error(501, "Method '" + methodAndPath + "' not implemented", null);
    }

    // ------------------------------------------------------------------ endpoints

    private ApiResponse ticket(Map<String, String> p) {
        String u = p.get("username");
        String pw = p.get("password");
        if (user == null || !user.equals(u) || pw == null || !(pw.equals(password) || tickets.containsKey(pw))) {
            return ApiResponse.error(401, "authentication failure", null);
        }
        String hex = Long.toHexString(cluster.scheduler().now().getEpochSecond()).toUpperCase(Locale.ROOT);
        String ticket = "PVE:" + u + ":" + hex + "::" + UUID.randomUUID() + "/+=";
        String csrf = hex + ":" + UUID.randomUUID();
        tickets.put(ticket, csrf);
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("username", u);
        d.put("CSRFPreventionToken", csrf);
        d.put("clustername", "moxxie-simulated");
        d.put("ticket", ticket);
        return ApiResponse.ok(d);
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

    private static Map<String, Object> resource(Guest g) {
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
        List<Node> nodes = cluster.currentSnapshot().nodes();
        for (Node n : nodes) {
            boolean m = haMaintenance.contains(n.name());
            nodeStatus.put(n.name(), m ? "maintenance" : n.online() ? "online" : "unknown");
            nodeRequest.put(n.name(), m ? Map.of("maintenance", 1) : Map.of());
        }
        return Map.of("manager_status", Map.of("master_node", nodes.get(0).name(),
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

    private ApiResponse preconditions(String node, GuestType type, int vmid) {
        if (type == GuestType.LXC && pveMajor < 9) return notImplemented("GET /nodes/" + node + "/lxc/" + vmid + "/migrate");
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
            return ApiResponse.ok(d);
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
        return ApiResponse.ok(d);
    }

    private ApiResponse migrate(String node, GuestType type, int vmid, Map<String, String> p) {
        String target = p.get("target");
        if (target == null) return parameterError("target", "property is missing and it is not optional");
        if (target.equals(node)) return parameterError("target", "target is local node.");
        Guest g = guestOn(node, type, vmid);
        if (g.haManaged()) {
            // Proxmox queues "ha-manager migrate" in a hamigrate task that ends OK at once, ignoring online/with-local-disks.
            cluster.migrate(new MigrationCommand(g, target, MigrationType.ONLINE, false, DEFAULT_MIGRATE_TIMEOUT));
            return ApiResponse.ok(haTask(node, "hamigrate", vmid));
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
        Duration timeout = p.containsKey("timeout") ? Duration.ofSeconds(Long.parseLong(p.get("timeout"))) : DEFAULT_MIGRATE_TIMEOUT;
        TaskRef ref = cluster.migrate(new MigrationCommand(g, target, mt, "1".equals(p.get("with-local-disks")), timeout));
        String upid = register(ref);
        if (type == GuestType.QEMU && mt == MigrationType.ONLINE && g.running()) followLiveMigration(ref, g, target);
        return ApiResponse.ok(upid);
    }

    private ApiResponse haMigrate(String sid, String action, String target) {
        if (!action.equals("migrate") && !action.equals("relocate")) return notImplemented("POST /cluster/ha/resources/" + sid + "/" + action);
        if (target == null) return parameterError("node", "property is missing and it is not optional");
        int vmid = Integer.parseInt(sid.substring(sid.indexOf(':') + 1));
        Guest g = cluster.currentSnapshot().guest(vmid).orElseThrow(() -> new HypervisorException("no such resource '" + sid + "'"));
        if (!g.haManaged()) throw new HypervisorException("resource '" + sid + "' is not HA managed");
        if (!g.node().equals(target)) {
            cluster.migrate(new MigrationCommand(g, target, action.equals("relocate") ? MigrationType.OFFLINE : MigrationType.ONLINE,
                    false, DEFAULT_MIGRATE_TIMEOUT));
        }
        if (pveMajor < 9) return ApiResponse.ok(null);
        return ApiResponse.ok(Map.of("sid", sid, "requested-node", target, "comigrated-resources", List.of(), "blocking-resources", List.of()));
    }

    private ApiResponse power(String node, GuestType type, int vmid, String action, Map<String, String> p) {
        Guest g = guestOn(node, type, vmid);
        TaskRef ref = switch (action) {
            case "start" -> cluster.start(g);
            case "shutdown" -> cluster.shutdown(g, Duration.ofSeconds(Long.parseLong(p.getOrDefault("timeout", "60"))));
            case "stop" -> cluster.stop(g);
            default -> throw new HypervisorException("Method 'POST status/" + action + "' not implemented");
        };
        if (g.haManaged()) return ApiResponse.ok(haTask(node, action.equals("start") ? "hastart" : "hastop", vmid));
        return ApiResponse.ok(register(ref));
    }

    private ApiResponse config(String node, GuestType type, int vmid, Map<String, String> p) {
        Guest g = guestOn(node, type, vmid);
        if ("tags".equals(p.get("delete"))) {
            cluster.setTags(g, List.of());
        } else if (p.containsKey("tags")) {
            List<String> tags = TagPolicy.parseTags(p.get("tags"));
            for (String t : tags) {
                if (!TAG.matcher(t).matches()) return parameterError("tags", "invalid characters in tag");
            }
            cluster.setTags(g, tags);
        }
        return ApiResponse.ok(null);
    }

    // ------------------------------------------------------------------ tasks

    private String register(TaskRef ref) {
        taskNodes.put(ref.id(), ref.node());
        taskStarts.put(ref.id(), cluster.scheduler().now());
        return ref.id();
    }

    private String haTask(String node, String type, int vmid) {
        String upid = String.format(Locale.ROOT, "UPID:%s:%08X:%08X:%08X:%s:%d:%s:", node, haTaskSeq.incrementAndGet(), 42,
                cluster.scheduler().now().getEpochSecond(), type, vmid, tokenId != null ? tokenId : user);
        haTasks.add(upid);
        taskNodes.put(upid, node);
        taskStarts.put(upid, cluster.scheduler().now());
        return upid;
    }

    private TaskState state(String upid, String node) {
        if (haTasks.contains(upid)) return TaskState.ok("OK");
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

    // ------------------------------------------------------------------ a live migration's log

    /** Writes qemu-server's lines of the live migration {@code ref} of {@code g}: its set-up now, its progress a second. */
    private void followLiveMigration(TaskRef ref, Guest g, String target) {
        Scheduler scheduler = cluster.scheduler();
        MigrationLines log = new MigrationLines(ref, scheduler.now());
        String socket = "unix:/run/qemu-server/" + g.vmid() + ".migrate";
        log.add("starting VM " + g.vmid() + " on remote node '" + target + "'");
        log.add("start remote tunnel");
        log.add("ssh tunnel ver 1");
        log.add("starting online/live migration on " + socket);
        log.add("set migration capabilities");
        log.add("migration downtime limit: 100 ms");
        // qemu-server: a tenth of the memory, rounded to a power of two.
        log.add("migration cachesize: " + renderBytes(Long.highestOneBit(Math.max(1, g.memory() / 10))));
        log.add("set migration parameters");
        log.add("start migrate command to " + socket);
        migrationLines.put(ref.id(), log);
        log.startSampling(scheduler);
    }

    /**
     * The lines of one live migration after the first two, as qemu-server writes them ({@code PVE/QemuMigrate.pm},
     * {@code phase2}): a {@code query-migrate} a second, a line when the transferred bytes changed; at the end the
     * average speed and {@code migration status: completed}, and {@code PVE::AbstractMigrate}'s last line. Fields
     * guarded by {@code this}.
     */
    private final class MigrationLines {
        private final TaskRef ref;
        private final Instant startedAt;
        private final List<String> lines = new ArrayList<>();
        private Scheduler.Cancellable sampling;
        private long lastTransferred = -1;
        private Instant copyStartedAt;
        private boolean sampled;
        private boolean ended;

        MigrationLines(TaskRef ref, Instant startedAt) {
            this.ref = ref;
            this.startedAt = startedAt;
        }

        synchronized void startSampling(Scheduler scheduler) {
            sampling = scheduler.scheduleWithFixedDelay(Duration.ofSeconds(1), Duration.ofSeconds(1), this::sample);
        }

        synchronized void add(String line) {
            lines.add(LOG_TIME.format(cluster.scheduler().now()) + " " + line);
        }

        /** The lines so far, the end's written first if the task {@code s} ended. */
        synchronized List<String> lines(TaskState s) {
            if (s.finished()) end(s);
            return List.copyOf(lines);
        }

        synchronized void sample() {
            if (sampled) return;
            Instant now = cluster.scheduler().now();
            try {
                TaskState s = cluster.task(ref);
                if (s.finished()) {
                    end(s);
                    return;
                }
                Optional<MigrationProgress> p = cluster.migrationProgress(ref);
                if (p.isEmpty()) {
                    // A move that never reaches its copy (hung in its set-up) is not followed for ever.
                    if (copyStartedAt != null || !now.isBefore(startedAt.plus(PROGRESS_WAIT))) stop();
                    return;
                }
                if (copyStartedAt == null) copyStartedAt = now;
                MigrationProgress m = p.get();
                if (m.transferred() == lastTransferred) return;
                lastTransferred = m.transferred();
                add("migration active, transferred " + renderBytes(m.transferred()) + " of " + renderBytes(m.total()) + " VM-state, "
                        + renderBytes(m.rate().orElse(0)) + "/s");
            } catch (HypervisorException e) {
                // A failed query-migrate: qemu-server tries again a second later.
            }
        }

        private void end(TaskState s) {
            if (ended) return;
            ended = true;
            stop();
            if (!s.successful()) return;
            Instant now = cluster.scheduler().now();
            double seconds = Math.max(1, Duration.between(copyStartedAt != null ? copyStartedAt : startedAt, now).toSeconds());
            long total = cluster.currentSnapshot().guest(Integer.parseInt(Upid.parse(ref.id()).orElseThrow().id())).map(Guest::memory).orElse(0L);
            // The downtime is not simulated: a typical one of a small VM on a fast link.
            add("average migration speed: " + renderBytes(total / seconds) + "/s - downtime 73 ms");
            add("migration status: completed");
            long d = Duration.between(startedAt, now).toSeconds();
            add(String.format(Locale.ROOT, "migration finished successfully (duration %02d:%02d:%02d)", d / 3600, d / 60 % 60, d % 60));
        }

        private void stop() {
            sampled = true;
            if (sampling != null) sampling.cancel();
        }
    }

    /** A size as {@code PVE::Format::render_bytes($value, 1)} writes it: {@code "735.9 MiB"}. */
    static String renderBytes(double value) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
        int unit = 0;
        if (value > 1023) {
            unit = Math.min(units.length - 1, (int) (Math.log(value) / Math.log(1024)));
            value /= Math.pow(1024, unit);
        }
        return String.format(Locale.ROOT, "%.1f %s", value, units[unit]);
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

    private ApiResponse taskLog(String node, String upid, Map<String, String> p) {
        for (Map.Entry<String, String> e : p.entrySet()) {
            if (!TASK_LOG_PARAMS.contains(e.getKey())) {
                return parameterError(e.getKey(), "property is not defined in schema and the schema does not allow additional properties");
            }
            if (!e.getKey().equals("download") && !e.getValue().matches("\\d{1,9}")) {
                return parameterError(e.getKey(), e.getValue().matches("-\\d+") ? "value must have a minimum value of 0"
                        : "type check ('integer') failed - got '" + e.getValue() + "'");
            }
        }
        if (p.containsKey("download")) {
            // A file download, not JSON: not what a client of the JSON API gets.
            return notImplemented("GET /nodes/" + node + "/tasks/" + upid + "/log?download=1");
        }
        Upid u = Upid.parse(upid).orElseThrow(() -> new IllegalArgumentException("unable to parse worker upid"));
        TaskState s = state(upid, node);
        Instant at = taskStarts.getOrDefault(upid, cluster.scheduler().now());
        List<String> lines = new ArrayList<>();
        if (isMigration(upid)) {
            lines.add(LOG_TIME.format(at) + " starting migration of " + (u.type().equals("qmigrate") ? "VM " : "CT ") + u.id());
            lines.add(LOG_TIME.format(at) + " found local disk 'local-lvm:vm-" + u.id() + "-disk-0' (attached)");
            MigrationLines live = migrationLines.get(upid);
            if (live != null) lines.addAll(live.lines(s));
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
        // PVE::Tools::dump_logfile: limit 0 reads to the end (PVE 7.3 and later).
        int end = limit == 0 ? lines.size() : (int) Math.min(lines.size(), (long) start + limit);
        List<Object> data = new ArrayList<>();
        for (int i = start; i < end; i++) data.add(Map.of("n", i + 1, "t", lines.get(i)));
        Map<String, Object> envelope = new LinkedHashMap<>();
        envelope.put("data", data);
        envelope.put("total", lines.size());
        return ApiResponse.okEnvelope(envelope);
    }

    /**
     * Configures a {@link SimulatedProxmoxApi}: the cluster, the credentials it accepts (an API token, a user and
     * password for ticket logins, or both) and the Proxmox VE version it answers as. Not thread-safe; the API it
     * builds is.
     */
    public static final class Builder {
        private final SimulatedCluster cluster;
        private String tokenId;
        private String tokenSecret;
        private String user;
        private String password;
        private int pveMajor = DEFAULT_PVE_MAJOR_VERSION;

        private Builder(SimulatedCluster cluster) {
            this.cluster = cluster;
        }

        /**
         * The API token accepted in {@code Authorization: PVEAPIToken=ID=SECRET}.
         *
         * @param tokenId the token id, {@code user@realm!name}, e.g. {@code moxxie@pve!drain}
         * @param secret  the token's secret
         * @throws IllegalArgumentException when an argument is null, or {@code tokenId} has no {@code !}
         */
        public Builder apiToken(String tokenId, String secret) {
            Checks.notNull("tokenId", tokenId);
            Checks.notNull("secret", secret);
            if (tokenId.indexOf('!') < 1) throw new IllegalArgumentException("tokenId must be user@realm!name, was '" + tokenId + "'");
            this.tokenId = tokenId;
            this.tokenSecret = secret;
            return this;
        }

        /**
         * The user and password accepted by {@code POST /access/ticket}; the tickets it hands out are accepted too.
         *
         * @param user     {@code user@realm}, e.g. {@code root@pam}
         * @param password the password
         * @throws IllegalArgumentException when an argument is null
         */
        public Builder password(String user, String password) {
            this.user = Checks.notNull("user", user);
            this.password = Checks.notNull("password", password);
            return this;
        }

        /**
         * The major version of Proxmox VE to answer as (default {@value SimulatedProxmoxApi#DEFAULT_PVE_MAJOR_VERSION}): before 9
         * containers have no migrate precondition check (501), an HA migrate answers {@code null}, and
         * {@code /cluster/resources} has no HA state per node.
         *
         * @throws IllegalArgumentException when {@code major} is not 7, 8 or 9
         */
        public Builder pveMajorVersion(int major) {
            if (major < 7 || major > 9) throw new IllegalArgumentException("major must be 7, 8 or 9, was " + major);
            this.pveMajor = major;
            return this;
        }

        /**
         * @throws IllegalStateException when neither an API token nor a user and password were given
         */
        public SimulatedProxmoxApi build() {
            if (tokenId == null && user == null) throw new IllegalStateException("an API token or a user and password must be given");
            return new SimulatedProxmoxApi(this);
        }
    }
}
