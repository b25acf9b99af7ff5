package io.moxxie.core.model;

import io.moxxie.core.ValidationException;

import java.util.Locale;

/** A drain's overall status, with the guide's wire names ({@code in_progress}, {@code completed}, …). */
public enum DrainState {
    IN_PROGRESS,
    /** Every guest was moved or skipped. */
    COMPLETED,
    /** At least one guest could not be moved. */
    FAILED,
    CANCELLED;

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public boolean finished() {
        return this != IN_PROGRESS;
    }

    /** @throws IllegalArgumentException naming the value, e.g. for a hand-edited database row */
    public static DrainState parse(String value) {
        if (value != null) {
            for (DrainState s : values()) {
                if (s.wireName().equalsIgnoreCase(value.trim())) return s;
            }
        }
        throw new ValidationException("status", value, "drain status must be one of in_progress, completed, failed, cancelled, was '" + value + "'");
    }
}
