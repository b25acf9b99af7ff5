package io.moxxie.core.execution;

import io.moxxie.core.spi.GuestProgress;

import io.moxxie.core.model.GuestState;

import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.MigrationType;

import java.time.Instant;

/**
 * One entry of the guide's {@code vmStatus[]}: {@code vmid}, {@code name}, {@code status}, {@code targetNode},
 * {@code error}, plus what an operator also wants to see: why a guest was skipped, how it moved, where it came from.
 * Immutable; {@link #builder(int)} makes one by field name.
 *
 * @param error  the hypervisor's message for a failed guest, otherwise {@code null}
 * @param reason why a guest was skipped, otherwise {@code null}
 * @param note   what to know about a move (restart mode for containers, restarted after migration); for a skipped
 *               guest the reason the dry run gives; or {@code null}
 * @param elapsedSeconds the time its move took, or has taken so far while it moves; {@code null} before it starts
 * @param transferredBytes while a live migration copies memory: the bytes sent so far, as the hypervisor last reported
 *                         them (Proxmox: the migrate task's log, read as the drain checks the move); otherwise {@code null}
 * @param remainingBytes   alongside {@code transferredBytes}: the bytes still to send as reported (Proxmox since 2021:
 *                         what is left of the first pass of memory); otherwise {@code null}
 * @param etaSeconds       while its migration runs (a status from the drain running in this process): how long it should
 *                         still take, from the reported remaining bytes and rate when there are some, else from the
 *                         executor's migration model; otherwise {@code null}
 */
public record VmStatus(int vmid, String name, GuestType type, GuestState status, String sourceNode, String targetNode,
                       MigrationType migrationType, boolean alwaysOn, String error, String reason, String note,
                       int attempts, Instant startedAt, Instant completedAt, Long elapsedSeconds, Long transferredBytes,
                       Long remainingBytes, Long etaSeconds) {

    /** @param now the drain's clock now, for a move under way; null: only finished moves have a duration */
    static VmStatus of(GuestProgress g, Instant now) {
        boolean skipped = g.status() == GuestState.SKIPPED;
        // A skipped guest's note is why it stays, as the dry run says it, unless the move has a note of its own.
        String note = g.note() != null ? g.note() : skipped ? g.error() : null;
        Long elapsed = seconds(g.startedAt(), g.completedAt() != null ? g.completedAt() : g.status() == GuestState.IN_PROGRESS ? now : null);
        return builder(g.vmid()).name(g.name()).type(g.type()).status(g.status()).sourceNode(g.sourceNode())
                .targetNode(g.targetNode()).migrationType(g.migrationType()).alwaysOn(g.alwaysOn())
                .error(skipped ? null : g.error()).reason(skipped ? g.error() : null).note(note).attempts(g.attempts())
                .startedAt(g.startedAt()).completedAt(g.completedAt()).elapsedSeconds(elapsed).build();
    }

    /** Whole seconds from {@code from} to {@code to}, rounded up (a move of 0.2 s took 1 s, not 0); null if either is null. */
    static Long seconds(Instant from, Instant to) {
        if (from == null || to == null) return null;
        long ms = java.time.Duration.between(from, to).toMillis();
        return ms <= 0 ? 0L : (ms + 999) / 1000;
    }

    /** A builder of guest {@code vmid}'s entry (to show or to fake a status): every other field empty until set. */
    public static Builder builder(int vmid) {
        return new Builder(vmid);
    }

    public Builder toBuilder() {
        return new Builder(vmid).name(name).type(type).status(status).sourceNode(sourceNode).targetNode(targetNode)
                .migrationType(migrationType).alwaysOn(alwaysOn).error(error).reason(reason).note(note).attempts(attempts)
                .startedAt(startedAt).completedAt(completedAt).elapsedSeconds(elapsedSeconds).transferredBytes(transferredBytes)
                .remainingBytes(remainingBytes).etaSeconds(etaSeconds);
    }

    /** Builds a {@link VmStatus} by field name. Not thread-safe. */
    public static final class Builder {
        private final int vmid;
        private String name;
        private GuestType type;
        private GuestState status;
        private String sourceNode;
        private String targetNode;
        private MigrationType migrationType;
        private boolean alwaysOn;
        private String error;
        private String reason;
        private String note;
        private int attempts;
        private Instant startedAt;
        private Instant completedAt;
        private Long elapsedSeconds;
        private Long transferredBytes;
        private Long remainingBytes;
        private Long etaSeconds;

        private Builder(int vmid) {
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

        public Builder status(GuestState status) {
            this.status = status;
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

        public Builder alwaysOn(boolean alwaysOn) {
            this.alwaysOn = alwaysOn;
            return this;
        }

        public Builder error(String error) {
            this.error = error;
            return this;
        }

        public Builder reason(String reason) {
            this.reason = reason;
            return this;
        }

        public Builder note(String note) {
            this.note = note;
            return this;
        }

        public Builder attempts(int attempts) {
            this.attempts = attempts;
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

        /** The time the move took, or has taken so far while it moves; null before it starts. */
        public Builder elapsedSeconds(Long elapsedSeconds) {
            this.elapsedSeconds = elapsedSeconds;
            return this;
        }

        /** Bytes of memory sent so far while a live migration copies; null otherwise. */
        public Builder transferredBytes(Long transferredBytes) {
            this.transferredBytes = transferredBytes;
            return this;
        }

        /** Bytes of memory still to send while a live migration copies; null otherwise. */
        public Builder remainingBytes(Long remainingBytes) {
            this.remainingBytes = remainingBytes;
            return this;
        }

        /** Seconds its migration should still take; null: not migrating, or no estimate. */
        public Builder etaSeconds(Long etaSeconds) {
            this.etaSeconds = etaSeconds;
            return this;
        }

        public VmStatus build() {
            return new VmStatus(vmid, name, type, status, sourceNode, targetNode, migrationType, alwaysOn, error, reason, note,
                    attempts, startedAt, completedAt, elapsedSeconds, transferredBytes, remainingBytes, etaSeconds);
        }
    }
}
