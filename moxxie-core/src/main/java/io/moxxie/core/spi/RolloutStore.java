package io.moxxie.core.spi;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Where rollouts and their steps are kept, written as they happen, so that a process that dies mid-rollout is
 * replaced by another that goes on from the step and phase recorded. The same contract as {@link MaintenanceStore}'s
 * drains: thread-safe, every write atomic and durable on return, shared by processes, ownership by lease, writes
 * fenced by owner, {@link StoreException} for the store's own failures. {@link
 * io.moxxie.core.store.InMemoryMaintenanceStore} and {@code moxxie-jdbc-store} implement both.
 */
public interface RolloutStore {

    /** Records a new rollout with its steps (its nodes in the order they run), in one transaction. */
    void createRollout(RolloutRecord rollout, List<RolloutStep> steps);

    /**
     * Writes the rollout's state, message and completion time, only if {@code rollout.owner()} still owns it. The
     * operator's requests ({@code pauseRequested}, {@code cancelRequested}, {@code continueNode}) are not written:
     * they change only through {@link #requestRolloutPause}, {@link #requestRolloutCancel} and {@link #requestRolloutContinue}.
     *
     * @return {@code false} when another process owns it now (the caller must stop working on it)
     */
    boolean updateRollout(RolloutRecord rollout);

    /**
     * Writes one step, only if {@code owner} still owns its rollout. Every step is created with the rollout
     * ({@link #createRollout}); this replaces one.
     *
     * @return {@code false} when another process owns the rollout now: nothing was written
     * @throws IllegalArgumentException the rollout, or (for its owner) the step, does not exist
     */
    boolean updateStep(RolloutStep step, String owner);

    Optional<RolloutRecord> rollout(String rolloutId);

    /** The rollout's steps, by index. */
    List<RolloutStep> steps(String rolloutId);

    /** Rollouts, newest first, at most {@code limit}. */
    List<RolloutRecord> rollouts(int limit);

    /** Rollouts not ended (running, waiting, paused), whoever owns them. */
    List<RolloutRecord> unfinishedRollouts();

    /** Extends the lease of a rollout the caller owns; {@code false} when it does not (any more) or it ended. */
    boolean renewRolloutLease(String rolloutId, String owner, Instant leaseExpiresAt);

    /**
     * Makes {@code newOwner} the owner of an unfinished rollout whose lease expired before {@code now} (or that it owns
     * already). Atomic across processes: of two callers, one wins.
     *
     * @return the rollout as now owned, or empty when its lease is held by someone else or it ended
     */
    Optional<RolloutRecord> takeOverRollout(String rolloutId, String newOwner, Instant now, Instant leaseExpiresAt);

    /** Sets or clears the pause request. Idempotent. */
    void requestRolloutPause(String rolloutId, boolean paused);

    /** Marks the rollout as to be cancelled. Idempotent. */
    void requestRolloutCancel(String rolloutId);

    /** Records that an operator said {@code continue} for {@code node}. Idempotent. */
    void requestRolloutContinue(String rolloutId, String node);
}
