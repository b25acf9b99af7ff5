package io.moxxie.core.model;

import io.moxxie.core.Checks;

import java.util.Map;
import java.util.Set;

/**
 * A placement rule an operator wrote, which a drain honours: a Proxmox HA rule (PVE 9 {@code /cluster/ha/rules}), an HA
 * group (PVE 8 {@code /cluster/ha/groups}) or a guest tag in ProxLB's convention ({@code plb_…}). Disabled HA rules
 * are not carried at all.
 */
public sealed interface PlacementRule permits PlacementRule.NodeAffinity, PlacementRule.GuestAffinity {

    /** Where the rule comes from; an operator reads it in the rule's {@link #describe() description}. */
    enum Origin {
        /** A Proxmox VE 9 HA rule: Proxmox enforces it too, and co-migrates the members of a positive rule. */
        HA_RULE,
        /** A Proxmox VE 8 HA group ({@code restricted} = strict). */
        HA_GROUP,
        /** A guest tag ({@code plb_affinity_…}, {@code plb_anti_affinity_…}, {@code plb_pin_…}): only Moxxie enforces it. */
        TAG
    }

    /** The rule's id in Proxmox ({@code ha-rules} id, group name) or the tag it comes from. */
    String name();

    Origin origin();

    /** The guests the rule binds, by vmid. */
    Set<Integer> guests();

    /** E.g. {@code HA rule 'db-nodes' (node-affinity, strict)} or {@code tag plb_anti_affinity_web}. */
    String describe();

    /**
     * Guests may only ({@code strict}) or preferably (not strict) run on {@code nodes}; among those, a higher
     * priority is preferred when it has room (Proxmox: {@code node[:priority]}, default priority 0).
     */
    record NodeAffinity(String name, Origin origin, Set<Integer> guests, Map<String, Integer> nodes, boolean strict)
            implements PlacementRule {
        public NodeAffinity {
            Checks.notNull("name", name);
            Checks.notNull("origin", origin);
            guests = Checks.sortedCopy("guests", guests);
            nodes = Checks.sortedCopy("nodes", nodes);
        }

        public boolean allows(String node) {
            return !strict || nodes.containsKey(node);
        }

        /** The node's priority in this rule, or empty when the rule does not list it. */
        public java.util.OptionalInt priority(String node) {
            Integer p = nodes.get(node);
            return p == null ? java.util.OptionalInt.empty() : java.util.OptionalInt.of(p);
        }

        @Override
        public String describe() {
            return label(this) + " (node-affinity" + (strict ? ", strict" : "") + ")";
        }
    }

    /**
     * Guests that must share a node ({@code together}, Proxmox {@code affinity=positive}) or never share one
     * (negative: anti-affinity). For a negative rule, {@code disruptionBudget} is how many members may be in flight or
     * down at once during a drain (like a Kubernetes PodDisruptionBudget's maxUnavailable; default 1).
     */
    record GuestAffinity(String name, Origin origin, Set<Integer> guests, boolean together, int disruptionBudget)
            implements PlacementRule {
        public GuestAffinity {
            Checks.notNull("name", name);
            Checks.notNull("origin", origin);
            guests = Checks.sortedCopy("guests", guests);
            Checks.atLeast("disruptionBudget", disruptionBudget, 1);
        }

        public GuestAffinity(String name, Origin origin, Set<Integer> guests, boolean together) {
            this(name, origin, guests, together, 1);
        }

        @Override
        public String describe() {
            return label(this) + " (" + (together ? "positive" : "negative") + " resource-affinity)";
        }
    }

    private static String label(PlacementRule r) {
        return switch (r.origin()) {
            case HA_RULE -> "HA rule '" + r.name() + "'";
            case HA_GROUP -> "HA group '" + r.name() + "'";
            case TAG -> "tag " + r.name();
        };
    }
}
