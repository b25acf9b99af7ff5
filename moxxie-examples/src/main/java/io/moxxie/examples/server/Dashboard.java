package io.moxxie.examples.server;

import io.javalin.http.Context;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The operator's page at {@code /}: plain HTML, JavaScript and CSS shipped in the jar (admin networks often have no
 * internet, so nothing comes from a CDN), read once at start. The page holds no data and no secret, so it loads
 * without the bearer token; its script asks for the token when the API answers 401 and keeps it in the tab's
 * session storage. A strict Content-Security-Policy allows scripts, styles and requests from this server only.
 *
 * <p>Thread-safe: immutable after construction.
 */
final class Dashboard {
    static final String RESOURCES = "/io/moxxie/examples/server/dashboard/";
    static final String CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
            + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private record Asset(byte[] bytes, String type) {
    }

    private final Map<String, Asset> assets = new LinkedHashMap<>();

    Dashboard() {
        add("/", "index.html", "text/html; charset=utf-8");
        add("/dashboard/app.js", "app.js", "text/javascript; charset=utf-8");
        add("/dashboard/app.css", "app.css", "text/css; charset=utf-8");
        add("/dashboard/icon.svg", "icon.svg", "image/svg+xml");
    }

    private void add(String path, String file, String type) {
        try (InputStream in = Dashboard.class.getResourceAsStream(RESOURCES + file)) {
            if (in == null) throw new IllegalStateException("missing resource " + RESOURCES + file);
            assets.put(path, new Asset(in.readAllBytes(), type));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Set<String> paths() {
        return assets.keySet();
    }

    /** Whether this request is for the page (served without the token). */
    boolean serves(String method, String path) {
        return ("GET".equals(method) || "HEAD".equals(method)) && assets.containsKey(path);
    }

    void serve(Context ctx) {
        Asset a = assets.get(ctx.req().getRequestURI());
        if (a == null) a = assets.get("/");
        ctx.status(200);
        ctx.res().setContentType(a.type());
        ctx.header("Cache-Control", "no-cache");
        ctx.header("Content-Security-Policy", CSP);
        ctx.header("X-Content-Type-Options", "nosniff");
        ctx.header("Referrer-Policy", "no-referrer");
        ctx.result(a.bytes());
    }
}
