package io.moxxie.core;

import java.time.Duration;
import java.util.Collection;
import java.util.Collections;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.SortedSet;
import java.util.TreeMap;
import java.util.TreeSet;

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

    /**
     * An unmodifiable copy in natural order, so that what is built from it (a message, a stored line) reads the same on
     * every run.
     *
     * @throws ValidationException {@code values} is null
     * @throws NullPointerException an element is null
     */
    public static <T extends Comparable<? super T>> SortedSet<T> sortedCopy(String field, Collection<T> values) {
        return Collections.unmodifiableSortedSet(new TreeSet<>(Set.copyOf(notNull(field, values))));
    }

    /**
     * An unmodifiable copy in its keys' natural order (see {@link #sortedCopy(String, Collection)}).
     *
     * @throws ValidationException {@code values} is null
     * @throws NullPointerException a key or a value is null
     */
    public static <K extends Comparable<? super K>, V> SortedMap<K, V> sortedCopy(String field, Map<K, V> values) {
        return Collections.unmodifiableSortedMap(new TreeMap<>(Map.copyOf(notNull(field, values))));
    }
}
