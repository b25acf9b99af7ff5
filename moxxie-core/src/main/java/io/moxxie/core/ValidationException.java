package io.moxxie.core;

/**
 * An argument, request field or configuration value was refused. {@link #field()} names it as the caller wrote it
 * (the REST body's field, the builder's option) and {@link #value()} is what was given, so a caller maps the failure
 * to its own terms (a 400 naming the field, a form error) without parsing the message. The message says what was
 * expected and names the field and the value: {@code maxConcurrent must be between 1 and 64, was 0}.
 *
 * <p>An {@link IllegalArgumentException} rather than a {@link MoxxieException}: it is what Java code expects from a
 * bad argument, and what every caller that catches {@code IllegalArgumentException} (or asserts it) already handles;
 * the root exception stays for failures of an operation the arguments of which were fine.
 *
 * <p>Immutable. A value that is a secret is never kept: such checks pass {@code null}.
 */
public class ValidationException extends IllegalArgumentException {
    private final String field;
    private final transient Object value;

    /**
     * @param field   the field or option at fault, as the caller knows it (not null)
     * @param value   the value refused, {@code null} when it was null or is a secret
     * @param message the whole message, naming the field and (unless secret) the value
     */
    public ValidationException(String field, Object value, String message) {
        super(message);
        this.field = field;
        this.value = value;
    }

    /** The field or option at fault: {@code maxConcurrent}, {@code targetNode}, {@code node}, … */
    public String field() {
        return field;
    }

    /** The value refused as it was given, or {@code null} (it was null, or it is a secret and was not kept). */
    public Object value() {
        return value;
    }
}
