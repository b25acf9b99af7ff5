package io.moxxie.proxmox.internal;

import com.fasterxml.jackson.databind.JsonNode;
import io.moxxie.core.model.CephHealth;
import io.moxxie.core.model.CephOsd;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.HaManagerStatus;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.model.Node;
import io.moxxie.core.model.PlacementRule;
import io.moxxie.core.model.PowerState;
import io.moxxie.core.model.Quorum;
import io.moxxie.core.policy.TagPolicy;
import io.moxxie.core.spi.TaskState;

import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Turns the {@code data} of Proxmox answers into core's model, leniently (see {@link Json}). Every method takes
 * the inner value of the {@code {"data": …}} envelope. Not part of the public API.
 */
public final class ProxmoxParsers {
    private ProxmoxParsers() {
    }

    // ------------------------------------------------------------------ /cluster/resources

    /**
     * A guest with the raw HA state {@code /cluster/resources} gives ({@code null} when not HA-managed).
     *
     * @param memoryKnown {@code false} when the entry has no {@code maxmem}: Proxmox has no status data for the
     *                    guest yet ({@code status: unknown}, no RRD data), and {@link Guest#memory()} is 0
     */
    public record GuestResource(Guest guest, String haState, boolean memoryKnown) {
    }

    /**
     * What {@code GET /cluster/resources} says about nodes and guests; storage, pool and SDN entries are ignored.
     *
     * @param nodeHaStates per node, its HA state where Proxmox gives one (PVE 8.3+): {@code online}, {@code maintenance}, …
     */
    public record Resources(List<Node> nodes, List<GuestResource> guests, Map<String, String> nodeHaStates) {
        public ClusterSnapshot snapshot(Instant at) {
            return snapshot(at, List.of(), false);
        }

        /**
         * The snapshot with the cluster's placement rules, whether HA auto-rebalancing is on, and the nodes whose
         * {@code hastate} is {@code maintenance} (node entries carry it since pve-manager 8.3).
         */
        public ClusterSnapshot snapshot(Instant at, List<PlacementRule> rules, boolean haAutoRebalance) {
            Set<String> haMaintenance = new LinkedHashSet<>();
            nodeHaStates.forEach((node, state) -> {
                if ("maintenance".equals(state)) haMaintenance.add(node);
            });
            return new ClusterSnapshot(at, nodes, guests.stream().map(GuestResource::guest).toList(), rules, haAutoRebalance)
                    .withHaMaintenance(haMaintenance);
        }

        /** Whether any guest is HA-managed (HA rules and groups bind only those). */
        public boolean anyHaManaged() {
            return guests.stream().anyMatch(g -> g.guest().haManaged());
        }
    }

    public static Resources parseResources(JsonNode data) {
        List<Node> nodes = new ArrayList<>();
        List<GuestResource> guests = new ArrayList<>();
        Map<String, String> haStates = new LinkedHashMap<>();
        Set<String> seenNodes = new LinkedHashSet<>();
        Set<Integer> seenGuests = new LinkedHashSet<>();
        for (JsonNode e : iterable(data)) {
            String type = Json.text(e, "type");
            if ("node".equals(type)) {
                String name = nodeName(e);
                if (name == null || !seenNodes.add(name)) continue;
                nodes.add(node(e, name, "online".equalsIgnoreCase(Json.text(e, "status"))));
                String ha = Json.text(e, "hastate");
                if (ha != null) haStates.put(name, ha);
            } else if ("qemu".equals(type) || "lxc".equals(type)) {
                GuestResource g = guestResource(e, GuestType.parse(type), null);
                if (g != null && seenGuests.add(g.guest().vmid())) guests.add(g);
            }
        }
        return new Resources(nodes, guests, haStates);
    }

    /** One qemu or lxc entry of {@code /cluster/resources} or of a node's guest list; {@code null} if unusable. */
    static GuestResource guestResource(JsonNode e, GuestType type, String defaultNode) {
        int vmid = vmid(e);
        String node = Json.text(e, "node");
        if (node == null) node = defaultNode;
        if (vmid <= 0 || node == null || node.isBlank()) return null;
        String ha = Json.text(e, "hastate");
        boolean haManaged = ha != null && !ha.isBlank() && !"ignored".equalsIgnoreCase(ha);
        Guest g = Guest.builder(vmid, node, type)
                .name(Json.text(e, "name"))
                .status(PowerState.parse(Json.text(e, "status")))
                .tags(TagPolicy.parseTags(Json.text(e, "tags")))
                .memory(Math.max(0, Json.longValue(e, "maxmem", 0)))
                .memoryUsed(Math.max(0, Json.longValue(e, "mem", 0)))
                .template(Json.bool(e, "template"))
                .haManaged(haManaged)
                .lock(Json.text(e, "lock"))
                .build();
        return new GuestResource(g, ha, Json.longValue(e, "maxmem", 0) > 0);
    }

