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
 * <p>Counting, as the guide's example response has it (a soft drain of 15 guests starts at {@code 0/15}):
 * {@code totalVMs} is every guest the drain considered (moved, skipped or blocked); {@code completedVMs} those moved;
 * {@code skippedVMs} those left in place by the tag policy; {@code failedVMs} those that could not be moved. A drain
 * that succeeded ends with {@code completedVMs + skippedVMs == totalVMs}.
 *
 * <p>Timing: {@code elapsedSeconds} since the drain started (to its end once it ended); {@code etaSeconds} how long
 * it is expected to run still, from the executor's migration model and the moves already done (null once it ended,
 * or when the status was read from the store rather than from the drain running in this process).
 */
public record DrainStatus(String drainId, String node, Operation operation, DrainState status, int totalVMs,
                          int completedVMs, int failedVMs, int skippedVMs, List<VmStatus> vmStatus, Instant startedAt,
                          Instant completedAt, String message, String mode, String undrainOf, Long elapsedSeconds,
                          Long etaSeconds) {
    public DrainStatus {
        vmStatus = List.copyOf(vmStatus);
    }

    /** A status without timing ({@code elapsedSeconds} and {@code etaSeconds} null). */
    public DrainStatus(String drainId, String node, Operation operation, DrainState status, int totalVMs, int completedVMs,
                       int failedVMs, int skippedVMs, List<VmStatus> vmStatus, Instant startedAt, Instant completedAt,
                       String message, String mode, String undrainOf) {
        this(drainId, node, operation, status, totalVMs, completedVMs, failedVMs, skippedVMs, vmStatus, startedAt, completedAt,
                message, mode, undrainOf, null, null);
    }

    /** The status of a drain as recorded: the time it took once it ended, no estimate. */
    public static DrainStatus of(DrainRecord d, List<GuestProgress> guests) {
        return of(d, guests, null, null);
    }

    /**
     * The status of a drain at {@code now}, expected to end at {@code expectedEnd}.
     *
     * @param now         the drain's clock now; null: only finished drains and guests have a duration
     * @param expectedEnd when the drain is expected to end, or null when there is no estimate
     */
    public static DrainStatus of(DrainRecord d, List<GuestProgress> guests, Instant now, Instant expectedEnd) {
        int completed = 0, failed = 0, skipped = 0;
        for (GuestProgress g : guests) {
            switch (g.status()) {
                case COMPLETED -> completed++;
                case SKIPPED -> skipped++;
                case FAILED -> failed++;
                default -> {
                }
            }
        }
        boolean ended = d.status().finished();
        Long eta = ended || now == null || expectedEnd == null ? null : VmStatus.seconds(now, expectedEnd.isBefore(now) ? now : expectedEnd);
        return new DrainStatus(d.drainId(), d.node(), d.operation(), d.status(), guests.size(), completed, failed, skipped,
                guests.stream().map(g -> VmStatus.of(g, now)).toList(), d.startedAt(), d.completedAt(), d.message(),
                d.request().mode().wireName(), d.undrainOf(), VmStatus.seconds(d.startedAt(), ended ? d.completedAt() : now), eta);
    }

    public VmStatus vm(int vmid) {
        return vmStatus.stream().filter(v -> v.vmid() == vmid).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("vmid " + vmid + " is not part of drain " + drainId));
    }
}
