package io.moxxie.core.execution;

import io.moxxie.core.spi.GuestProgress;

/**
 * Receives a drain's progress as it happens. Every method has an empty default: implement what you need.
 * Called on Moxxie's worker threads, outside its locks; keep it quick. An exception thrown here is logged
 * and otherwise ignored: a listener cannot break a drain.
 */
public interface DrainListener {
    default void drainStarted(DrainStatus status) {
    }

    default void guestStarted(String drainId, GuestProgress guest) {
    }

    default void guestCompleted(String drainId, GuestProgress guest) {
    }

    default void guestFailed(String drainId, GuestProgress guest) {
    }

    /** An always-on guest (or one that was running) was found stopped after its move and has been started. */
    default void guestRestarted(String drainId, GuestProgress guest) {
    }

    default void drainFinished(DrainStatus status) {
    }
}
