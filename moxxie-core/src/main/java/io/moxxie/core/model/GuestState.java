package io.moxxie.core.model;

import io.moxxie.core.ValidationException;

import java.util.Locale;

/** One guest's status within a drain, with the guide's wire names. */
public enum GuestState {
    PENDING,
    IN_PROGRESS,
    COMPLETED,
    SKIPPED,
    FAILED;

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public boolean finished() {
        return this == COMPLETED || this == SKIPPED || this == FAILED;
    }

    /** @throws IllegalArgumentException naming the value */
    public static GuestState parse(String value) {
        if (value != null) {
            for (GuestState s : values()) {
                if (s.wireName().equalsIgnoreCase(value.trim())) return s;
            }
        }
        throw new ValidationException("status", value, "guest status must be one of pending, in_progress, completed, skipped, failed, was '" + value + "'");
    }
}
