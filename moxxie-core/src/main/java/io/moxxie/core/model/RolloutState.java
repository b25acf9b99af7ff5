package io.moxxie.core.model;

import java.util.Locale;

/** The state of a rollout, or of one node's step in it. */
public enum RolloutState {
    /** Not started yet (a step whose turn has not come). */
    PENDING,
    /** Working: a drain, an action, an undrain under way. */
    RUNNING,
    /** Waiting on a gate, an operator's {@code continue} or the node's return; the message says which. */
    WAITING,
    /** Paused by an operator: the current step finished, no new node starts until resumed. */
    PAUSED,
    SUCCEEDED,
    /** Stopped on a failure; the node it failed on stays in maintenance, its guests where they are. */
    FAILED,
    CANCELLED,
    /** A step not run: the rollout ended before its turn. */
    SKIPPED;

    public boolean ended() {
        return this == SUCCEEDED || this == FAILED || this == CANCELLED || this == SKIPPED;
    }

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
