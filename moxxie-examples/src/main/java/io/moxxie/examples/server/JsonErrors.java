package io.moxxie.examples.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.handler.ErrorHandler;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * The errors Jetty answers itself, before a request reaches the API (a malformed request line or URL, a header too
 * large, an illegal character, a body arriving too slowly), as the API's error JSON instead of Jetty's HTML page.
 * The message is the status's meaning plus Jetty's short reason when it names no Java class. Thread-safe.
 */
final class JsonErrors extends ErrorHandler {
    /** A reason naming a class or package, an exception, or a stack frame. */
    private static final Pattern NAMES_CODE = Pattern.compile("(?s).*([a-z]+\\.){2,}[A-Za-z].*|.*(Exception|Error\\b|\\bat ).*");

    private final ObjectMapper json;

    JsonErrors(ObjectMapper json) {
        this.json = json;
        setShowStacks(false);
        setShowServlet(false);
        setShowMessageInTitle(false);
    }

    /** A request Jetty could not parse: the connection gets this body and is closed. */
    @Override
    public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
        fields.put(new HttpField(HttpHeader.CONTENT_TYPE, HttpApi.JSON_TYPE));
        return ByteBuffer.wrap(body(status, reason));
    }

    /** An error raised while Jetty handled a parsed request (outside the API's own handlers). */
    @Override
    public void handle(String target, Request baseRequest, HttpServletRequest request, HttpServletResponse response) throws IOException {
        baseRequest.setHandled(true);
        Object message = request.getAttribute(RequestDispatcher.ERROR_MESSAGE);
        byte[] body = body(response.getStatus(), message == null ? null : message.toString());
        HttpApi.setJsonContentType(response);
        response.setContentLength(body.length);
        response.getOutputStream().write(body);
    }

    byte[] body(int status, String reason) {
        ObjectNode o = json.createObjectNode();
        o.put("error", message(status, reason));
        try {
            return (json.writeValueAsString(o) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static String message(int status, String reason) {
        String meaning = switch (status) {
            case 400 -> "malformed request (request line, URL encoding or a header)";
            case 408 -> "request not received in time";
            case 413 -> "request body larger than " + HttpApi.MAX_BODY + " bytes";
            case 414 -> "request URL too long";
            case 431 -> "request headers larger than " + HttpApi.MAX_HEADER_BYTES + " bytes";
            default -> {
                String text = HttpStatus.getMessage(status);
                yield text == null ? "HTTP " + status : text.toLowerCase(Locale.ROOT);
            }
        };
        if (reason == null || reason.isBlank() || !safe(reason)) return meaning;
        String r = reason.trim();
        return r.equalsIgnoreCase(HttpStatus.getMessage(status)) || r.equalsIgnoreCase(meaning) ? meaning : meaning + ": " + r;
    }

    /** Jetty's reasons are short phrases ("Bad URI", "Illegal character CNTL=0x0"); anything naming a class is left out. */
    private static boolean safe(String reason) {
        return reason.length() <= 120 && !NAMES_CODE.matcher(reason).matches();
    }
}
