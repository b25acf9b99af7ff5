package io.moxxie.examples.server;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * An answer other than success, as the API gives it: {@code {"error": "...", "field": "..."}} plus, for some,
 * more context ({@code activeDrainId}, {@code blocked}).
 */
final class ApiException extends RuntimeException {
    private final int status;
    private final String field;
    private final transient ObjectNode extra;

    ApiException(int status, String message, String field) {
        this(status, message, field, null);
    }

    ApiException(int status, String message, String field, ObjectNode extra) {
        super(message);
        this.status = status;
        this.field = field;
        this.extra = extra;
    }

    static ApiException badRequest(String field, String message) {
        return new ApiException(400, message, field);
    }

    int status() {
        return status;
    }

    String field() {
        return field;
    }

    ObjectNode extra() {
        return extra;
    }
}
