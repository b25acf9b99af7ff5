package io.moxxie.core.model;

import io.moxxie.core.Checks;

/**
 * One Ceph OSD of a node (Proxmox: a leaf of the host's entry in {@code GET /nodes/{node}/ceph/osd}).
 *
 * @param id   the OSD id ({@code osd.3} is 3)
 * @param node the host it runs on
 * @param up   the OSD daemon is up ({@code status: up})
 */
public record CephOsd(int id, String node, boolean up) {
    public CephOsd {
        Checks.atLeast("id", id, 0);
        Checks.nodeName("node", node);
    }

    /**
     * Whether Ceph says an OSD can be stopped without making data unavailable (Proxmox: {@code GET
     * /nodes/{node}/ceph/cmd-safety?service=osd&id=N&action=stop}, Ceph's {@code osd ok-to-stop}).
     *
     * @param safe    Ceph's verdict
     * @param message Ceph's words, typically why it is not safe ({@code ""} when it gave none)
     */
    public record Safety(boolean safe, String message) {
        public Safety {
            message = message == null ? "" : message;
        }
    }
}
