package io.moxxie.core.execution;

import io.moxxie.core.spi.GuestProgress;

import io.moxxie.core.spi.DrainRecord;

import io.moxxie.core.model.Operation;

import io.moxxie.core.model.DrainState;

import java.time.Instant;
import java.util.List;

/**
 * A drain's status as the guide shows it ({@code GET …/drain/{drainId}/status}): readable at any moment,
 * immutable. {@link #builder(String, String)} and {@link #toBuilder()} make one by field name.
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
        Long eta = ended ? null : VmStatus.seconds(now, expectedEnd);
        return builder(d.drainId(), d.node()).operation(d.operation()).status(d.status())
                .totalVMs(guests.size()).completedVMs(completed).failedVMs(failed).skippedVMs(skipped)
                .vmStatus(guests.stream().map(g -> VmStatus.of(g, now)).toList())
                .startedAt(d.startedAt()).completedAt(d.completedAt()).message(d.message())
                .mode(d.request().mode().wireName()).undrainOf(d.undrainOf())
                .elapsedSeconds(VmStatus.seconds(d.startedAt(), ended ? d.completedAt() : now)).etaSeconds(eta)
                .build();
    }

    /**
     * A builder of drain {@code drainId}'s status on {@code node} (to fake one in an application's tests, for
     * instance): a drain {@code in_progress} with no guests until set. {@link #of} is how Moxxie makes one.
     */
    public static Builder builder(String drainId, String node) {
        return new Builder(drainId, node);
    }

    public Builder toBuilder() {
        return new Builder(drainId, node).operation(operation).status(status).totalVMs(totalVMs).completedVMs(completedVMs)
                .failedVMs(failedVMs).skippedVMs(skippedVMs).vmStatus(vmStatus).startedAt(startedAt).completedAt(completedAt)
                .message(message).mode(mode).undrainOf(undrainOf).elapsedSeconds(elapsedSeconds).etaSeconds(etaSeconds);
    }

    public VmStatus vm(int vmid) {
        return vmStatus.stream().filter(v -> v.vmid() == vmid).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("vmid " + vmid + " is not part of drain " + drainId));
    }

    /** Builds a {@link DrainStatus} by field name. Not thread-safe. */
    public static final class Builder {
        private final String drainId;
        private final String node;
        private Operation operation = Operation.DRAIN;
        private DrainState status = DrainState.IN_PROGRESS;
        private int totalVMs;
        private int completedVMs;
        private int failedVMs;
        private int skippedVMs;
        private List<VmStatus> vmStatus = List.of();
        private Instant startedAt;
        private Instant completedAt;
        private String message;
        private String mode;
        private String undrainOf;
        private Long elapsedSeconds;
        private Long etaSeconds;

        private Builder(String drainId, String node) {
            this.drainId = drainId;
            this.node = node;
        }

        public Builder operation(Operation operation) {
            this.operation = operation;
            return this;
        }

        public Builder status(DrainState status) {
            this.status = status;
            return this;
        }

        public Builder totalVMs(int totalVMs) {
            this.totalVMs = totalVMs;
            return this;
        }

        public Builder completedVMs(int completedVMs) {
            this.completedVMs = completedVMs;
            return this;
        }

        public Builder failedVMs(int failedVMs) {
            this.failedVMs = failedVMs;
            return this;
        }

        public Builder skippedVMs(int skippedVMs) {
            this.skippedVMs = skippedVMs;
            return this;
        }

        public Builder vmStatus(List<VmStatus> vmStatus) {
            this.vmStatus = vmStatus;
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

        public Builder message(String message) {
            this.message = message;
            return this;
        }

        public Builder mode(String mode) {
            this.mode = mode;
            return this;
        }

        public Builder undrainOf(String undrainOf) {
            this.undrainOf = undrainOf;
            return this;
        }

        /** Seconds since the drain started (to its end once it ended); null: unknown. */
        public Builder elapsedSeconds(Long elapsedSeconds) {
            this.elapsedSeconds = elapsedSeconds;
            return this;
        }

        /** Seconds the drain is expected to run still; null: no estimate. */
        public Builder etaSeconds(Long etaSeconds) {
            this.etaSeconds = etaSeconds;
            return this;
        }

        public DrainStatus build() {
            return new DrainStatus(drainId, node, operation, status, totalVMs, completedVMs, failedVMs, skippedVMs, vmStatus,
                    startedAt, completedAt, message, mode, undrainOf, elapsedSeconds, etaSeconds);
        }
    }
}