    private static int vmid(JsonNode e) {
        int vmid = Json.intValue(e, "vmid", -1);
        if (vmid > 0) return vmid;
        String id = Json.text(e, "id"); // "qemu/100"
        if (id != null && id.indexOf('/') > 0) {
            try {
                return Integer.parseInt(id.substring(id.indexOf('/') + 1));
            } catch (NumberFormatException ignored) {
                return -1;
            }
        }
        return -1;
    }

    private static String nodeName(JsonNode e) {
        String name = Json.text(e, "node");
        if (name == null) {
            String id = Json.text(e, "id");
            if (id != null && id.startsWith("node/")) name = id.substring(5);
        }
        return name == null || name.isBlank() ? null : name;
    }

    private static Node node(JsonNode e, String name, boolean online) {
        double cpu = Json.doubleValue(e, "cpu", 0);
        return new Node(name, online, Math.max(0, Json.longValue(e, "maxmem", 0)), Math.max(0, Json.longValue(e, "mem", 0)),
                Math.max(0, Json.intValue(e, "maxcpu", 0)), Double.isFinite(cpu) ? Math.min(1, Math.max(0, cpu)) : 0);
    }

    // ------------------------------------------------------------------ /nodes, /nodes/{node}/status, guest lists

    /** {@code GET /nodes}. */
    public static List<Node> parseNodes(JsonNode data) {
        List<Node> out = new ArrayList<>();
        for (JsonNode e : iterable(data)) {
            String name = nodeName(e);
            if (name != null) out.add(node(e, name, "online".equalsIgnoreCase(Json.text(e, "status"))));
        }
        return out;
    }

    /** {@code GET /nodes/{node}/status}: the node answered, so it is online. */
    public static Node parseNodeStatus(String name, JsonNode data) {
        JsonNode mem = data.path("memory");
        double cpu = Json.doubleValue(data, "cpu", 0);
        return new Node(name, true, Math.max(0, Json.longValue(mem, "total", 0)), Math.max(0, Json.longValue(mem, "used", 0)),
                Math.max(0, Json.intValue(data.path("cpuinfo"), "cpus", 0)), Double.isFinite(cpu) ? Math.min(1, Math.max(0, cpu)) : 0);
    }

    /** {@code GET /nodes/{node}/qemu} or {@code …/lxc} (vmid as a string before PVE 8.1). */
    public static List<Guest> parseGuestList(String node, GuestType type, JsonNode data) {
        List<Guest> out = new ArrayList<>();
        for (JsonNode e : iterable(data)) {
            GuestResource g = guestResource(e, type, node);
            if (g != null) out.add(g.guest());
        }
        return out;
    }

    /** {@code GET /nodes/{node}/qemu/{vmid}/status/current}: HA state in {@code ha.managed}/{@code ha.state}. */
    public static Guest parseGuestStatus(String node, GuestType type, JsonNode data) {
        boolean ha = Json.bool(data.path("ha"), "managed");
        String qmp = Json.text(data, "qmpstatus");
        PowerState status = "paused".equalsIgnoreCase(qmp) ? PowerState.PAUSED : PowerState.parse(Json.text(data, "status"));
        return Guest.builder(Json.intValue(data, "vmid", 0), node, type)
                .name(Json.text(data, "name"))
                .status(status)
                .tags(TagPolicy.parseTags(Json.text(data, "tags")))
                .memory(Math.max(0, Json.longValue(data, "maxmem", 0)))
                .memoryUsed(Math.max(0, Json.longValue(data, "mem", 0)))
                .template(Json.bool(data, "template"))
                .haManaged(ha)
                .lock(Json.text(data, "lock"))
                .build();
    }

    // ------------------------------------------------------------------ cluster and HA status

    /** {@code GET /cluster/status}: quorum and which nodes corosync sees online. */
    public record ClusterStatus(String name, boolean quorate, Map<String, Boolean> nodesOnline) {
    }

