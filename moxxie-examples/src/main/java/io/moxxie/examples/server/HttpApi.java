package io.moxxie.examples.server;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import io.javalin.http.HttpResponseException;
import jakarta.servlet.http.HttpServletRequest;
import org.eclipse.jetty.http.BadMessageException;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import io.moxxie.core.DrainConflictException;
import io.moxxie.core.InvalidTargetException;
import io.moxxie.core.MoxxieException;
import io.moxxie.core.NotFoundException;
import io.moxxie.core.ValidationException;
import io.moxxie.core.plan.PreflightException;
import io.moxxie.core.rollout.RolloutConflictException;
import io.moxxie.core.plan.PlanEntry;
import io.moxxie.core.spi.HypervisorException;
import io.moxxie.core.spi.HypervisorUnavailableException;
import io.moxxie.core.spi.StoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
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
 * The HTTP side of the API, on Javalin (Jetty underneath): matches a request to its {@link Route}, checks that it
 * comes from this server's own pages or a script ({@link RequestGuard}), the bearer token and the query parameters,
 * runs the handler, and turns every failure into the API's error JSON ({@code {"error": "...", "field": "..."}}) with
 * the right status, Jetty's own errors (a malformed request line, a header too large) included. Routes are declared
 * in {@link ApiRoutes}.
 *
 * <p>Limits: a body of at most {@link #MAX_BODY} bytes (413 before more is read), JSON nested at most
 * {@link #MAX_JSON_DEPTH} deep, headers of at most {@link #MAX_HEADER_BYTES} bytes, a connection silent for longer
 * than the idle timeout is closed (Jetty reads requests without holding a thread, so slow clients cost a socket, not
 * a worker), at most {@link #MAX_THREADS} requests are worked on at once and the rest wait their turn.
 *
 * <p>Thread-safe: handlers run on Jetty's threads at the same time.
 */
final class HttpApi {
    private static final Logger log = LoggerFactory.getLogger(HttpApi.class);
    static final int MAX_BODY = 1 << 20;
    static final int MAX_JSON_DEPTH = 32;
    static final int MAX_HEADER_BYTES = 8 * 1024;
    static final int MAX_THREADS = 64;
    static final long MIN_REQUEST_DATA_RATE = 1024;
    static final String JSON_TYPE = "application/json; charset=utf-8";
    /** A path template's parameter: {@code {node}}. */
    private static final Pattern PARAM = Pattern.compile("\\{([a-zA-Z]+)}");

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

    /**
     * One endpoint: method, path template with {@code {params}}, the query parameters it takes; {@code raw} for an
     * endpoint that writes its own answer (the event stream), else null.
     */
    record Route(String method, String template, Set<String> queryParams, Handler handler, Pattern pattern, List<String> params,
                 io.javalin.http.Handler raw) {
        /** An endpoint that writes its own answer once its query is checked: the event stream. */
        static Route raw(String method, String template, io.javalin.http.Handler raw) {
            Route r = of(method, template, Set.of(), req -> {
                throw new IllegalStateException(template + " writes its own answer");
            });
            return new Route(r.method, r.template, r.queryParams, r.handler, r.pattern, r.params, raw);
        }

        static Route of(String method, String template, Set<String> queryParams, Handler handler) {
            List<String> params = new ArrayList<>();
            StringBuilder regex = new StringBuilder("^");
            Matcher m = PARAM.matcher(template);
            int last = 0;
            while (m.find()) {
                regex.append(Pattern.quote(template.substring(last, m.start()))).append("([^/]+)");
                params.add(m.group(1));
                last = m.end();
            }
            regex.append(Pattern.quote(template.substring(last))).append("/?$");
            return new Route(method, template, Set.copyOf(queryParams), handler, Pattern.compile(regex.toString()), List.copyOf(params), null);
        }
    }

    private final List<Route> routes;
    private final byte[] token;
    private final ObjectMapper json;
    private final JsonErrors jettyErrors;
    private final Dashboard dashboard;

    /** @param dashboard the page served at {@code /} */
    HttpApi(List<Route> routes, String apiToken, ObjectMapper json, Dashboard dashboard) {
        this.dashboard = dashboard;
        this.routes = List.copyOf(routes);
        this.token = apiToken == null ? null : apiToken.getBytes(StandardCharsets.UTF_8);
        this.json = json;
        this.jettyErrors = new JsonErrors(json);
    }

    /** The mapper every part of the API shares: strict on input (duplicate keys, trailing garbage), pretty on output. */
    static ObjectMapper mapper() {
        // Bodies are flat objects: anything nested deeper is refused before it costs stack or memory.
        JsonFactory factory = JsonFactory.builder().streamReadConstraints(StreamReadConstraints.builder()
                .maxNestingDepth(MAX_JSON_DEPTH).maxNumberLength(100).maxStringLength(MAX_BODY).build()).build();
        ObjectMapper m = new ObjectMapper(factory);
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

    /**
     * A Javalin application serving the routes on {@code bind:port}, not started yet.
     *
     * @param guard        the cross-site checks; the port it compares with is read when a request comes
     * @param idleTimeout  how long a connection may stay silent while a request is read or between requests
     */
    Javalin javalin(String bind, int port, RequestGuard guard, Duration idleTimeout) {
        QueuedThreadPool threads = new QueuedThreadPool(MAX_THREADS, 4, 60_000);
        threads.setName("moxxie-http");
        threads.setDaemon(true);
        Javalin app = Javalin.create(cfg -> {
            cfg.showJavalinBanner = false;
            cfg.startupWatcherEnabled = false;
            cfg.http.maxRequestSize = MAX_BODY;
            cfg.http.defaultContentType = JSON_TYPE;
            cfg.router.ignoreTrailingSlashes = true;
            cfg.jetty.threadPool = threads;
            cfg.jetty.modifyHttpConfiguration(h -> {
                h.setSendServerVersion(false);
                h.setSendXPoweredBy(false);
                h.setRequestHeaderSize(MAX_HEADER_BYTES);
                // Jetty caches header values per connection and, by default, matches them ignoring case: on a
                // kept-alive connection "Bearer s3cret-tokeN" was then read as the "Bearer s3cret-token" of the
                // request before it, and accepted. No cache: every header is read as sent.
                h.setHeaderCacheSize(0);
                h.setHeaderCacheCaseSensitive(true);
                // A body trickling in slower than this is cut off (408) instead of holding a worker thread.
                h.setMinRequestDataRate(MIN_REQUEST_DATA_RATE);
            });
            cfg.jetty.modifyServer(server -> server.setErrorHandler(jettyErrors));
            cfg.jetty.modifyServletContextHandler(context -> context.setErrorHandler(jettyErrors));
            cfg.jetty.addConnector((server, httpConfig) -> {
                ServerConnector connector = new ServerConnector(server, new HttpConnectionFactory(httpConfig));
                connector.setHost(bind);
                connector.setPort(port);
                connector.setIdleTimeout(idleTimeout.toMillis());
                connector.setAcceptQueueSize(1024);
                return connector;
            });
        });
        app.before(ctx -> {
            Response refused = refuse(ctx, guard);
            if (refused != null) {
                write(ctx, refused);
                ctx.skipRemainingHandlers();
            }
        });
        for (Route route : routes) {
            // Javalin's path syntax ({node}) is the routes' own; handle() still matches and decodes with Route.pattern.
            app.addHttpHandler(HandlerType.valueOf(route.method()), route.template(), ctx -> {
                if (route.raw() == null) {
                    write(ctx, handle(ctx, route));
                } else {
                    query(ctx.req().getQueryString(), route);
                    route.raw().handle(ctx);
                }
            });
        }
        for (String path : dashboard.paths()) app.get(path, dashboard::serve);
        // No route matched: 405 when the path is an endpoint's, else 404 (Javalin says 404 for both).
        app.exception(HttpResponseException.class, (e, ctx) -> write(ctx, unmatched(ctx)));
        // Every other failure of a handler, the API's own refusals included, is answered here and only here.
        app.exception(Exception.class, (e, ctx) -> write(ctx, map(e)));
        return app;
    }

    /** Before every handler: cross-site checks, token, size; null lets the request through. */
    private Response refuse(Context ctx, RequestGuard guard) {
        HttpServletRequest req = ctx.req();
        String method = req.getMethod();
        long length = req.getContentLengthLong();
        boolean hasBody = length > 0 || req.getHeader("Transfer-Encoding") != null;
        try {
            guard.check(new RequestGuard.Headers(method, req.getHeader("Host"), req.getHeader("Origin"), req.getHeader("Referer"),
                    req.getHeader("Content-Type"), hasBody));
        } catch (ApiException e) {
            return map(e);
        }
        // The page itself holds no data and no secret: it loads without a token and asks for one when the API answers 401.
        boolean publicPage = dashboard.serves(method, req.getRequestURI());
        if (token != null && !publicPage && !authorized(req.getHeader("Authorization"))) {
            Response r = error(401, req.getHeader("Authorization") == null
                    ? "missing bearer token: send 'Authorization: Bearer <MOXXIE_API_TOKEN>'" : "invalid bearer token", null, null);
            return new Response(401, r.body(), Map.of("WWW-Authenticate", "Bearer realm=\"moxxie\""));
        }
        if (length > MAX_BODY) return tooLarge();
        return null;
    }

    /** Runs the route's handler; what it throws is answered by {@link #map}. */
    private Response handle(Context ctx, Route route) {
        HttpServletRequest req = ctx.req();
        Matcher m = route.pattern().matcher(req.getRequestURI());
        if (!m.matches()) return unmatched(ctx); // Javalin's matching is looser than ours (e.g. "//")
        Map<String, String> params = new LinkedHashMap<>();
        for (int i = 0; i < route.params().size(); i++) params.put(route.params().get(i), decode(m.group(i + 1)));
        Map<String, String> query = query(req.getQueryString(), route);
        byte[] body = readBody(req);
        return route.handler().handle(new Request(params, query, body, json));
    }

    /**
     * At most {@link #MAX_BODY} bytes and one more to see that there are more: a larger body is never read whole.
     * A body that stops coming (idle timeout) or trickles in below {@link #MIN_REQUEST_DATA_RATE} is a 408.
     */
    private static byte[] readBody(HttpServletRequest req) {
        try {
            byte[] body = req.getInputStream().readNBytes(MAX_BODY + 1);
            if (body.length > MAX_BODY) throw new ApiException(413, tooLargeMessage(), null);
            return body;
        } catch (BadMessageException e) {
            throw new ApiException(e.getCode(), JsonErrors.message(e.getCode(), e.getReason()), null);
        } catch (IOException e) {
            boolean timeout = e.getCause() instanceof java.util.concurrent.TimeoutException || e instanceof java.io.InterruptedIOException;
            throw new ApiException(timeout ? 408 : 400, timeout ? JsonErrors.message(408, null) : "the request body could not be read", null);
        }
    }

    /** No route for this method and path: 405 listing the methods the path has, or 404. */
    private Response unmatched(Context ctx) {
        String method = ctx.req().getMethod();
        String rawPath = ctx.req().getRequestURI();
        try {
            String path = decode(rawPath);
            Set<String> allowed = new TreeSet<>();
            for (Route route : routes) {
                if (route.pattern().matcher(rawPath).matches() && !route.method().equals(method)) allowed.add(route.method());
            }
            if (!allowed.isEmpty()) {
                Response r = error(405, "method " + method + " not allowed on " + path + " (allowed: " + String.join(", ", allowed) + ")", null, null);
                return new Response(405, r.body(), Map.of("Allow", String.join(", ", allowed)));
            }
            return error(404, "no such endpoint: " + method + " " + path + " (see /api/v1/openapi.json)", null, null);
        } catch (ApiException e) {
            return map(e);
        }
    }

    /** The exact bytes after {@code Bearer }, compared in constant time: no trimming, no case folding of the token. */
    private boolean authorized(String header) {
        if (header == null || !header.regionMatches(true, 0, "Bearer ", 0, 7)) return false;
        byte[] given = header.substring(7).getBytes(StandardCharsets.UTF_8);
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

    /**
     * {@code application/json; charset=utf-8} as the API has always written it: Jetty's own setter would drop the
     * space ({@code application/json;charset=utf-8}), so the field is also set as is.
     */
    static void setJsonContentType(jakarta.servlet.http.HttpServletResponse response) {
        response.setContentType(JSON_TYPE);
        if (org.eclipse.jetty.server.Response.unwrap(response) instanceof org.eclipse.jetty.server.Response base) {
            base.getHttpFields().put(org.eclipse.jetty.http.HttpHeader.CONTENT_TYPE, JSON_TYPE);
        }
    }

    private Response tooLarge() {
        return error(413, tooLargeMessage(), null, null);
    }

    private static String tooLargeMessage() {
        return "request body larger than " + MAX_BODY + " bytes";
    }

    /** The API's own refusals and core's exceptions as API answers; anything else is a 500 whose details go to the log. */
    private Response map(Exception e) {
        if (e instanceof ApiException a) return error(a.status(), a.getMessage(), a.field(), a.extra());
        if (e instanceof NotFoundException nf) {
            String field = switch (nf.kind()) {
                case "guest" -> "vmid";
                case "drain" -> "drainId";
                case "rollout" -> "rolloutId";
                default -> nf.kind();
            };
            return error(404, nf.getMessage(), field, null);
        }
        if (e instanceof DrainConflictException dc) {
            ObjectNode extra = json.createObjectNode().put("activeDrainId", dc.activeDrainId());
            return error(409, dc.getMessage(), null, extra);
        }
        if (e instanceof RolloutConflictException rc) {
            return error(409, rc.getMessage(), null, json.createObjectNode().put("rolloutId", rc.rolloutId()));
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
            // A target that is no node is bad input; one offline or in maintenance may do later. (The node itself is
            // refused by DrainRequest, as a ValidationException.)
            int status = switch (it.reason()) {
                case UNKNOWN -> 400;
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
        if (e instanceof HypervisorUnavailableException) {
            // Known down (the client's circuit breaker is open): answered at once, saying since when; a client may retry later.
            return error(503, e.getMessage(), "MOXXIE_PVE_URL", null);
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
        return error(500, "internal error (the server's log has the details)", null, null);
    }

    private Response error(int status, String message, String field, ObjectNode extra) {
        ObjectNode o = json.createObjectNode();
        o.put("error", message);
        if (field != null) o.put("field", field);
        if (extra != null) o.setAll(extra);
        return new Response(status, o, Map.of());
    }

    private void write(Context ctx, Response r) {
        String method = ctx.req().getMethod();
        String path = ctx.req().getRequestURI();
        if (r.status() >= 500) log.warn("{} {} -> {}: {}", method, path, r.status(), r.body().path("error").asText());
        else if (!method.equals("GET")) log.info("{} {} -> {}", method, path + (ctx.req().getQueryString() == null ? "" : "?" + ctx.req().getQueryString()), r.status());
        byte[] bytes;
        try {
            bytes = (json.writeValueAsString(r.body()) + "\n").getBytes(StandardCharsets.UTF_8);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
        ctx.status(r.status());
        setJsonContentType(ctx.res());
        r.headers().forEach(ctx::header);
        ctx.result(bytes);
    }
}
