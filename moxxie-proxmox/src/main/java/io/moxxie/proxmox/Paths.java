package io.moxxie.proxmox;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;

/** API paths with every segment percent-encoded (UPIDs carry {@code : @ !}; HA sids carry {@code :}). */
final class Paths {
    private Paths() {
    }

    static String of(Object... segments) {
        StringBuilder sb = new StringBuilder();
        for (Object s : segments) {
            sb.append('/').append(URLEncoder.encode(String.valueOf(s), StandardCharsets.UTF_8).replace("+", "%20"));
        }
        return sb.toString();
    }
}
