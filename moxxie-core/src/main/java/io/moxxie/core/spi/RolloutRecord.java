package io.moxxie.core.spi;

import io.moxxie.core.Checks;
import io.moxxie.core.model.RolloutState;
import io.moxxie.core.plan.RolloutRequest;

import java.time.Instant;

/**
 * A rollout as persisted: the request, its state, who runs it and what operators asked of it since. Its nodes and
 * their progress are {@link RolloutStep}s.
 *
 * @param rolloutId         UUID
 * @param request           what was asked ({@code nodes} as asked; the order chosen is in the steps)
 * @param state             overall state
 * @param message           what it does or waits for now, or why it ended, in an operator's words
 * @param createdAt         when it was accepted
 * @param completedAt       when it ended ({@code null} while it runs)
 * @param owner             the process running it
 * @param leaseExpiresAt    until when the owner's claim holds without a heartbeat
 * @param pauseRequested    an operator paused it: the current step finishes, no new node starts
 * @param cancelRequested   an operator cancelled it: nothing new starts; a node out stays in maintenance
 * @param continueNode      the node an operator said {@code continue} for (the {@code continue} action waits for
 *                          it), or {@code null}
 */
public record RolloutRecord(String rolloutId, RolloutRequest request, RolloutState state, String message,
                            Instant createdAt, Instant completedAt, String owner, Instant leaseExpiresAt,
                            boolean pauseRequested, boolean cancelRequested, String continueNode) {
    public RolloutRecord {
        Checks.notNull("rolloutId", rolloutId);
        Checks.notNull("request", request);
        Checks.notNull("state", state);
        Checks.notNull("createdAt", createdAt);
        message = message == null ? "" : message;
    }

    public RolloutRecord withState(RolloutState newState, String newMessage, Instant newCompletedAt) {
        return new RolloutRecord(rolloutId, request, newState, newMessage, createdAt, newCompletedAt, owner,
                leaseExpiresAt, pauseRequested, cancelRequested, continueNode);
    }

    public RolloutRecord withOwner(String newOwner, Instant newLeaseExpiresAt) {
        return new RolloutRecord(rolloutId, request, state, message, createdAt, completedAt, newOwner,
                newLeaseExpiresAt, pauseRequested, cancelRequested, continueNode);
    }

    /** The record with an operator's requests ({@code pause}, {@code cancel}, {@code continue}) as given. */
    public RolloutRecord withRequests(boolean newPauseRequested, boolean newCancelRequested, String newContinueNode) {
        return new RolloutRecord(rolloutId, request, state, message, createdAt, completedAt, owner, leaseExpiresAt,
                newPauseRequested, newCancelRequested, newContinueNode);
    }

    public boolean ended() {
        return state.ended();
    }
}
