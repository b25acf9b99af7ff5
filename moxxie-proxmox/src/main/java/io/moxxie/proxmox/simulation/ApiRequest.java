package io.moxxie.proxmox.simulation;

import io.moxxie.core.Checks;

import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * One request to the simulated Proxmox API, independent of the transport that carried it.
 *
 * <p>Immutable and thread-safe.
 *
 * @param method  the HTTP method, upper case ({@code GET}, {@code POST}, {@code PUT}, {@code DELETE})
 * @param path    the decoded path below {@code /api2/json}, e.g. {@code /nodes/pve1/qemu/100/migrate}
 * @param params  query and form parameters, in the order they came (form parameters win over query parameters of
 *                the same name, as in pveproxy)
 * @param headers request headers; names are looked up ignoring case, see {@link #header(String)}
 */
public record ApiRequest(String method, String path, Map<String, String> params, Map<String, String> headers) {
    /** Where the JSON API lives on a Proxmox node: {@code https://HOST:8006/api2/json/…}. */
    public static final String API_PREFIX = "/api2/json";

    /**
     * @throws IllegalArgumentException when an argument is null, or {@code path} does not start with {@code /}
     */
    public ApiRequest {
        method = Checks.notNull("method", method).toUpperCase(Locale.ROOT);
        Checks.notNull("path", path);
        if (!path.startsWith("/")) throw new IllegalArgumentException("path must start with '/', was '" + path + "'");
        params = Collections.unmodifiableMap(new LinkedHashMap<>(Checks.notNull("params", params)));
        Map<String, String> h = new TreeMap<>(String.CASE_INSENSITIVE_ORDER);
        h.putAll(Checks.notNull("headers", headers));
        headers = Collections.unmodifiableMap(h);
    }

    /** The header's value, the name compared ignoring case; {@code null} when the request has none. */
    public String header(String name) {
        return headers.get(name);
    }

    /**
     * Decodes a request as an HTTP server sees it. The query string and, unless the method is {@code GET}, the body
     * are read as {@code application/x-www-form-urlencoded}; a key repeated in one of them is joined with {@code ,}
     * (as pveproxy does for list formats). Of repeated headers the first value counts.
     *
     * @param method   the HTTP method
     * @param uriPath  the decoded path of the request URI, {@code /api2/json} included
     * @param rawQuery the query string as sent (still encoded), or {@code null}
     * @param body     the request body as text, or {@code null}
     * @param headers  the request headers
     * @return the request, or empty when the path is not below {@code /api2/json} (pveproxy answers 501 "no such uri")
     * @throws IllegalArgumentException when {@code method}, {@code uriPath} or {@code headers} is null, or a parameter
     *                                  has a malformed {@code %} escape
     */
    public static Optional<ApiRequest> fromHttp(String method, String uriPath, String rawQuery, String body,
                                                Map<String, List<String>> headers) {
        Checks.notNull("method", method);
        Checks.notNull("uriPath", uriPath);
        Checks.notNull("headers", headers);
        if (!uriPath.startsWith(API_PREFIX + "/")) return Optional.empty();
        Map<String, String> params = new LinkedHashMap<>();
        decodeForm(rawQuery).forEach(params::putIfAbsent);
        if (!method.equalsIgnoreCase("GET")) params.putAll(decodeForm(body));
        Map<String, String> first = new LinkedHashMap<>();
        headers.forEach((name, values) -> {
            if (name != null && values != null && !values.isEmpty()) first.putIfAbsent(name, values.get(0));
        });
        return Optional.of(new ApiRequest(method, uriPath.substring(API_PREFIX.length()), params, first));
    }

    private static Map<String, String> decodeForm(String form) {
        Map<String, String> out = new LinkedHashMap<>();
        if (form == null || form.isEmpty()) return out;
        for (String kv : form.split("&")) {
            if (kv.isEmpty()) continue;
            int eq = kv.indexOf('=');
            String k = decode(eq < 0 ? kv : kv.substring(0, eq));
            String v = eq < 0 ? "" : decode(kv.substring(eq + 1));
            out.merge(k, v, (a, b) -> a + "," + b);
        }
        return out;
    }

    private static String decode(String s) {
        return URLDecoder.decode(s, StandardCharsets.UTF_8);
    }
}
