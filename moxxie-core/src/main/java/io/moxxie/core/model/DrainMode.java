package io.moxxie.core.model;

import io.moxxie.core.ValidationException;

import java.util.Locale;

/** How thoroughly a node is emptied. */
public enum DrainMode {
    /** Maintenance: {@code maint-ok} guests stay on the node, everything else moves live. */
    SOFT,
    /** Evacuation: every guest leaves; {@code maint-ok} guests may move offline, {@code always-on} ones move live. */
    HARD;

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses {@code soft} or {@code hard}, case-insensitively; anything else names the field and the value. */
    public static DrainMode parse(String value) {
        if (value != null) {
            for (DrainMode m : values()) {
                if (m.wireName().equalsIgnoreCase(value.trim())) return m;
            }
        }
        throw new ValidationException("drainMode", value, "drainMode must be 'soft' or 'hard', was '" + value + "'");
    }
}
