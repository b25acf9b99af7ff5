package io.moxxie.core.spi;

import io.moxxie.core.model.DrainState;

import io.moxxie.core.model.Operation;

import io.moxxie.core.Checks;
import io.moxxie.core.plan.DrainRequest;

import java.time.Instant;

/**
 * A drain or undrain as persisted: the request, its status, and who runs it.
 *
 * @param drainId         UUID
 * @param node            the node drained (for an undrain: the node the guests return to)
 * @param operation       drain or undrain
 * @param request         what was asked
 * @param status          overall status
 * @param message         the guide's {@code message}: {@code Draining node hv7 (soft mode)}, {@code Progress: 8/15 completed}
 * @param startedAt       when it was accepted
 * @param completedAt     when it finished ({@code null} while running)
 * @param owner           the process running it (a {@link io.moxxie.core.service.MaintenanceService} instance id)
 * @param leaseExpiresAt  until when the owner's claim holds without a heartbeat; after that another process may take over
 * @param cancelRequested a cancel was asked; the owner stops starting new moves
 * @param undrainOf       for an undrain, the drain whose moves it reverses; otherwise {@code null}
 */
public record DrainRecord(String drainId, String node, Operation operation, DrainRequest request, DrainState status,
                          String message, Instant startedAt, Instant completedAt, String owner, Instant leaseExpiresAt,
                          boolean cancelRequested, String undrainOf) {
    public DrainRecord {
        Checks.notNull("drainId", drainId);
        Checks.nodeName("node", node);
        Checks.notNull("operation", operation);
        Checks.notNull("request", request);
        Checks.notNull("status", status);
        Checks.notNull("startedAt", startedAt);
    }

    public DrainRecord withStatus(DrainState newStatus, String newMessage, Instant newCompletedAt) {
        return new DrainRecord(drainId, node, operation, request, newStatus, newMessage, startedAt, newCompletedAt, owner,
                leaseExpiresAt, cancelRequested, undrainOf);
    }

    public DrainRecord withMessage(String newMessage) {
        return withStatus(status, newMessage, completedAt);
    }

    public DrainRecord withOwner(String newOwner, Instant newLeaseExpiresAt) {
        return new DrainRecord(drainId, node, operation, request, status, message, startedAt, completedAt, newOwner,
                newLeaseExpiresAt, cancelRequested, undrainOf);
    }

    public DrainRecord withCancelRequested() {
        return withCancel(true);
    }

    public DrainRecord withCancel(boolean requested) {
        return new DrainRecord(drainId, node, operation, request, status, message, startedAt, completedAt, owner,
                leaseExpiresAt, requested, undrainOf);
    }
}
