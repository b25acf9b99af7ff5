package io.moxxie.proxmox.internal;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Lenient reads of Proxmox JSON: Perl's encoder gives booleans as {@code 0}/{@code 1}, as JSON booleans or as
 * strings ({@code "1"}), numbers sometimes as strings ({@code "vmid": "106"} before PVE 8.1), and leaves out
 * unset fields instead of writing {@code null}. Not part of the public API.
 */
public final class Json {
    private Json() {
    }

    /** The field as text, or {@code null} when absent or JSON null. Numbers and booleans are rendered as text. */
    public static String text(JsonNode node, String field) {
        JsonNode v = node == null ? null : node.get(field);
        if (v == null || v.isNull() || v.isMissingNode()) return null;
        if (v.isContainerNode()) return v.toString();
        return v.asText();
    }

    public static boolean has(JsonNode node, String field) {
        JsonNode v = node == null ? null : node.get(field);
        return v != null && !v.isNull() && !v.isMissingNode();
    }

    /** {@code 1}, {@code true}, {@code "1"}, {@code "true"}, {@code "yes"}, {@code "on"}: true; anything else false. */
    public static boolean bool(JsonNode node, String field) {
        JsonNode v = node == null ? null : node.get(field);
        if (v == null || v.isNull()) return false;
        if (v.isBoolean()) return v.booleanValue();
        if (v.isNumber()) return v.asDouble() != 0;
        String s = v.asText().trim();
        return s.equals("1") || s.equalsIgnoreCase("true") || s.equalsIgnoreCase("yes") || s.equalsIgnoreCase("on");
    }

    public static long longValue(JsonNode node, String field, long fallback) {
        JsonNode v = node == null ? null : node.get(field);
        if (v == null || v.isNull()) return fallback;
        if (v.isNumber()) return v.asLong();
        try {
            String s = v.asText().trim();
            return s.contains(".") ? (long) Double.parseDouble(s) : Long.parseLong(s);
        } catch (NumberFormatException e) {
            return fallback;
        }
    }

    public static int intValue(JsonNode node, String field, int fallback) {
        long l = longValue(node, field, fallback);
        return l > Integer.MAX_VALUE || l < Integer.MIN_VALUE ? fallback : (int) l;
    }

    public static double doubleValue(JsonNode node, String field, double fallback) {
        JsonNode v = node == null ? null : node.get(field);
        if (v == null || v.isNull()) return fallback;
        if (v.isNumber()) return v.asDouble();
        try {
            return Double.parseDouble(v.asText().trim());
        } catch (NumberFormatException e) {
            return fallback;
        }
    }
}
