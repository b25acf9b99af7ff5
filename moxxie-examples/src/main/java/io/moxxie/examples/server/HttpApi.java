package io.moxxie.examples.server;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import io.moxxie.core.DrainConflictException;
import io.moxxie.core.InvalidTargetException;
import io.moxxie.core.MoxxieException;
import io.moxxie.core.NotFoundException;
import io.moxxie.core.ValidationException;
import io.moxxie.core.plan.PreflightException;
import io.moxxie.core.plan.PlanEntry;
import io.moxxie.core.spi.HypervisorException;
import io.moxxie.core.spi.StoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The HTTP side of the API on the JDK's {@code HttpServer}: matches a request to its {@link Route}, checks the bearer
 * token and the query parameters, runs the handler, and turns every failure into the API's error JSON
 * ({@code {"error": "...", "field": "..."}}) with the right status. Routes are declared in {@link ApiRoutes}.
 */
final class HttpApi implements HttpHandler {
    private static final Logger log = LoggerFactory.getLogger(HttpApi.class);
    private static final int MAX_BODY = 1 << 20;

    /** What a handler returns. */
    record Response(int status, JsonNode body, Map<String, String> headers) {
        static Response ok(JsonNode body) {
            return new Response(200, body, Map.of());
        }

        static Response accepted(JsonNode body, String location) {
            return new Response(202, body, location == null ? Map.of() : Map.of("Location", location));
        }
    }

    interface Handler {
        Response handle(Request request);
    }

    /** One endpoint: method, path template with {@code {params}}, the query parameters it takes. */
    record Route(String method, String template, Set<String> queryParams, Handler handler, Pattern pattern, List<String> params) {
        static Route of(String method, String template, Set<String> queryParams, Handler handler) {
            List<String> params = new ArrayList<>();
            StringBuilder regex = new StringBuilder("^");
            Matcher m = Pattern.compile("\\{([a-zA-Z]+)}").matcher(template);
            int last = 0;
            while (m.find()) {
                regex.append(Pattern.quote(template.substring(last, m.start()))).append("([^/]+)");
                params.add(m.group(1));
                last = m.end();
            }
            regex.append(Pattern.quote(template.substring(last))).append("/?$");
            return new Route(method, template, Set.copyOf(queryParams), handler, Pattern.compile(regex.toString()), List.copyOf(params));
        }
    }

    private final List<Route> routes;
    private final byte[] token;
    private final ObjectMapper json;

    HttpApi(List<Route> routes, String apiToken, ObjectMapper json) {
        this.routes = List.copyOf(routes);
        this.token = apiToken == null ? null : apiToken.getBytes(StandardCharsets.UTF_8);
        this.json = json;
    }

