package io.moxxie.core.model;

import io.moxxie.core.Checks;

import java.time.Instant;
import java.util.List;

/**
 * A node's maintenance record: the guide's {@code node_maintenance} row.
 *
 * @param node               the node
 * @param inMaintenance      no new placements go to the node
 * @param reason             why, as the operator said ({@code null} if not given)
 * @param maintenanceStarted when maintenance was last enabled
 * @param maintenanceEnded   when it was last disabled ({@code null} while in maintenance)
 * @param drainStatus        the state of the node's last drain or undrain ({@code null} if none)
 * @param lastDrainId        that drain's id
 * @param vmList             the vmids that were on the node when its last drain started
 * @param updatedAt          last change of this record
 */
public record NodeMaintenance(String node, boolean inMaintenance, String reason, Instant maintenanceStarted,
                              Instant maintenanceEnded, DrainState drainStatus, String lastDrainId,
                              List<Integer> vmList, Instant updatedAt) {
    public NodeMaintenance {
        Checks.nodeName("node", node);
        vmList = vmList == null ? List.of() : List.copyOf(vmList);
    }

    /** A node never put in maintenance nor drained. */
    public static NodeMaintenance none(String node, Instant now) {
        return new NodeMaintenance(node, false, null, null, null, null, null, List.of(), now);
    }

    public NodeMaintenance enabled(String reason, Instant now) {
        return new NodeMaintenance(node, true, reason, now, null, drainStatus, lastDrainId, vmList, now);
    }

    public NodeMaintenance disabled(Instant now) {
        return new NodeMaintenance(node, false, reason, maintenanceStarted, now, drainStatus, lastDrainId, vmList, now);
    }

    public NodeMaintenance withDrain(String drainId, DrainState state, List<Integer> vms, Instant now) {
        return new NodeMaintenance(node, inMaintenance, reason, maintenanceStarted, maintenanceEnded, state, drainId, vms, now);
    }

    public NodeMaintenance withDrainStatus(DrainState state, Instant now) {
        return new NodeMaintenance(node, inMaintenance, reason, maintenanceStarted, maintenanceEnded, state, lastDrainId, vmList, now);
    }
}
