package io.moxxie.core.spi;

import io.moxxie.core.Checks;

/**
 * A handle on work the hypervisor does in the background (a Proxmox UPID).
 *
 * @param id      the hypervisor's task id; opaque to core
 * @param node    the node that runs the task (where its status is read)
 * @param tracked {@code false} when there is no task to follow (e.g. a Proxmox HA request, which only
 *                queues a command): completion is then judged only by reading the guest back
 */
public record TaskRef(String id, String node, boolean tracked) {
    public TaskRef {
        Checks.notNull("id", id);
        Checks.notNull("node", node);
    }

    public static TaskRef of(String id, String node) {
        return new TaskRef(id, node, true);
    }

    /** No task to follow; {@code description} says what was requested (for logs and the store). */
    public static TaskRef untracked(String description, String node) {
        return new TaskRef(description, node, false);
    }
}
