package io.moxxie.core.model;

import io.moxxie.core.ValidationException;

import java.util.Locale;

/** The two kinds of Proxmox guest. Their wire names are Proxmox's own: {@code qemu}, {@code lxc}. */
public enum GuestType {
    QEMU,
    LXC;

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** Parses {@code qemu} or {@code lxc}, case-insensitively. */
    public static GuestType parse(String value) {
        if (value != null) {
            for (GuestType t : values()) {
                if (t.wireName().equalsIgnoreCase(value.trim())) return t;
            }
        }
        throw new ValidationException("type", value, "type must be 'qemu' or 'lxc', was '" + value + "'");
    }
}
