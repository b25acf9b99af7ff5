package io.moxxie.core.model;

import io.moxxie.core.Checks;

import java.time.Instant;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The nodes and guests of a cluster at one instant. Immutable. Cheap to build even for a large cluster (a drain
 * reads one every few seconds): guests are kept sorted by vmid and found by binary search, nodes by name in a map.
 */
public final class ClusterSnapshot {
    private final Instant takenAt;
    private final List<Node> nodes;
    private final List<Guest> guests;
    private final Map<String, Node> nodesByName;
    private final List<PlacementRule> rules;
    private final boolean haAutoRebalance;
    private final java.util.Set<String> haMaintenance;
    /** Guests by node, built on first use: planning a drain asks for one node's guests out of 100,000. */
    private volatile Map<String, List<Guest>> byNode;

    public ClusterSnapshot(Instant takenAt, List<Node> nodes, List<Guest> guests) {
        this(takenAt, nodes, guests, List.of(), false);
    }

    /**
     * @param rules           the placement rules the hypervisor holds (HA rules or groups; enabled ones only)
     * @param haAutoRebalance the hypervisor may move HA guests by itself (Proxmox VE 9's {@code crs}
     *                        {@code ha-auto-rebalance}): it may bring them back onto a node in maintenance
     */
    public ClusterSnapshot(Instant takenAt, List<Node> nodes, List<Guest> guests, List<PlacementRule> rules,
                           boolean haAutoRebalance) {
        this(takenAt, nodes, guests, rules, haAutoRebalance, java.util.Set.of(), false);
    }

    /**
     * @param haMaintenance nodes in Proxmox HA maintenance
     * @param trusted       the nodes and guests come from a snapshot, in its order and without duplicates ({@link #withMoves})
     */
    private ClusterSnapshot(Instant takenAt, List<Node> nodes, List<Guest> guests, List<PlacementRule> rules,
                            boolean haAutoRebalance, java.util.Set<String> haMaintenance, boolean trusted) {
        this.takenAt = Checks.notNull("takenAt", takenAt);
        this.rules = List.copyOf(Checks.notNull("rules", rules));
        this.haAutoRebalance = haAutoRebalance;
        this.haMaintenance = java.util.Set.copyOf(Checks.notNull("haMaintenance", haMaintenance));
        this.nodes = trusted ? List.copyOf(nodes) : nodes.stream().sorted(Comparator.comparing(Node::name)).toList();
        this.guests = trusted ? List.copyOf(guests) : sortedByVmid(guests);
        Map<String, Node> byName = new LinkedHashMap<>();
        for (Node n : this.nodes) {
            if (byName.put(n.name(), n) != null) throw new IllegalArgumentException("duplicate node name '" + n.name() + "'");
        }
        this.nodesByName = Collections.unmodifiableMap(byName);
    }

    public Instant takenAt() {
        return takenAt;
    }

    /** The hypervisor's placement rules (HA rules or groups), as read; tag rules are derived by the planner. */
    public List<PlacementRule> rules() {
        return rules;
    }

    /** Whether the hypervisor may move HA guests by itself, onto a node in maintenance too. */
    public boolean haAutoRebalance() {
        return haAutoRebalance;
    }

    /**
     * The nodes whose Proxmox HA LRM is in maintenance mode ({@code ha-manager crm-command node-maintenance}), as far as
     * the snapshot's read tells (Proxmox VE 8.3 and later: {@code hastate} of the node's {@code /cluster/resources}
     * entry; empty before). No placement goes there: the HA stack moves guests off them and would start none.
     */
    public java.util.Set<String> haMaintenance() {
        return haMaintenance;
    }

    /** This snapshot with the nodes in HA maintenance. */
    public ClusterSnapshot withHaMaintenance(java.util.Set<String> nodesInHaMaintenance) {
        return new ClusterSnapshot(takenAt, nodes, guests, rules, haAutoRebalance, nodesInHaMaintenance, true);
    }

    /** This snapshot with other placement rules. */
    public ClusterSnapshot withRules(List<PlacementRule> newRules, boolean newHaAutoRebalance) {
        return new ClusterSnapshot(takenAt, nodes, guests, newRules, newHaAutoRebalance, haMaintenance, true);
    }

    /** Nodes sorted by name. */
    public List<Node> nodes() {
        return nodes;
    }

    /** Guests sorted by vmid. */
    public List<Guest> guests() {
        return guests;
    }

    public Optional<Node> node(String name) {
        return Optional.ofNullable(nodesByName.get(name));
    }

    public Optional<Guest> guest(int vmid) {
        int i = indexOf(vmid);
        return i < 0 ? Optional.empty() : Optional.of(guests.get(i));
    }

