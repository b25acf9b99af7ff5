package io.moxxie.core.execution.internal;

import io.moxxie.core.model.PlacementRule;

import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * How many members of a group a drain may have in flight at once: its start-order limit for the placement rules.
 * <ul>
 *   <li>an anti-affinity group (a negative rule, HA or tag): its {@link PlacementRule.GuestAffinity#disruptionBudget()
 *       disruption budget}, 1 unless the rule says otherwise — like a Kubernetes PodDisruptionBudget's maxUnavailable:
 *       the members are replicas spread over nodes so that one going away leaves the others serving, and a drain that
 *       moved (or shut down) them all at once would take the service away;</li>
 *   <li>a positive HA rule: 1 — Proxmox moves the members together when one is migrated ({@link
 *       io.moxxie.core.spi.TaskRef#comigrated()}), so one migrate request per group; the others wait for it and are
 *       then found moved.</li>
 * </ul>
 * "In flight" is what the drain does to a member: from its shutdown ahead (offline moves) or its migration's start to
 * its verified end, including a member moved along by the hypervisor. A member down before the drain (stopped by its
 * operator) does not count: the drain did not take it down, and counting it would stop the group from ever moving.
 *
 * <p>Immutable; built from the rules of the drain's first cluster view.
 */
final class DisruptionBudgets {
    static final DisruptionBudgets NONE = new DisruptionBudgets(List.of());

    /** One group with its limit; {@code together}: a positive HA rule (members move with one request). */
    record Group(PlacementRule.GuestAffinity rule, int budget) {
        boolean together() {
            return rule.together();
        }

        /** E.g. {@code anti-affinity group plb_anti_affinity_web} or {@code HA rule 'db' (positive resource-affinity)}. */
        String label() {
            if (rule.together()) return rule.describe();
            return "anti-affinity group " + (rule.origin() == PlacementRule.Origin.TAG ? rule.name() : rule.describe());
        }
    }

    private final Map<Integer, List<Group>> byVmid = new HashMap<>();

    private DisruptionBudgets(List<PlacementRule> rules) {
        for (PlacementRule r : rules) {
            if (!(r instanceof PlacementRule.GuestAffinity ga)) continue;
            Group g;
            if (!ga.together()) g = new Group(ga, ga.disruptionBudget());
            else if (ga.origin() == PlacementRule.Origin.HA_RULE) g = new Group(ga, 1);
            else continue;
            for (int vmid : ga.guests()) byVmid.computeIfAbsent(vmid, k -> new ArrayList<>()).add(g);
        }
    }

    static DisruptionBudgets of(List<PlacementRule> rules) {
        return new DisruptionBudgets(rules);
    }

    List<Group> groupsOf(int vmid) {
        return byVmid.getOrDefault(vmid, List.of());
    }

    /** The members of each group among {@code busy} (the drain's guests in flight), by group. */
    Map<Group, Integer> inFlight(Collection<Integer> busy) {
        Map<Group, Integer> out = new HashMap<>();
        Set<Integer> seen = new HashSet<>();
        for (int vmid : busy) {
            if (!seen.add(vmid)) continue;
            for (Group g : groupsOf(vmid)) out.merge(g, 1, Integer::sum);
        }
        return out;
    }

    /** The first group of {@code vmid} whose budget its start would exceed, given the members in flight by group. */
    Optional<Group> full(int vmid, Map<Group, Integer> inFlight) {
        for (Group g : groupsOf(vmid)) {
            if (inFlight.getOrDefault(g, 0) >= g.budget()) return Optional.of(g);
        }
        return Optional.empty();
    }

    /** Counts {@code vmid}'s start in {@code inFlight}. */
    void count(int vmid, Map<Group, Integer> inFlight) {
        for (Group g : groupsOf(vmid)) inFlight.merge(g, 1, Integer::sum);
    }

    /** What a guest waiting for {@code g} reads in its entry. */
    static String waiting(Group g, int inFlight) {
        return g.together()
                ? "waiting for " + g.label() + ": its members move together, " + inFlight + " in flight"
                : "waiting for " + g.label() + " (" + inFlight + " of " + g.budget() + " in flight)";
    }
}
