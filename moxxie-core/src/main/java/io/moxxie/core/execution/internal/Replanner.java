package io.moxxie.core.execution.internal;

import io.moxxie.core.InvalidTargetException;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.model.Operation;
import io.moxxie.core.plan.DrainPlan;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.plan.PlanEntry;
import io.moxxie.core.plan.PlanningInput;

import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Plans guests of a running drain again (a retry on another target, a target gone offline), with the drain's own
 * request, around the nodes in maintenance and those excluded, counting the memory the drain's other moves will take.
 *
 * <p>Threading: thread-safe, no state (final fields). It calls the planner and reads the store's maintenance
 * states: the run calls it outside its lock, with what it read under it.
 */
final class Replanner {
    private final ExecutorParts parts;
    private final Operation operation;
    private final DrainRequest request;

    Replanner(ExecutorParts parts, Operation operation, DrainRequest request) {
        this.parts = parts;
        this.operation = operation;
        this.request = request;
    }

    /**
     * @param reserved      memory the drain's moves in flight and pending will take, by target
     * @param preconditions the drain's precondition answers
     * @return a plan entry by vmid; a guest the planner refused outright gets a {@code BLOCK} entry saying why
     */
    Map<Integer, PlanEntry> replan(ClusterSnapshot snapshot, List<Guest> toPlan, Set<String> exclude, Map<String, Long> reserved,
                                   Map<Integer, MigrationPreconditions> preconditions) {
        Set<String> unavailable = new HashSet<>(parts.nodesInMaintenance());
        unavailable.addAll(exclude);
        PlanningInput input = operation == Operation.UNDRAIN
                ? PlanningInput.undrain(snapshot, request, toPlan, unavailable, preconditions)
                : new PlanningInput(snapshot, request, toPlan, unavailable, preconditions, reserved, false);
        Map<Integer, PlanEntry> out = new HashMap<>();
        try {
            DrainPlan plan = parts.planner.plan(input);
            for (PlanEntry e : plan.entries()) out.put(e.vmid(), e);
        } catch (InvalidTargetException e) {
            for (Guest g : toPlan) out.put(g.vmid(), PlanEntry.block(g, MigrationType.ONLINE, e.getMessage(), false));
        }
        return out;
    }
}
