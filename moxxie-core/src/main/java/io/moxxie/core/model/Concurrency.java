package io.moxxie.core.model;

import io.moxxie.core.Checks;
import io.moxxie.core.ValidationException;

/**
 * How many migrations of one drain may run at once: {@linkplain #serial() one after the other}, a {@linkplain #fixed
 * fixed number} from 1 to {@value #MAX_FIXED}, or {@linkplain #auto() the executor's choice} from its link model. The
 * guide's {@code parallel} and {@code maxConcurrent} fields are two views of this one value: {@code parallel: false}
 * is {@link #serial()}, {@code maxConcurrent: 5} is {@code fixed(5)}, {@code maxConcurrent: "auto"} is {@link #auto()}.
 *
 * <p>{@link #toString()} gives {@code serial}, {@code auto} or the number, and {@link #parse(String)} reads it back.
 * An {@code auto} drain stays {@code auto} when stored, and each executor that runs it {@linkplain #resolve(int)
 * resolves} it from its own configuration.
 *
 * <p>Immutable, thread-safe; compare with {@link #equals(Object)}.
 */
public final class Concurrency {
    /** The upper bound for a fixed concurrency; Proxmox's own bulk migrations stop at 64 workers too. */
    public static final int MAX_FIXED = 64;
    /** The field the guide's request body gives a concurrency in; failures name it. */
    public static final String FIELD = "maxConcurrent";

    /** Which of the three a concurrency is. */
    public enum Kind {
        /** One migration at a time ({@code parallel: false}). */
        SERIAL,
        /** A fixed number at a time ({@code maxConcurrent: n}). */
        FIXED,
        /** The executor's choice ({@code maxConcurrent: "auto"}). */
        AUTO
    }

    private static final Concurrency SERIAL = new Concurrency(Kind.SERIAL, 1);
    private static final Concurrency AUTO = new Concurrency(Kind.AUTO, 0);
    private static final Concurrency[] FIXED = new Concurrency[MAX_FIXED + 1];

    static {
        for (int n = 1; n <= MAX_FIXED; n++) FIXED[n] = new Concurrency(Kind.FIXED, n);
    }

    private final Kind kind;
    private final int limit;

    private Concurrency(Kind kind, int limit) {
        this.kind = kind;
        this.limit = limit;
    }

    /** One migration at a time. */
    public static Concurrency serial() {
        return SERIAL;
    }

    /** The executor chooses ({@code ExecutorConfig.autoConcurrency()}). */
    public static Concurrency auto() {
        return AUTO;
    }

    /**
     * {@code n} migrations at a time.
     *
     * @throws ValidationException {@code n} is not between 1 and {@value #MAX_FIXED} (field {@code maxConcurrent})
     */
    public static Concurrency fixed(int n) {
        return FIXED[Checks.between(FIELD, n, 1, MAX_FIXED)];
    }

    /**
     * Reads what {@link #toString()} writes: {@code serial}, {@code auto}, or a whole number from 1 to {@value #MAX_FIXED}.
     *
     * @throws ValidationException anything else (field {@code maxConcurrent})
     */
    public static Concurrency parse(String value) {
        if ("serial".equals(value)) return SERIAL;
        if ("auto".equals(value)) return AUTO;
        if (value != null && !value.isEmpty() && value.length() <= 9 && value.chars().allMatch(c -> c >= '0' && c <= '9')) {
            return fixed(Integer.parseInt(value));
        }
        throw new ValidationException(FIELD, value, FIELD + " must be a whole number, \"auto\" or \"serial\", was '" + value + "'");
    }

    public Kind kind() {
        return kind;
    }

    public boolean isAuto() {
        return kind == Kind.AUTO;
    }

    /**
     * How many migrations may run at once.
     *
     * @param auto the executor's choice for {@link #auto()} (at least 1)
     */
    public int resolve(int auto) {
        return kind == Kind.AUTO ? auto : limit;
    }

    /** {@code serial}, {@code auto} or the number: what {@link #parse(String)} reads. */
    @Override
    public String toString() {
        return switch (kind) {
            case SERIAL -> "serial";
            case AUTO -> "auto";
            case FIXED -> Integer.toString(limit);
        };
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Concurrency c && c.kind == kind && c.limit == limit;
    }

    @Override
    public int hashCode() {
        return kind.hashCode() * 31 + limit;
    }
}
