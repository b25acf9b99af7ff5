package io.moxxie.core.model;

import io.moxxie.core.ValidationException;

import java.util.Locale;

/** How one guest moves. */
public enum MigrationType {
    /** Live migration: the guest keeps running (qemu only). */
    ONLINE,
    /** The guest is moved while stopped; a running guest is shut down first and started again on the target. */
    OFFLINE,
    /** Container restart mode: shutdown, move, start. Brief downtime; the only way a running container moves. */
    RESTART;

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static MigrationType parse(String value) {
        if (value != null) {
            for (MigrationType t : values()) {
                if (t.wireName().equalsIgnoreCase(value.trim())) return t;
            }
        }
        throw new ValidationException("migrationType", value, "migrationType must be one of online, offline, restart, was '" + value + "'");
    }
}
