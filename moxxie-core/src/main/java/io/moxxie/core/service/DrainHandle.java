package io.moxxie.core.service;

import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.model.Operation;

import java.util.concurrent.CompletableFuture;

/**
 * A drain or undrain started by (or looked up through) a {@link MaintenanceService}: its id, its status now, and a
 * future that completes when it ends.
 *
 * <pre>{@code
 * DrainHandle drain = service.drain(DrainRequest.soft("hv7"));
 * DrainStatus done = drain.completion().get(2, TimeUnit.HOURS);   // completed, failed or cancelled
 * }</pre>
 *
 * <p>{@link #completion()} completes with the final status when the drain ends in this service, or at this service's
 * first heartbeat after it ended in another instance (after a takeover). It completes exceptionally with an
 * {@link IllegalStateException} if the service is closed first; the drain itself goes on (another instance takes it
 * over). It never completes with an {@code in_progress} status.
 *
 * <p>Immutable and thread-safe; {@link #status()} and {@link #cancel()} read and write through the service.
 */
public final class DrainHandle {
    private final MaintenanceService service;
    private final String drainId;
    private final String node;
    private final Operation operation;
    private final CompletableFuture<DrainStatus> completion;

    DrainHandle(MaintenanceService service, String drainId, String node, Operation operation, CompletableFuture<DrainStatus> completion) {
        this.service = service;
        this.drainId = drainId;
        this.node = node;
        this.operation = operation;
        this.completion = completion;
    }

    public String drainId() {
        return drainId;
    }

    /** The node drained (for an undrain: the node its guests return to). */
    public String node() {
        return node;
    }

    public Operation operation() {
        return operation;
    }

    /** The status now (as {@link MaintenanceService#status(String, String)}). */
    public DrainStatus status() {
        return service.status(node, drainId);
    }

    /**
     * Completes with the final status (see the class comment). Each call returns a new dependent future: completing or
     * cancelling it affects only that caller's copy, never the drain.
     */
    public CompletableFuture<DrainStatus> completion() {
        return completion.copy();
    }

    /** Cancels the drain (as {@link MaintenanceService#cancel(String, String)}) and returns its status. */
    public DrainStatus cancel() {
        return service.cancel(node, drainId);
    }

    @Override
    public String toString() {
        return "DrainHandle[" + operation.wireName() + " " + drainId + " of " + node + "]";
    }
}