    /** The mapper every part of the API shares: strict on input (duplicate keys, trailing garbage), pretty on output. */
    static ObjectMapper mapper() {
        ObjectMapper m = new ObjectMapper();
        m.enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);
        m.enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
        m.enable(SerializationFeature.INDENT_OUTPUT);
        // "field": value, as the guide prints JSON (Jackson's default is "field" : value)
        m.setDefaultPrettyPrinter(new com.fasterxml.jackson.core.util.DefaultPrettyPrinter().withSeparators(
                com.fasterxml.jackson.core.util.Separators.createDefaultInstance()
                        .withObjectFieldValueSpacing(com.fasterxml.jackson.core.util.Separators.Spacing.AFTER)));
        return m;
    }

    List<Route> routes() {
        return routes;
    }

    @Override
    public void handle(HttpExchange ex) throws IOException {
        String method = ex.getRequestMethod();
        String path = ex.getRequestURI().getRawPath();
        Response response;
        try {
            response = dispatch(ex, method, path);
        } catch (ApiException e) {
            response = error(e.status(), e.getMessage(), e.field(), e.extra());
        } catch (RuntimeException e) {
            response = map(e);
        }
        if (response.status() >= 500) log.warn("{} {} -> {}: {}", method, path, response.status(), response.body().path("error").asText());
        else if (!method.equals("GET")) log.info("{} {} -> {}", method, ex.getRequestURI(), response.status());
        write(ex, response);
    }

    private Response dispatch(HttpExchange ex, String method, String rawPath) throws IOException {
        if (token != null && !authorized(ex.getRequestHeaders().getFirst("Authorization"))) {
            Response r = error(401, ex.getRequestHeaders().getFirst("Authorization") == null
                    ? "missing bearer token: send 'Authorization: Bearer <MOXXIE_API_TOKEN>'" : "invalid bearer token", null, null);
            return new Response(401, r.body(), Map.of("WWW-Authenticate", "Bearer realm=\"moxxie\""));
        }
        String path = decode(rawPath);
        Set<String> allowed = new TreeSet<>();
        for (Route route : routes) {
            Matcher m = route.pattern().matcher(rawPath);
            if (!m.matches()) continue;
            if (!route.method().equals(method)) {
                allowed.add(route.method());
                continue;
            }
            Map<String, String> params = new LinkedHashMap<>();
            for (int i = 0; i < route.params().size(); i++) params.put(route.params().get(i), decode(m.group(i + 1)));
            Map<String, String> query = query(ex.getRequestURI().getRawQuery(), route);
            byte[] body = readBody(ex.getRequestBody());
            return route.handler().handle(new Request(params, query, body, json));
        }
        if (!allowed.isEmpty()) {
            Response r = error(405, "method " + method + " not allowed on " + path + " (allowed: " + String.join(", ", allowed) + ")", null, null);
            return new Response(405, r.body(), Map.of("Allow", String.join(", ", allowed)));
        }
        return error(404, "no such endpoint: " + method + " " + path + " (see /api/v1/openapi.json)", null, null);
    }

    private boolean authorized(String header) {
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) return false;
        byte[] given = header.substring(7).trim().getBytes(StandardCharsets.UTF_8);
        return MessageDigest.isEqual(given, token);
    }

    private static Map<String, String> query(String raw, Route route) {
        Map<String, String> out = new LinkedHashMap<>();
        if (raw == null || raw.isEmpty()) return out;
        Set<String> unknown = new LinkedHashSet<>();
        for (String pair : raw.split("&")) {
            if (pair.isEmpty()) continue;
            int eq = pair.indexOf('=');
            String name = decode(eq < 0 ? pair : pair.substring(0, eq), true);
            String value = eq < 0 ? "" : decode(pair.substring(eq + 1), true);
            if (!route.queryParams().contains(name)) {
                unknown.add(name);
                continue;
            }
            if (out.put(name, value) != null) throw ApiException.badRequest(name, "query parameter '" + name + "' given more than once");
        }
        if (!unknown.isEmpty()) {
            String takes = route.queryParams().isEmpty() ? "none" : String.join(", ", new TreeSet<>(route.queryParams()));
            throw ApiException.badRequest(String.join(",", unknown), (unknown.size() == 1 ? "unknown query parameter '" : "unknown query parameters '")
                    + String.join("', '", unknown) + "' (" + route.method() + " " + route.template() + " takes: " + takes + ")");
        }
        return out;
    }

    /** A path segment: '+' is a plus. */
    private static String decode(String s) {
        return decode(s, false);
    }

    /** A query name or value: '+' is a space, as forms and most clients write it. */
    private static String decode(String s, boolean plusIsSpace) {
        try {
            return URLDecoder.decode(plusIsSpace ? s : s.replace("+", "%2B"), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw ApiException.badRequest(null, "malformed URL encoding in '" + s + "'");
        }
    }

    private static byte[] readBody(InputStream in) throws IOException {
        byte[] body = in.readNBytes(MAX_BODY + 1);
        if (body.length > MAX_BODY) throw new ApiException(413, "request body larger than " + MAX_BODY + " bytes", null);
        return body;
    }

    /** Core's exceptions as API answers. */
    Response map(RuntimeException e) {
        if (e instanceof NotFoundException nf) {
            String field = switch (nf.kind()) {
                case "guest" -> "vmid";
                case "drain" -> "drainId";
                default -> nf.kind();
            };
            return error(404, nf.getMessage(), field, null);
        }
        if (e instanceof DrainConflictException dc) {
            ObjectNode extra = json.createObjectNode().put("activeDrainId", dc.activeDrainId());
            return error(409, dc.getMessage(), null, extra);
        }
        if (e instanceof PreflightException pf) {
            ObjectNode extra = json.createObjectNode();
            var blocked = extra.putArray("blocked");
            for (PlanEntry b : pf.blocked()) {
                blocked.addObject().put("vmid", b.vmid()).put("name", b.guest().name()).put("reason", b.reason());
            }
            return error(409, pf.getMessage(), pf.blocked().isEmpty() ? null : "force", extra);
        }
        if (e instanceof InvalidTargetException it) {
            // A target that is no node or the node itself is bad input; one offline or in maintenance may do later.
            int status = switch (it.reason()) {
                case UNKNOWN, SOURCE -> 400;
                case OFFLINE, IN_MAINTENANCE -> 409;
            };
            return error(status, it.getMessage(), "targetNode", null);
        }
        if (e instanceof ValidationException v) return error(400, v.getMessage(), v.field(), null);
        if (e instanceof IllegalArgumentException) return error(400, e.getMessage(), null, null);
        if (e instanceof StoreException) {
            log.error("Store failure", e);
            return error(503, "maintenance store unavailable: " + e.getMessage(), null, null);
        }
        if (e instanceof HypervisorException) {
            log.error("Hypervisor failure", e);
            return error(502, "hypervisor error: " + e.getMessage(), null, null);
        }
        if (e instanceof MoxxieException) {
            log.error("Moxxie failure", e);
            return error(500, e.getMessage(), null, null);
        }
        log.error("Unexpected failure", e);
        return error(500, "internal error: " + e, null, null);
    }

    Response error(int status, String message, String field, ObjectNode extra) {
        ObjectNode o = json.createObjectNode();
        o.put("error", message);
        if (field != null) o.put("field", field);
        if (extra != null) o.setAll(extra);
        return new Response(status, o, Map.of());
    }

    private void write(HttpExchange ex, Response r) throws IOException {
        byte[] bytes = (json.writeValueAsString(r.body()) + "\n").getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json; charset=utf-8");
        r.headers().forEach((k, v) -> ex.getResponseHeaders().set(k, v));
        ex.sendResponseHeaders(r.status(), bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }
}