    /** The guests sorted by vmid, without sorting when they come sorted already; duplicates refused. */
    private static List<Guest> sortedByVmid(List<Guest> guests) {
        List<Guest> copy = List.copyOf(guests);
        boolean sorted = true;
        for (int i = 1; i < copy.size() && sorted; i++) sorted = copy.get(i - 1).vmid() < copy.get(i).vmid();
        if (!sorted) copy = copy.stream().sorted(Comparator.comparingInt(Guest::vmid)).toList();
        for (int i = 1; i < copy.size(); i++) {
            if (copy.get(i - 1).vmid() == copy.get(i).vmid()) throw new IllegalArgumentException("duplicate vmid " + copy.get(i).vmid());
        }
        return copy;
    }

    /**
     * The cluster as it will be once the guests in {@code moves} (vmid → target node) are on their targets: each moved
     * guest on its target, and the memory of the running ones taken off their node's use (not below 0) and put on the
     * target's. Cheap on a large cluster (planning a rolling maintenance of 1,000 nodes plans each drain on the cluster
     * the previous one leaves): the guests are copied as one array and only the moved ones looked up; the by-node index
     * is carried over, rebuilt for the nodes touched only.
     *
     * @throws IllegalArgumentException a vmid or a target unknown to this snapshot
     */
    public ClusterSnapshot withMoves(Map<Integer, String> moves) {
        Guest[] next = guests.toArray(new Guest[0]);
        Map<String, Long> delta = new java.util.HashMap<>();
        java.util.Set<String> touched = new java.util.HashSet<>();
        List<Guest> moved = new java.util.ArrayList<>();
        for (Map.Entry<Integer, String> m : moves.entrySet()) {
            int i = indexOf(m.getKey());
            if (i < 0) throw new IllegalArgumentException("no guest " + m.getKey() + " in the snapshot");
            if (!nodesByName.containsKey(m.getValue())) throw new IllegalArgumentException("no node '" + m.getValue() + "' in the snapshot");
            Guest g = next[i];
            if (g.node().equals(m.getValue())) continue;
            touched.add(g.node());
            touched.add(m.getValue());
            if (g.running()) {
                delta.merge(g.node(), -g.memory(), Long::sum);
                delta.merge(m.getValue(), g.memory(), Long::sum);
            }
            next[i] = g.withNode(m.getValue());
            moved.add(next[i]);
        }
        List<Node> nextNodes = new java.util.ArrayList<>(nodes.size());
        for (Node n : nodes) {
            long d = delta.getOrDefault(n.name(), 0L);
            nextNodes.add(d == 0 ? n : new Node(n.name(), n.online(), n.memoryTotal(), Math.max(0, n.memoryUsed() + d), n.cpus(), n.cpuLoad()));
        }
        ClusterSnapshot out = new ClusterSnapshot(takenAt, nextNodes, List.of(next), rules, haAutoRebalance, haMaintenance, true);
        Map<String, List<Guest>> index = byNode;
        if (index != null) {
            Map<String, List<Guest>> carried = new java.util.HashMap<>(index);
            Map<String, List<Guest>> arriving = new java.util.HashMap<>();
            java.util.Set<Integer> leaving = new java.util.HashSet<>();
            for (Guest g : moved) {
                arriving.computeIfAbsent(g.node(), k -> new java.util.ArrayList<>()).add(g);
                leaving.add(g.vmid());
            }
            for (String n : touched) {
                List<Guest> list = new java.util.ArrayList<>();
                for (Guest g : index.getOrDefault(n, List.of())) if (!leaving.contains(g.vmid())) list.add(g);
                list.addAll(arriving.getOrDefault(n, List.of()));
                list.sort(Comparator.comparingInt(Guest::vmid));
                carried.put(n, List.copyOf(list));
            }
            out.byNode = carried;
        }
        return out;
    }

    /** The guest's index in the vmid-sorted list (binary search), or -1. */
    private int indexOf(int vmid) {
        int lo = 0, hi = guests.size() - 1;
        while (lo <= hi) {
            int mid = (lo + hi) >>> 1;
            int v = guests.get(mid).vmid();
            if (v < vmid) lo = mid + 1;
            else if (v > vmid) hi = mid - 1;
            else return mid;
        }
        return -1;
    }

    /** Guests on {@code node}, by vmid. */
    public List<Guest> guestsOn(String node) {
        Map<String, List<Guest>> index = byNode;
        if (index == null) {
            // Built once, then read; two threads racing here build the same map.
            Map<String, List<Guest>> building = new java.util.HashMap<>();
            for (Guest g : guests) building.computeIfAbsent(g.node(), n -> new java.util.ArrayList<>()).add(g);
            building.replaceAll((n, list) -> List.copyOf(list));
            byNode = index = building;
        }
        return index.getOrDefault(node, List.of());
    }

    @Override
    public String toString() {
        return "ClusterSnapshot[" + nodes.size() + " nodes, " + guests.size() + " guests, " + rules.size() + " rules at " + takenAt + "]";
    }
}
