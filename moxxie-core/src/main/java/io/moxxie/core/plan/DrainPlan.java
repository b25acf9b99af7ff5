package io.moxxie.core.plan;

import java.time.Instant;
import java.util.List;

/**
 * The whole answer of the planner for one drain: one entry per guest concerned, in execution order
 * ({@code always-on} first, then larger memory first) for the moves, followed by skips and blocks.
 *
 * @param warnings what the operator should know before running it (e.g. Proxmox HA may bring guests back); may be empty
 */
public record DrainPlan(DrainRequest request, Instant plannedAt, List<PlanEntry> entries, List<String> warnings) {
    public DrainPlan {
        entries = List.copyOf(entries);
        warnings = warnings == null ? List.of() : List.copyOf(warnings);
    }

    public DrainPlan(DrainRequest request, Instant plannedAt, List<PlanEntry> entries) {
        this(request, plannedAt, entries, List.of());
    }

    public String node() {
        return request.node();
    }

    public List<PlanEntry> moves() {
        return entries.stream().filter(e -> e.action() == PlanEntry.Action.MOVE).toList();
    }

    public List<PlanEntry> skipped() {
        return entries.stream().filter(e -> e.action() == PlanEntry.Action.SKIP).toList();
    }

    public List<PlanEntry> blocked() {
        return entries.stream().filter(e -> e.action() == PlanEntry.Action.BLOCK).toList();
    }

    public boolean hasBlocked() {
        return entries.stream().anyMatch(e -> e.action() == PlanEntry.Action.BLOCK);
    }
}
