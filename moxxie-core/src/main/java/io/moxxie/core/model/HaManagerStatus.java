package io.moxxie.core.model;

import io.moxxie.core.Checks;

import java.util.Map;

/**
 * What the Proxmox HA manager sees (Proxmox: {@code GET /cluster/ha/status/manager_status}).
 *
 * @param masterNode the node whose CRM is master ({@code null} when there is none)
 * @param nodeStatus by node, the CRM's view: {@code online}, {@code maintenance}, {@code unknown}, {@code fence},
 *                   {@code gone}; a node with no HA resource ever may be absent
 * @param lrmModes   by node, its LRM's mode: {@code active}, {@code maintenance}, {@code restart}, {@code shutdown},
 *                   {@code disarm}
 */
public record HaManagerStatus(String masterNode, Map<String, String> nodeStatus, Map<String, String> lrmModes) {
    public HaManagerStatus {
        nodeStatus = Checks.sortedCopy("nodeStatus", nodeStatus);
        lrmModes = Checks.sortedCopy("lrmModes", lrmModes);
    }

    /** The node is in HA maintenance: its CRM status or its LRM's mode says so. */
    public boolean inMaintenance(String node) {
        return "maintenance".equals(nodeStatus.get(node)) || "maintenance".equals(lrmModes.get(node));
    }
}
