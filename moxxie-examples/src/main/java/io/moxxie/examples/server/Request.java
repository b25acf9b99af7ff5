package io.moxxie.examples.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** One API request, parsed: path parameters, query parameters (checked against the endpoint's), body. */
final class Request {
    private final Map<String, String> path;
    private final Map<String, String> query;
    private final byte[] body;
    private final ObjectMapper json;

    Request(Map<String, String> path, Map<String, String> query, byte[] body, ObjectMapper json) {
        this.path = path;
        this.query = query;
        this.body = body;
        this.json = json;
    }

    String path(String name) {
        return path.get(name);
    }

    /** The path's {@code {vmid}}: a positive whole number, or 400. */
    int vmid() {
        String raw = path("vmid");
        try {
            int v = Integer.parseInt(raw);
            if (v > 0) return v;
        } catch (NumberFormatException e) {
            // answered below
        }
        throw ApiException.badRequest("vmid", "vmid must be a positive whole number, was '" + raw + "'");
    }

    String query(String name) {
        return query.get(name);
    }

    /** A {@code true}/{@code false} query parameter; absent gives {@code otherwise}. */
    boolean queryBoolean(String name, boolean otherwise) {
        String v = query.get(name);
        if (v == null) return otherwise;
        String s = v.trim().toLowerCase(Locale.ROOT);
        if (s.equals("true")) return true;
        if (s.equals("false")) return false;
        throw ApiException.badRequest(name, name + " must be true or false, was '" + v + "'");
    }

    int queryInt(String name, int otherwise, int min, int max) {
        String v = query.get(name);
        if (v == null) return otherwise;
        try {
            int i = Integer.parseInt(v.trim());
            if (i >= min && i <= max) return i;
        } catch (NumberFormatException e) {
            // answered below
        }
        throw ApiException.badRequest(name, name + " must be a whole number between " + min + " and " + max + ", was '" + v + "'");
    }

    boolean hasBody() {
        for (byte b : body) {
            if (!Character.isWhitespace(b)) return true;
        }
        return false;
    }

    /**
     * The body as a JSON object whose fields are all among {@code allowed}; an empty body is an empty object.
     * Malformed JSON, something else than an object, duplicate or unknown fields: 400.
     */
    ObjectNode jsonObject(Set<String> allowed) {
        if (!hasBody()) return json.createObjectNode();
        JsonNode node;
        try {
            node = json.readTree(body);
        } catch (StreamConstraintsException e) {
            // Jackson's own text names its classes; say what is wrong instead.
            throw ApiException.badRequest(null, "malformed JSON: " + (e.getMessage() != null && e.getMessage().contains("nesting depth")
                    ? "nested deeper than " + HttpApi.MAX_JSON_DEPTH + " levels" : "a number or a string is longer than this API takes"));
        } catch (JsonProcessingException e) {
            throw ApiException.badRequest(null, "malformed JSON: " + e.getOriginalMessage());
        } catch (java.io.IOException e) {
            throw ApiException.badRequest(null, "malformed JSON: " + e.getMessage());
        }
        if (node == null || !node.isObject()) {
            throw ApiException.badRequest(null, "the body must be a JSON object, was " + (node == null ? "empty" : new String(body, StandardCharsets.UTF_8).trim()));
        }
        List<String> unknown = new ArrayList<>();
        for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
            String f = it.next();
            if (!allowed.contains(f)) unknown.add(f);
        }
        if (!unknown.isEmpty()) {
            throw ApiException.badRequest(String.join(",", unknown), (unknown.size() == 1 ? "unknown field '" : "unknown fields '")
                    + String.join("', '", unknown) + "' (allowed: " + String.join(", ", allowed) + ")");
        }
        return (ObjectNode) node;
    }

    static Boolean optBoolean(ObjectNode o, String field) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isBoolean()) throw ApiException.badRequest(field, field + " must be true or false, was " + v);
        return v.booleanValue();
    }

    static Integer optInt(ObjectNode o, String field) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isIntegralNumber() || !v.canConvertToInt()) throw ApiException.badRequest(field, field + " must be a whole number, was " + v);
        return v.intValue();
    }

    static String optString(ObjectNode o, String field) {
        JsonNode v = o.get(field);
        if (v == null || v.isNull()) return null;
        if (!v.isTextual()) throw ApiException.badRequest(field, field + " must be a string, was " + v);
        return v.textValue();
    }
}
