package io.moxxie.core.model;

import java.util.Locale;

/** Where one node's step of a rollout is, in the order they happen. */
public enum RolloutPhase {
    /** Its turn has not come. */
    PENDING,
    /** Gates checked before the node is taken out. */
    GATES,
    /** The optional {@code beforeDrain} action. */
    BEFORE_DRAIN,
    /** Maintenance on, the drain running. */
    DRAINING,
    /** Nothing left on the node but what the mode allows. */
    EMPTY_CHECK,
    /** The maintenance action (the operator's {@code continue}, a command, a reboot). */
    ACTION,
    /** Waiting for the node: online, in the quorum, healthy, up for the settle time. */
    WAIT_BACK,
    /** Gates checked again before the guests return. */
    GATES_BACK,
    /** The guests going back. */
    UNDRAINING,
    /** The optional {@code afterUndrain} action. */
    AFTER_UNDRAIN,
    /** Maintenance off: the node is back in service. */
    DONE;

    public String wireName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
