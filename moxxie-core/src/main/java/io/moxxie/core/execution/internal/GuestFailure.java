package io.moxxie.core.execution.internal;

import io.moxxie.core.execution.ExecutorConfig;

/** One guest's move failed; {@link #kind} says how the drain follows it up. Immutable. */
final class GuestFailure extends RuntimeException {
    enum Kind {
        /** Give up on the guest. */
        FINAL,
        /** Another target might succeed: retry there, within {@link ExecutorConfig#retriesOnNewTarget()}. */
        RETRY_ELSEWHERE,
        /** The target went away before or during the move: re-plan, without using up a retry. */
        TARGET_UNAVAILABLE
    }

    final Kind kind;
    /**
     * The migrate request itself failed, so whether the cluster carried it out is not known (its answer may have been
     * lost): the follow-up judges by a cluster view read after it.
     */
    final boolean requestOutcomeUnknown;

    GuestFailure(String message, Kind kind) {
        this(message, kind, false);
    }

    GuestFailure(String message, Kind kind, boolean requestOutcomeUnknown) {
        super(message, null, false, false);
        this.kind = kind;
        this.requestOutcomeUnknown = requestOutcomeUnknown;
    }
}
