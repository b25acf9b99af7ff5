package io.moxxie.core.spi;

import io.moxxie.core.model.GuestState;

import io.moxxie.core.Checks;
import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.MigrationType;

import java.time.Instant;

/**
 * One guest's part of a drain, as persisted and as shown in {@code vmStatus[]}.
 *
 * @param drainId       the drain
 * @param vmid          the guest
 * @param name          its name when the drain started
 * @param type          qemu or lxc
 * @param sourceNode    where it was when the drain started
 * @param targetNode    where it goes ({@code null} for a skipped or blocked guest)
 * @param migrationType how it moves ({@code null} when skipped)
 * @param status        pending, in_progress, completed, skipped, failed
 * @param alwaysOn      must be running at the end
 * @param haManaged     moved through the HA stack
 * @param wasRunning    it was running before the move (an offline move of a running guest starts it again)
 * @param memory        assigned memory, bytes (orders the moves; reserves room on the target)
 * @param attempts      migration attempts started so far
 * @param taskId        the hypervisor task of the current or last attempt
 * @param error         for a failure the hypervisor's message, for a skip the reason; otherwise {@code null}
 * @param note          what the operator should know about a move (restart mode, restarted after migration)
 * @param startedAt     when its move started
 * @param completedAt   when it finished
 */
public record GuestProgress(String drainId, int vmid, String name, GuestType type, String sourceNode, String targetNode,
                            MigrationType migrationType, GuestState status, boolean alwaysOn, boolean haManaged,
                            boolean wasRunning, long memory, int attempts, String taskId, String error, String note,
                            Instant startedAt, Instant completedAt) {
    public GuestProgress {
        Checks.notNull("drainId", drainId);
        Checks.notNull("type", type);
        Checks.nodeName("sourceNode", sourceNode);
        Checks.notNull("status", status);
        name = name == null ? "" : name;
    }

    public GuestProgress withStatus(GuestState newStatus) {
        return new GuestProgress(drainId, vmid, name, type, sourceNode, targetNode, migrationType, newStatus, alwaysOn,
                haManaged, wasRunning, memory, attempts, taskId, error, note, startedAt, completedAt);
    }

    public GuestProgress started(String target, MigrationType type, int attempt, Instant at) {
        return new GuestProgress(drainId, vmid, name, this.type, sourceNode, target, type, GuestState.IN_PROGRESS, alwaysOn,
                haManaged, wasRunning, memory, attempt, null, null, note, startedAt == null ? at : startedAt, null);
    }

    public GuestProgress withTask(String newTaskId) {
        return new GuestProgress(drainId, vmid, name, type, sourceNode, targetNode, migrationType, status, alwaysOn,
                haManaged, wasRunning, memory, attempts, newTaskId, error, note, startedAt, completedAt);
    }

    public GuestProgress withNote(String newNote) {
        return new GuestProgress(drainId, vmid, name, type, sourceNode, targetNode, migrationType, status, alwaysOn,
                haManaged, wasRunning, memory, attempts, taskId, error, newNote, startedAt, completedAt);
    }

    public GuestProgress completed(String onNode, Instant at) {
        return new GuestProgress(drainId, vmid, name, type, sourceNode, onNode, migrationType, GuestState.COMPLETED, alwaysOn,
                haManaged, wasRunning, memory, attempts, taskId, null, note, startedAt, at);
    }

    public GuestProgress failed(String message, Instant at) {
        return new GuestProgress(drainId, vmid, name, type, sourceNode, targetNode, migrationType, GuestState.FAILED, alwaysOn,
                haManaged, wasRunning, memory, attempts, taskId, message, note, startedAt, at);
    }

    /** Back to pending (e.g. a drain taken over after a crash, or a target dropped): keeps attempts and note. */
    public GuestProgress pendingAgain(String newTarget, MigrationType newType) {
        return new GuestProgress(drainId, vmid, name, type, sourceNode, newTarget, newType, GuestState.PENDING, alwaysOn,
                haManaged, wasRunning, memory, attempts, taskId, null, note, startedAt, null);
    }
}