    public static ClusterStatus parseClusterStatus(JsonNode data) {
        String name = null;
        boolean quorate = false;
        boolean sawCluster = false;
        Map<String, Boolean> online = new LinkedHashMap<>();
        for (JsonNode e : iterable(data)) {
            if ("cluster".equals(Json.text(e, "type"))) {
                sawCluster = true;
                name = Json.text(e, "name");
                quorate = Json.bool(e, "quorate");
            } else if ("node".equals(Json.text(e, "type"))) {
                online.put(Json.text(e, "name"), Json.bool(e, "online"));
            }
        }
        // A standalone node has no cluster entry and is always quorate.
        return new ClusterStatus(name, sawCluster ? quorate : true, online);
    }

    /**
     * {@code GET /cluster/ha/status/manager_status}: nodes the HA manager has in maintenance mode (requests to move
     * HA guests there are dropped silently), from {@code node_status}, {@code node_request} and {@code lrm_status}.
     */
    public static Set<String> parseHaMaintenanceNodes(JsonNode data) {
        Set<String> out = new LinkedHashSet<>();
        JsonNode ms = data.path("manager_status");
        for (Map.Entry<String, JsonNode> e : fields(ms.path("node_status"))) {
            if ("maintenance".equalsIgnoreCase(e.getValue().asText())) out.add(e.getKey());
        }
        for (Map.Entry<String, JsonNode> e : fields(ms.path("node_request"))) {
            if (Json.bool(e.getValue(), "maintenance")) out.add(e.getKey());
        }
        for (Map.Entry<String, JsonNode> e : fields(data.path("lrm_status"))) {
            if ("maintenance".equalsIgnoreCase(Json.text(e.getValue(), "mode"))) out.add(e.getKey());
        }
        return out;
    }

