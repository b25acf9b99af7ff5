package io.moxxie.core.execution;

import io.moxxie.core.spi.GuestProgress;

import io.moxxie.core.model.GuestState;

import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.MigrationType;

import java.time.Instant;

/**
 * One entry of the guide's {@code vmStatus[]}: {@code vmid}, {@code name}, {@code status}, {@code targetNode},
 * {@code error}, plus what an operator also wants to see: why a guest was skipped, how it moved, where it came from.
 *
 * @param error  the hypervisor's message for a failed guest, otherwise {@code null}
 * @param reason why a guest was skipped, otherwise {@code null}
 * @param note   what to know about a move (restart mode for containers, restarted after migration); for a skipped
 *               guest the reason the dry run gives; or {@code null}
 * @param elapsedSeconds the time its move took, or has taken so far while it moves; {@code null} before it starts
 */
public record VmStatus(int vmid, String name, GuestType type, GuestState status, String sourceNode, String targetNode,
                       MigrationType migrationType, boolean alwaysOn, String error, String reason, String note,
                       int attempts, Instant startedAt, Instant completedAt, Long elapsedSeconds) {

    /** An entry without timing ({@code elapsedSeconds} null). */
    public VmStatus(int vmid, String name, GuestType type, GuestState status, String sourceNode, String targetNode,
                    MigrationType migrationType, boolean alwaysOn, String error, String reason, String note,
                    int attempts, Instant startedAt, Instant completedAt) {
        this(vmid, name, type, status, sourceNode, targetNode, migrationType, alwaysOn, error, reason, note, attempts, startedAt,
                completedAt, null);
    }

    /** @param now the drain's clock now, for a move under way; null: only finished moves have a duration */
    static VmStatus of(GuestProgress g, Instant now) {
        boolean skipped = g.status() == GuestState.SKIPPED;
        // A skipped guest's note is why it stays, as the dry run says it, unless the move has a note of its own.
        String note = g.note() != null ? g.note() : skipped ? g.error() : null;
        Long elapsed = g.startedAt() == null ? null : seconds(g.startedAt(), g.completedAt() != null ? g.completedAt()
                : g.status() == GuestState.IN_PROGRESS ? now : null);
        return new VmStatus(g.vmid(), g.name(), g.type(), g.status(), g.sourceNode(), g.targetNode(), g.migrationType(),
                g.alwaysOn(), skipped ? null : g.error(), skipped ? g.error() : null, note, g.attempts(),
                g.startedAt(), g.completedAt(), elapsed);
    }

    /** Whole seconds from {@code from} to {@code to}, rounded up (a move of 0.2 s took 1 s, not 0); null if either is null. */
    static Long seconds(Instant from, Instant to) {
        if (from == null || to == null) return null;
        long ms = java.time.Duration.between(from, to).toMillis();
        return ms <= 0 ? 0L : (ms + 999) / 1000;
    }
}
