package io.moxxie.core.spi;

/**
 * Where a background task stands.
 *
 * @param finished   the task has stopped
 * @param successful it stopped with success (Proxmox: {@code OK} or {@code WARNINGS: n}); false while running
 * @param message    the exit status, and for a failure the hypervisor's error with the last lines of the
 *                   task log; {@code null} while running
 */
public record TaskState(boolean finished, boolean successful, String message) {
    public static final TaskState RUNNING = new TaskState(false, false, null);

    public static TaskState ok(String exitStatus) {
        return new TaskState(true, true, exitStatus);
    }

    public static TaskState failed(String message) {
        return new TaskState(true, false, message);
    }
}
