package io.moxxie.core;

import java.time.Duration;

/**
 * Argument checks whose failures are {@link ValidationException}s naming the field and the value. Shared by the
 * modules for their public arguments; not meant for applications. Stateless, thread-safe.
 */
public final class Checks {
    private Checks() {
    }

    /** @throws ValidationException {@code value} is null */
    public static <T> T notNull(String field, T value) {
        if (value == null) throw new ValidationException(field, null, field + " cannot be null");
        return value;
    }

    /**
     * A node name: not null, not blank, no whitespace or slash (it ends up in URLs and SQL).
     *
     * @throws ValidationException it is not
     */
    public static String nodeName(String field, String value) {
        if (value == null) throw new ValidationException(field, null, field + " cannot be null");
        if (value.isBlank()) throw new ValidationException(field, value, field + " cannot be empty, was '" + value + "'");
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (Character.isWhitespace(c) || c == '/' || Character.isISOControl(c)) {
                throw new ValidationException(field, value,
                        field + " must be a node name (no spaces or '/'), was '" + value + "'");
            }
        }
        return value;
    }

    /** @throws ValidationException {@code value < 1} */
    public static int positive(String field, int value) {
        if (value < 1) throw new ValidationException(field, value, field + " must be >= 1, was " + value);
        return value;
    }

    /** @throws ValidationException {@code value < min} */
    public static int atLeast(String field, int value, int min) {
        if (value < min) throw new ValidationException(field, value, field + " must be >= " + min + ", was " + value);
        return value;
    }

    /** @throws ValidationException {@code value < min} */
    public static long atLeast(String field, long value, long min) {
        if (value < min) throw new ValidationException(field, value, field + " must be >= " + min + ", was " + value);
        return value;
    }

    /** @throws ValidationException {@code value} is not a number greater than 0 */
    public static double positive(String field, double value) {
        if (!(value > 0)) throw new ValidationException(field, value, field + " must be > 0, was " + value);
        return value;
    }

    /** @throws ValidationException {@code value} is null, zero or negative */
    public static Duration positive(String field, Duration value) {
        notNull(field, value);
        if (value.isNegative() || value.isZero()) {
            throw new ValidationException(field, value, field + " must be > 0, was " + value);
        }
        return value;
    }

    /** @throws ValidationException {@code value} is outside {@code min..max} */
    public static int between(String field, int value, int min, int max) {
        if (value < min || value > max) {
            throw new ValidationException(field, value, field + " must be between " + min + " and " + max + ", was " + value);
        }
        return value;
    }
}