    /** {@code GET /cluster/ha/status/current}: the only maintenance sign there is the lrm text "maintenance mode". */
    public static Set<String> parseHaMaintenanceNodesFromCurrent(JsonNode data) {
        Set<String> out = new LinkedHashSet<>();
        for (JsonNode e : iterable(data)) {
            String status = Json.text(e, "status");
            if ("lrm".equals(Json.text(e, "type")) && status != null && status.contains("maintenance mode")) {
                out.add(Json.text(e, "node"));
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ HA rules, HA groups, datacenter options

    /** Placement rules read from Proxmox, and the rules left out with the reason (for the log). */
    public record HaRules(List<PlacementRule> rules, List<String> ignored) {
    }

    private static final Pattern SID = Pattern.compile("^(vm|ct):(\\d+)$");
    /** {@code PVE::HA::Tools::parse_node_priority}: {@code node[:priority]}, priority 0 when not given. */
    private static final Pattern NODE_PRIORITY = Pattern.compile("^([a-zA-Z0-9]([a-zA-Z0-9\\-]*[a-zA-Z0-9])?)(:(\\d+))?$");

    /**
     * {@code GET /cluster/ha/rules} (Proxmox VE 9, pve-ha-manager {@code src/PVE/API2/HA/Rules.pm}): one object per
     * rule with {@code rule}, {@code type}, {@code resources} ({@code vm:100,ct:101}), for {@code node-affinity}
     * {@code nodes} ({@code node[:priority],…}) and {@code strict}, for {@code resource-affinity} {@code affinity}
     * ({@code positive|negative}), and {@code disable}, {@code comment}, {@code digest}, {@code order}. HA groups
     * not yet migrated are listed too, as {@code ha-group-NAME} node-affinity rules ({@code migrate_groups_to_rules}).
     *
     * <p>Left out, as the HA manager leaves them out: a rule with {@code disable} set at all ({@code foreach_rule}
     * tests {@code exists($rule->{disable})}), and a rule the API reports {@code errors} for (the HA manager drops
     * infeasible rules, {@code PVE::HA::Rules::transform}). Unknown rule types are left out too.
     */
    public static HaRules parseHaRules(JsonNode data) {
        List<PlacementRule> rules = new ArrayList<>();
        List<String> ignored = new ArrayList<>();
        for (JsonNode e : iterable(data)) {
            String id = Json.text(e, "rule");
            String type = Json.text(e, "type");
            if (id == null || type == null) continue;
            if (Json.has(e, "disable")) {
                ignored.add("HA rule '" + id + "' is disabled");
                continue;
            }
            if (Json.has(e, "errors") && e.path("errors").size() > 0) {
                ignored.add("HA rule '" + id + "' is not applied by the HA manager: " + errors(e.path("errors")));
                continue;
            }
            Set<Integer> guests = sids(Json.text(e, "resources"));
            switch (type) {
                case "node-affinity" -> rules.add(new PlacementRule.NodeAffinity(id, PlacementRule.Origin.HA_RULE, guests,
                        nodePriorities(Json.text(e, "nodes")), Json.bool(e, "strict")));
                case "resource-affinity" -> {
                    String affinity = Json.text(e, "affinity");
                    if (!"positive".equals(affinity) && !"negative".equals(affinity)) {
                        ignored.add("HA rule '" + id + "' has an unknown affinity '" + affinity + "'");
                        continue;
                    }
                    rules.add(new PlacementRule.GuestAffinity(id, PlacementRule.Origin.HA_RULE, guests, affinity.equals("positive")));
                }
                default -> ignored.add("HA rule '" + id + "' has a type Moxxie does not know: " + type);
            }
        }
        return new HaRules(rules, ignored);
    }

    /**
     * {@code GET /cluster/ha/groups} (Proxmox VE 8 and before; pve-ha-manager {@code src/PVE/API2/HA/Groups.pm}:
     * {@code group}, {@code nodes} {@code node[:priority],…}, {@code restricted}, {@code nofailback}) with the members
     * from {@code GET /cluster/ha/resources} (each {@code sid} with its {@code group}): one node-affinity rule per
     * group with members, strict when {@code restricted} (as PVE 9 migrates them, {@code migrate_groups_to_rules}).
     */
    public static HaRules parseHaGroups(JsonNode groups, JsonNode resources) {
        Map<String, Set<Integer>> members = new LinkedHashMap<>();
        for (JsonNode r : iterable(resources)) {
            String group = Json.text(r, "group");
            Integer vmid = sid(Json.text(r, "sid"));
            if (group != null && vmid != null) members.computeIfAbsent(group, k -> new LinkedHashSet<>()).add(vmid);
        }
        List<PlacementRule> rules = new ArrayList<>();
        List<String> ignored = new ArrayList<>();
        for (JsonNode g : iterable(groups)) {
            String name = Json.text(g, "group");
            if (name == null) continue;
            Set<Integer> guests = members.get(name);
            if (guests == null) {
                ignored.add("HA group '" + name + "' has no HA resources");
                continue;
            }
            rules.add(new PlacementRule.NodeAffinity(name, PlacementRule.Origin.HA_GROUP, guests, nodePriorities(Json.text(g, "nodes")),
                    Json.bool(g, "restricted")));
        }
        return new HaRules(rules, ignored);
    }

    /**
     * Whether HA auto-rebalancing is on, from {@code GET /cluster/options} (pve-manager {@code PVE/API2/Cluster.pm}
     * {@code get_options}): {@code crs} is the parsed {@code datacenter.cfg} property string (pve-cluster
     * {@code PVE/DataCenterConfig.pm} {@code $crs_format}, {@code ha-auto-rebalance} a boolean, default off), an
     * object in the answer; the property-string form is read too. Without {@code Sys.Audit} on {@code /} Proxmox
     * leaves {@code crs} out: off.
     */
    public static boolean parseHaAutoRebalance(JsonNode options) {
        JsonNode crs = options == null ? null : options.get("crs");
        if (crs == null || crs.isNull()) return false;
        if (crs.isObject()) return Json.bool(crs, "ha-auto-rebalance");
        for (String part : crs.asText().split(",")) {
            int eq = part.indexOf('=');
            if (eq > 0 && part.substring(0, eq).trim().equals("ha-auto-rebalance")) {
                String v = part.substring(eq + 1).trim();
                return v.equals("1") || v.equalsIgnoreCase("true") || v.equalsIgnoreCase("yes") || v.equalsIgnoreCase("on");
            }
        }
        return false;
    }

    /** {@code vm:100,ct:101} → 100, 101; other resource types are left out. */
    static Set<Integer> sids(String list) {
        Set<Integer> out = new LinkedHashSet<>();
        if (list == null) return out;
        for (String s : list.split("[,;\\s]+")) {
            Integer vmid = sid(s.trim());
            if (vmid != null) out.add(vmid);
        }
        return out;
    }

    /** {@code vm:100} or {@code ct:101} → the vmid; {@code null} for anything else. */
    public static Integer sid(String sid) {
        if (sid == null) return null;
        Matcher m = SID.matcher(sid.trim());
        return m.matches() ? Integer.valueOf(m.group(2)) : null;
    }

    /** {@code node1:2,node2} → node1=2, node2=0; malformed entries are left out, as Proxmox does. */
    static Map<String, Integer> nodePriorities(String list) {
        Map<String, Integer> out = new TreeMap<>();
        if (list == null) return out;
        for (String entry : list.split("[,;\\s]+")) {
            Matcher m = NODE_PRIORITY.matcher(entry.trim());
            if (m.matches()) out.put(m.group(1), m.group(4) == null ? 0 : Integer.parseInt(m.group(4)));
        }
        return out;
    }

    private static String errors(JsonNode errors) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, JsonNode> e : fields(errors)) {
            JsonNode v = e.getValue();
            out.add(e.getKey() + ": " + (v.isArray() ? String.join(", ", texts(v)) : v.asText()));
        }
        return out.isEmpty() ? errors.toString() : String.join("; ", out);
    }

    // ------------------------------------------------------------------ guest configuration, permissions

    /**
     * The configured memory in bytes from {@code GET /nodes/{node}/qemu/{vmid}/config} ({@code memory}:
     * {@code [current=]MiB}, qemu-server {@code PVE/QemuServer/Memory.pm} {@code $memory_fmt}, default 512) or
     * {@code …/lxc/{vmid}/config} ({@code memory} in MiB, default 512).
     */
    public static long parseConfiguredMemory(JsonNode config) {
        String m = Json.text(config, "memory");
        long mib = 512;
        if (m != null) {
            for (String part : m.split(",")) {
                String p = part.trim();
                if (p.startsWith("current=")) p = p.substring("current=".length());
                if (p.matches("\\d+")) {
                    mib = Long.parseLong(p);
                    break;
                }
            }
        }
        return mib << 20;
    }

    /**
     * {@code GET /access/permissions} (pve-access-control {@code PVE/API2/AccessControl.pm}): path → privilege →
     * propagate flag, the effective privileges of the caller (a token with privilege separation: already the
     * intersection of its own and its user's).
     */
    public static Map<String, Map<String, Boolean>> parsePermissions(JsonNode data) {
        Map<String, Map<String, Boolean>> out = new TreeMap<>();
        for (Map.Entry<String, JsonNode> path : fields(data)) {
            Map<String, Boolean> privs = new TreeMap<>();
            for (Map.Entry<String, JsonNode> priv : fields(path.getValue())) {
                JsonNode v = priv.getValue();
                privs.put(priv.getKey(), v.isBoolean() ? v.booleanValue() : v.asInt(0) != 0 || v.asText().equals("true"));
            }
            out.put(path.getKey(), privs);
        }
        return out;
    }

    // ------------------------------------------------------------------ a rollout's gates: quorum, Ceph, HA manager

    /**
     * {@code GET /cluster/status}'s cluster entry (pve-manager {@code PVE/API2/Cluster.pm}): {@code quorate}, {@code nodes}
     * (members, offline ones included) and {@code version} (of {@code corosync.conf}); {@code null} for a standalone node,
     * which has no cluster entry.
     */
    public record ClusterEntry(boolean quorate, int nodes, long version) {
    }

    public static ClusterEntry parseClusterEntry(JsonNode data) {
        for (JsonNode e : iterable(data)) {
            if ("cluster".equals(Json.text(e, "type"))) {
                return new ClusterEntry(Json.bool(e, "quorate"), Json.intValue(e, "nodes", 0), Json.longValue(e, "version", -1));
            }
        }
        return null;
    }

    /**
     * {@code GET /cluster/config/nodes} (pve-cluster {@code PVE/API2/ClusterConfig.pm}: corosync.conf's nodelist as read
     * by {@code PVE::Corosync::parse_conf}, so numbers come as strings): each member's {@code quorum_votes}, 1 when absent.
     */
    public static Map<String, Integer> parseQuorumVotes(JsonNode data) {
        Map<String, Integer> out = new LinkedHashMap<>();
        for (JsonNode e : iterable(data)) {
            String name = Json.text(e, "node");
            if (name == null) name = Json.text(e, "name");
            if (name != null) out.put(name, Math.max(0, Json.intValue(e, "quorum_votes", 1)));
        }
        return out;
    }

    /**
     * The quorum from {@code GET /cluster/status} and, for a cluster, the votes of {@link #parseQuorumVotes} ({@code null}:
     * one per member, the cluster entry's {@code nodes}). Expected votes are their sum, as corosync's votequorum counts
     * them when {@code corosync.conf} sets no {@code expected_votes}; a QDevice's votes are not in the nodelist and not
     * counted. A standalone node (no cluster entry) is quorate by itself with one vote.
     */
    public static Quorum parseQuorum(JsonNode data, Map<String, Integer> votes) {
        ClusterEntry cluster = parseClusterEntry(data);
        Set<String> online = new LinkedHashSet<>();
        int nodes = 0;
        for (JsonNode e : iterable(data)) {
            if (!"node".equals(Json.text(e, "type"))) continue;
            nodes++;
            String name = Json.text(e, "name");
            if (name != null && Json.bool(e, "online")) online.add(name);
        }
        if (cluster == null) return new Quorum(true, Math.max(1, nodes), online);
        int expected = votes == null || votes.isEmpty() ? cluster.nodes() : votes.values().stream().mapToInt(Integer::intValue).sum();
        return new Quorum(cluster.quorate(), expected, online);
    }

    /**
     * Ceph's health from {@code GET /cluster/ceph/status} (Ceph's {@code status}, whose {@code health} pve-manager replaces
     * by {@code health detail}: {@code status}, {@code checks.CODE.severity}, {@code checks.CODE.summary.message},
     * {@code checks.CODE.muted}) and the set flags from {@code GET /cluster/ceph/flags} ({@code [{name, value,
     * description}]}, {@code PVE/API2/Cluster/Ceph.pm}). Muted checks are left out: Ceph leaves them out of
     * {@code status} too, the operator having said to ignore them.
     */
    public static CephHealth parseCephHealth(JsonNode status, JsonNode flags) {
        JsonNode health = status.path("health");
        String overall = Json.text(health, "status");
        if (overall == null) overall = Json.text(health, "overall_status"); // before Luminous
        Map<String, CephHealth.Check> checks = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : fields(health.path("checks"))) {
            JsonNode c = e.getValue();
            if (Json.bool(c, "muted")) continue;
            String severity = Json.text(c, "severity");
            checks.put(e.getKey(), new CephHealth.Check(severity == null ? CephHealth.WARN : severity, Json.text(c.path("summary"), "message")));
        }
        Set<String> set = new LinkedHashSet<>();
        for (JsonNode f : iterable(flags)) {
            String name = Json.text(f, "name");
            if (name != null && Json.bool(f, "value")) set.add(name);
        }
        return new CephHealth(overall == null ? CephHealth.WARN : overall, checks, set);
    }

