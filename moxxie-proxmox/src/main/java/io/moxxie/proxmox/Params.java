package io.moxxie.proxmox;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Request parameters in order. Booleans are written as {@code 1}/{@code 0} (Proxmox's form validator rejects
 * {@code true}), and the root-only options are refused here, so that no code path can send them: an API token
 * gets a 403 for {@code force}, {@code migration_type}, {@code migration_network} and any {@code skiplock}.
 */
final class Params {
    static final Set<String> ROOT_ONLY = Set.of("force", "migration_type", "migration_network", "skiplock");

    private final List<Map.Entry<String, String>> entries = new ArrayList<>();

    static Params of() {
        return new Params();
    }

    Params put(String key, String value) {
        if (ROOT_ONLY.contains(key)) throw new IllegalStateException("'" + key + "' is root-only and never sent");
        if (value != null) entries.add(Map.entry(key, value));
        return this;
    }

    Params put(String key, long value) {
        return put(key, Long.toString(value));
    }

    Params flag(String key, boolean value) {
        return put(key, value ? "1" : "0");
    }

    List<Map.Entry<String, String>> entries() {
        return Collections.unmodifiableList(entries);
    }

    boolean isEmpty() {
        return entries.isEmpty();
    }
}
