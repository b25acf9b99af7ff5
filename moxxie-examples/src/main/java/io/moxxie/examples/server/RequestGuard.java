package io.moxxie.examples.server;

import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.IntSupplier;

/**
 * Refuses requests a web page in the operator's browser could make, before any handler runs: the browser can send
 * requests to the loopback server from any site (cross-site request forgery), and a site whose name resolves to
 * 127.0.0.1 can even read the answers (DNS rebinding). Three rules, each answered 403 with the header at fault as
 * {@code field}:
 * <ul>
 *   <li>the {@code Host} header names this server: {@code localhost}, {@code 127.0.0.1}, {@code [::1]} or the bind
 *       address, with the server's port; or an entry of {@code MOXXIE_ALLOWED_HOSTS} ({@code name} for any port,
 *       {@code name:port}). A server bound to every address ({@code 0.0.0.0}, {@code ::}) also takes the machine's
 *       host name and its interface addresses, with its port.</li>
 *   <li>an {@code Origin} header, when present, is such a host (http or https); so is the origin of a
 *       {@code Referer} of a request that changes something.</li>
 *   <li>a request that changes something (any method but GET, HEAD, OPTIONS) has no body, or a JSON one
 *       ({@code Content-Type: application/json}): a browser sends JSON to another site only after a CORS preflight,
 *       which this server never grants (it sends no {@code Access-Control-Allow-Origin}), while a form or a
 *       {@code text/plain} body it sends without asking.</li>
 * </ul>
 * Thread-safe and immutable after construction (the port is read when a request comes, so that port 0 works).
 */
final class RequestGuard {
    private static final Set<String> SAFE_METHODS = Set.of("GET", "HEAD", "OPTIONS");

    /** Host names (lower case; IPv6 in brackets) allowed with the server's own port. */
    private final Set<String> ownNames;
    /** Entries of MOXXIE_ALLOWED_HOSTS: {@code name} (any port) or {@code name:port}. */
    private final Set<String> configured;
    private final IntSupplier port;

    RequestGuard(String bind, List<String> allowedHosts, IntSupplier port) {
        Set<String> names = new LinkedHashSet<>(List.of("localhost", "127.0.0.1", "[::1]"));
        names.add(bracketed(bind.toLowerCase(Locale.ROOT)));
        if (isWildcard(bind)) names.addAll(machineNames());
        this.ownNames = Collections.unmodifiableSet(names);
        this.configured = Set.copyOf(allowedHosts);
        this.port = port;
    }

    /** A parsed request, as much of it as the guard reads. */
    record Headers(String method, String host, String origin, String referer, String contentType, boolean hasBody) {
    }

    /**
     * @throws ApiException 403 naming the header that makes the request look like it comes from another site
     */
    void check(Headers h) {
        if (h.host() == null || !allowed(h.host(), null)) {
            throw new ApiException(403, "Host header " + (h.host() == null ? "missing" : "'" + h.host() + "'")
                    + " does not name this server (allowed: " + String.join(", ", describeAllowed())
                    + "); to reach it under another name, add that name to MOXXIE_ALLOWED_HOSTS", "Host");
        }
        if (h.origin() != null && !allowedOrigin(h.origin())) {
            throw new ApiException(403, "cross-site request refused: Origin '" + h.origin() + "' is not this server", "Origin");
        }
        if (SAFE_METHODS.contains(h.method())) return;
        if (h.origin() == null && h.referer() != null && !allowedOrigin(h.referer())) {
            throw new ApiException(403, "cross-site request refused: Referer '" + h.referer() + "' is not this server", "Referer");
        }
        if (h.contentType() != null ? !isJson(h.contentType()) : h.hasBody()) {
            throw new ApiException(403, "a " + h.method() + " request must have a JSON body (Content-Type: application/json) or none, "
                    + "Content-Type was " + (h.contentType() == null ? "missing" : "'" + h.contentType() + "'")
                    + " (curl: -H 'Content-Type: application/json')", "Content-Type");
        }
    }

    private static boolean isJson(String contentType) {
        int semi = contentType.indexOf(';');
        String media = (semi < 0 ? contentType : contentType.substring(0, semi)).trim().toLowerCase(Locale.ROOT);
        return media.equals("application/json");
    }

    /** {@code name[:port]} as a Host header gives it; {@code defaultPort} when the header has no port (null: none). */
    private boolean allowed(String hostHeader, Integer defaultPort) {
        String h = hostHeader.trim().toLowerCase(Locale.ROOT);
        String name = h;
        String portText = null;
        if (h.startsWith("[")) {
            int close = h.indexOf(']');
            if (close < 0) return false;
            name = h.substring(0, close + 1);
            String rest = h.substring(close + 1);
            if (!rest.isEmpty()) {
                if (!rest.startsWith(":")) return false;
                portText = rest.substring(1);
            }
        } else if (h.indexOf(':') >= 0) {
            if (h.indexOf(':') != h.lastIndexOf(':')) return false; // IPv6 without brackets is no Host header
            name = h.substring(0, h.indexOf(':'));
            portText = h.substring(h.indexOf(':') + 1);
        }
        Integer p = defaultPort;
        if (portText != null) {
            try {
                p = Integer.parseInt(portText);
            } catch (NumberFormatException e) {
                return false;
            }
        }
        if (name.isEmpty()) return false;
        if (configured.contains(name)) return true;
        if (p != null && configured.contains(name + ":" + p)) return true;
        return p != null && p == port.getAsInt() && ownNames.contains(name);
    }

    private boolean allowedOrigin(String value) {
        URI uri;
        try {
            uri = new URI(value.trim());
        } catch (URISyntaxException e) {
            return false;
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https") || uri.getRawAuthority() == null || uri.getRawAuthority().contains("@")) {
            return false;
        }
        return allowed(uri.getRawAuthority(), scheme.equals("https") ? 443 : 80);
    }

    private List<String> describeAllowed() {
        List<String> out = new java.util.ArrayList<>();
        for (String n : ownNames) out.add(n + ":" + port.getAsInt());
        out.addAll(configured);
        return out;
    }

    private static boolean isWildcard(String bind) {
        try {
            return InetAddress.getByName(bind).isAnyLocalAddress();
        } catch (UnknownHostException e) {
            return false;
        }
    }

    /** An IPv6 address in brackets, as a URL or a Host header writes it; a name or an IPv4 address as it is. */
    static String bracketed(String address) {
        return address.contains(":") && !address.startsWith("[") ? "[" + address + "]" : address;
    }

    /** The machine's host name and interface addresses: what clients may call a server bound to every address. */
    private static Set<String> machineNames() {
        Set<String> out = new LinkedHashSet<>();
        try {
            InetAddress local = InetAddress.getLocalHost();
            out.add(local.getHostName().toLowerCase(Locale.ROOT));
            out.add(local.getCanonicalHostName().toLowerCase(Locale.ROOT));
        } catch (UnknownHostException e) {
            // no name: addresses only
        }
        try {
            for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                for (InetAddress a : Collections.list(nif.getInetAddresses())) {
                    String s = a.getHostAddress().toLowerCase(Locale.ROOT);
                    int zone = s.indexOf('%');
                    out.add(bracketed(zone < 0 ? s : s.substring(0, zone)));
                }
            }
        } catch (SocketException e) {
            // no interfaces listed: names only
        }
        return out;
    }
}
