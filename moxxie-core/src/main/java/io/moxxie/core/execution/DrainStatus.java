package io.moxxie.core.execution;

import io.moxxie.core.spi.GuestProgress;

import io.moxxie.core.spi.DrainRecord;

import io.moxxie.core.model.Operation;

import io.moxxie.core.model.DrainState;

import java.time.Instant;
import java.util.List;

/**
 * A drain's status as the guide shows it ({@code GET …/drain/{drainId}/status}): readable at any moment,
 * immutable.
 *
 * <p>Counting: {@code totalVMs} is every guest the drain considered (moved, skipped or blocked);
 * {@code completedVMs} those done without error — migrated, or left in place by the tag policy (so a
 * successful drain ends with {@code completedVMs == totalVMs}); {@code skippedVMs} how many of those were
 * skipped; {@code failedVMs} those that could not be moved.
 */
public record DrainStatus(String drainId, String node, Operation operation, DrainState status, int totalVMs,
                          int completedVMs, int failedVMs, int skippedVMs, List<VmStatus> vmStatus, Instant startedAt,
                          Instant completedAt, String message, String mode, String undrainOf) {
    public DrainStatus {
        vmStatus = List.copyOf(vmStatus);
    }

    public static DrainStatus of(DrainRecord d, List<GuestProgress> guests) {
        int completed = 0, failed = 0, skipped = 0;
        for (GuestProgress g : guests) {
            switch (g.status()) {
                case COMPLETED -> completed++;
                case SKIPPED -> {
                    completed++;
                    skipped++;
                }
                case FAILED -> failed++;
                default -> {
                }
            }
        }
        return new DrainStatus(d.drainId(), d.node(), d.operation(), d.status(), guests.size(), completed, failed, skipped,
                guests.stream().map(VmStatus::of).toList(), d.startedAt(), d.completedAt(), d.message(),
                d.request().mode().wireName(), d.undrainOf());
    }

    public VmStatus vm(int vmid) {
        return vmStatus.stream().filter(v -> v.vmid() == vmid).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("vmid " + vmid + " is not part of drain " + drainId));
    }
}
