package io.moxxie.core.model;

import java.util.Locale;

/** A guest's power state as Proxmox reports it. {@code UNKNOWN} is what an offline node's guests show. */
public enum PowerState {
    RUNNING,
    STOPPED,
    PAUSED,
    UNKNOWN;

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Lenient: anything Proxmox may add later reads as {@code UNKNOWN}. */
    public static PowerState parse(String value) {
        if (value == null) return UNKNOWN;
        for (PowerState s : values()) {
            if (s.wireName().equalsIgnoreCase(value.trim())) return s;
        }
        return UNKNOWN;
    }
}
