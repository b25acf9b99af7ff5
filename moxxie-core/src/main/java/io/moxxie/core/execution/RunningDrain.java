package io.moxxie.core.execution;

/**
 * A drain this process is carrying out, as {@link DrainExecutor#start} returns it: its status at any moment, and the
 * two ways to stop it.
 *
 * <p>Thread-safe: every method may be called from any thread at any time.
 */
public interface RunningDrain {
    String drainId();

    /** The node drained (for an undrain: the node the guests return to). */
    String node();

    /** The drain as it stands now, consistent across its guests. */
    DrainStatus status();

    /** Whether the drain has ended (completed, failed or cancelled) and the store holds that end; an abandoned drain never does. */
    boolean isFinished();

    /**
     * Stops starting new moves at once; moves in flight finish (within their time limit). The drain then ends
     * {@code cancelled}. Cancelling a drain that ended or was abandoned changes nothing.
     */
    void cancel();

    /**
     * Stops all work on the drain in this process without recording anything more: for a process that lost the
     * drain's lease to another, or is shutting down. The store keeps the drain as it was, for another process to
     * take over; migrations already running in the cluster go on there.
     */
    void abandon();
}
