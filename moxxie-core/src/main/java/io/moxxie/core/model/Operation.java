package io.moxxie.core.model;

import io.moxxie.core.ValidationException;

import java.util.Locale;

/** What a drain record does: empty a node, or bring its guests back. */
public enum Operation {
    DRAIN,
    UNDRAIN;

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Operation parse(String value) {
        if (value != null) {
            for (Operation o : values()) {
                if (o.wireName().equalsIgnoreCase(value.trim())) return o;
            }
        }
        throw new ValidationException("operation", value, "operation must be 'drain' or 'undrain', was '" + value + "'");
    }
}
