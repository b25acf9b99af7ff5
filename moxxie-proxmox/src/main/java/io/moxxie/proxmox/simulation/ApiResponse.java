package io.moxxie.proxmox.simulation;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moxxie.core.Checks;

import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The simulated Proxmox API's answer, independent of the transport that carries it.
 *
 * <p>Immutable and thread-safe.
 *
 * @param status       the HTTP status: 200, or an error status as pveproxy sends it (400, 401, 403, 500, 501, 596)
 * @param reasonPhrase the text for the status line: {@code OK}, or the first line of the error message, which is
 *                     where Proxmox before 8.4 put an error's text (and still does)
 * @param body         the JSON body: {@code {"data": …}}, and for an error {@code {"data": null, "message": "…\n"}}
 *                     (plus {@code "errors": {param: text}} for a 400)
 */
public record ApiResponse(int status, String reasonPhrase, String body) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * @throws IllegalArgumentException when {@code status} is not a three-digit status, or {@code reasonPhrase} or
     *                                  {@code body} is null
     */
    public ApiResponse {
        if (status < 100 || status > 999) throw new IllegalArgumentException("status must have three digits, was " + status);
        Checks.notNull("reasonPhrase", reasonPhrase);
        Checks.notNull("body", body);
    }

    /** True for a 2xx status. */
    public boolean successful() {
        return status >= 200 && status < 300;
    }

    /**
     * An error as pveproxy writes it: the message's first line as the reason phrase, the whole message in the body
     * (as PVE 8.4 and later do) and, for a 400, the text per parameter.
     *
     * @param status  the HTTP status
     * @param message Proxmox's error text, e.g. {@code "VM is locked (backup)"}
     * @param errors  text per parameter, or {@code null}
     * @throws IllegalArgumentException when {@code message} is null
     */
    public static ApiResponse error(int status, String message, Map<String, String> errors) {
        Checks.notNull("message", message);
        Map<String, Object> envelope = new LinkedHashMap<>();
        envelope.put("data", null);
        envelope.put("message", message + "\n");
        if (errors != null) envelope.put("errors", errors);
        return new ApiResponse(status, message.lines().findFirst().orElse(""), write(envelope));
    }

    /** {@code {"data": data}}. */
    static ApiResponse ok(Object data) {
        Map<String, Object> envelope = new LinkedHashMap<>();
        envelope.put("data", data);
        return okEnvelope(envelope);
    }

    /** A 200 with a whole envelope, e.g. one with a {@code total} besides its {@code data}. */
    static ApiResponse okEnvelope(Map<String, Object> envelope) {
        return okJson(write(envelope));
    }

    static ApiResponse okJson(String json) {
        return new ApiResponse(200, "OK", json);
    }

    private static String write(Object o) {
        try {
            return JSON.writeValueAsString(o);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}
