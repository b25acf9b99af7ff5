package io.moxxie.core.rollout;

import io.moxxie.core.MoxxieException;

/** A rollout cannot do what was asked in its present state (e.g. {@code continue} while nothing waits for it). */
public class RolloutConflictException extends MoxxieException {
    private final String rolloutId;

    public RolloutConflictException(String rolloutId, String message) {
        super(message);
        this.rolloutId = rolloutId;
    }

    public String rolloutId() {
        return rolloutId;
    }
}
