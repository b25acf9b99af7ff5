package io.moxxie.core;

/** Argument checks whose messages name the field and the value. Not part of the public API. */
public final class Checks {
    private Checks() {
    }

    public static <T> T notNull(String field, T value) {
        if (value == null) throw new IllegalArgumentException(field + " cannot be null");
        return value;
    }

    /** A node name: not null, not blank, no whitespace or slash (it ends up in URLs and SQL). */
    public static String nodeName(String field, String value) {
        if (value == null) throw new IllegalArgumentException(field + " cannot be null");
        if (value.isBlank()) throw new IllegalArgumentException(field + " cannot be empty, was '" + value + "'");
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (Character.isWhitespace(c) || c == '/' || Character.isISOControl(c)) {
                throw new IllegalArgumentException(field + " must be a node name (no spaces or '/'), was '" + value + "'");
            }
        }
        return value;
    }

    public static int positive(String field, int value) {
        if (value < 1) throw new IllegalArgumentException(field + " must be >= 1, was " + value);
        return value;
    }

    public static java.time.Duration positive(String field, java.time.Duration value) {
        notNull(field, value);
        if (value.isNegative() || value.isZero()) throw new IllegalArgumentException(field + " must be > 0, was " + value);
        return value;
    }
}
