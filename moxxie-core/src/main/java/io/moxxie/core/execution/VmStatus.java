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
 * @param note   what to know about a move (restart mode for containers, restarted after migration), or {@code null}
 */
public record VmStatus(int vmid, String name, GuestType type, GuestState status, String sourceNode, String targetNode,
                       MigrationType migrationType, boolean alwaysOn, String error, String reason, String note,
                       int attempts, Instant startedAt, Instant completedAt) {

    static VmStatus of(GuestProgress g) {
        boolean skipped = g.status() == GuestState.SKIPPED;
        return new VmStatus(g.vmid(), g.name(), g.type(), g.status(), g.sourceNode(), g.targetNode(), g.migrationType(),
                g.alwaysOn(), skipped ? null : g.error(), skipped ? g.error() : null, g.note(), g.attempts(),
                g.startedAt(), g.completedAt());
    }
}