    /**
     * The OSDs of host {@code node} in {@code GET /nodes/{node}/ceph/osd} ({@code PVE/API2/Ceph/OSD.pm}: the CRUSH tree
     * under {@code root.children}, buckets with {@code type} and {@code children}, OSD leaves with {@code id} and
     * {@code status} {@code up}/{@code down}), wherever the host sits (racks, several roots); each OSD once.
     */
    public static List<CephOsd> parseCephOsds(String node, JsonNode data) {
        Map<Integer, CephOsd> out = new TreeMap<>();
        collectOsds(node, data.path("root"), false, out);
        return List.copyOf(out.values());
    }

    private static void collectOsds(String node, JsonNode bucket, boolean underHost, Map<Integer, CephOsd> out) {
        for (JsonNode e : iterable(bucket.path("children"))) {
            String type = Json.text(e, "type");
            if ("osd".equals(type)) {
                int id = Json.intValue(e, "id", -1);
                if (underHost && id >= 0) out.putIfAbsent(id, new CephOsd(id, node, "up".equals(Json.text(e, "status"))));
            } else {
                collectOsds(node, e, underHost || ("host".equals(type) && node.equals(Json.text(e, "name"))), out);
            }
        }
    }

    /** {@code GET /nodes/{node}/ceph/cmd-safety} ({@code PVE/API2/Ceph.pm}): {@code safe} (a JSON boolean) and {@code status}, Ceph's words. */
    public static CephOsd.Safety parseCephSafety(JsonNode data) {
        return new CephOsd.Safety(Json.bool(data, "safe"), Json.text(data, "status"));
    }

