package io.moxxie.proxmox;

import io.moxxie.core.ValidationException;

import io.moxxie.core.Checks;

import java.util.Objects;
import java.util.regex.Pattern;

/**
 * How the client proves who it is. An API token ({@code USER@REALM!TOKENID=SECRET}, sent as
 * {@code Authorization: PVEAPIToken=…}) is the recommended way for automation: stateless, no CSRF token, and it
 * can be given exactly the privileges a drain needs ({@code VM.Migrate}, {@code VM.PowerMgmt},
 * {@code VM.Config.Options}, {@code VM.Audit}, {@code Sys.Audit} propagating over {@code /nodes}; {@code Sys.Console}
 * on {@code /} without propagate for HA moves; see {@link ProxmoxClient#checkAccess()}).
 * A user and password is the alternative: the client gets a ticket from {@code POST /access/ticket}, sends the
 * CSRF token on writes and renews the ticket before its two-hour lifetime ends.
 *
 * <p>The secret is never part of {@link #toString()}, of log lines or of exception messages; only
 * {@link #principal()} (the user, and the token id) is shown. Immutable and thread-safe.
 */
public final class ProxmoxCredentials {
    private static final Pattern USER = Pattern.compile("^[^\\s@!:=]+@[A-Za-z][A-Za-z0-9.\\-_]*$");
    private static final Pattern TOKEN_ID = Pattern.compile("^[^\\s@!:=]+@[A-Za-z][A-Za-z0-9.\\-_]*![A-Za-z][A-Za-z0-9.\\-_]*$");

    enum Kind { API_TOKEN, PASSWORD }

    private final Kind kind;
    private final String principal;
    private final String secret;

    private ProxmoxCredentials(Kind kind, String principal, String secret) {
        this.kind = kind;
        this.principal = principal;
        this.secret = secret;
    }

    /**
     * An API token in Proxmox's own form {@code USER@REALM!TOKENID=SECRET}, e.g.
     * {@code moxxie@pve!drain=8a1c…}. The message of a malformed value never repeats the value.
     */
    public static ProxmoxCredentials apiToken(String token) {
        Checks.notNull("token", token);
        String t = token.trim();
        if (t.startsWith("PVEAPIToken=")) t = t.substring("PVEAPIToken=".length());
        int eq = t.indexOf('=');
        if (eq <= 0 || eq == t.length() - 1) {
            throw new ValidationException("token", null, "token must have the form USER@REALM!TOKENID=SECRET"); // a secret: not kept
        }
        return apiToken(t.substring(0, eq), t.substring(eq + 1));
    }

    /** An API token given as its id ({@code USER@REALM!TOKENID}) and secret. */
    public static ProxmoxCredentials apiToken(String tokenId, String secret) {
        Checks.notNull("tokenId", tokenId);
        Checks.notNull("secret", secret);
        if (!TOKEN_ID.matcher(tokenId.trim()).matches()) {
            throw new ValidationException("tokenId", tokenId, "tokenId must have the form USER@REALM!TOKENID, was '" + tokenId + "'");
        }
        if (secret.isBlank()) throw new ValidationException("secret", null, "secret cannot be empty");
        return new ProxmoxCredentials(Kind.API_TOKEN, tokenId.trim(), secret.trim());
    }

    /** A user ({@code USER@REALM}, e.g. {@code root@pam}) and password: ticket login. */
    public static ProxmoxCredentials password(String user, String password) {
        Checks.notNull("user", user);
        Checks.notNull("password", password);
        if (!USER.matcher(user.trim()).matches()) {
            throw new ValidationException("user", user, "user must have the form USER@REALM, was '" + user + "'");
        }
        if (password.isEmpty()) throw new ValidationException("password", null, "password cannot be empty");
        return new ProxmoxCredentials(Kind.PASSWORD, user.trim(), password);
    }

    /** {@code user@realm!tokenid} for a token, {@code user@realm} for a password: safe to show. */
    public String principal() {
        return principal;
    }

    public boolean isApiToken() {
        return kind == Kind.API_TOKEN;
    }

    Kind kind() {
        return kind;
    }

    String secret() {
        return secret;
    }

    /** How messages name these credentials, e.g. {@code API token moxxie@pve!drain}. */
    String describe() {
        return (kind == Kind.API_TOKEN ? "API token " : "user ") + principal;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ProxmoxCredentials c && c.kind == kind && c.principal.equals(principal) && c.secret.equals(secret);
    }

    @Override
    public int hashCode() {
        return Objects.hash(kind, principal);
    }

    @Override
    public String toString() {
        return (kind == Kind.API_TOKEN ? "ApiToken[" : "Password[") + principal + ", secret=***]";
    }
}
