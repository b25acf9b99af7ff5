package io.moxxie.core.spi;

import io.moxxie.core.Checks;

import java.util.List;

/**
 * A handle on work the hypervisor does in the background (a Proxmox UPID).
 *
 * @param id          the hypervisor's task id; opaque to core
 * @param node        the node that runs the task (where its status is read)
 * @param tracked     {@code false} when there is no task to follow (e.g. a Proxmox HA request, which only
 *                    queues a command): completion is then judged only by reading the guest back
 * @param comigrated  other guests the hypervisor moves along with this one, by vmid (Proxmox VE 9 HA: the members
 *                    of a positive resource-affinity rule, its answer's {@code comigrated-resources}); they go to
 *                    the target the hypervisor chooses and must not be moved a second time
 */
public record TaskRef(String id, String node, boolean tracked, List<Integer> comigrated) {
    public TaskRef {
        Checks.notNull("id", id);
        Checks.notNull("node", node);
        comigrated = comigrated == null ? List.of() : List.copyOf(comigrated);
    }

    public TaskRef(String id, String node, boolean tracked) {
        this(id, node, tracked, List.of());
    }

    public static TaskRef of(String id, String node) {
        return new TaskRef(id, node, true);
    }

    /** No task to follow; {@code description} says what was requested (for logs and the store). */
    public static TaskRef untracked(String description, String node) {
        return new TaskRef(description, node, false);
    }

    /** This handle, naming the guests the hypervisor moves along. */
    public TaskRef withComigrated(List<Integer> vmids) {
        return new TaskRef(id, node, tracked, vmids);
    }
}
