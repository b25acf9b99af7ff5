package io.moxxie.core.spi;

import io.moxxie.core.model.GuestState;

import io.moxxie.core.Checks;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.MigrationType;

import java.time.Instant;

/**
 * One guest's part of a drain, as persisted and as shown in {@code vmStatus[]}. Immutable. Build one by name with
 * {@link #builder(String, Guest)} and change one with {@link #toBuilder()} or the withers below.
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

    /**
     * A builder for one guest of drain {@code drainId}: name, type, source node, HA, running and memory are taken from
     * {@code guest} as it is now; the status starts {@link GuestState#PENDING}, attempts at 0, every other field empty.
     */
    public static Builder builder(String drainId, Guest guest) {
        Checks.notNull("guest", guest);
        return new Builder(drainId, guest.vmid()).name(guest.name()).type(guest.type()).sourceNode(guest.node())
                .haManaged(guest.haManaged()).wasRunning(guest.running()).memory(guest.memory());
    }

    /** A builder with only the drain and the guest's id set; {@code type} and {@code sourceNode} are required too. */
    public static Builder builder(String drainId, int vmid) {
        return new Builder(drainId, vmid);
    }

    /** A builder holding every field of this one: change some, {@link Builder#build()} a new record. */
    public Builder toBuilder() {
        return new Builder(drainId, vmid).name(name).type(type).sourceNode(sourceNode).targetNode(targetNode)
                .migrationType(migrationType).status(status).alwaysOn(alwaysOn).haManaged(haManaged).wasRunning(wasRunning)
                .memory(memory).attempts(attempts).taskId(taskId).error(error).note(note).startedAt(startedAt)
                .completedAt(completedAt);
    }

    public GuestProgress withStatus(GuestState newStatus) {
        return toBuilder().status(newStatus).build();
    }

    public GuestProgress started(String target, MigrationType type, int attempt, Instant at) {
        return toBuilder().targetNode(target).migrationType(type).status(GuestState.IN_PROGRESS).attempts(attempt).taskId(null)
                .error(null).startedAt(startedAt == null ? at : startedAt).completedAt(null).build();
    }

    public GuestProgress withTask(String newTaskId) {
        return toBuilder().taskId(newTaskId).build();
    }

    public GuestProgress withNote(String newNote) {
        return toBuilder().note(newNote).build();
    }

    public GuestProgress completed(String onNode, Instant at) {
        return toBuilder().targetNode(onNode).status(GuestState.COMPLETED).error(null).completedAt(at).build();
    }

    public GuestProgress failed(String message, Instant at) {
        return toBuilder().status(GuestState.FAILED).error(message).completedAt(at).build();
    }

    /** Back to pending (e.g. a drain taken over after a crash, or a target dropped): keeps attempts and note. */
    public GuestProgress pendingAgain(String newTarget, MigrationType newType) {
        return toBuilder().targetNode(newTarget).migrationType(newType).status(GuestState.PENDING).error(null).completedAt(null).build();
    }

    /**
     * Builds a {@link GuestProgress} by field name. Not thread-safe; {@link #build()} validates as the constructor does.
     */
    public static final class Builder {
        private final String drainId;
        private final int vmid;
        private String name;
        private GuestType type;
        private String sourceNode;
        private String targetNode;
        private MigrationType migrationType;
        private GuestState status = GuestState.PENDING;
        private boolean alwaysOn;
        private boolean haManaged;
        private boolean wasRunning;
        private long memory;
        private int attempts;
        private String taskId;
        private String error;
        private String note;
        private Instant startedAt;
        private Instant completedAt;

        private Builder(String drainId, int vmid) {
            this.drainId = drainId;
            this.vmid = vmid;
        }

        public Builder name(String name) {
            this.name = name;
            return this;
        }

        public Builder type(GuestType type) {
            this.type = type;
            return this;
        }

        public Builder sourceNode(String sourceNode) {
            this.sourceNode = sourceNode;
            return this;
        }

        public Builder targetNode(String targetNode) {
            this.targetNode = targetNode;
            return this;
        }

        public Builder migrationType(MigrationType migrationType) {
            this.migrationType = migrationType;
            return this;
        }

        public Builder status(GuestState status) {
            this.status = status;
            return this;
        }

        public Builder alwaysOn(boolean alwaysOn) {
            this.alwaysOn = alwaysOn;
            return this;
        }

        public Builder haManaged(boolean haManaged) {
            this.haManaged = haManaged;
            return this;
        }

        public Builder wasRunning(boolean wasRunning) {
            this.wasRunning = wasRunning;
            return this;
        }

        public Builder memory(long memory) {
            this.memory = memory;
            return this;
        }

        public Builder attempts(int attempts) {
            this.attempts = attempts;
            return this;
        }

        public Builder taskId(String taskId) {
            this.taskId = taskId;
            return this;
        }

        public Builder error(String error) {
            this.error = error;
            return this;
        }

        public Builder note(String note) {
            this.note = note;
            return this;
        }

        public Builder startedAt(Instant startedAt) {
            this.startedAt = startedAt;
            return this;
        }

        public Builder completedAt(Instant completedAt) {
            this.completedAt = completedAt;
            return this;
        }

        /** @throws io.moxxie.core.ValidationException a required field is missing or a node name is invalid */
        public GuestProgress build() {
            return new GuestProgress(drainId, vmid, name, type, sourceNode, targetNode, migrationType, status, alwaysOn, haManaged,
                    wasRunning, memory, attempts, taskId, error, note, startedAt, completedAt);
        }
    }
}
