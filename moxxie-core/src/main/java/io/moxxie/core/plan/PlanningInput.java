package io.moxxie.core.plan;

import io.moxxie.core.Checks;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.MigrationPreconditions;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Everything {@link DrainPlanner#plan} looks at. The planner reads nothing else, so the same input
 * always gives the same plan.
 *
 * @param snapshot           the cluster as it is
 * @param request            the drain asked for; {@code request.node()} is the node being emptied (for an
 *                           undrain: the node the guests go back to)
 * @param guests             the guests to plan, each on its current node; for a drain, the guests of the node
 * @param nodesInMaintenance nodes that take no new placements
 * @param preconditions      the hypervisor's answer per vmid; a guest without one is unrestricted
 * @param reservedMemory     memory already promised to nodes by moves in flight, bytes per node
 * @param undrain            plan an undrain: every guest goes back to {@code request.node()}, the only candidate
 */
public record PlanningInput(ClusterSnapshot snapshot, DrainRequest request, List<Guest> guests,
                            Set<String> nodesInMaintenance, Map<Integer, MigrationPreconditions> preconditions,
                            Map<String, Long> reservedMemory, boolean undrain) {
    public PlanningInput {
        Checks.notNull("snapshot", snapshot);
        Checks.notNull("request", request);
        guests = List.copyOf(Checks.notNull("guests", guests));
        nodesInMaintenance = nodesInMaintenance == null ? Set.of() : Set.copyOf(nodesInMaintenance);
        preconditions = preconditions == null ? Map.of() : Map.copyOf(preconditions);
        reservedMemory = reservedMemory == null ? Map.of() : Map.copyOf(reservedMemory);
    }

    /** A drain of every guest on the request's node. */
    public static PlanningInput drain(ClusterSnapshot snapshot, DrainRequest request, Set<String> nodesInMaintenance,
                                      Map<Integer, MigrationPreconditions> preconditions) {
        return new PlanningInput(snapshot, request, snapshot.guestsOn(request.node()), nodesInMaintenance, preconditions, Map.of(), false);
    }

    /** An undrain: {@code guests} (now elsewhere) go back to {@code request.node()}. */
    public static PlanningInput undrain(ClusterSnapshot snapshot, DrainRequest request, List<Guest> guests,
                                        Set<String> nodesInMaintenance, Map<Integer, MigrationPreconditions> preconditions) {
        return new PlanningInput(snapshot, request, guests, nodesInMaintenance, preconditions, Map.of(), true);
    }

    /** The same input with moves in flight reserving memory on their targets (for re-planning mid-drain). */
    public PlanningInput withReservations(List<Guest> remaining, Map<String, Long> reserved) {
        return new PlanningInput(snapshot, request, remaining, nodesInMaintenance, preconditions, reserved, undrain);
    }

    public MigrationPreconditions preconditionsFor(int vmid) {
        MigrationPreconditions p = preconditions.get(vmid);
        return p != null ? p : MigrationPreconditions.unrestricted(vmid);
    }
}
