package io.moxxie.core.model;

import io.moxxie.core.internal.Checks;

import java.time.Instant;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The nodes and guests of a cluster at one instant. Immutable; lookups by name and vmid are O(1). */
public final class ClusterSnapshot {
    private final Instant takenAt;
    private final List<Node> nodes;
    private final List<Guest> guests;
    private final Map<String, Node> nodesByName;
    private final Map<Integer, Guest> guestsById;

    public ClusterSnapshot(Instant takenAt, List<Node> nodes, List<Guest> guests) {
        this.takenAt = Checks.notNull("takenAt", takenAt);
        this.nodes = nodes.stream().sorted(Comparator.comparing(Node::name)).toList();
        this.guests = guests.stream().sorted(Comparator.comparingInt(Guest::vmid)).toList();
        Map<String, Node> byName = new LinkedHashMap<>();
        for (Node n : this.nodes) {
            if (byName.put(n.name(), n) != null) throw new IllegalArgumentException("duplicate node name '" + n.name() + "'");
        }
        Map<Integer, Guest> byId = new LinkedHashMap<>();
        for (Guest g : this.guests) {
            if (byId.put(g.vmid(), g) != null) throw new IllegalArgumentException("duplicate vmid " + g.vmid());
        }
        this.nodesByName = Collections.unmodifiableMap(byName);
        this.guestsById = Collections.unmodifiableMap(byId);
    }

    public Instant takenAt() {
        return takenAt;
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
        return Optional.ofNullable(guestsById.get(vmid));
    }

    /** Guests on {@code node}, by vmid. */
    public List<Guest> guestsOn(String node) {
        return guests.stream().filter(g -> g.node().equals(node)).toList();
    }

    @Override
    public String toString() {
        return "ClusterSnapshot[" + nodes.size() + " nodes, " + guests.size() + " guests at " + takenAt + "]";
    }
}
