package io.moxxie.proxmox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.failsafe.CircuitBreaker;
import dev.failsafe.CircuitBreakerOpenException;
import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeException;
import dev.failsafe.RetryPolicy;
import dev.failsafe.RetryPolicyBuilder;
import io.moxxie.core.spi.HypervisorAuthenticationException;
import io.moxxie.core.spi.HypervisorException;
import io.moxxie.core.spi.HypervisorUnavailableException;
import io.moxxie.core.spi.TransientHypervisorException;
import io.moxxie.proxmox.internal.ProxmoxParsers;
import okhttp3.Call;
import okhttp3.EventListener;
import okhttp3.FormBody;
import okhttp3.HttpUrl;
import okhttp3.OkHttpClient;
import okhttp3.Protocol;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.ResponseBody;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLPeerUnverifiedException;
import javax.net.ssl.X509TrustManager;
import java.io.IOException;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The HTTP side of {@link ProxmoxClient}: base-URL failover, authentication (token, or ticket with CSRF token and
 * renewal), the {@code {"data": …}} envelope, Proxmox's error texts, and retries that never repeat a request which
 * may have taken effect. Thread-safe.
 *
 * <p>What is retried (Failsafe, with backoff): reads, always, on connection failures, 5xx (595/596 included) and
 * answers that are not JSON (cut or garbled);
 * writes only when they certainly did not reach Proxmox (no request byte was written, or the proxying node
 * answered 595: it could not even connect to the node it forwards to). Any other write failure without a clear
 * answer is reported as {@link OutcomeUnknownException}, which the caller resolves by looking (task list,
 * guest's node) before anything is sent again.
 *
 * <p>A circuit breaker (Failsafe) stands before every request: after {@code breakerFailures} attempts in a row that
 * reached no Proxmox address at all, Proxmox is known to be down and requests fail at once with
 * {@link HypervisorUnavailableException} (saying since when) instead of each waiting out connection attempts and
 * retries; after {@code breakerDelay} one request is let through to try again, and the first answer closes the breaker.
 * So an unreachable Proxmox holds no caller's thread for long. Any answer from Proxmox, an error included, counts as
 * reachable.
 */
final class ProxmoxHttp implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ProxmoxHttp.class);
    /** Tickets live two hours; renew well before. */
    static final Duration TICKET_RENEW_AFTER = Duration.ofMinutes(90);

    enum Method { GET, POST, PUT, DELETE }

    /** A write got no clear answer: it may or may not have taken effect. Never leaves the client. */
    static final class OutcomeUnknownException extends HypervisorException {
        OutcomeUnknownException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** Certainly had no effect (not sent, or 595): every method may repeat it. */
    static final class NotExecutedException extends TransientHypervisorException {
        /** No Proxmox address took the connection (as opposed to a 595 from a node that answered). */
        final boolean unreachable;

        NotExecutedException(String message, Throwable cause) {
            this(message, cause, false);
        }

        NotExecutedException(String message, Throwable cause, boolean unreachable) {
            super(message, cause);
            this.unreachable = unreachable;
        }
    }

    /** A read failed in a way that may pass; carries the definite error to throw when retries run out (a 500). */
    static final class RetryableReadException extends TransientHypervisorException {
        final HypervisorException whenExhausted;

        RetryableReadException(String message, Throwable cause, HypervisorException whenExhausted) {
            super(message, cause);
            this.whenExhausted = whenExhausted;
        }
    }

    private final List<HttpUrl> bases;
    private final AtomicInteger preferred = new AtomicInteger();
    private final OkHttpClient http;
    private final ProxmoxCredentials credentials;
    private final ObjectMapper mapper = new ObjectMapper();
    private final Clock clock;
    private final RetryPolicy<Object> readRetry;
    private final RetryPolicy<Object> notExecutedRetry;
    private final CircuitBreaker<Object> breaker;
    /** When Proxmox was found unreachable (no answer since), and what the last attempt met; null while it answers. */
    private volatile Instant unreachableSince;
    private volatile String unreachableDetail;
    private ProxmoxParsers.Ticket ticket; // guarded by this
    private Instant ticketObtained;        // guarded by this

    ProxmoxHttp(List<HttpUrl> bases, ProxmoxCredentials credentials, TlsTrust tls, Duration connectTimeout,
                Duration requestTimeout, int maxRetries, Duration retryDelay, Duration maxRetryDelay, int breakerFailures,
                Duration breakerDelay, Clock clock) {
        this.bases = List.copyOf(bases);
        this.credentials = credentials;
        this.clock = clock;
        X509TrustManager tm = tls.trustManager();
        OkHttpClient.Builder b = new OkHttpClient.Builder()
                .connectTimeout(connectTimeout.toMillis(), TimeUnit.MILLISECONDS)
                .readTimeout(requestTimeout.toMillis(), TimeUnit.MILLISECONDS)
                .writeTimeout(requestTimeout.toMillis(), TimeUnit.MILLISECONDS)
                // OkHttp would silently re-send a request whose connection failed, POSTs included: a migrate
                // must never be sent twice, so every repeat is decided here.
                .retryOnConnectionFailure(false)
                .followRedirects(false)
                // pveproxy speaks HTTP/1.1, and only HTTP/1.1 has the reason phrase that carries pre-8.4 errors.
                .protocols(List.of(Protocol.HTTP_1_1))
                .eventListenerFactory(ProxmoxHttp::sendTracker)
                .sslSocketFactory(tls.sslContext(tm).getSocketFactory(), tm);
        if (!tls.verifiesHostname()) b.hostnameVerifier((host, session) -> true);
        this.http = b.build();
        // The builder has checked 0 < retryDelay <= maxRetryDelay.
        this.readRetry = retry(maxRetries, retryDelay, maxRetryDelay, "Retrying Proxmox request after: {}")
                .handleIf(e -> e instanceof TransientHypervisorException || e instanceof OutcomeUnknownException)
                .build();
        this.notExecutedRetry = retry(maxRetries, retryDelay, maxRetryDelay, "Repeating a Proxmox write that was not executed: {}")
                .handle(NotExecutedException.class)
                .build();
        this.breaker = CircuitBreaker.builder()
                .handleIf(e -> e instanceof NotExecutedException n && n.unreachable)
                .withFailureThreshold(breakerFailures)
                .withDelay(breakerDelay)
                .withSuccessThreshold(1)
                .onOpen(e -> log.warn("Proxmox is unreachable ({}): requests fail at once for {} s, then one tries again",
                        unreachableDetail, breakerDelay.toSeconds()))
                .onClose(e -> log.info("Proxmox answers again"))
                .build();
    }

    private static RetryPolicyBuilder<Object> retry(int maxRetries, Duration delay, Duration maxDelay, String logFormat) {
        RetryPolicyBuilder<Object> b = RetryPolicy.builder().withMaxRetries(maxRetries);
        // Failsafe's backoff needs delay < maxDelay; equal ones (retryDelay(d, d)) mean the same wait every time.
        if (delay.compareTo(maxDelay) < 0) b.withBackoff(delay, maxDelay);
        else b.withDelay(delay);
        return b
                .withJitter(0.2)
                .onRetry(ev -> log.debug(logFormat, ev.getLastException().getMessage()));
    }

    // ------------------------------------------------------------------ API

    /** GET, retried; returns the whole envelope ({@code data}, and {@code total} where Proxmox gives it). */
    JsonNode get(String path, Params query) {
        return run(readRetry, () -> attempt(Method.GET, path, query, true));
    }

    /** GET, retried; the envelope's {@code data}. */
    JsonNode getData(String path, Params query) {
        return get(path, query).path("data");
    }

    /**
     * A write. {@code idempotent} writes (a PUT of tags) are retried like reads; the others only when certainly
     * not executed, and otherwise fail with {@link OutcomeUnknownException}.
     */
    JsonNode write(Method method, String path, Params form, boolean idempotent) {
        return run(idempotent ? readRetry : notExecutedRetry, () -> attempt(method, path, form, true)).path("data");
    }

    ProxmoxCredentials credentials() {
        return credentials;
    }

    @Override
    public void close() {
        http.dispatcher().executorService().shutdown();
        http.connectionPool().evictAll();
    }

    // ------------------------------------------------------------------ one attempt, over the base URLs

    private JsonNode run(RetryPolicy<Object> policy, dev.failsafe.function.CheckedSupplier<JsonNode> call) {
        try {
            // The breaker is inside the retries: each attempt counts, and once it is open the retries stop at once.
            return Failsafe.with(policy, breaker).get(call);
        } catch (CircuitBreakerOpenException e) {
            throw unavailable(e);
        } catch (NotExecutedException e) {
            if (e.unreachable && breaker.isOpen()) throw unavailable(e);
            throw e;
        } catch (RetryableReadException e) {
            if (e.whenExhausted != null) throw e.whenExhausted;
            throw e;
        } catch (FailsafeException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException r) throw r;
            throw new HypervisorException("Proxmox request failed: " + c, c);
        }
    }

    private HypervisorUnavailableException unavailable(Throwable cause) {
        Instant since = unreachableSince;
        long retryIn = Math.max(1, (breaker.getRemainingDelay().toMillis() + 999) / 1000);
        return new HypervisorUnavailableException("Proxmox VE is unreachable" + (since == null ? "" : " since " + since) + " ("
                + unreachableDetail + "); requests that need the cluster fail at once until it answers again (next try in "
                + retryIn + " s)", since, cause);
    }

    private JsonNode attempt(Method method, String path, Params params, boolean mayRelogin) {
        String request = method + " " + path;
        Map<String, String> auth = method == Method.GET || !path.equals("/access/ticket") ? authHeaders(method) : Map.of();
        int n = bases.size();
        int start = preferred.get();
        List<String> unreachable = new ArrayList<>();
        IOException lastUnsent = null;
        for (int i = 0; i < n; i++) {
            int idx = (start + i) % n;
            HttpUrl base = bases.get(idx);
            SendFlag flag = new SendFlag();
            Request req = build(base, method, path, params, auth, flag);
            long t0 = System.nanoTime();
            int status;
            String reason;
            String body;
            try (Response r = http.newCall(req).execute()) {
                status = r.code();
                reason = r.message();
                ResponseBody rb = r.body();
                body = rb == null ? "" : rb.string();
            } catch (IOException e) {
                CertificateException cert = certificateProblem(e);
                if (cert != null || e instanceof SSLPeerUnverifiedException) {
                    throw new HypervisorException("TLS verification of " + origin(base) + " failed: "
                            + (cert != null ? cert.getMessage() : e.getMessage()), e);
                }
                if (!flag.sent) {
                    unreachable.add(origin(base) + " (" + describe(e) + ")");
                    lastUnsent = e;
                    if (n > 1) log.info("Proxmox at {} does not answer ({}), trying the next address", origin(base), describe(e));
                    continue;
                }
                String to = request + " to " + origin(base);
                throw noClearAnswer(method, method == Method.GET ? to + " failed: " + describe(e)
                        : to + " got no answer (" + describe(e) + ")", e, null);
            }
            if (idx != start) preferred.compareAndSet(start, idx);
            unreachableSince = null;
            if (log.isDebugEnabled()) {
                log.debug("{} -> {} ({} ms)", request, status, (System.nanoTime() - t0) / 1_000_000);
            }
            if (status == 401 && mayRelogin && !credentials.isApiToken() && !path.equals("/access/ticket")) {
                // An expired or revoked ticket: a 401 had no effect, so log in again and repeat once.
                invalidateTicket();
                return attempt(method, path, params, false);
            }
            return handle(method, request, status, reason, body);
        }
        String detail = "no Proxmox node answered " + request + ": " + String.join(", ", unreachable);
        unreachableDetail = detail;
        if (unreachableSince == null) unreachableSince = clock.instant();
        throw new NotExecutedException(detail, lastUnsent, true);
    }

    private JsonNode handle(Method method, String request, int status, String reason, String body) {
        JsonNode root = parse(body);
        if (status >= 200 && status < 300) {
            if (root != null) return root;
            // A cut or garbled answer is no clear answer, like a dropped connection.
            String notJson = "Proxmox answered " + request + " with something that is not JSON"
                    + " (" + (body == null ? 0 : body.length()) + " characters)";
            throw noClearAnswer(method, notJson, null, new HypervisorException(notJson));
        }
        String message = root != null && root.hasNonNull("message") ? root.get("message").asText().strip() : null;
        if (message == null || message.isEmpty()) message = reason == null || reason.isBlank() ? null : reason.strip();
        Map<String, String> errors = new LinkedHashMap<>();
        if (root != null && root.path("errors").isObject()) {
            root.path("errors").properties().forEach(e -> errors.put(e.getKey(), e.getValue().asText().strip()));
        }
        String text = message == null ? "HTTP " + status : message;
        if (status == 401) {
            throw new HypervisorAuthenticationException("Proxmox refused the " + credentials.describe() + ": " + text
                    + " (HTTP 401, " + request + ")");
        }
        if (status == 403) {
            throw new HypervisorAuthenticationException("Proxmox denied " + request + " to " + credentials.describe() + ": "
                    + text + " (HTTP 403)");
        }
        if (status == 595) {
            // The proxying node could not connect to the node that owns the resource: nothing happened there.
            throw new NotExecutedException("node unreachable: " + text + " (HTTP 595, " + request + ")", null);
        }
        if (status == 596 || status == 597 || status == 599) {
            throw noClearAnswer(method, "node unreachable: " + text + " (HTTP " + status + ", " + request + ")", null, null);
        }
        ProxmoxApiException api = new ProxmoxApiException(status, request, message, errors);
        // No Ceph on the node answering (a Ceph read of a cluster without it): a fact of its installation, not retried.
        if (status == 500 && ProxmoxParsers.noCeph(message)) throw api;
        // Proxmox refuses with a 500 (its text says why): a write so answered was refused, a read may pass on a retry.
        if (status >= 500 && status != 501 && (method == Method.GET || status != 500)) {
            throw noClearAnswer(method, api.getMessage(), api, status == 500 ? api : null);
        }
        throw api;
    }

    /**
     * A request that got no clear answer. A read is safe to repeat: it is retried, and when retries run out
     * {@code whenExhausted} (if any) is what the caller gets. A write may have taken effect whatever came back: it is
     * resolved by looking, never sent again.
     */
    private static HypervisorException noClearAnswer(Method method, String message, Throwable cause,
                                                     HypervisorException whenExhausted) {
        if (method == Method.GET) return new RetryableReadException(message, cause, whenExhausted);
        return new OutcomeUnknownException(message + ": it may or may not have been carried out", cause);
    }

    private JsonNode parse(String body) {
        if (body == null || body.isBlank()) return null;
        try {
            return mapper.readTree(body);
        } catch (IOException e) {
            return null;
        }
    }

    // ------------------------------------------------------------------ requests and auth

    private Request build(HttpUrl base, Method method, String path, Params params, Map<String, String> headers, SendFlag flag) {
        HttpUrl.Builder url = base.newBuilder().addEncodedPathSegments(path.substring(1));
        RequestBody body = null;
        if (method == Method.GET || method == Method.DELETE) {
            if (params != null) params.entries().forEach(e -> url.addQueryParameter(e.getKey(), e.getValue()));
        } else {
            FormBody.Builder fb = new FormBody.Builder(StandardCharsets.UTF_8);
            if (params != null) params.entries().forEach(e -> fb.add(e.getKey(), e.getValue()));
            body = fb.build();
        }
        Request.Builder rb = new Request.Builder().url(url.build()).method(method.name(), body)
                .header("Accept", "application/json").tag(SendFlag.class, flag);
        headers.forEach(rb::header);
        return rb.build();
    }

    private Map<String, String> authHeaders(Method method) {
        if (credentials.isApiToken()) {
            return Map.of("Authorization", "PVEAPIToken=" + credentials.principal() + "=" + credentials.secret());
        }
        ProxmoxParsers.Ticket t = ticket();
        Map<String, String> h = new LinkedHashMap<>();
        h.put("Cookie", "PVEAuthCookie=" + URLEncoder.encode(t.ticket(), StandardCharsets.UTF_8));
        if (method != Method.GET) h.put("CSRFPreventionToken", t.csrfToken());
        return h;
    }

    private synchronized ProxmoxParsers.Ticket ticket() {
        Instant now = clock.instant();
        if (ticket != null && Duration.between(ticketObtained, now).compareTo(TICKET_RENEW_AFTER) < 0) return ticket;
        if (ticket != null) {
            try {
                ticket = login(ticket.ticket(), "renewing the ticket of");
                ticketObtained = now;
                log.debug("Renewed the Proxmox ticket of {}", credentials.principal());
                return ticket;
            } catch (HypervisorException e) {
                log.info("Renewing the Proxmox ticket of {} failed ({}); logging in again", credentials.principal(), e.getMessage());
            }
        }
        ticket = login(credentials.secret(), "logging in");
        ticketObtained = now;
        return ticket;
    }

    private synchronized void invalidateTicket() {
        ticket = null;
    }

    private ProxmoxParsers.Ticket login(String password, String what) {
        Params form = Params.of().put("username", credentials.principal()).put("password", password);
        JsonNode data;
        try {
            data = run(readRetry, () -> attempt(Method.POST, "/access/ticket", form, false)).path("data");
        } catch (HypervisorAuthenticationException e) {
            throw new HypervisorAuthenticationException("Proxmox refused the password of user " + credentials.principal()
                    + " while " + what + " it (authentication failure)");
        }
        ProxmoxParsers.Ticket t = ProxmoxParsers.parseTicket(data);
        if (t.needsTfa()) {
            throw new HypervisorAuthenticationException("user " + credentials.principal()
                    + " needs two-factor authentication, which this client does not do: use an API token");
        }
        if (t.ticket() == null || t.csrfToken() == null) {
            throw new HypervisorAuthenticationException("Proxmox gave no ticket to user " + credentials.principal());
        }
        return t;
    }

    // ------------------------------------------------------------------ helpers

    /** Set once the first request byte is about to be written: before that, a failure had no effect. */
    static final class SendFlag {
        volatile boolean sent;
    }

    private static EventListener sendTracker(Call call) {
        SendFlag f = call.request().tag(SendFlag.class);
        if (f == null) return EventListener.NONE;
        return new EventListener() {
            @Override
            public void requestHeadersStart(Call c) {
                f.sent = true;
            }
        };
    }

    private static CertificateException certificateProblem(Throwable e) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof CertificateException ce) return ce;
        }
        return null;
    }

    private static String describe(IOException e) {
        String m = e.getMessage();
        return e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }

    static String origin(HttpUrl url) {
        return url.scheme() + "://" + url.host() + ":" + url.port();
    }
}
