package io.moxxie.proxmox.simulation;

import io.moxxie.core.Checks;
import io.moxxie.core.model.CephHealth;
import io.moxxie.core.model.CephOsd;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.HaManagerStatus;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.model.Node;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.model.PlacementRule;
import io.moxxie.core.model.PowerState;
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
 *       {@code PUT …/config} ({@code tags}, {@code delete=tags}), {@code GET …/config} ({@code memory}),
 *       {@code GET /nodes/{n}/tasks} ({@code source}, {@code vmid}, {@code typefilter}, {@code since},
 *       {@code userfilter} matched, as pve-manager's {@code PVE/API2/Tasks.pm} does, against a finished task's user
 *       without its token id), {@code …/tasks/{upid}/status} and {@code …/log}
 *       ({@code start}, {@code limit}, {@code limit=0} for the rest of the log, as {@code PVE::Tools::dump_logfile});
 *       anything else is a 501;</li>
 *   <li>the cluster's placement rules ({@link ClusterSnapshot#rules()}): PVE 9 {@code GET /cluster/ha/rules} (HA
 *       groups as {@code ha-group-NAME} rules), while {@code GET /cluster/ha/groups} refuses as once groups are
 *       migrated; before 9 {@code /cluster/ha/rules} is a 501 and node-affinity rules are HA groups, whose members
 *       {@code GET /cluster/ha/resources} names; {@code GET /cluster/options} with {@code crs} (PVE 9:
 *       {@code ha-auto-rebalance} from {@link ClusterSnapshot#haAutoRebalance()}); {@code GET /access/permissions}
 *       ({@link Builder#permissions}); on these routes an unknown parameter is a 400, as Proxmox's schema check
 *       ({@code additionalProperties => 0}) makes it;</li>
 *   <li>HA-managed guests as Proxmox treats them: a plain migrate or power call becomes an HA task that ends OK at
 *       once, the move itself happens later; nodes can be put in HA maintenance ({@link #haMaintenance}). An HA
 *       migrate answers (PVE 9) with the guests the cluster moves along ({@code comigrated-resources}) and the members
 *       of a negative rule on the target ({@code blocking-resources}; the request is then not carried out);</li>
 *   <li>a guest whose status is {@code unknown} has no {@code maxmem} and {@code mem} in {@code /cluster/resources},
 *       as when its node has not reported it yet;</li>
 *   <li>mapped PCI and USB devices ({@link Builder#mappedDevice}) as qemu-server reports and checks them.</li>
 *   <li>a rollout's gate reads from the cluster's state: {@code GET /cluster/status}, {@code /cluster/config/nodes},
 *       {@code /cluster/ceph/status|flags}, {@code PUT /cluster/ceph/flags/{flag}}, {@code GET /nodes/{n}/ceph/osd} and
 *       {@code …/cmd-safety} ({@code n} {@code localhost} or the first node, the one "answering"), with their parameters
 *       checked as PVE's schema does; without Ceph a 500 "binary not installed", without HA an empty manager status.</li>
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
    /** A migration that shows no progress this long after its start (a hung one) is no longer followed for its log. */
    private static final Duration PROGRESS_WAIT = Duration.ofMinutes(5);

    /**
     * The privileges reported by default: what moxxie-proxmox's README asks of a token (Sys.Audit propagated from
     * {@code /}, Sys.Console on {@code /} without propagate, the VM privileges propagated over {@code /vms}).
     */
    public static final Map<String, Map<String, Integer>> DEFAULT_PERMISSIONS = Map.of(
            "/", Map.of("Sys.Audit", 1, "Sys.Console", 0, "Sys.Modify", 0),
            "/nodes", Map.of("Sys.Audit", 1),
            "/vms", Map.of("VM.Audit", 1, "VM.Migrate", 1, "VM.PowerMgmt", 1, "VM.Config.Options", 1));

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
    private final Map<String, Map<String, Integer>> permissions;
    private final Map<Integer, List<MappedDevice>> mappedDevices;
    private final Queue<Call> calls = new ConcurrentLinkedQueue<>();
    /** Tasks that end OK at once, the cluster doing the work later: the HA stack's hamigrate, hastart, hastop. */
    private final Set<String> haTasks = ConcurrentHashMap.newKeySet();
    private final Map<String, String> taskNodes = new ConcurrentHashMap<>();
    /** The cluster's task behind each UPID handed out under the caller's name. */
    private final Map<String, TaskRef> clusterTasks = new ConcurrentHashMap<>();
    private final Map<String, Instant> taskStarts = new ConcurrentHashMap<>();
    /** The lines qemu-server writes for a live migration after the first two, by UPID; each guarded by itself. */
    private final Map<String, MigrationLines> migrationLines = new ConcurrentHashMap<>();
    private final Map<String, String> tickets = new ConcurrentHashMap<>();
    private final AtomicInteger haTaskSeq = new AtomicInteger(0x5000);

    private SimulatedProxmoxApi(Builder b) {
        this.cluster = b.cluster;
        this.tokenId = b.tokenId;
        this.tokenSecret = b.tokenSecret;
        this.user = b.user;
        this.password = b.password;
        this.pveMajor = b.pveMajor;
        this.permissions = b.permissions;
        Map<Integer, List<MappedDevice>> devices = new java.util.TreeMap<>();
        for (MappedDevice d : b.mappedDevices) devices.computeIfAbsent(d.vmid(), k -> new ArrayList<>()).add(d);
        devices.replaceAll((k, v) -> List.copyOf(v));
        this.mappedDevices = Collections.unmodifiableMap(devices);
    }

    /**
     * A VM's mapped PCI or USB device ({@code hostpciN: mapping=NAME}, {@code usbN: mapping=NAME}), as qemu-server's
     * {@code PVE::QemuMigrate::Helpers::check_local_resources} sees it.
     *
     * @param vmid           the VM
     * @param key            {@code hostpci0}, {@code usb1}, …
     * @param mapping        the mapping's name
     * @param liveMigratable the PCI mapping is {@code live-migration-capable} (USB mappings never are)
     * @param nodes          the nodes that have the mapping
     */
    public record MappedDevice(int vmid, String key, String mapping, boolean liveMigratable, Set<String> nodes) {
        /** @throws IllegalArgumentException when an argument is null, the key is not hostpciN or usbN, or a USB device is live-migratable */
        public MappedDevice {
            Checks.notNull("key", key);
            Checks.notNull("mapping", mapping);
            nodes = Set.copyOf(Checks.notNull("nodes", nodes));
            if (!key.matches("(hostpci|usb)\\d+")) throw new IllegalArgumentException("key must be hostpciN or usbN, was '" + key + "'");
            if (liveMigratable && key.startsWith("usb")) throw new IllegalArgumentException("a USB mapping cannot be live-migratable: " + key);
        }
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
     * manager status say so. The state is the cluster's ({@link SimulatedCluster#haMaintenance}), so the model and this
     * API agree on it.
     *
     * @return this API
     * @throws IllegalArgumentException when {@code node} is not a node name
     */
    public SimulatedProxmoxApi haMaintenance(String node, boolean inMaintenance) {
        Checks.nodeName("node", node);
        cluster.haMaintenance(node, inMaintenance);
        return this;
    }

    /** The nodes in HA maintenance, sorted. */
    public Set<String> haMaintenanceNodes() {
        return Collections.unmodifiableSet(new TreeSet<>(cluster.currentSnapshot().haMaintenance()));
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
            // Who the request runs as: the token, or the user of the ticket. Tasks carry it in their UPID.
            String principal = request.header("Authorization") != null ? tokenId : user;
            return route(method, path, segments, request.params(), principal);
        } catch (Unreachable e) {
            return ApiResponse.error(595, e.getMessage(), null);
        } catch (TransientHypervisorException e) {
            return ApiResponse.error(596, e.getMessage(), null);
        } catch (HypervisorException e) {
            return ApiResponse.error(500, e.getMessage(), null);
        } catch (IllegalArgumentException e) {
            return parameterError("params", String.valueOf(e.getMessage()));
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

    private ApiResponse route(String method, String path, List<String> s, Map<String, String> p, String principal) {
        for (Map.Entry<String, String> e : p.entrySet()) {
            String k = e.getKey();
            if (ROOT_ONLY.contains(k)) return parameterError(k, "Only root may use this option.");
            if (BOOLEANS.contains(k) && !e.getValue().equals("0") && !e.getValue().equals("1")) {
                return parameterError(k, "type check ('boolean') failed - got '" + e.getValue() + "'");
            }
        }
        String key = method + " " + path;
        if (key.equals("POST /access/ticket")) return ticket(p);
        ApiResponse gate = rolloutGates(method, s, p);
        if (gate != null) return gate;
        if (key.equals("GET /cluster/resources")) return ApiResponse.ok(resources(p.get("type")));
        if (key.equals("GET /cluster/ha/status/manager_status")) return ApiResponse.ok(managerStatus());
        if (key.equals("GET /cluster/ha/rules")) {
            Map<String, String> errors = unknownParams(p, "type", "resource");
            checkEnum(p, "type", false, List.of("node-affinity", "resource-affinity"), errors);
            return verified(errors, () -> haRules(p));
        }
        if (key.equals("GET /cluster/ha/groups")) return verified(unknownParams(p), this::haGroups);
        if (key.equals("GET /cluster/ha/resources")) {
            Map<String, String> errors = unknownParams(p, "type");
            checkEnum(p, "type", false, List.of("ct", "vm"), errors);
            return verified(errors, () -> haResources(p.get("type")));
        }
        if (key.equals("GET /cluster/options")) return verified(unknownParams(p), this::options);
        if (key.equals("GET /access/permissions")) return verified(unknownParams(p, "userid", "path"), () -> permissions(p));
        if (s.size() == 5 && s.get(0).equals("cluster") && s.get(1).equals("ha") && s.get(2).equals("resources") && method.equals("POST")) {
            return haMigrate(s.get(3), s.get(4), p.get("node"));
        }
        if (s.size() >= 2 && s.get(0).equals("nodes")) {
            String node = s.get(1);
            if (s.size() == 3 && s.get(2).equals("tasks") && method.equals("GET")) {
                return verified(unknownParams(p, "start", "limit", "userfilter", "typefilter", "vmid", "errors", "source", "since", "until",
                        "statusfilter"), () -> ApiResponse.ok(taskList(node, p)));
            }
            if (s.size() == 5 && s.get(2).equals("tasks") && s.get(4).equals("status")) return ApiResponse.ok(taskStatus(node, s.get(3)));
            if (s.size() == 5 && s.get(2).equals("tasks") && s.get(4).equals("log")) return taskLog(node, s.get(3), p);
            if (s.size() >= 5 && (s.get(2).equals("qemu") || s.get(2).equals("lxc"))) {
                GuestType type = GuestType.parse(s.get(2));
                int vmid = Integer.parseInt(s.get(3));
                String rest = String.join("/", s.subList(4, s.size()));
                if (rest.equals("migrate") && method.equals("GET")) return preconditions(node, type, vmid);
                if (rest.equals("migrate") && method.equals("POST")) return migrate(node, type, vmid, p, principal);
                if (rest.startsWith("status/") && method.equals("POST")) return power(node, type, vmid, s.get(5), p, principal);
                if (rest.equals("config") && method.equals("PUT")) return config(node, type, vmid, p);
                if (rest.equals("config") && method.equals("GET")) {
                    return verified(unknownParams(p, "current", "snapshot"), () -> readConfig(node, type, vmid));
                }
            }
        }
        return notImplemented(key);
    }

    /**
     * Proxmox's schema check ({@code additionalProperties => 0}): each parameter the method does not define is an error
     * naming it. The caller adds its own checks to the (mutable, name-ordered) map and answers them all at once with
     * {@link #verified}, as pveproxy reports every failed parameter in one 400.
     */
    private static Map<String, String> unknownParams(Map<String, String> p, String... allowed) {
        Set<String> known = Set.of(allowed);
        Map<String, String> errors = new java.util.TreeMap<>();
        for (String k : p.keySet()) if (!known.contains(k)) errors.put(k, NOT_IN_SCHEMA);
        return errors;
    }

    /** Proxmox's schema check of an {@code enum} parameter; a {@code required} one that is absent is an error too. */
    private static void checkEnum(Map<String, String> p, String param, boolean required, List<String> values, Map<String, String> errors) {
        String v = p.get(param);
        if (v == null && required) errors.put(param, MISSING);
        else if (v != null && !values.contains(v)) {
            errors.put(param, "value '" + v + "' does not have a value in the enumeration '" + String.join(", ", values) + "'");
        }
    }

    /** The 400 naming every parameter in {@code errors}, or, when there are none, {@code answer}'s response. */
    private static ApiResponse verified(Map<String, String> errors, java.util.function.Supplier<ApiResponse> answer) {
        return errors.isEmpty() ? answer.get() : parameterErrors(errors);
    }

    private static ApiResponse parameterError(String param, String text) {
        return parameterErrors(Map.of(param, text));
    }

    private static ApiResponse parameterErrors(Map<String, String> errors) {
        return ApiResponse.error(400, "Parameter verification failed.", errors);
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
                boolean haMaint = snap.haMaintenance().contains(n.name());
                if (pveMajor >= 9) e.put("hastate", haMaint ? "maintenance" : "online");
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
        if (g.status() != PowerState.UNKNOWN) { // no data from the node yet: no memory figures
            e.put("maxmem", g.memory());
            e.put("mem", g.memoryUsed());
        }
        e.put("maxcpu", 2);
        e.put("cpu", 0.01);
        e.put("maxdisk", 34359738368L);
        e.put("disk", 0);
        e.put("uptime", g.running() ? 86400 : 0);
        return e;
    }

    /**
     * The HA manager's status: the cluster's modelled one ({@link SimulatedCluster#withHa()}) and its HA maintenance. A cluster that never ran the HA stack (no HA model, no HA guest, no node in
     * maintenance) answers as Proxmox does when {@code /etc/pve/ha/manager_status} does not exist: {@code manager_status}
     * {@code {}} and no {@code lrm_status} (pve-ha-manager {@code PVE/API2/HA/Status.pm}).
     */
    private Map<String, Object> managerStatus() {
        Optional<HaManagerStatus> modelled = cluster.haManagerStatus();
        ClusterSnapshot snap = cluster.currentSnapshot();
        List<Node> nodes = snap.nodes();
        Map<String, Object> d = new LinkedHashMap<>();
        boolean haGuests = snap.guests().stream().anyMatch(Guest::haManaged);
        if (modelled.isEmpty() && !haGuests && snap.haMaintenance().isEmpty()) {
            d.put("manager_status", Map.of());
        } else {
            long now = cluster.scheduler().now().getEpochSecond();
            Map<String, Object> nodeStatus = new LinkedHashMap<>();
            Map<String, Object> nodeRequest = new LinkedHashMap<>();
            Map<String, Object> lrm = new LinkedHashMap<>();
            for (Node n : nodes) {
                boolean m = snap.haMaintenance().contains(n.name());
                nodeStatus.put(n.name(), m ? "maintenance" : n.online() ? "online" : "unknown");
                nodeRequest.put(n.name(), m ? Map.of("maintenance", 1) : Map.of());
                boolean services = snap.guestsOn(n.name()).stream().anyMatch(Guest::haManaged);
                lrm.put(n.name(), Map.of("mode", m ? "maintenance" : "active", "state", services ? "active" : "wait_for_agent_lock",
                        "timestamp", now, "results", Map.of()));
            }
            String master = modelled.map(HaManagerStatus::masterNode).orElse(nodes.get(0).name());
            Map<String, Object> ms = new LinkedHashMap<>();
            if (master != null) ms.put("master_node", master);
            ms.put("timestamp", now);
            ms.put("node_status", nodeStatus);
            ms.put("node_request", nodeRequest);
            d.put("manager_status", ms);
            d.put("lrm_status", lrm);
        }
        d.put("quorum", Map.of("node", nodes.get(0).name(), "quorate", cluster.quorum().quorate() ? "1" : "0"));
        return d;
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
        List<MappedDevice> devices = type == GuestType.QEMU ? mappedDevices.getOrDefault(vmid, List.of()) : List.of();
        ClusterSnapshot snap = cluster.currentSnapshot();
        boolean haMotion = type == GuestType.QEMU && g.haManaged() && pveMajor >= 9;
        for (Node n : snap.nodes()) {
            if (n.name().equals(node)) continue;
            String why = pre.notAllowed().get(n.name());
            List<String> missing = devices.stream().filter(m -> !m.nodes().contains(n.name())).map(MappedDevice::key).toList();
            List<Object> blocking = haMotion ? haBlocking(snap, vmid, n.name()) : List.of();
            if (why == null && missing.isEmpty() && blocking.isEmpty()) {
                allowed.add(n.name());
                if (type == GuestType.QEMU) notAllowed.put(n.name(), Map.of()); // Proxmox lists allowed nodes too, with {}
            } else if (type == GuestType.QEMU) {
                Map<String, Object> reasons = new LinkedHashMap<>();
                if (why != null) reasons.put("unavailable_storages", List.of(why));
                if (!missing.isEmpty()) reasons.put("unavailable-resources", missing);
                if (!blocking.isEmpty()) reasons.put("blocking-ha-resources", blocking);
                notAllowed.put(n.name(), reasons);
            } else {
                notAllowed.put(n.name(), Map.of("blocking-ha-resources", List.of(Map.of("sid", why, "cause", "node-affinity"))));
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
        Map<String, Object> mapped = new LinkedHashMap<>();
        for (String lb : pre.liveBlockers()) mapped.put(lb, Map.of("name", "mapping-" + lb, "live-migration", 0));
        // check_local_resources: a live-migration-capable PCI mapping is no local resource; another PCI mapping is one
        // while the VM runs; a USB mapping always is.
        for (MappedDevice m : devices) {
            mapped.put(m.key(), m.liveMigratable() ? Map.of("name", m.mapping(), "live-migration", 1) : Map.of("name", m.mapping()));
            if (!m.liveMigratable() && (g.running() || m.key().startsWith("usb"))) local.add(m.key());
        }
        d.put("local_resources", local);
        d.put("mapped-resources", new ArrayList<>(mapped.keySet()));
        d.put("mapped-resource-info", mapped);
        d.put("has-dbus-vmstate", 1);
        if (haMotion) d.put("dependent-ha-resources", haDependents(snap, vmid));
        return ApiResponse.ok(d);
    }

    private ApiResponse migrate(String node, GuestType type, int vmid, Map<String, String> p, String principal) {
        String target = p.get("target");
        if (target == null) return parameterError("target", MISSING);
        if (target.equals(node)) return parameterError("target", "target is local node.");
        Guest g = guestOn(node, type, vmid);
        if (g.haManaged()) {
            // Proxmox queues "ha-manager migrate" in a hamigrate task that ends OK at once, ignoring online/with-local-disks.
            cluster.migrate(new MigrationCommand(g, target, MigrationType.ONLINE, false, DEFAULT_MIGRATE_TIMEOUT));
            return ApiResponse.ok(haTask(node, "hamigrate", vmid, principal));
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
        String mappedRefusal = type == GuestType.QEMU ? mappedRefusal(g, target, mt) : null;
        // qemu-server checks mapped devices in the migration task (QemuMigrate::prepare): the task fails.
        if (mappedRefusal != null) cluster.failMigrations(vmid, 1, mappedRefusal);
        Duration timeout = p.containsKey("timeout") ? Duration.ofSeconds(Long.parseLong(p.get("timeout"))) : DEFAULT_MIGRATE_TIMEOUT;
        TaskRef ref = cluster.migrate(new MigrationCommand(g, target, mt, "1".equals(p.get("with-local-disks")), timeout));
        String upid = register(ref, principal);
        if (type == GuestType.QEMU && mt == MigrationType.ONLINE && g.running()) followLiveMigration(upid, ref, g, target);
        return ApiResponse.ok(upid);
    }

    /** qemu-server's {@code QemuMigrate::prepare} on mapped devices: the text it dies with, or null. */
    private String mappedRefusal(Guest g, String target, MigrationType mt) {
        List<MappedDevice> devices = mappedDevices.getOrDefault(g.vmid(), List.of());
        List<String> missing = devices.stream().filter(m -> !m.nodes().contains(target)).map(MappedDevice::key).toList();
        if (!missing.isEmpty()) return "can't migrate to '" + target + "': missing mapped devices " + String.join(", ", missing);
        List<String> notLive = devices.stream().filter(m -> !m.liveMigratable()).map(m -> m.key() + ":" + m.mapping()).toList();
        if (mt == MigrationType.ONLINE && g.running() && !notLive.isEmpty()) {
            return "can't live migrate running VM which uses following mapped devices: " + String.join(", ", notLive);
        }
        return null;
    }

    private ApiResponse haMigrate(String sid, String action, String target) {
        if (!action.equals("migrate") && !action.equals("relocate")) return notImplemented("POST /cluster/ha/resources/" + sid + "/" + action);
        if (target == null) return parameterError("node", MISSING);
        int vmid = Integer.parseInt(sid.substring(sid.indexOf(':') + 1));
        Guest g = cluster.currentSnapshot().guest(vmid).orElseThrow(() -> new HypervisorException("no such resource '" + sid + "'"));
        if (!g.haManaged()) throw new HypervisorException("resource '" + sid + "' is not HA managed");
        ClusterSnapshot snap = cluster.currentSnapshot();
        List<Object> blocking = haBlocking(snap, vmid, target);
        List<String> comigrated = new ArrayList<>();
        if (!g.node().equals(target) && blocking.isEmpty()) { // the HA manager does not carry out a blocked request
            TaskRef ref = cluster.migrate(new MigrationCommand(g, target, action.equals("relocate") ? MigrationType.OFFLINE : MigrationType.ONLINE,
                    false, DEFAULT_MIGRATE_TIMEOUT));
            for (int other : ref.comigrated()) snap.guest(other).ifPresent(o -> comigrated.add(sid(o)));
        }
        if (pveMajor < 9) return ApiResponse.ok(null);
        // pve-ha-manager src/PVE/API2/HA/Resources.pm: both lists are left out when empty.
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("sid", sid);
        d.put("requested-node", target);
        if (!comigrated.isEmpty()) d.put("comigrated-resources", comigrated);
        if (!blocking.isEmpty()) d.put("blocking-resources", blocking);
        return ApiResponse.ok(d);
    }

    private static String sid(Guest g) {
        return (g.type() == GuestType.QEMU ? "vm:" : "ct:") + g.vmid();
    }

    /**
     * {@code PVE::HA::Config::get_resource_motion_info}: the HA members of the guest's negative HA rules on
     * {@code node}, as {@code {sid, cause: "resource-affinity"}}.
     */
    private static List<Object> haBlocking(ClusterSnapshot snap, int vmid, String node) {
        return haRuleMates(snap, vmid, false).stream().filter(o -> o.node().equals(node))
                .map(o -> (Object) Map.of("sid", sid(o), "cause", "resource-affinity")).toList();
    }

    /** The same function's dependent resources: the other HA members of the guest's positive HA rules, sorted. */
    private static List<String> haDependents(ClusterSnapshot snap, int vmid) {
        return haRuleMates(snap, vmid, true).stream().map(SimulatedProxmoxApi::sid).distinct().sorted().toList();
    }

    /** The other HA-managed members of the guest's HA resource-affinity rules, positive ({@code together}) or negative. */
    private static List<Guest> haRuleMates(ClusterSnapshot snap, int vmid, boolean together) {
        List<Guest> out = new ArrayList<>();
        for (PlacementRule r : snap.rules()) {
            if (!(r instanceof PlacementRule.GuestAffinity a) || a.together() != together || r.origin() != PlacementRule.Origin.HA_RULE
                    || !a.guests().contains(vmid)) continue;
            for (int other : a.guests()) {
                if (other != vmid) snap.guest(other).filter(Guest::haManaged).ifPresent(out::add);
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ HA rules and groups, options, permissions

    /** The HA rules as PVE 9 lists them ({@code src/PVE/API2/HA/Rules.pm}); HA groups as the rules they migrate to. */
    private ApiResponse haRules(Map<String, String> p) {
        if (pveMajor < 9) return notImplemented("GET /cluster/ha/rules");
        ClusterSnapshot snap = cluster.currentSnapshot();
        List<Object> out = new ArrayList<>();
        int order = 0;
        for (PlacementRule r : snap.rules()) {
            if (r.origin() == PlacementRule.Origin.TAG) continue;
            order++;
            Map<String, Object> e = new LinkedHashMap<>();
            String id = r.origin() == PlacementRule.Origin.HA_GROUP ? "ha-group-" + r.name() : r.name();
            if (r instanceof PlacementRule.NodeAffinity n) {
                e.put("type", "node-affinity");
                e.put("nodes", nodeList(n.nodes()));
                if (n.strict()) e.put("strict", 1);
            } else if (r instanceof PlacementRule.GuestAffinity a) {
                e.put("type", "resource-affinity");
                e.put("affinity", a.together() ? "positive" : "negative");
            }
            String resources = sids(snap, r.guests());
            e.put("resources", resources);
            if (r.origin() == PlacementRule.Origin.HA_GROUP) e.put("comment", "Generated from HA group '" + r.name() + "'.");
            e.put("rule", id);
            e.put("digest", "5f1c0e3a9d2b7c4e8f6a1b3d5c7e9f0a2b4c6d8e");
            e.put("order", order);
            if (p.containsKey("type") && !p.get("type").equals(e.get("type"))) continue;
            if (p.containsKey("resource") && !List.of(resources.split(",")).contains(p.get("resource"))) continue;
            out.add(e);
        }
        return ApiResponse.ok(out);
    }

    /**
     * PVE 9 refuses once the groups are migrated to rules (it migrates them itself when every node runs 9;
     * {@code have_groups_been_migrated}); before 9 the node-affinity rules are the groups
     * ({@code src/PVE/API2/HA/Groups.pm}).
     */
    private ApiResponse haGroups() {
        if (pveMajor >= 9) throw new HypervisorException("cannot index groups: ha groups have been migrated to rules");
        List<Object> out = new ArrayList<>();
        for (PlacementRule r : cluster.currentSnapshot().rules()) {
            if (!(r instanceof PlacementRule.NodeAffinity n) || r.origin() == PlacementRule.Origin.TAG) continue;
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("group", n.name());
            e.put("type", "group");
            e.put("nodes", nodeList(n.nodes()));
            if (n.strict()) e.put("restricted", 1);
            e.put("digest", "0b8e6f2a4c1d3e5f7a9b0c2d4e6f8a1b3c5d7e9f");
            out.add(e);
        }
        return ApiResponse.ok(out);
    }

    /** {@code src/PVE/API2/HA/Resources.pm}: HA resources; before 9 with the {@code group} they belong to. */
    private ApiResponse haResources(String type) {
        ClusterSnapshot snap = cluster.currentSnapshot();
        List<Object> out = new ArrayList<>();
        for (Guest g : snap.guests()) {
            if (!g.haManaged()) continue;
            String t = g.type() == GuestType.QEMU ? "vm" : "ct";
            if (type != null && !type.equals(t)) continue;
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("sid", sid(g));
            e.put("type", t);
            e.put("state", g.running() ? "started" : "stopped");
            e.put("digest", "9a7c5e3b1d0f2e4a6c8b0d2f4a6c8e0b2d4f6a8c");
            if (pveMajor < 9) {
                for (PlacementRule r : snap.rules()) {
                    if (r instanceof PlacementRule.NodeAffinity && r.origin() != PlacementRule.Origin.TAG && r.guests().contains(g.vmid())) {
                        e.put("group", r.name());
                        break;
                    }
                }
            } else {
                e.put("failback", 1);
            }
            out.add(e);
        }
        return ApiResponse.ok(out);
    }

    /**
     * {@code GET /cluster/options} (pve-manager {@code PVE/API2/Cluster.pm}): the datacenter options, {@code crs} as the
     * object its property string parses to (pve-cluster {@code PVE/DataCenterConfig.pm}).
     */
    private ApiResponse options() {
        Map<String, Object> d = new LinkedHashMap<>();
        Map<String, Object> crs = new LinkedHashMap<>();
        crs.put("ha", "static");
        if (pveMajor >= 9 && cluster.currentSnapshot().haAutoRebalance()) crs.put("ha-auto-rebalance", 1);
        d.put("crs", crs);
        d.put("keyboard", "en-us");
        d.put("mac_prefix", "BC:24:11");
        d.put("allowed-tags", List.of());
        return ApiResponse.ok(d);
    }

    /** {@code GET /access/permissions} (pve-access-control {@code PVE/API2/AccessControl.pm}): path → privilege → propagate. */
    private ApiResponse permissions(Map<String, String> p) {
        String path = p.get("path");
        if (path == null) return ApiResponse.ok(permissions);
        Map<String, Integer> privs = permissions.get(path);
        return ApiResponse.ok(privs == null ? Map.of() : Map.of(path, privs));
    }

    private static String nodeList(Map<String, Integer> nodes) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, Integer> n : new java.util.TreeMap<>(nodes).entrySet()) {
            out.add(n.getValue() == 0 ? n.getKey() : n.getKey() + ":" + n.getValue());
        }
        return String.join(",", out);
    }

    private static String sids(ClusterSnapshot snap, Set<Integer> vmids) {
        List<String> out = new ArrayList<>();
        for (int vmid : vmids) out.add(snap.guest(vmid).map(SimulatedProxmoxApi::sid).orElse("vm:" + vmid));
        Collections.sort(out);
        return String.join(",", out);
    }

    private ApiResponse power(String node, GuestType type, int vmid, String action, Map<String, String> p, String principal) {
        Guest g = guestOn(node, type, vmid);
        TaskRef ref = switch (action) {
            case "start" -> cluster.start(g);
            case "shutdown" -> cluster.shutdown(g, Duration.ofSeconds(Long.parseLong(p.getOrDefault("timeout", "60"))));
            case "stop" -> cluster.stop(g);
            default -> throw new HypervisorException("Method 'POST status/" + action + "' not implemented");
        };
        if (g.haManaged()) return ApiResponse.ok(haTask(node, action.equals("start") ? "hastart" : "hastop", vmid, principal));
        return ApiResponse.ok(register(ref, principal));
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

    /** {@code GET …/config}: the guest's configuration; {@code memory} in MiB (a property string for qemu). */
    private ApiResponse readConfig(String node, GuestType type, int vmid) {
        Guest g = guestOn(node, type, vmid);
        Map<String, Object> d = new LinkedHashMap<>();
        if (!g.name().isEmpty()) d.put(type == GuestType.QEMU ? "name" : "hostname", g.name());
        long mib = g.memory() >> 20;
        d.put("memory", type == GuestType.QEMU ? Long.toString(mib) : mib);
        if (!g.tags().isEmpty()) d.put("tags", TagPolicy.formatTags(g.tags()));
        d.put("digest", "3c5e7a9b1d2f4a6c8e0b2d4f6a8c0e2b4d6f8a0c");
        return ApiResponse.ok(d);
    }

    // ------------------------------------------------------------------ a rollout's gates: quorum, Ceph, HA manager

    /** The OSD flags Proxmox sets and lists, with its descriptions ({@code PVE::Ceph::Tools::get_possible_osd_flags}). */
    private static final Map<String, String> CEPH_FLAGS = cephFlags();
    /** What {@code PVE::Ceph::Tools::check_ceph_inited} says on a node without Ceph. */
    private static final String NO_CEPH = "binary not installed: /usr/bin/ceph-mon";
    private static final String NOT_IN_SCHEMA = "property is not defined in schema and the schema does not allow additional properties";
    private static final String MISSING = "property is missing and it is not optional";
    /** corosync.conf's {@code config_version}: the simulated cluster's membership never changes. */
    private static final int COROSYNC_CONFIG_VERSION = 5;

    private static Map<String, String> cephFlags() {
        Map<String, String> f = new java.util.TreeMap<>();
        f.put("pause", "Pauses read and writes.");
        f.put("noup", "OSDs are not allowed to start.");
        f.put("nodown", "OSD failure reports are being ignored, such that the monitors will not mark OSDs down.");
        f.put("noout", "OSDs will not automatically be marked out after the configured interval.");
        f.put("noin", "OSDs that were previously marked out will not be marked back in when they start.");
        f.put("nobackfill", "Backfilling of PGs is suspended.");
        f.put("norebalance", "Rebalancing of PGs is suspended.");
        f.put("norecover", "Recovery of PGs is suspended.");
        f.put("noscrub", "Scrubbing is disabled.");
        f.put("nodeep-scrub", "Deep Scrubbing is disabled.");
        f.put("notieragent", "Cache tiering activity is suspended.");
        return Collections.unmodifiableMap(f);
    }

    /**
     * {@code GET /cluster/status}, {@code GET /cluster/config/nodes}, {@code GET /cluster/ceph/status|flags},
     * {@code PUT /cluster/ceph/flags/{flag}}, {@code GET /nodes/{node}/ceph/osd|cmd-safety}; {@code null} for any other
     * request. Parameters are checked as pveproxy checks them against the schema (pve-manager, pve-cluster): unknown ones,
     * missing ones and values outside an enumeration are a 400 naming each; without Ceph the Ceph calls are a 500.
     */
    private ApiResponse rolloutGates(String method, List<String> s, Map<String, String> p) {
        String path = "/" + String.join("/", s);
        boolean get = method.equals("GET");
        if (get && path.equals("/cluster/status")) return verified(unknownParams(p), () -> ApiResponse.ok(clusterStatus()));
        if (get && path.equals("/cluster/config/nodes")) return verified(unknownParams(p), () -> ApiResponse.ok(corosyncNodes()));
        if (get && path.equals("/cluster/ceph/status")) return verified(unknownParams(p), () -> ApiResponse.ok(cephStatus()));
        if (get && path.equals("/cluster/ceph/flags")) return verified(unknownParams(p), () -> ApiResponse.ok(cephFlagList()));
        if (method.equals("PUT") && s.size() == 4 && path.startsWith("/cluster/ceph/flags/")) return setCephFlag(s.get(3), p);
        if (get && s.size() == 4 && s.get(0).equals("nodes") && s.get(2).equals("ceph")) {
            if (s.get(3).equals("osd")) return verified(unknownParams(p), () -> ApiResponse.ok(osdTree(s.get(1))));
            if (s.get(3).equals("cmd-safety")) return cmdSafety(s.get(1), p);
        }
        return null;
    }

    /** The node answering is the first one; the others are reached through it (pveproxy's {@code proxyto}). */
    private String localNode() {
        return cluster.currentSnapshot().nodes().get(0).name();
    }

    /** A {@code proxyto => 'node'} call: {@code localhost} and the node answering run here, an offline node cannot be reached. */
    private void reach(String node) {
        if (node.equals("localhost") || node.equals(localNode())) return;
        Node n = cluster.currentSnapshot().node(node)
                .orElseThrow(() -> new HypervisorException("unable to get remote IP address for node '" + node + "'"));
        if (!n.online()) throw new Unreachable("Errors during connection establishment, proxy handshake: No route to host");
    }

    /** pveproxy's 595: it could not connect to the node it proxies to. */
    private static final class Unreachable extends RuntimeException {
        Unreachable(String message) {
            super(message, null, false, false);
        }
    }

    private List<Object> clusterStatus() {
        io.moxxie.core.model.Quorum q = cluster.quorum();
        List<Node> nodes = cluster.currentSnapshot().nodes();
        List<Object> out = new ArrayList<>();
        boolean standalone = nodes.size() == 1;
        if (!standalone) {
            out.add(Map.of("type", "cluster", "id", "cluster", "name", "moxxie-simulated", "nodes", nodes.size(),
                    "version", COROSYNC_CONFIG_VERSION, "quorate", q.quorate() ? 1 : 0));
        }
        for (int i = 0; i < nodes.size(); i++) {
            String name = nodes.get(i).name();
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("type", "node");
            e.put("id", "node/" + name);
            e.put("name", name);
            e.put("nodeid", standalone ? 0 : i + 1);
            e.put("ip", "10.10.10." + (i + 1));
            e.put("local", i == 0 ? 1 : 0);
            e.put("online", standalone || q.onlineNodes().contains(name) ? 1 : 0);
            e.put("level", "");
            out.add(e);
        }
        return out;
    }

    /** corosync.conf's nodelist as {@code PVE::Corosync::parse_conf} reads it: every value a string. A standalone node has none. */
    private List<Object> corosyncNodes() {
        List<Node> nodes = cluster.currentSnapshot().nodes();
        List<Object> out = new ArrayList<>();
        if (nodes.size() == 1) return out;
        for (int i = 0; i < nodes.size(); i++) {
            String name = nodes.get(i).name();
            out.add(Map.of("node", name, "name", name, "nodeid", String.valueOf(i + 1), "quorum_votes", "1", "ring0_addr", "10.10.10." + (i + 1)));
        }
        return out;
    }

    private CephHealth cephHealth() {
        return cluster.ceph().orElseThrow(() -> new HypervisorException(NO_CEPH));
    }

    /** Ceph's {@code status} with pve-manager's {@code health detail} in place of its {@code health} ({@code PVE::Ceph::Tools::ceph_cluster_status}). */
    private Map<String, Object> cephStatus() {
        CephHealth h = cephHealth();
        Map<String, Object> checks = new LinkedHashMap<>();
        h.checks().forEach((code, c) -> checks.put(code, Map.of("severity", c.severity(),
                "summary", Map.of("message", c.summary(), "count", 1), "detail", List.of(), "muted", false)));
        int osds = 0;
        int up = 0;
        for (Node n : cluster.currentSnapshot().nodes()) {
            for (CephOsd o : cluster.cephOsds(n.name())) {
                osds++;
                if (o.up()) up++;
            }
        }
        List<String> mons = cluster.currentSnapshot().nodes().stream().filter(Node::online).map(Node::name).toList();
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("fsid", "8d2b5f3e-6c1a-4f0e-9b7d-3a4c5e6f7a8b");
        d.put("health", Map.of("status", h.status(), "checks", checks, "mutes", List.of()));
        d.put("election_epoch", 42);
        d.put("quorum_names", mons);
        d.put("osdmap", Map.of("epoch", 120, "num_osds", osds, "num_up_osds", up, "num_in_osds", osds, "num_remapped_pgs", 0));
        d.put("pgmap", Map.of("pgs_by_state", List.of(Map.of("state_name", h.checks().containsKey("PG_DEGRADED")
                ? "active+undersized+degraded" : "active+clean", "count", 129)), "num_pgs", 129, "num_pools", 2));
        return d;
    }

    /** {@code GET /cluster/ceph/flags}: every flag Proxmox knows, in name order, with {@code value} 1 when set. */
    private List<Object> cephFlagList() {
        Set<String> set = cephHealth().flags();
        List<Object> out = new ArrayList<>();
        CEPH_FLAGS.forEach((name, description) -> out.add(Map.of("name", name, "description", description, "value", set.contains(name) ? 1 : 0)));
        return out;
    }

    /** {@code PUT /cluster/ceph/flags/{flag}}: {@code value} (boolean) required; synchronous, answers {@code null}. */
    private ApiResponse setCephFlag(String flag, Map<String, String> p) {
        Map<String, String> errors = unknownParams(p, "value");
        String value = p.get("value");
        if (value == null) errors.put("value", MISSING);
        else if (!value.equals("0") && !value.equals("1")) errors.put("value", "type check ('boolean') failed - got '" + value + "'");
        checkEnum(Map.of("flag", flag), "flag", true, List.copyOf(CEPH_FLAGS.keySet()), errors);
        if (!errors.isEmpty()) return parameterErrors(errors);
        cephHealth();
        cluster.setCephFlag(flag, value.equals("1"));
        return ApiResponse.ok(null);
    }

    /** {@code GET /nodes/{node}/ceph/osd}: the CRUSH tree (root {@code default}, a host per node with OSDs) and the OSD map's flags. */
    private Object osdTree(String node) {
        reach(node);
        Set<String> flags = cephHealth().flags();
        List<Object> hosts = new ArrayList<>();
        int bucket = -2;
        for (Node n : cluster.currentSnapshot().nodes()) {
            List<CephOsd> osds = cluster.cephOsds(n.name());
            if (osds.isEmpty()) continue;
            List<Object> leaves = new ArrayList<>();
            for (CephOsd o : osds) {
                Map<String, Object> leaf = new LinkedHashMap<>();
                leaf.put("id", o.id());
                leaf.put("name", "osd." + o.id());
                leaf.put("type", "osd");
                leaf.put("status", o.up() ? "up" : "down");
                leaf.put("in", 1);
                leaf.put("host", n.name());
                leaf.put("crush_weight", 0.87329);
                leaf.put("reweight", 1);
                leaf.put("device_class", "ssd");
                leaf.put("osdtype", "bluestore");
                leaf.put("leaf", 1);
                leaves.add(leaf);
            }
            hosts.add(Map.of("id", bucket--, "name", n.name(), "type", "host", "version", "19.2.3", "children", leaves, "leaf", 0));
        }
        Map<String, Object> root = Map.of("id", -1, "name", "default", "type", "root", "children", hosts, "leaf", 0);
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("root", Map.of("leaf", 0, "children", List.of(root)));
        List<String> osdmapFlags = new ArrayList<>(flags);
        osdmapFlags.addAll(List.of("sortbitwise", "recovery_deletes", "purged_snapdirs", "pglog_hardlimit"));
        d.put("flags", String.join(",", osdmapFlags));
        return d;
    }

    /** {@code GET /nodes/{node}/ceph/cmd-safety}: Ceph's {@code osd ok-to-stop} for the OSD's own node; {@code status} is Ceph's text. */
    private ApiResponse cmdSafety(String node, Map<String, String> p) {
        Map<String, String> errors = unknownParams(p, "service", "id", "action");
        checkEnum(p, "service", true, List.of("osd", "mon", "mds"), errors);
        checkEnum(p, "action", true, List.of("stop", "destroy"), errors);
        if (!p.containsKey("id")) errors.put("id", MISSING);
        if (!errors.isEmpty()) return parameterErrors(errors);
        reach(node);
        cephHealth();
        String service = p.get("service");
        String action = p.get("action");
        if (service.equals("mds") && action.equals("destroy")) throw new HypervisorException("Service does not support this action: mds: destroy");
        if (!service.equals("osd") || !action.equals("stop")) {
            throw new HypervisorException("the simulated Proxmox answers cmd-safety for service=osd action=stop only");
        }
        String id = p.get("id").startsWith("osd.") ? p.get("id").substring(4) : p.get("id");
        String owner = null;
        int osd = -1;
        if (id.matches("\\d{1,9}")) {
            osd = Integer.parseInt(id);
            for (Node n : cluster.currentSnapshot().nodes()) {
                for (CephOsd o : cluster.cephOsds(n.name())) if (o.id() == osd) owner = n.name();
            }
        }
        Map<String, Object> d = new LinkedHashMap<>();
        if (owner == null) {
            d.put("safe", false);
            d.put("status", "osd." + id + " does not exist");
            return ApiResponse.ok(d);
        }
        CephOsd.Safety safety = cluster.cephOkToStop(owner, osd);
        d.put("safe", safety.safe());
        d.put("status", safety.safe() ? "OSD(s) " + osd + " are ok to stop without reducing availability or risking data, provided there are"
                + " no other concurrent failures or interventions." : safety.message());
        return ApiResponse.ok(d);
    }

    // ------------------------------------------------------------------ tasks

    /** The cluster's task under a UPID that names who started it, as Proxmox's do. */
    private String register(TaskRef ref, String principal) {
        String upid = Upid.parse(ref.id()).filter(u -> !u.user().equals(principal))
                .map(u -> ref.id().substring(0, ref.id().length() - u.user().length() - 1) + principal + ":").orElse(ref.id());
        if (!upid.equals(ref.id())) clusterTasks.put(upid, ref);
        taskNodes.put(upid, ref.node());
        taskStarts.put(upid, cluster.scheduler().now());
        return upid;
    }

    private String haTask(String node, String type, int vmid, String principal) {
        String upid = String.format(Locale.ROOT, "UPID:%s:%08X:%08X:%08X:%s:%d:%s:", node, haTaskSeq.incrementAndGet(), 42,
                cluster.scheduler().now().getEpochSecond(), type, vmid, principal);
        haTasks.add(upid);
        taskNodes.put(upid, node);
        taskStarts.put(upid, cluster.scheduler().now());
        return upid;
    }

    /**
     * The simulated cluster's own task behind a UPID this API handed out (its UPID names the caller, the cluster's does
     * not): for tests that compare what the API reports with the cluster's state.
     */
    public TaskRef clusterTask(String upid, String node) {
        TaskRef ref = clusterTasks.get(upid);
        return ref != null ? ref : TaskRef.of(upid, node);
    }

    private TaskState state(String upid, String node) {
        if (haTasks.contains(upid)) return TaskState.ok("OK");
        TaskRef ref = clusterTasks.get(upid);
        return cluster.task(ref != null ? ref : TaskRef.of(upid, node));
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

    /**
     * Writes qemu-server's lines of the live migration {@code ref} of {@code g} (its task {@code upid}, under the caller's
     * name): its set-up now, its progress a second.
     */
    private void followLiveMigration(String upid, TaskRef ref, Guest g, String target) {
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
        migrationLines.put(upid, log);
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
                // Tasks.pm $convert_token_task: a finished task's user@realm!tokenid is split before userfilter applies.
                int bang = u.user().indexOf('!');
                if (bang > 0) {
                    d.put("user", u.user().substring(0, bang));
                    d.put("tokenid", u.user().substring(bang + 1));
                }
            }
            String userfilter = p.get("userfilter");
            if (userfilter != null && !((String) d.get("user")).toLowerCase(Locale.ROOT).contains(userfilter.toLowerCase(Locale.ROOT))) continue;
            out.add(d);
        }
        return out;
    }

    private ApiResponse taskLog(String node, String upid, Map<String, String> p) {
        Map<String, String> errors = unknownParams(p, "start", "limit", "download");
        for (String k : List.of("start", "limit")) {
            String v = p.get(k);
            if (v != null && !v.matches("\\d{1,9}")) {
                errors.put(k, v.matches("-\\d+") ? "value must have a minimum value of 0" : "type check ('integer') failed - got '" + v + "'");
            }
        }
        if (!errors.isEmpty()) return parameterErrors(errors);
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
        private Map<String, Map<String, Integer>> permissions = DEFAULT_PERMISSIONS;
        private final List<MappedDevice> mappedDevices = new ArrayList<>();

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
         * A mapped device of a VM: the migrate check reports it ({@code mapped-resource-info}, {@code local_resources},
         * {@code unavailable-resources} for the nodes without the mapping) and a migration checks it as qemu-server
         * does (the task fails for a target without the mapping, or a live move with a mapping that is not
         * live-migratable).
         *
         * @throws IllegalArgumentException see {@link MappedDevice}
         */
        public Builder mappedDevice(int vmid, String key, String mapping, boolean liveMigratable, String... nodes) {
            mappedDevices.add(new MappedDevice(vmid, key, mapping, liveMigratable, Set.of(Checks.notNull("nodes", nodes))));
            return this;
        }

        /**
         * The effective privileges {@code GET /access/permissions} reports: path → privilege → propagate ({@code 1}) or
         * not ({@code 0}). Default {@link #DEFAULT_PERMISSIONS}, what a drain needs. Only reported, not enforced.
         *
         * @throws IllegalArgumentException when {@code permissions} is null
         */
        public Builder permissions(Map<String, Map<String, Integer>> permissions) {
            Checks.notNull("permissions", permissions);
            Map<String, Map<String, Integer>> copy = new java.util.TreeMap<>();
            permissions.forEach((path, privs) -> copy.put(path, Collections.unmodifiableMap(new java.util.TreeMap<>(privs))));
            this.permissions = Collections.unmodifiableMap(copy);
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