    /**
     * Whether Proxmox's text says the node answering has no Ceph set up ({@code PVE::Ceph::Tools::check_ceph_inited}:
     * {@code binary not installed: /usr/bin/ceph-mon}, {@code pveceph configuration not initialized - missing …}): a
     * fact of its installation, which no retry changes.
     */
    public static boolean noCeph(String proxmoxMessage) {
        return proxmoxMessage != null
                && (proxmoxMessage.startsWith("binary not installed: ") || proxmoxMessage.startsWith("pveceph configuration not initialized"));
    }

    /**
     * {@code GET /cluster/ha/status/manager_status} (pve-ha-manager {@code PVE/API2/HA/Status.pm}): the CRM's
     * {@code master_node} and {@code node_status}, each node's LRM {@code mode} from {@code lrm_status}. Empty when the
     * cluster never ran the HA stack: its {@code manager_status} file does not exist and reads as {@code {}}.
     */
    public static Optional<HaManagerStatus> parseHaManagerStatus(JsonNode data) {
        JsonNode ms = data.path("manager_status");
        if (!Json.has(ms, "master_node") && !ms.path("node_status").isObject()) return Optional.empty();
        Map<String, String> nodeStatus = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : fields(ms.path("node_status"))) nodeStatus.put(e.getKey(), e.getValue().asText());
        Map<String, String> modes = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : fields(data.path("lrm_status"))) {
            String mode = Json.text(e.getValue(), "mode");
            if (mode != null) modes.put(e.getKey(), mode);
        }
        return Optional.of(new HaManagerStatus(Json.text(ms, "master_node"), nodeStatus, modes));
    }

    // ------------------------------------------------------------------ migration preconditions

    /**
     * {@code GET /nodes/{node}/qemu/{vmid}/migrate}, judged:
     * <ul>
     *   <li>{@code not_allowed_nodes} also lists allowed nodes with {@code {}}: only entries with a non-empty reason
     *       count (missing storage, missing mapping, HA affinity).</li>
     *   <li>{@code local_resources} that are mappings ({@code mapped-resource-info}) block only live migration,
     *       unless the mapping is live-migratable; all others (passthrough, USB, serial…) block any move, since the
     *       override ({@code force}) is for root's password login only and never sent.</li>
     *   <li>{@code local_disks}: a CD-ROM with a local ISO blocks (eject it first); any other local volume means the
     *       move copies disks ({@code with-local-disks}).</li>
     * </ul>
     */
    public static MigrationPreconditions parseQemuPreconditions(int vmid, JsonNode data) {
        Map<String, String> notAllowed = notAllowed(data.path("not_allowed_nodes"));
        JsonNode mappedInfo = data.path("mapped-resource-info");
        Set<String> mappedNames = new LinkedHashSet<>();
        for (JsonNode m : iterable(data.path("mapped-resources"))) mappedNames.add(m.asText());
        List<String> liveBlockers = new ArrayList<>();
        List<String> blockers = new ArrayList<>();
        for (JsonNode r : iterable(data.path("local_resources"))) {
            String res = r.asText();
            JsonNode info = mappedInfo.path(res);
            if (!info.isMissingNode() && info.isObject()) {
                if (!Json.bool(info, "live-migration")) {
                    String name = Json.text(info, "name");
                    liveBlockers.add(res + " (mapped device" + (name == null ? "" : " '" + name + "'") + ", not live-migratable)");
                }
            } else if (mappedNames.contains(res)) {
                liveBlockers.add(res + " (mapped device)"); // before qemu-server 8.3.9: no live-migration flag known
            } else {
                blockers.add(res);
            }
        }
        boolean localDisks = false;
        for (JsonNode d : iterable(data.path("local_disks"))) {
            if (Json.bool(d, "cdrom") && !Json.bool(d, "is_cloudinit")) {
                blockers.add("local CD-ROM image " + Json.text(d, "volid") + " (eject it first)");
            } else {
                localDisks = true;
            }
        }
        return new MigrationPreconditions(vmid, notAllowed, liveBlockers, blockers, localDisks);
    }

    /** {@code GET /nodes/{node}/lxc/{vmid}/migrate} (PVE 9; dash spelling): only node restrictions. */
    public static MigrationPreconditions parseLxcPreconditions(int vmid, JsonNode data) {
        JsonNode na = data.has("not-allowed-nodes") ? data.path("not-allowed-nodes") : data.path("not_allowed_nodes");
        return new MigrationPreconditions(vmid, notAllowed(na), List.of(), List.of(), false);
    }

    private static Map<String, String> notAllowed(JsonNode obj) {
        Map<String, String> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : fields(obj)) {
            List<String> reasons = new ArrayList<>();
            JsonNode v = e.getValue();
            List<String> storages = texts(v.path("unavailable_storages"));
            if (!storages.isEmpty()) reasons.add("storage " + String.join(", ", storages) + " not available");
            List<String> resources = texts(v.path("unavailable-resources"));
            if (!resources.isEmpty()) reasons.add("mapped device " + String.join(", ", resources) + " not available");
            List<String> ha = new ArrayList<>();
            for (JsonNode b : iterable(v.path("blocking-ha-resources"))) {
                String cause = Json.text(b, "cause");
                ha.add(Json.text(b, "sid") + (cause == null ? "" : " (" + cause + ")"));
            }
            if (!ha.isEmpty()) reasons.add("HA rules: " + String.join(", ", ha));
            if (reasons.isEmpty() && v.isObject() && v.size() > 0) {
                // An unknown non-empty reason from a newer Proxmox: refuse rather than ignore it.
                reasons.add(v.toString());
            }
            if (!reasons.isEmpty()) out.put(e.getKey(), String.join("; ", reasons));
        }
        return out;
    }

    // ------------------------------------------------------------------ tasks

    /** Proxmox's success test ({@code PVE::UPID::status_is_error}): {@code OK} or {@code WARNINGS: n}. */
    public static boolean successfulExit(String exitStatus) {
        return exitStatus != null && (exitStatus.equals("OK") || exitStatus.startsWith("WARNINGS"));
    }

    /** {@code GET /nodes/{node}/tasks/{upid}/status}, without the log lines a failure gets later. */
    public static TaskState parseTaskStatus(JsonNode data) {
        if (!"stopped".equalsIgnoreCase(Json.text(data, "status"))) return TaskState.RUNNING;
        String exit = Json.text(data, "exitstatus");
        if (exit == null) exit = "unexpected status";
        return successfulExit(exit) ? TaskState.ok(exit) : TaskState.failed(exit);
    }

    /**
     * One entry of {@code GET /nodes/{node}/tasks} (finished: {@code status} is the exit status).
     *
     * @param user who started it, {@code user@realm!tokenid} for a token: pve-manager's {@code PVE/API2/Tasks.pm}
     *             splits a finished task's user into {@code user} and {@code tokenid}, and leaves an active one's whole
     */
    public record TaskEntry(String upid, String node, String type, String id, long startTime, boolean running,
                            String exitStatus, String user) {
        public TaskState state() {
            if (running) return TaskState.RUNNING;
            return successfulExit(exitStatus) ? TaskState.ok(exitStatus) : TaskState.failed(exitStatus);
        }
    }

    public static List<TaskEntry> parseTaskList(JsonNode data) {
        List<TaskEntry> out = new ArrayList<>();
        for (JsonNode e : iterable(data)) {
            String upid = Json.text(e, "upid");
            if (upid == null) continue;
            String status = Json.text(e, "status");
            boolean running = !Json.has(e, "endtime") && (status == null || "running".equalsIgnoreCase(status));
            String user = Json.text(e, "user");
            String token = Json.text(e, "tokenid");
            if (user != null && token != null && user.indexOf('!') < 0) user = user + "!" + token;
            out.add(new TaskEntry(upid, Json.text(e, "node"), Json.text(e, "type"), Json.text(e, "id"),
                    Json.longValue(e, "starttime", 0), running, running ? null : (status == null ? "unexpected status" : status), user));
        }
        return out;
    }

    /** {@code GET /nodes/{node}/tasks/{upid}/log}: the texts, in order. */
    public static List<String> parseTaskLog(JsonNode data) {
        List<String> out = new ArrayList<>();
        for (JsonNode e : iterable(data)) {
            String t = Json.text(e, "t");
            if (t != null) out.add(t);
        }
        return out;
    }

    // ------------------------------------------------------------------ auth

    /** {@code POST /access/ticket}'s answer. {@link #toString()} never shows the ticket. */
    public record Ticket(String username, String ticket, String csrfToken, boolean needsTfa) {
        @Override
        public String toString() {
            return "Ticket[" + username + "]";
        }
    }

    public static Ticket parseTicket(JsonNode data) {
        return new Ticket(Json.text(data, "username"), Json.text(data, "ticket"), Json.text(data, "CSRFPreventionToken"),
                Json.bool(data, "NeedTFA"));
    }

    // ------------------------------------------------------------------ helpers

    static Iterable<JsonNode> iterable(JsonNode n) {
        return n != null && n.isArray() ? n : List.of();
    }

    static Iterable<Map.Entry<String, JsonNode>> fields(JsonNode n) {
        if (n == null || !n.isObject()) return List.of();
        return n.properties();
    }

    private static List<String> texts(JsonNode arr) {
        List<String> out = new ArrayList<>();
        for (JsonNode n : iterable(arr)) out.add(n.isTextual() ? n.asText() : n.toString());
        return out;
    }

    static String lower(String s) {
        return s == null ? null : s.toLowerCase(Locale.ROOT);
    }
}
