package io.moxxie.proxmox;

import com.fasterxml.jackson.databind.JsonNode;
import io.moxxie.core.Checks;
import io.moxxie.core.ValidationException;
import io.moxxie.core.model.CephHealth;
import io.moxxie.core.model.CephOsd;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.HaManagerStatus;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.model.PowerState;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.model.Quorum;
import io.moxxie.core.policy.TagPolicy;
import io.moxxie.core.spi.HypervisorAuthenticationException;
import io.moxxie.core.spi.HypervisorClient;
import io.moxxie.core.spi.HypervisorException;
import io.moxxie.core.spi.MigrationCommand;
import io.moxxie.core.spi.MigrationProgress;
import io.moxxie.core.spi.TaskRef;
import io.moxxie.core.spi.TaskState;
import io.moxxie.proxmox.ProxmoxHttp.Method;
import io.moxxie.proxmox.ProxmoxHttp.OutcomeUnknownException;
import io.moxxie.proxmox.internal.Json;
import io.moxxie.proxmox.internal.MigrationLog;
import io.moxxie.proxmox.internal.ProxmoxParsers;
import io.moxxie.proxmox.internal.ProxmoxParsers.GuestResource;
import io.moxxie.proxmox.internal.ProxmoxParsers.HaRules;
import io.moxxie.proxmox.internal.ProxmoxParsers.Resources;
import io.moxxie.proxmox.internal.ProxmoxParsers.TaskEntry;
import io.moxxie.proxmox.internal.Upid;
import okhttp3.HttpUrl;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Core's {@link HypervisorClient} for a real Proxmox VE cluster (7.4, 8.x, 9.x), over its REST API
 * ({@code /api2/json}).
 *
 * <pre>{@code
 * ProxmoxClient client = ProxmoxClient.builder()
 *         .baseUrls("https://pve1:8006", "https://pve2:8006")
 *         .credentials(ProxmoxCredentials.apiToken(System.getenv("PVE_TOKEN")))
 *         .tls(TlsTrust.caFile(Path.of("pve-root-ca.pem")))
 *         .build();
 * }</pre>
 *
 * <h2>What it sends</h2>
 * <ul>
 *   <li>{@link #snapshot()}: one {@code GET /cluster/resources} (nodes and guests with memory, status, tags, template
 *       flag, HA state and lock). A guest is HA-managed when it has an HA state other than {@code ignored}. When there
 *       are HA-managed guests, the snapshot carries the HA placement rules ({@code GET /cluster/ha/rules}, or HA groups
 *       before Proxmox VE 9) and whether HA auto-rebalancing is on ({@code GET /cluster/options}), each read at most
 *       once per {@link Builder#placementMaxAge placementMaxAge}. A guest without
 *       {@code maxmem} (status {@code unknown}: no data from its node yet) gets its configured memory
 *       ({@code GET …/config}, remembered); when that cannot be read, {@link #preconditions} blocks it.</li>
 *   <li>Once, at start or at the first {@link #snapshot()}: {@code GET /access/permissions}, refusing to go on without
 *       a privilege a drain needs, and {@code GET /cluster/options} ({@link #checkAccess}).</li>
 *   <li>{@link #preconditions(Guest)}: {@code GET /nodes/{node}/qemu/{vmid}/migrate}, judged (see
 *       {@link ProxmoxParsers#parseQemuPreconditions}); for containers {@code …/lxc/{vmid}/migrate} on PVE 9 and no
 *       restriction before (the check does not exist there). For HA-managed guests, nodes in HA maintenance mode
 *       are not allowed (the HA manager drops requests to them silently).</li>
 *   <li>{@link #migrate(MigrationCommand)}: qemu live {@code online=1} (plus {@code with-local-disks=1} only when the
 *       guest has local disks), qemu offline for stopped guests, containers in restart mode
 *       ({@code restart=1&timeout=N}); HA-managed guests through {@code POST /cluster/ha/resources/{sid}/migrate}
 *       ({@code relocate} for an offline move of a running guest), which queues a request and returns no task:
 *       {@link TaskRef#untracked} whose {@link #task} is judged by where the guest runs, with a time limit.
 *       The root-only options ({@code force}, {@code migration_type}, {@code migration_network}, {@code skiplock})
 *       are never sent: API tokens get a 403 for them.</li>
 *   <li>{@link #task(TaskRef)}: {@code GET /nodes/{node}/tasks/{upid}/status}; a failure's message carries the last
 *       lines of the task log.</li>
 *   <li>A rollout's gates: {@link #quorum()} {@code GET /cluster/status} (+ {@code /cluster/config/nodes} for the votes
 *       when corosync.conf changed), {@link #ceph()} {@code GET /cluster/ceph/status} + {@code /cluster/ceph/flags},
 *       {@link #cephOsds} and {@link #cephOkToStop} {@code GET /nodes/localhost/ceph/osd|cmd-safety},
 *       {@link #setCephFlag} {@code PUT /cluster/ceph/flags/{flag}}, {@link #haManagerStatus()}
 *       {@code GET /cluster/ha/status/manager_status}. "No Ceph" is remembered for {@value #NO_CEPH_RECHECK_MINUTES}
 *       minutes.</li>
 *   <li>{@link #migrationProgress(TaskRef)}: {@code GET /nodes/{node}/tasks/{upid}/log?start=N&limit=500} from the
 *       first line not read yet, parsed by {@link MigrationLog} (both of qemu-server's formats); one request per call,
 *       a second only when a full page came back and more lines follow (read on to the end, at most its last 500).</li>
 * </ul>
 *
 * <h2>Failures</h2>
 * Reads are retried with backoff on connection failures and 5xx; 595/596 (the proxying node cannot reach the
 * other) count as "node unreachable". Writes are repeated only when they certainly did not reach Proxmox; a migrate,
 * start or stop whose answer was lost is resolved by reading the node's task list, never by sending it again.
 * Errors carry Proxmox's own text, read from the body or, before PVE 8.4, from the status line's reason phrase.
 * 401/403 give {@link io.moxxie.core.spi.HypervisorAuthenticationException} naming the user and token id; secrets
 * never appear in messages, logs or {@link #toString()}.
 *
 * <p>Thread-safe. {@link #close()} releases the HTTP client's threads and connections.
 */
public final class ProxmoxClient implements HypervisorClient, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ProxmoxClient.class);

    public static final int DEFAULT_PORT = 8006;
    public static final Duration DEFAULT_CONNECT_TIMEOUT = Duration.ofSeconds(10);
    /** pveproxy gives up on a forwarded call after 30 s; the migrate precondition check can take a while. */
    public static final Duration DEFAULT_REQUEST_TIMEOUT = Duration.ofSeconds(60);
    public static final int DEFAULT_MAX_RETRIES = 3;
    /** Attempts in a row that reach no Proxmox address after which Proxmox counts as down (requests fail at once). */
    public static final int DEFAULT_BREAKER_FAILURES = 3;
    /** How long requests fail at once once Proxmox counts as down, before one tries again. */
    public static final Duration DEFAULT_BREAKER_DELAY = Duration.ofSeconds(10);
    public static final Duration DEFAULT_RETRY_DELAY = Duration.ofMillis(500);
    public static final Duration DEFAULT_MAX_RETRY_DELAY = Duration.ofSeconds(5);
    /** How long the HA manager gets to act visibly on a request (its loop runs every 10 s; status lags ~10 s). */
    public static final Duration DEFAULT_HA_REQUEST_TIMEOUT = Duration.ofMinutes(2);
    public static final int DEFAULT_TASK_LOG_LINES = 10;
    /**
     * How long HA rules and the datacenter's CRS options, read for a snapshot, are used again. A drain's watcher reads
     * a snapshot every round: re-reading the rules each time would add a request per round (a minute's age: 3 to 6 more
     * requests for the guide's 12- and 15-guest drains, over the 4 per guest the drain may cost). Ten minutes outlast
     * those drains, so that their rules are read once, at planning. Proxmox enforces a rule edited since itself: a move
     * against a negative rule is refused (PVE 9's migrate check names the node's {@code blocking-ha-resources}, and the
     * HA manager does not carry the request out), and a guest moved off its node-affinity rule's nodes is moved back by
     * the HA manager ({@code select_service_node} every round); a stale read costs such a move, not a broken rule.
     */
    public static final Duration DEFAULT_PLACEMENT_MAX_AGE = Duration.ofMinutes(10);

    /**
     * How long a "no Ceph" answer is believed before Ceph is asked again: installing Ceph on a cluster takes longer, and a
     * rollout's gate checks would otherwise send a refused request each.
     */
    public static final int NO_CEPH_RECHECK_MINUTES = 5;

    /**
     * Lines of a migration's task log read at once: qemu-server writes about one a second (and one a second per disk
     * mirrored), so one page covers minutes between two reads.
     */
    static final int PROGRESS_LOG_PAGE = 500;
    /** Migrations whose log reading is remembered at once; the least recently read is forgotten beyond it. */
    static final int PROGRESS_CURSORS = 256;

    private static final Pattern HA_REQUEST = Pattern.compile("^ha-(migrate|relocate|start|stop) (vm|ct):(\\d+)(?: (\\S+))?$");
    private static final Set<String> HA_MOVING = Set.of("migrate", "relocate");

    private final ProxmoxHttp http;
    private final List<HttpUrl> baseUrls;
    private final TlsTrust tls;
    private final Clock clock;
    private final Duration haRequestTimeout;
    private final int taskLogLines;
    private final Duration placementMaxAge;
    private final Map<String, Instant> haDeadlines = new ConcurrentHashMap<>();
    /** Configured memory of guests {@code /cluster/resources} gives none for (0: could not be read), with when read. */
    private final Map<Integer, Read<Long>> configuredMemory = new ConcurrentHashMap<>();
    private final Object placementLock = new Object();
    /** Where the reading of each running migration's log stands, by UPID; guarded by itself, least recently read first. */
    private final Map<String, MigrationLog.Cursor> logCursors = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, MigrationLog.Cursor> eldest) {
            return size() > PROGRESS_CURSORS;
        }
    };
    private volatile Boolean lxcPreconditionsSupported;
    /** {@code null} until known: whether {@code /cluster/ha/rules} exists (Proxmox VE 9) or HA groups are read (before). */
    private volatile Boolean haRulesSupported;
    /** The HA rules (or groups) and whether HA auto-rebalancing is on, as last read: used again for {@link #placementMaxAge}. */
    private volatile Read<HaRules> placement;
    private volatile Read<Boolean> autoRebalance;
    private volatile boolean accessChecked;
    /** A rollout's gates: the votes per member as of a corosync.conf version, and until when "no Ceph" is believed. */
    private volatile QuorumVotes quorumVotes;
    private volatile Instant noCephUntil;
    /**
     * The nodes in HA maintenance as the last snapshot's node entries gave them ({@code hastate}, PVE 8.3 and later), and
     * when: a guest's pre-check right after (planning reads the snapshot, then each guest) takes them from there instead
     * of a read of the HA manager's status per HA guest. Null before such a snapshot, or on older Proxmox.
     */
    private volatile Read<Set<String>> lastNodeHa;

    /** A value read from Proxmox and when, used again while younger than a maximum age (none when it is zero). */
    private record Read<T>(T value, Instant at) {
        boolean youngerThan(Duration maxAge, Instant now) {
            return now.isBefore(at.plus(maxAge));
        }
    }

    /** How long the last snapshot's view of the nodes in HA maintenance stands in for a read of the HA manager's status. */
    static final Duration NODE_HA_VIEW_MAX_AGE = Duration.ofSeconds(30);

    private ProxmoxClient(Builder b, List<HttpUrl> urls) {
        this.baseUrls = urls;
        this.tls = b.tls;
        this.clock = b.clock;
        this.haRequestTimeout = b.haRequestTimeout;
        this.taskLogLines = b.taskLogLines;
        this.placementMaxAge = b.placementMaxAge;
        this.http = new ProxmoxHttp(urls, b.credentials, b.tls, b.connectTimeout, b.requestTimeout, b.maxRetries,
                b.retryDelay, b.maxRetryDelay, b.breakerFailures, b.breakerDelay, b.clock);
    }

    public static Builder builder() {
        return new Builder();
    }

    // ------------------------------------------------------------------ reads

    @Override
    public ClusterSnapshot snapshot() {
        if (!accessChecked) {
            try {
                checkAccess();
            } catch (HypervisorAuthenticationException e) {
                throw e;
            } catch (HypervisorException e) {
                log.warn("Cannot check the privileges of {} ({}); checked again at the next snapshot", http.credentials().describe(),
                        e.getMessage());
            }
        }
        Resources r = withConfiguredMemory(ProxmoxParsers.parseResources(http.getData("/cluster/resources", null)));
        Instant now = clock.instant();
        // HA rules and auto-rebalancing concern HA guests only.
        ClusterSnapshot snap = r.anyHaManaged() ? r.snapshot(now, placement(now).rules(), haAutoRebalance(now)) : r.snapshot(now);
        if (!r.nodeHaStates().isEmpty()) lastNodeHa = new Read<>(snap.haMaintenance(), now);
        return snap;
    }

    @Override
    public Optional<Guest> guest(int vmid) {
        return guestResource(resources(), vmid).map(GuestResource::guest);
    }

    private Resources resources() {
        return withConfiguredMemory(ProxmoxParsers.parseResources(http.getData("/cluster/resources", Params.of().put("type", "vm"))));
    }

    /**
     * Guests {@code /cluster/resources} gives no {@code maxmem} for ({@code status: unknown}: pvestatd has not reported
     * them yet) would be placed as if they took no memory: they get their configured memory instead, read once from
     * {@code GET /nodes/{node}/{qemu|lxc}/{vmid}/config}. A read that fails is not repeated for {@link #placementMaxAge}
     * (the node may be down, and every snapshot would wait for the retries); the guest keeps memory 0, and
     * {@link #preconditions} blocks it.
     */
    private Resources withConfiguredMemory(Resources r) {
        if (r.guests().stream().allMatch(GuestResource::memoryKnown)) return r;
        List<GuestResource> guests = new ArrayList<>(r.guests().size());
        Instant now = clock.instant();
        for (GuestResource gr : r.guests()) {
            if (gr.memoryKnown()) {
                configuredMemory.remove(gr.guest().vmid());
                guests.add(gr);
                continue;
            }
            Guest g = gr.guest();
            Read<Long> known = configuredMemory.get(g.vmid());
            if (known == null || (known.value() == 0 && !known.youngerThan(placementMaxAge, now))) {
                long bytes;
                try {
                    String path = Paths.of("nodes", g.node(), g.type().wireName(), g.vmid(), "config");
                    bytes = ProxmoxParsers.parseConfiguredMemory(http.getData(path, null));
                    log.info("{} on {} has no memory figure in /cluster/resources (status {}); using its configured {} MiB",
                            g.label(), g.node(), g.status().wireName(), bytes >> 20);
                } catch (HypervisorException e) {
                    log.warn("{} on {} has no memory figure in /cluster/resources and its configuration cannot be read ({}); "
                            + "it is not moved", g.label(), g.node(), e.getMessage());
                    bytes = 0;
                }
                known = new Read<>(bytes, now);
                configuredMemory.put(g.vmid(), known);
            }
            guests.add(known.value() == 0 ? gr : new GuestResource(g.toBuilder().memory(known.value()).build(), gr.haState(), true));
        }
        return new Resources(r.nodes(), guests, r.nodeHaStates());
    }

    // ------------------------------------------------------------------ placement rules

    private static final HaRules NO_RULES = new HaRules(List.of(), List.of());

    /**
     * HA rules (Proxmox VE 9: {@code GET /cluster/ha/rules}, which lists HA groups not yet migrated as rules too)
     * or HA groups (before: {@code GET /cluster/ha/groups} and, when there are groups, {@code GET /cluster/ha/resources}
     * for their members; {@code /cluster/ha/rules} answers 501 there, remembered): one request on Proxmox VE 9, at most
     * once per {@link Builder#placementMaxAge placementMaxAge}. A read that fails keeps what was read before (Proxmox
     * enforces HA rules itself, see {@link #DEFAULT_PLACEMENT_MAX_AGE}) and is tried again after {@code placementMaxAge}.
     */
    private HaRules placement(Instant now) {
        Read<HaRules> p = placement;
        if (p != null && p.youngerThan(placementMaxAge, now)) return p.value();
        synchronized (placementLock) {
            p = placement;
            if (p != null && p.youngerThan(placementMaxAge, now)) return p.value();
            HaRules next;
            try {
                next = readPlacement();
                if (p == null || !p.value().ignored().equals(next.ignored())) {
                    for (String why : next.ignored()) log.info("Not honoured: {}", why);
                }
            } catch (HypervisorException e) {
                log.warn("Cannot read the HA rules ({}); {}", e.getMessage(),
                        p == null ? "planning without them" : "using those read at " + p.at());
                next = p == null ? NO_RULES : p.value();
            }
            placement = new Read<>(next, now);
            return next;
        }
    }

    private HaRules readPlacement() {
        if (!Boolean.FALSE.equals(haRulesSupported)) {
            try {
                HaRules rules = ProxmoxParsers.parseHaRules(http.getData("/cluster/ha/rules", null));
                haRulesSupported = true;
                return rules;
            } catch (ProxmoxApiException e) {
                if (e.status() != 501 && e.status() != 404) throw e;
                log.debug("No HA rules on this Proxmox ({}); reading HA groups", e.getMessage());
                haRulesSupported = false;
            }
        }
        JsonNode groups = http.getData("/cluster/ha/groups", null);
        if (groups.size() == 0) return NO_RULES;
        return ProxmoxParsers.parseHaGroups(groups, http.getData("/cluster/ha/resources", null));
    }

    /**
     * Whether Proxmox VE 9's HA auto-rebalancing is on ({@code GET /cluster/options}, {@code crs}
     * {@code ha-auto-rebalance}): read by {@link #checkAccess()}, then again when older than
     * {@link Builder#placementMaxAge placementMaxAge}; never on Proxmox before 9, which has no auto-rebalancing. A read
     * that fails keeps the last answer.
     */
    private boolean haAutoRebalance(Instant now) {
        if (Boolean.FALSE.equals(haRulesSupported)) return false;
        Read<Boolean> o = autoRebalance;
        if (o != null && o.youngerThan(placementMaxAge, now)) return o.value();
        try {
            return readCrsOptions(now);
        } catch (HypervisorException e) {
            boolean last = o != null && o.value();
            log.warn("Cannot read the datacenter options ({}); HA auto-rebalancing taken as {}", e.getMessage(), last ? "on" : "off");
            autoRebalance = new Read<>(last, now);
            return last;
        }
    }

    private boolean readCrsOptions(Instant now) {
        Read<Boolean> before = autoRebalance;
        boolean on = ProxmoxParsers.parseHaAutoRebalance(http.getData("/cluster/options", null));
        autoRebalance = new Read<>(on, now);
        if (on && (before == null || !before.value())) {
            log.warn("HA auto-rebalancing is on (datacenter option crs: ha-auto-rebalance=1): the HA manager may move HA guests "
                    + "by itself, onto a node being drained too");
        }
        return on;
    }

    // ------------------------------------------------------------------ permissions

    /**
     * What Moxxie checks at start, before it relies on Proxmox: the privileges of these credentials
     * ({@code GET /access/permissions}: path → privilege → propagate, the effective ones; for a token with privilege
     * separation the intersection of its own and its user's), and the datacenter's options (HA auto-rebalancing, see
     * {@link #snapshot()}). It
     * <ul>
     *   <li>throws {@link HypervisorAuthenticationException} naming what is missing without which a drain cannot work:
     *       {@code Sys.Audit} propagating over {@code /nodes} (without it {@code /cluster/resources} has no node
     *       memory and nothing can be placed), {@code Sys.Audit} on {@code /} (HA status and rules),
     *       {@code VM.Audit}, {@code VM.Migrate}, {@code VM.PowerMgmt}, {@code VM.Config.Options} on {@code /vms}
     *       (or on some guests or pools);</li>
     *   <li>logs a warning for {@code Sys.Console} on {@code /} missing (HA guests cannot move: pve-ha-manager's
     *       migrate asks for it) or granted with propagate (it then reaches {@code /nodes/{node}}: each node's shell),
     *       and for {@code Sys.Modify} on {@code /} missing (needed to write tags when the datacenter restricts them,
     *       pve-guest-common {@code assert_tag_permissions}).</li>
     * </ul>
     * Called by the first {@link #snapshot()} unless called before (a server calls it as it starts, so that a missing
     * privilege stops it at once); once it has passed, never again. A read that fails for another reason is tried
     * again at the next snapshot. Two requests.
     *
     * @throws HypervisorAuthenticationException a privilege a drain needs is missing; the message names it
     */
    public void checkAccess() {
        Map<String, Map<String, Boolean>> perms = ProxmoxParsers.parsePermissions(http.getData("/access/permissions", null));
        List<String> missing = new ArrayList<>();
        Map<String, Boolean> nodes = perms.getOrDefault("/nodes", Map.of());
        if (!Boolean.TRUE.equals(nodes.get("Sys.Audit"))) {
            missing.add(nodes.containsKey("Sys.Audit") ? "Sys.Audit on /nodes must propagate (without it /cluster/resources has no node memory)"
                    : "Sys.Audit on /nodes, propagated (without it /cluster/resources has no node memory)");
        }
        Map<String, Boolean> root = perms.getOrDefault("/", Map.of());
        if (!root.containsKey("Sys.Audit")) missing.add("Sys.Audit on / (HA status, rules and task lists)");
        for (String priv : List.of("VM.Audit", "VM.Migrate", "VM.PowerMgmt", "VM.Config.Options")) {
            boolean onVms = Boolean.TRUE.equals(perms.getOrDefault("/vms", Map.of()).get(priv));
            boolean somewhere = perms.entrySet().stream().anyMatch(e -> (e.getKey().startsWith("/vms/") || e.getKey().startsWith("/pool/"))
                    && e.getValue().containsKey(priv));
            if (!onVms && !somewhere) missing.add(priv + " on /vms, propagated (or on the guests)");
        }
        String who = http.credentials().describe();
        if (!missing.isEmpty()) {
            throw new HypervisorAuthenticationException("Proxmox refuses what a drain needs to " + who + ": missing " + String.join("; ", missing)
                    + (http.credentials().isApiToken() ? " (a token with privilege separation has only what both it and its user have)" : ""));
        }
        boolean isRoot = http.credentials().principal().equals("root@pam"); // Proxmox gives root every privilege, propagating
        if (!root.containsKey("Sys.Console")) {
            log.warn("{} lacks Sys.Console on /: HA-managed guests cannot be moved (grant it on / without propagate)", who);
        } else if (Boolean.TRUE.equals(root.get("Sys.Console")) && !isRoot) {
            log.warn("{} has Sys.Console on / with propagate: that reaches /nodes/{node}, each node's shell; grant it without propagate", who);
        }
        if (!root.containsKey("Sys.Modify")) {
            log.info("{} lacks Sys.Modify on /: tags cannot be written where the datacenter restricts them (user-tag-access, registered-tags)", who);
        }
        readCrsOptions(clock.instant());
        accessChecked = true;
    }

    private static Optional<GuestResource> guestResource(Resources r, int vmid) {
        return r.guests().stream().filter(g -> g.guest().vmid() == vmid).findFirst();
    }

    @Override
    public MigrationPreconditions preconditions(Guest guest) {
        Checks.notNull("guest", guest);
        if (guest.memory() == 0) {
            return new MigrationPreconditions(guest.vmid(), Map.of(), List.of(), List.of("unknown memory (Proxmox has no status data for "
                    + guest.label() + " yet, status " + guest.status().wireName() + ", and its configuration could not be read)"), false);
        }
        MigrationPreconditions p;
        if (guest.type() == GuestType.QEMU) {
            JsonNode data = http.getData(Paths.of("nodes", guest.node(), "qemu", guest.vmid(), "migrate"), null);
            p = ProxmoxParsers.parseQemuPreconditions(guest.vmid(), data);
        } else {
            p = lxcPreconditions(guest);
        }
        return guest.haManaged() ? withHaMaintenance(p) : p;
    }

    private MigrationPreconditions lxcPreconditions(Guest guest) {
        if (Boolean.FALSE.equals(lxcPreconditionsSupported)) return MigrationPreconditions.unrestricted(guest.vmid());
        try {
            JsonNode data = http.getData(Paths.of("nodes", guest.node(), "lxc", guest.vmid(), "migrate"), null);
            lxcPreconditionsSupported = true;
            return ProxmoxParsers.parseLxcPreconditions(guest.vmid(), data);
        } catch (ProxmoxApiException e) {
            if (e.status() != 501 && e.status() != 404) throw e;
            // Before PVE 9 containers have no precondition check: nothing known restricts them.
            log.debug("No container migration check on this Proxmox ({}); containers are unrestricted", e.getMessage());
            lxcPreconditionsSupported = false;
            return MigrationPreconditions.unrestricted(guest.vmid());
        }
    }

    private MigrationPreconditions withHaMaintenance(MigrationPreconditions p) {
        Set<String> maintenance;
        Read<Set<String>> view = lastNodeHa;
        if (view != null && view.youngerThan(NODE_HA_VIEW_MAX_AGE, clock.instant())) {
            maintenance = view.value();
        } else {
            try {
                maintenance = ProxmoxParsers.parseHaMaintenanceNodes(http.getData("/cluster/ha/status/manager_status", null));
            } catch (HypervisorException e) {
                log.debug("Cannot read the HA manager status ({}); HA maintenance nodes not excluded", e.getMessage());
                return p;
            }
        }
        if (maintenance.isEmpty()) return p;
        Map<String, String> notAllowed = new LinkedHashMap<>(p.notAllowed());
        for (String n : maintenance) {
            notAllowed.merge(n, "node is in HA maintenance mode (the HA manager ignores moves to it)", (a, b) -> a + "; " + b);
        }
        return new MigrationPreconditions(p.vmid(), notAllowed, p.liveBlockers(), p.blockers(), p.localDisks());
    }

    // ------------------------------------------------------------------ migration

    @Override
    public TaskRef migrate(MigrationCommand cmd) {
        Checks.notNull("command", cmd);
        Guest g = cmd.guest();
        if (g.haManaged()) return haMigrate(cmd);
        Params p = Params.of().put("target", cmd.target());
        String taskType;
        if (g.type() == GuestType.QEMU) {
            taskType = "qmigrate";
            switch (cmd.type()) {
                case ONLINE -> {
                    p.flag("online", true);
                    if (cmd.withLocalDisks()) p.flag("with-local-disks", true);
                }
                case OFFLINE -> { /* a stopped VM: nothing to add; local disks are copied anyway */ }
                case RESTART -> throw new IllegalArgumentException("restart mode is for containers; VM " + g.label() + " moves online or offline");
            }
        } else {
            taskType = "vzmigrate";
            switch (cmd.type()) {
                case RESTART -> p.flag("restart", true).put("timeout", Math.max(1, cmd.shutdownTimeout().toSeconds()));
                case ONLINE -> {
                    if (g.running()) {
                        throw new HypervisorException("container " + g.label() + " cannot move live (lxc live migration is not "
                                + "implemented in Proxmox): move it in restart mode");
                    }
                }
                case OFFLINE -> { }
            }
        }
        String path = Paths.of("nodes", g.node(), g.type().wireName(), g.vmid(), "migrate");
        Instant sentAt = clock.instant();
        try {
            JsonNode upid = http.write(Method.POST, path, p, false);
            log.info("Migration of {} from {} to {} ({}) started: {}", g.label(), g.node(), cmd.target(), cmd.type().wireName(), upid.asText());
            return taskRef(upid, g.node());
        } catch (OutcomeUnknownException e) {
            return resolveLostStart(g, taskType, "migration to " + cmd.target(), sentAt, e);
        }
    }

    /**
     * {@code POST /cluster/ha/resources/{sid}/migrate|relocate} {@code node=…}. Proxmox VE 9 answers
     * {@code sid}, {@code requested-node}, {@code comigrated-resources} (sids the HA manager moves along: members of a
     * positive resource-affinity rule) and {@code blocking-resources} ({@code {sid, cause: "resource-affinity"}}: a
     * negative rule's member on the target), the last two left out when empty (pve-ha-manager
     * {@code src/PVE/API2/HA/Resources.pm}, {@code PVE::HA::Config::get_resource_motion_info}); before, {@code null}.
     * The co-migrated guests are named in the returned {@link TaskRef#comigrated()}.
     */
    private TaskRef haMigrate(MigrationCommand cmd) {
        Guest g = cmd.guest();
        String sid = sid(g);
        // HA "migrate" is live for VMs and restart for containers; "relocate" stops, moves and starts.
        String action = cmd.type() == MigrationType.OFFLINE && g.running() ? "relocate" : "migrate";
        String id = "ha-" + action + " " + sid + " " + cmd.target();
        List<Integer> comigrated = new ArrayList<>();
        try {
            JsonNode data = http.write(Method.POST, Paths.of("cluster", "ha", "resources", sid, action), Params.of().put("node", cmd.target()), false);
            List<String> blocking = new ArrayList<>();
            for (JsonNode b : iterable(data.path("blocking-resources"))) {
                blocking.add(Json.text(b, "sid") + (Json.has(b, "cause") ? " (" + Json.text(b, "cause") + ")" : ""));
            }
            if (!blocking.isEmpty()) {
                throw new HypervisorException("HA " + action + " of " + sid + " to " + cmd.target()
                        + " was queued but the HA manager will not carry it out: blocked by " + String.join(", ", blocking));
            }
            for (JsonNode c : iterable(data.path("comigrated-resources"))) {
                Integer vmid = ProxmoxParsers.sid(c.asText());
                if (vmid != null) comigrated.add(vmid);
            }
            log.info("HA {} of {} to {} requested{}", action, g.label(), cmd.target(),
                    comigrated.isEmpty() ? "" : "; the HA manager moves " + comigrated + " along (positive resource affinity)");
        } catch (OutcomeUnknownException e) {
            // Not repeated: where the guest runs tells whether the HA manager got it.
            log.warn("HA {} request of {} to {} got no answer ({}); judging by where the guest runs", action, g.label(), cmd.target(), e.getMessage());
        }
        haDeadlines.put(id, clock.instant().plus(haRequestTimeout));
        return TaskRef.untracked(id, g.node()).withComigrated(comigrated);
    }

    /**
     * A start request whose answer was lost: find the task it may have started on the node, by guest, type, user
     * and time. Not found: the caller gets a definite error, and nothing is sent again.
     *
     * <p>{@code userfilter} is {@code user@realm} without the token id, which is matched here: pve-manager's
     * {@code PVE/API2/Tasks.pm} splits a finished task's {@code user@realm!tokenid} into {@code user} and
     * {@code tokenid} before it applies {@code userfilter} (a case-insensitive substring match on {@code user}), so a
     * filter with the token id never finds a finished task, and a migration that ended meanwhile would be reported
     * failed although the guest moved.
     */
    private TaskRef resolveLostStart(Guest g, String taskType, String what, Instant sentAt, OutcomeUnknownException lost) {
        long since = sentAt.minus(Duration.ofMinutes(2)).getEpochSecond();
        String principal = http.credentials().principal();
        String user = principal.indexOf('!') > 0 ? principal.substring(0, principal.indexOf('!')) : principal;
        Params q = Params.of().put("vmid", g.vmid()).put("typefilter", taskType).put("source", "all")
                .put("since", since).put("limit", 50).put("userfilter", user);
        List<TaskEntry> found;
        try {
            found = ProxmoxParsers.parseTaskList(http.getData(Paths.of("nodes", g.node(), "tasks"), q));
        } catch (HypervisorException e) {
            throw new HypervisorException(what + " of " + g.label() + ": " + lost.getMessage() + "; the task list of " + g.node()
                    + " could not be read either (" + e.getMessage() + "), so it was not repeated: check the node's tasks", lost);
        }
        Optional<TaskEntry> task = found.stream()
                .filter(t -> taskType.equals(t.type()) && String.valueOf(g.vmid()).equals(t.id()) && t.startTime() >= since
                        && (t.user() == null || principal.equalsIgnoreCase(t.user())))
                .max(Comparator.comparingLong(TaskEntry::startTime));
        if (task.isPresent()) {
            log.warn("{} of {}: the answer was lost ({}), found its task {}", what, g.label(), lost.getMessage(), task.get().upid());
            return TaskRef.of(task.get().upid(), Upid.parse(task.get().upid()).map(Upid::node).orElse(g.node()));
        }
        throw new HypervisorException(what + " of " + g.label() + ": " + lost.getMessage()
                + "; no " + taskType + " task of it was found on " + g.node() + ", and the request was not repeated", lost);
    }

    // ------------------------------------------------------------------ tasks

    @Override
    public TaskState task(TaskRef task) {
        Checks.notNull("task", task);
        if (!task.tracked()) return haTask(task.id());
        return trackedTask(task);
    }

    private static String taskNode(TaskRef t) {
        return Upid.parse(t.id()).map(Upid::node).orElse(t.node());
    }

    private TaskState trackedTask(TaskRef t) {
        String node = taskNode(t);
        TaskState s = ProxmoxParsers.parseTaskStatus(http.getData(Paths.of("nodes", node, "tasks", t.id(), "status"), null));
        if (s.finished()) forgetLog(t.id());
        if (!s.finished() || s.successful()) return s;
        return TaskState.failed(withLogTail(node, t.id(), s.message()));
    }

    /**
     * The progress of a qemu live migration, from the lines of its task log not read yet (see {@link MigrationLog}):
     * empty for anything but a {@code qmigrate} task, before the first progress line (set-up, an offline move), and
     * once the log shows the task's end. What was read is remembered per task until then (at most
     * {@value #PROGRESS_CURSORS} tasks).
     */
    @Override
    public Optional<MigrationProgress> migrationProgress(TaskRef task) {
        Checks.notNull("task", task);
        if (!task.tracked() || !Upid.parse(task.id()).map(u -> u.type().equals("qmigrate")).orElse(false)) return Optional.empty();
        MigrationLog.Cursor cursor;
        synchronized (logCursors) {
            cursor = logCursors.computeIfAbsent(task.id(), k -> new MigrationLog.Cursor());
        }
        Optional<MigrationProgress> progress;
        synchronized (cursor) {
            String path = Paths.of("nodes", taskNode(task), "tasks", task.id(), "log");
            JsonNode page = http.get(path, Params.of().put("start", cursor.next()).put("limit", PROGRESS_LOG_PAGE));
            long total = Json.longValue(page, "total", 0);
            boolean fullPage = page.path("data").size() >= PROGRESS_LOG_PAGE;
            if (!cursor.take(page.path("data"), total) || fullPage && total > cursor.next()) {
                // Another log than the one read before, or more lines than a page since: read on to its end (its last
                // page at most), where the latest progress is.
                cursor.skipTo(Math.max(0, total - PROGRESS_LOG_PAGE));
                page = http.get(path, Params.of().put("start", cursor.next()).put("limit", PROGRESS_LOG_PAGE));
                cursor.take(page.path("data"), Json.longValue(page, "total", 0));
            }
            progress = cursor.progress(clock.instant());
            if (cursor.ended()) forgetLog(task.id());
        }
        return progress;
    }

    private void forgetLog(String upid) {
        synchronized (logCursors) {
            logCursors.remove(upid);
        }
    }

    /** The exit status and the last lines of the task log (the exit status alone is often just "migration aborted"). */
    private String withLogTail(String node, String upid, String exitStatus) {
        try {
            String path = Paths.of("nodes", node, "tasks", upid, "log");
            JsonNode first = http.get(path, Params.of().put("start", 0).put("limit", 1));
            long total = Json.longValue(first, "total", 0);
            List<String> lines = total <= 1 ? ProxmoxParsers.parseTaskLog(first.path("data"))
                    : ProxmoxParsers.parseTaskLog(http.getData(path, Params.of().put("start", Math.max(0, total - taskLogLines)).put("limit", taskLogLines)));
            List<String> useful = new ArrayList<>();
            for (String l : lines) {
                String s = l.strip();
                if (s.isEmpty() || s.equals("no content") || s.equals("TASK ERROR: " + exitStatus)) continue;
                useful.add(s);
            }
            return useful.isEmpty() ? exitStatus : exitStatus + "\n" + String.join("\n", useful);
        } catch (HypervisorException e) {
            return exitStatus + " (task log unavailable: " + e.getMessage() + ")";
        }
    }

    /**
     * An HA request has no task: it is done when the guest is where (or in the state) it was asked to be. The HA
     * manager drops requests it cannot carry out without a word, hence the time limit.
     */
    private TaskState haTask(String id) {
        Matcher m = HA_REQUEST.matcher(id);
        if (!m.matches()) return TaskState.ok("OK"); // not ours: nothing to follow
        String action = m.group(1);
        String sid = m.group(2) + ":" + m.group(3);
        int vmid = Integer.parseInt(m.group(3));
        String target = m.group(4);
        Instant now = clock.instant();
        Instant deadline = haDeadlines.computeIfAbsent(id, k -> now.plus(haRequestTimeout));
        Optional<GuestResource> gr = guestResource(resources(), vmid);
        if (gr.isEmpty()) {
            haDeadlines.remove(id);
            return TaskState.failed("guest " + vmid + " no longer exists");
        }
        Guest g = gr.get().guest();
        String ha = gr.get().haState() == null ? "" : gr.get().haState();
        if (ha.equals("error")) {
            haDeadlines.remove(id);
            return TaskState.failed("HA resource " + sid + " is in error state on " + g.node() + " (disable it and fix the cause)");
        }
        boolean moving = HA_MOVING.contains(ha) || "migrate".equals(g.lock());
        boolean done = switch (action) {
            case "migrate", "relocate" -> g.node().equals(target) && !moving;
            case "start" -> g.status() == PowerState.RUNNING && !moving;
            default -> g.status() == PowerState.STOPPED;
        };
        if (done) {
            haDeadlines.remove(id);
            return TaskState.ok("OK");
        }
        if (moving || now.isBefore(deadline)) return TaskState.RUNNING;
        haDeadlines.remove(id);
        return TaskState.failed("the HA manager did not carry out '" + id.substring(3) + "' within " + haRequestTimeout.toSeconds()
                + " s: the guest is on " + g.node() + ", " + g.status().wireName() + (ha.isEmpty() ? "" : ", HA state " + ha)
                + ". Proxmox drops HA requests to nodes that are offline or in maintenance mode");
    }

    // ------------------------------------------------------------------ power and tags

    @Override
    public TaskRef start(Guest guest) {
        return power(guest, "start", Params.of(), Duration.ZERO);
    }

    @Override
    public TaskRef shutdown(Guest guest, Duration timeout) {
        Checks.notNull("timeout", timeout);
        // forceStop: after the timeout the guest is stopped hard, as the SPI promises.
        return power(guest, "shutdown", Params.of().put("timeout", Math.max(1, timeout.toSeconds())).flag("forceStop", true), timeout);
    }

    @Override
    public TaskRef stop(Guest guest) {
        return power(guest, "stop", Params.of(), Duration.ZERO);
    }

    private TaskRef power(Guest g, String action, Params p, Duration extra) {
        Checks.notNull("guest", g);
        String path = Paths.of("nodes", g.node(), g.type().wireName(), g.vmid(), "status", action);
        if (g.haManaged()) {
            // Proxmox turns this into an HA request (hastart/hastop task that ends at once): judge by the guest's state.
            String id = "ha-" + (action.equals("start") ? "start" : "stop") + " " + sid(g);
            try {
                http.write(Method.POST, path, p, false);
            } catch (OutcomeUnknownException e) {
                log.warn("HA {} request of {} got no answer ({}); judging by the guest's state", action, g.label(), e.getMessage());
            }
            haDeadlines.put(id, clock.instant().plus(haRequestTimeout).plus(extra));
            return TaskRef.untracked(id, g.node());
        }
        String taskType = (g.type() == GuestType.QEMU ? "qm" : "vz") + action;
        Instant sentAt = clock.instant();
        try {
            return taskRef(http.write(Method.POST, path, p, false), g.node());
        } catch (OutcomeUnknownException e) {
            return resolveLostStart(g, taskType, action, sentAt, e);
        }
    }

    @Override
    public void setTags(Guest guest, List<String> tags) {
        Checks.notNull("guest", guest);
        Checks.notNull("tags", tags);
        Params p = tags.isEmpty() ? Params.of().put("delete", "tags") : Params.of().put("tags", TagPolicy.formatTags(tags));
        try {
            putConfig(guest.node(), guest, p);
        } catch (ProxmoxApiException e) {
            // The guest may have moved since it was read: find it and write once more.
            if (e.status() != 500 || e.proxmoxMessage() == null || !e.proxmoxMessage().contains("does not exist")) throw e;
            Optional<Guest> now = guest(guest.vmid());
            if (now.isEmpty() || now.get().node().equals(guest.node())) throw e;
            putConfig(now.get().node(), guest, p);
        }
    }

    private void putConfig(String node, Guest guest, Params p) {
        http.write(Method.PUT, Paths.of("nodes", node, guest.type().wireName(), guest.vmid(), "config"), p, true);
    }

    // ------------------------------------------------------------------ a rollout's gates: quorum, Ceph, HA manager

    /**
     * {@code GET /cluster/status}: {@code quorate} from the cluster entry, {@code online} from the node entries. Expected
     * votes are the sum of the members' {@code quorum_votes} from {@code GET /cluster/config/nodes}, read again only when
     * the cluster entry's {@code version} (corosync.conf's) changes: one request per call, two the first time. A
     * standalone node is quorate by itself.
     */
    @Override
    public Quorum quorum() {
        JsonNode status = http.getData("/cluster/status", null);
        ProxmoxParsers.ClusterEntry cluster = ProxmoxParsers.parseClusterEntry(status);
        return ProxmoxParsers.parseQuorum(status, cluster == null ? null : quorumVotes(cluster.version()));
    }

    private Map<String, Integer> quorumVotes(long corosyncVersion) {
        QuorumVotes known = quorumVotes;
        if (known != null && known.corosyncVersion() == corosyncVersion) return known.votes();
        Map<String, Integer> votes = ProxmoxParsers.parseQuorumVotes(http.getData("/cluster/config/nodes", null));
        quorumVotes = new QuorumVotes(corosyncVersion, votes);
        return votes;
    }

    /**
     * {@code GET /cluster/ceph/status} (health) and {@code GET /cluster/ceph/flags} (the OSD flags set). Empty when the
     * node answering has no Ceph ("binary not installed", "pveceph configuration not initialized"); that answer is
     * remembered for {@value #NO_CEPH_RECHECK_MINUTES} minutes, in which Ceph reads send nothing.
     */
    @Override
    public Optional<CephHealth> ceph() {
        if (noCephKnown()) return Optional.empty();
        JsonNode status;
        try {
            status = http.getData("/cluster/ceph/status", null);
        } catch (ProxmoxApiException e) {
            if (!noCeph(e)) throw e;
            return Optional.empty();
        }
        return Optional.of(ProxmoxParsers.parseCephHealth(status, http.getData("/cluster/ceph/flags", null)));
    }

    /**
     * The OSDs under host {@code node} in the CRUSH tree, {@code GET /nodes/localhost/ceph/osd}: the tree is the
     * cluster's, and {@code localhost} has the node answering read it (pveproxy proxies {@code proxyto => 'node'} calls
     * to any other name, {@code PVE/HTTPServer.pm}), so the OSDs of a node that is down or rebooting are read as well.
     */
    @Override
    public List<CephOsd> cephOsds(String node) {
        Checks.nodeName("node", node);
        if (noCephKnown()) return List.of();
        try {
            return ProxmoxParsers.parseCephOsds(node, http.getData("/nodes/localhost/ceph/osd", null));
        } catch (ProxmoxApiException e) {
            if (!noCeph(e)) throw e;
            return List.of();
        }
    }

    /**
     * Ceph's {@code osd ok-to-stop}: {@code GET /nodes/localhost/ceph/cmd-safety?service=osd&id=N&action=stop}. The
     * monitors answer for the whole cluster, so the node answering asks them, whether or not {@code node} is up.
     */
    @Override
    public CephOsd.Safety cephOkToStop(String node, int osd) {
        Checks.nodeName("node", node);
        Checks.atLeast("osd", osd, 0);
        Params q = Params.of().put("service", "osd").put("id", osd).put("action", "stop");
        return ProxmoxParsers.parseCephSafety(http.getData("/nodes/localhost/ceph/cmd-safety", q));
    }

    /**
     * {@code PUT /cluster/ceph/flags/{flag}} with {@code value=1|0}: synchronous ({@code osd set|unset}), answers
     * {@code null}; setting a flag already set changes nothing, so it is retried like a read. Needs {@code Sys.Modify} on
     * {@code /}. Proxmox refuses a flag outside its list (400) and a cluster without Ceph (500).
     */
    @Override
    public void setCephFlag(String flag, boolean value) {
        Checks.notNull("flag", flag);
        http.write(Method.PUT, Paths.of("cluster", "ceph", "flags", flag), Params.of().flag("value", value), true);
        log.info("Ceph flag {} {}", flag, value ? "set" : "unset");
    }

    /** {@code GET /cluster/ha/status/manager_status}; empty when the cluster never ran the HA stack. */
    @Override
    public Optional<HaManagerStatus> haManagerStatus() {
        return ProxmoxParsers.parseHaManagerStatus(http.getData("/cluster/ha/status/manager_status", null));
    }

    private boolean noCephKnown() {
        Instant until = noCephUntil;
        return until != null && clock.instant().isBefore(until);
    }

    private boolean noCeph(ProxmoxApiException e) {
        if (e.status() != 500 || !ProxmoxParsers.noCeph(e.proxmoxMessage())) return false;
        if (noCephUntil == null) {
            log.info("No Ceph on the Proxmox node answering ({}); asked again every {} minutes", e.proxmoxMessage(), NO_CEPH_RECHECK_MINUTES);
        }
        noCephUntil = clock.instant().plus(Duration.ofMinutes(NO_CEPH_RECHECK_MINUTES));
        return true;
    }

    /** The members' votes as of one corosync.conf version. */
    private record QuorumVotes(long corosyncVersion, Map<String, Integer> votes) {
    }

    // ------------------------------------------------------------------ helpers

    private static TaskRef taskRef(JsonNode upid, String fallbackNode) {
        String id = upid == null || upid.isNull() ? null : upid.asText();
        if (id == null || id.isBlank()) throw new HypervisorException("Proxmox started no task (no UPID in the answer)");
        return TaskRef.of(id, Upid.parse(id).map(Upid::node).orElse(fallbackNode));
    }

    private static String sid(Guest g) {
        return (g.type() == GuestType.QEMU ? "vm:" : "ct:") + g.vmid();
    }

    private static Iterable<JsonNode> iterable(JsonNode n) {
        return n != null && n.isArray() ? n : List.of();
    }

    /** Releases the HTTP client's threads and pooled connections. */
    @Override
    public void close() {
        http.close();
    }

    @Override
    public String toString() {
        return "ProxmoxClient[" + String.join(", ", baseUrls.stream().map(ProxmoxHttp::origin).toList()) + ", "
                + http.credentials().describe() + ", TLS: " + tls + "]";
    }

    // ------------------------------------------------------------------ builder

    /**
     * Configuration of a {@link ProxmoxClient}. Setters check their argument at once; {@link #build()} needs at
     * least one base URL and credentials. Not thread-safe.
     */
    public static final class Builder {
        private final List<String> baseUrls = new ArrayList<>();
        private ProxmoxCredentials credentials;
        private TlsTrust tls = TlsTrust.systemDefault();
        private Duration connectTimeout = DEFAULT_CONNECT_TIMEOUT;
        private Duration requestTimeout = DEFAULT_REQUEST_TIMEOUT;
        private int maxRetries = DEFAULT_MAX_RETRIES;
        private Duration retryDelay = DEFAULT_RETRY_DELAY;
        private Duration maxRetryDelay = DEFAULT_MAX_RETRY_DELAY;
        private Duration haRequestTimeout = DEFAULT_HA_REQUEST_TIMEOUT;
        private int taskLogLines = DEFAULT_TASK_LOG_LINES;
        private int breakerFailures = DEFAULT_BREAKER_FAILURES;
        private Duration breakerDelay = DEFAULT_BREAKER_DELAY;
        private Duration placementMaxAge = DEFAULT_PLACEMENT_MAX_AGE;
        private Clock clock = Clock.systemUTC();

        private Builder() {
        }

        /**
         * One or more cluster nodes' addresses, tried in turn when one does not answer: {@code pve1},
         * {@code https://pve1:8006} or {@code https://pve1:8006/api2/json} (port {@value #DEFAULT_PORT} and
         * {@code /api2/json} are added when missing).
         */
        public Builder baseUrls(String... urls) {
            Checks.notNull("urls", urls);
            for (String u : urls) baseUrl(u);
            return this;
        }

        public Builder baseUrl(String url) {
            Checks.notNull("url", url);
            normalize(url);
            baseUrls.add(url);
            return this;
        }

        public Builder credentials(ProxmoxCredentials credentials) {
            this.credentials = Checks.notNull("credentials", credentials);
            return this;
        }

        /** Shortcut for {@code credentials(ProxmoxCredentials.apiToken(token))}: {@code USER@REALM!TOKENID=SECRET}. */
        public Builder apiToken(String token) {
            return credentials(ProxmoxCredentials.apiToken(token));
        }

        /** Shortcut for {@code credentials(ProxmoxCredentials.password(user, password))}. */
        public Builder password(String user, String password) {
            return credentials(ProxmoxCredentials.password(user, password));
        }

        /** Which certificates to accept. Default: the JVM's trust store. */
        public Builder tls(TlsTrust tls) {
            this.tls = Checks.notNull("tls", tls);
            return this;
        }

        public Builder connectTimeout(Duration timeout) {
            this.connectTimeout = Checks.positive("connectTimeout", timeout);
            return this;
        }

        /** How long one request may wait for its answer. */
        public Builder requestTimeout(Duration timeout) {
            this.requestTimeout = Checks.positive("requestTimeout", timeout);
            return this;
        }

        /** Retries of a failed read (and of a write that certainly did not reach Proxmox). Default 3. */
        public Builder maxRetries(int maxRetries) {
            this.maxRetries = Checks.atLeast("maxRetries", maxRetries, 0);
            return this;
        }

        /** First retry delay, doubling up to {@code max}. Defaults 500 ms and 5 s. */
        public Builder retryDelay(Duration initial, Duration max) {
            this.retryDelay = Checks.positive("retryDelay", initial);
            this.maxRetryDelay = Checks.positive("maxRetryDelay", max);
            if (max.compareTo(initial) < 0) throw new ValidationException("maxRetryDelay", max, "maxRetryDelay must be >= retryDelay, was " + max);
            return this;
        }

        /** How long the HA manager gets to act visibly on a request before it counts as dropped. Default 2 min. */
        public Builder haRequestTimeout(Duration timeout) {
            this.haRequestTimeout = Checks.positive("haRequestTimeout", timeout);
            return this;
        }

        /**
         * The circuit breaker: after {@code failures} attempts in a row that reach no Proxmox address, requests fail at
         * once with {@link io.moxxie.core.spi.HypervisorUnavailableException} for {@code delay} (wall-clock time), then one
         * tries again. Defaults 3 and 10 s.
         */
        public Builder circuitBreaker(int failures, Duration delay) {
            this.breakerFailures = Checks.positive("breakerFailures", failures);
            this.breakerDelay = Checks.positive("breakerDelay", delay);
            return this;
        }

        /**
         * How long HA rules and the datacenter's CRS options read for a snapshot are used again before they are read
         * anew (the clock is {@link #clock}). Default 10 min ({@link ProxmoxClient#DEFAULT_PLACEMENT_MAX_AGE}: why); zero reads them
         * for every snapshot that has HA guests.
         */
        public Builder placementMaxAge(Duration maxAge) {
            this.placementMaxAge = Checks.notNull("placementMaxAge", maxAge);
            if (maxAge.isNegative()) throw new ValidationException("placementMaxAge", maxAge, "placementMaxAge cannot be negative, was " + maxAge);
            return this;
        }

        /** Lines of the task log quoted in a failed task's message. Default 10. */
        public Builder taskLogLines(int lines) {
            this.taskLogLines = Checks.positive("taskLogLines", lines);
            return this;
        }

        /** Where time comes from (ticket renewal, HA time limits). Default: the system clock. */
        public Builder clock(Clock clock) {
            this.clock = Checks.notNull("clock", clock);
            return this;
        }

        public ProxmoxClient build() {
            if (baseUrls.isEmpty()) throw new ValidationException("baseUrls", baseUrls, "baseUrls cannot be empty");
            Checks.notNull("credentials", credentials);
            List<HttpUrl> urls = baseUrls.stream().map(Builder::normalize).distinct().toList();
            ProxmoxClient c = new ProxmoxClient(this, urls);
            if (tls.kind() == TlsTrust.Kind.INSECURE) {
                log.warn("TLS certificate verification is OFF for {}: anyone on the network path can read the credentials "
                        + "and pose as Proxmox. Use TlsTrust.caFile(...) or TlsTrust.pinnedFingerprints(...)", c);
            }
            log.info("Proxmox client: {} as {}, TLS: {}, connect timeout {} ms, request timeout {} ms, {} retries",
                    urls.stream().map(ProxmoxHttp::origin).toList(), credentials.describe(), tls, connectTimeout.toMillis(),
                    requestTimeout.toMillis(), maxRetries);
            return c;
        }

        static HttpUrl normalize(String url) {
            String u = url.trim();
            if (u.isEmpty()) throw new ValidationException("url", url, "url cannot be empty");
            if (!u.contains("://")) u = "https://" + u;
            URI uri;
            try {
                uri = URI.create(u);
            } catch (IllegalArgumentException e) {
                throw new ValidationException("url", url, "url must be a Proxmox address like https://pve1:8006, was '" + url + "'");
            }
            HttpUrl parsed = HttpUrl.parse(u);
            if (parsed == null || uri.getHost() == null) {
                throw new ValidationException("url", url, "url must be a Proxmox address like https://pve1:8006, was '" + url + "'");
            }
            HttpUrl.Builder b = parsed.newBuilder().query(null).fragment(null);
            if (uri.getPort() == -1) b.port(DEFAULT_PORT);
            String path = parsed.encodedPath();
            while (path.endsWith("/")) path = path.substring(0, path.length() - 1);
            if (!path.endsWith("/api2/json")) path = path + "/api2/json";
            return b.encodedPath(path).build();
        }
    }
}
