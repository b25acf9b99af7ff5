package io.moxxie.examples.server;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The server's configuration: environment variables, each of which can also be given as a flag of the same name
 * ({@code --MOXXIE_PORT=9090}, {@code --MOXXIE_PORT 9090}) or its short form ({@code --port=9090}). Flags win over
 * the environment. Immutable; {@link #from} validates everything and says what is wrong.
 */
public record ServerConfig(int port, String bind, String apiToken, String jdbcUrl, String jdbcUser, String jdbcPassword,
                           Path dataDir, double demoSpeed, String pveUrl, String pveToken, String pveFingerprint,
                           String pveCa, boolean pveInsecure, boolean pveAllowPlainHttp, List<String> allowedHosts,
                           Duration idleTimeout, Duration lease, Path logFile, String logLevel,
                           Map<String, String> rolloutActions) {
    public static final int DEFAULT_PORT = 8080;
    public static final String DEFAULT_BIND = "127.0.0.1";
    public static final String DEFAULT_DATA_DIR = "./moxxie-data";
    /** Simulated seconds per real second in the demo: a hard drain of hv7 takes about 20 s. */
    public static final double DEFAULT_DEMO_SPEED = 10;
    /** A bearer token shorter than this is refused when the API is reachable from other machines. */
    public static final int MIN_TOKEN_LENGTH = 16;
    /** How long a connection may stay silent, while a request is read or between requests, before it is closed. */
    public static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(30);
    /** The log file's name in the data directory. */
    public static final String DEFAULT_LOG_FILE = "moxxie.log";
    public static final List<String> LOG_LEVELS = List.of("ERROR", "WARN", "INFO", "DEBUG", "TRACE");
    /**
     * The prefix of the settings that define the rollouts' command actions: {@code MOXXIE_ROLLOUT_ACTION_APT_UPGRADE}
     * defines the action {@code apt-upgrade}. Commands come from the configuration only, never from a request.
     */
    public static final String ROLLOUT_ACTION_PREFIX = "MOXXIE_ROLLOUT_ACTION_";

    /** Every setting: name, default, meaning. The README's configuration table and {@code --help} come from here. */
    public static final List<Option> OPTIONS = List.of(
            new Option("MOXXIE_PORT", "8080", "HTTP port (0: any free port)"),
            new Option("MOXXIE_BIND", "127.0.0.1", "address to listen on; anything but loopback requires MOXXIE_API_TOKEN"),
            new Option("MOXXIE_API_TOKEN", "(none)", "when set, every request needs 'Authorization: Bearer <token>'; at least "
                    + MIN_TOKEN_LENGTH + " characters when MOXXIE_BIND is not loopback"),
            new Option("MOXXIE_ALLOWED_HOSTS", "(none)", "more names the Host header may give (comma-separated, name or name:port), "
                    + "e.g. the name of a reverse proxy; always allowed: localhost, 127.0.0.1, [::1] and MOXXIE_BIND, with the port"),
            new Option("MOXXIE_HTTP_IDLE_TIMEOUT", "30", "seconds a connection may stay silent (reading a request, or between requests) before it is closed"),
            new Option("MOXXIE_LEASE", "60", "seconds a drain stays owned by a server that stopped renewing it before another server takes it over"),
            new Option("MOXXIE_JDBC_URL", "H2 file under the data dir", "JDBC URL of the maintenance store (H2, PostgreSQL, MariaDB)"),
            new Option("MOXXIE_JDBC_USER", "(none)", "database user"),
            new Option("MOXXIE_JDBC_PASSWORD", "(none)", "database password"),
            new Option("MOXXIE_DATA_DIR", DEFAULT_DATA_DIR, "demo cluster state, owner id, default H2 database"),
            new Option("MOXXIE_DEMO_SPEED", "10", "simulated seconds per real second in the demo cluster"),
            new Option("MOXXIE_PVE_URL", "(none: demo cluster)", "Proxmox VE API, e.g. https://pve1:8006; drives that cluster instead of the demo"),
            new Option("MOXXIE_PVE_TOKEN", "(none)", "API token user@realm!tokenid=secret"),
            new Option("MOXXIE_PVE_FINGERPRINT", "(none)", "SHA-256 fingerprint of the PVE certificate to pin"),
            new Option("MOXXIE_PVE_CA", "(none)", "PEM file of the CA that signed the PVE certificate"),
            new Option("MOXXIE_PVE_INSECURE", "false", "accept any certificate (testing only; not with MOXXIE_PVE_FINGERPRINT or MOXXIE_PVE_CA)"),
            new Option("MOXXIE_PVE_ALLOW_PLAIN_HTTP", "false", "allow an http:// MOXXIE_PVE_URL, which sends the API token in clear text (labs only)"),
            new Option("MOXXIE_LOG_FILE", "<data dir>/moxxie.log", "log file (rotated at 10 MB, 5 kept); 'none' logs to the console only"),
            new Option("MOXXIE_LOG_LEVEL", "INFO", "ERROR, WARN, INFO, DEBUG (the drain explains its decisions) or TRACE"),
            new Option(ROLLOUT_ACTION_PREFIX + "<NAME>", "(none)", "a shell command a rollout may run on each node as action "
                    + "<name> (lower-cased, '_' as '-'), with MOXXIE_NODE, MOXXIE_ROLLOUT_ID, MOXXIE_PHASE in its environment"));

    /** One setting. */
    public record Option(String name, String defaultValue, String meaning) {
        /** {@code MOXXIE_DEMO_SPEED} → {@code demo-speed}. */
        public String shortFlag() {
            return name.substring("MOXXIE_".length()).toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    public ServerConfig {
        if (port < 0 || port > 65535) throw new IllegalArgumentException("MOXXIE_PORT must be between 0 and 65535, was " + port);
        if (bind == null || bind.isBlank()) throw new IllegalArgumentException("MOXXIE_BIND cannot be empty");
        if (!(demoSpeed > 0) || demoSpeed > 100_000) {
            throw new IllegalArgumentException("MOXXIE_DEMO_SPEED must be > 0 and <= 100000, was " + demoSpeed);
        }
        apiToken = blankToNull(apiToken);
        jdbcUrl = blankToNull(jdbcUrl);
        pveUrl = blankToNull(pveUrl);
        pveToken = blankToNull(pveToken);
        pveFingerprint = blankToNull(pveFingerprint);
        pveCa = blankToNull(pveCa);
        logLevel = logLevel == null || logLevel.isBlank() ? "INFO" : logLevel.trim().toUpperCase(Locale.ROOT);
        if (!LOG_LEVELS.contains(logLevel)) {
            throw new IllegalArgumentException("MOXXIE_LOG_LEVEL must be one of " + String.join(", ", LOG_LEVELS) + ", was '" + logLevel + "'");
        }
        if (pveUrl != null && pveToken == null) {
            throw new IllegalArgumentException("MOXXIE_PVE_URL is set but MOXXIE_PVE_TOKEN is not: the server needs an API token "
                    + "(user@realm!tokenid=secret) to drive " + pveUrl);
        }
        if (pveInsecure && (pveFingerprint != null || pveCa != null)) {
            throw new IllegalArgumentException("MOXXIE_PVE_INSECURE=true contradicts " + (pveFingerprint != null ? "MOXXIE_PVE_FINGERPRINT" : "MOXXIE_PVE_CA")
                    + ": the one accepts any certificate, the other says which one to trust. Keep "
                    + (pveFingerprint != null ? "MOXXIE_PVE_FINGERPRINT" : "MOXXIE_PVE_CA") + " and remove MOXXIE_PVE_INSECURE.");
        }
        if (pveUrl != null) {
            for (String url : pveUrl.split("\\s*,\\s*")) {
                String scheme = url.contains("://") ? url.substring(0, url.indexOf("://")).toLowerCase(Locale.ROOT) : "";
                if (scheme.equals("https")) continue;
                if (scheme.equals("http") && pveAllowPlainHttp) continue;
                if (scheme.equals("http")) {
                    throw new IllegalArgumentException("MOXXIE_PVE_URL " + url + " is plain HTTP: the API token would cross the network in clear "
                            + "text with every request. Proxmox VE serves its API over HTTPS on port 8006 (https://<node>:8006); use that, "
                            + "with MOXXIE_PVE_FINGERPRINT or MOXXIE_PVE_CA for a self-signed certificate. For a lab only, "
                            + "MOXXIE_PVE_ALLOW_PLAIN_HTTP=true allows it.");
                }
                throw new IllegalArgumentException("MOXXIE_PVE_URL must start with https://, was '" + url + "'");
            }
        }
        allowedHosts = allowedHosts == null ? List.of() : List.copyOf(allowedHosts);
        idleTimeout = idleTimeout == null ? DEFAULT_IDLE_TIMEOUT : idleTimeout;
        lease = lease == null ? io.moxxie.core.service.MaintenanceService.DEFAULT_LEASE : lease;
        requirePositive("MOXXIE_HTTP_IDLE_TIMEOUT", idleTimeout);
        requirePositive("MOXXIE_LEASE", lease);
        rolloutActions = rolloutActions == null ? Map.of() : java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(rolloutActions));
        for (Map.Entry<String, String> a : rolloutActions.entrySet()) {
            if (!a.getKey().matches("[a-z][a-z0-9_-]{0,63}")) {
                throw new IllegalArgumentException(ROLLOUT_ACTION_PREFIX + "<NAME> must name an action with letters, digits and '_' "
                        + "(at most 64, starting with a letter), was '" + a.getKey() + "'");
            }
            if (a.getKey().equals(io.moxxie.core.plan.RolloutRequest.CONTINUE_ACTION)) {
                throw new IllegalArgumentException(ROLLOUT_ACTION_PREFIX + "CONTINUE cannot be set: 'continue' is the built-in action "
                        + "that waits for an operator's POST /api/v1/rollouts/{id}/continue");
            }
            if (a.getValue() == null || a.getValue().isBlank()) {
                throw new IllegalArgumentException(ROLLOUT_ACTION_PREFIX + actionSetting(a.getKey()) + " is empty: give the shell command "
                        + "the action runs, e.g. ssh root@$MOXXIE_NODE 'apt-get -y dist-upgrade && reboot'");
            }
        }
    }

    /** {@code apt-upgrade} → {@code APT_UPGRADE}. */
    private static String actionSetting(String action) {
        return action.toUpperCase(Locale.ROOT).replace('-', '_');
    }

    /** {@code APT_UPGRADE} → {@code apt-upgrade}. */
    static String actionName(String setting) {
        return setting.toLowerCase(Locale.ROOT).replace('_', '-');
    }

    private static void requirePositive(String name, Duration d) {
        if (d.isNegative() || d.isZero()) throw new IllegalArgumentException(name + " must be > 0 seconds, was " + d.toMillis() / 1000.0);
    }

    /** Every default: the demo cluster on 127.0.0.1:8080, state under ./moxxie-data. */
    public static ServerConfig defaults() {
        return from(Map.of(), new String[0]);
    }

    /**
     * Reads {@code env} (usually {@link System#getenv()}) and then {@code args}.
     *
     * @throws IllegalArgumentException an unknown flag, a flag without value, a value that does not parse; the message says which
     */
    public static ServerConfig from(Map<String, String> env, String[] args) {
        Map<String, String> values = new LinkedHashMap<>();
        Map<String, String> actions = new java.util.TreeMap<>();
        for (Option o : OPTIONS) {
            String v = env.get(o.name());
            if (v != null) values.put(o.name(), v);
        }
        for (Map.Entry<String, String> e : env.entrySet()) {
            if (e.getKey().startsWith(ROLLOUT_ACTION_PREFIX)) actions.put(actionName(e.getKey().substring(ROLLOUT_ACTION_PREFIX.length())), e.getValue());
        }
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (!a.startsWith("--")) throw new IllegalArgumentException("unexpected argument '" + a + "' (flags look like --MOXXIE_PORT=9090)");
            String key = a.substring(2);
            String value = null;
            int eq = key.indexOf('=');
            if (eq >= 0) {
                value = key.substring(eq + 1);
                key = key.substring(0, eq);
            }
            String action = rolloutAction(key);
            if (action != null) {
                if (value == null) {
                    if (i + 1 >= args.length) throw new IllegalArgumentException("flag --" + key + " needs a value");
                    value = args[++i];
                }
                actions.put(action, value);
                continue;
            }
            Option o = option(key);
            if (value == null) {
                // A switch (an option that is false by default) given alone means true.
                if (o.defaultValue().equals("false") && (i + 1 >= args.length || args[i + 1].startsWith("--"))) {
                    value = "true";
                } else {
                    if (i + 1 >= args.length) throw new IllegalArgumentException("flag --" + key + " needs a value");
                    value = args[++i];
                }
            }
            values.put(o.name(), value);
        }
        return new ServerConfig(
                parseInt("MOXXIE_PORT", values.getOrDefault("MOXXIE_PORT", Integer.toString(DEFAULT_PORT))),
                values.getOrDefault("MOXXIE_BIND", DEFAULT_BIND).trim(),
                values.get("MOXXIE_API_TOKEN"),
                values.get("MOXXIE_JDBC_URL"),
                values.get("MOXXIE_JDBC_USER"),
                values.get("MOXXIE_JDBC_PASSWORD"),
                Path.of(values.getOrDefault("MOXXIE_DATA_DIR", DEFAULT_DATA_DIR)),
                parseDouble("MOXXIE_DEMO_SPEED", values.getOrDefault("MOXXIE_DEMO_SPEED", Double.toString(DEFAULT_DEMO_SPEED))),
                values.get("MOXXIE_PVE_URL"),
                values.get("MOXXIE_PVE_TOKEN"),
                values.get("MOXXIE_PVE_FINGERPRINT"),
                values.get("MOXXIE_PVE_CA"),
                parseBoolean("MOXXIE_PVE_INSECURE", values.getOrDefault("MOXXIE_PVE_INSECURE", "false")),
                parseBoolean("MOXXIE_PVE_ALLOW_PLAIN_HTTP", values.getOrDefault("MOXXIE_PVE_ALLOW_PLAIN_HTTP", "false")),
                parseHosts(values.get("MOXXIE_ALLOWED_HOSTS")),
                parseSeconds("MOXXIE_HTTP_IDLE_TIMEOUT", values.get("MOXXIE_HTTP_IDLE_TIMEOUT")),
                parseSeconds("MOXXIE_LEASE", values.get("MOXXIE_LEASE")),
                blankToNull(values.get("MOXXIE_LOG_FILE")) == null ? null : Path.of(values.get("MOXXIE_LOG_FILE").trim()),
                values.get("MOXXIE_LOG_LEVEL"),
                actions);
    }

    /** The action a flag defines ({@code MOXXIE_ROLLOUT_ACTION_UPGRADE} or {@code rollout-action-upgrade}), or null. */
    private static String rolloutAction(String key) {
        if (key.startsWith(ROLLOUT_ACTION_PREFIX)) return actionName(key.substring(ROLLOUT_ACTION_PREFIX.length()));
        String shortPrefix = "rollout-action-";
        if (key.startsWith(shortPrefix)) return key.substring(shortPrefix.length());
        return null;
    }

    /**
     * Where the server writes its log: {@code MOXXIE_LOG_FILE}, by default {@code moxxie.log} in the data directory;
     * {@code null} when {@code MOXXIE_LOG_FILE=none} (console only).
     */
    public Path effectiveLogFile() {
        if (logFile == null) return dataDir.resolve(DEFAULT_LOG_FILE);
        return logFile.toString().equalsIgnoreCase("none") ? null : logFile;
    }

    /** {@code true} when the server drives the built-in demo cluster (no {@code MOXXIE_PVE_URL}). */
    public boolean demo() {
        return pveUrl == null;
    }

    /** Whether {@link #bind()} is a loopback address (only this machine can connect). */
    public boolean loopbackOnly() {
        try {
            for (InetAddress a : InetAddress.getAllByName(bind)) {
                if (!a.isLoopbackAddress()) return false;
            }
            return true;
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException("MOXXIE_BIND '" + bind + "' is not an address of this machine: " + e.getMessage());
        }
    }

    /**
     * Refuses what would be unsafe to start: an API open to the network without a token, or with one short enough
     * to guess.
     *
     * @throws IllegalStateException saying why and what to do
     */
    public void checkSafeToServe() {
        if (loopbackOnly()) return;
        if (apiToken == null) {
            throw new IllegalStateException("Refusing to start: MOXXIE_BIND=" + bind + " makes the API reachable from other machines, "
                    + "and MOXXIE_API_TOKEN is not set, so anyone who can reach it could drain your nodes. Set MOXXIE_API_TOKEN "
                    + "(clients then send 'Authorization: Bearer <token>') or bind to 127.0.0.1.");
        }
        if (apiToken.length() < MIN_TOKEN_LENGTH) {
            throw new IllegalStateException("Refusing to start: MOXXIE_BIND=" + bind + " makes the API reachable from other machines, "
                    + "and MOXXIE_API_TOKEN has " + apiToken.length() + " characters, fewer than " + MIN_TOKEN_LENGTH
                    + ": a short token can be guessed by trying. Use a long random one, e.g. $(openssl rand -hex 32).");
        }
    }

    public ServerConfig withPort(int newPort) {
        return new ServerConfig(newPort, bind, apiToken, jdbcUrl, jdbcUser, jdbcPassword, dataDir, demoSpeed, pveUrl, pveToken,
                pveFingerprint, pveCa, pveInsecure, pveAllowPlainHttp, allowedHosts, idleTimeout, lease, logFile, logLevel, rolloutActions);
    }

    /** The usage text of {@code --help}. */
    public static String usage() {
        StringBuilder sb = new StringBuilder("Usage: java -jar moxxie-server.jar [serve] [--NAME=value ...]\n\n"
                + "Serves the Moxxie REST API (the node maintenance guide's /api/v1/...). Every setting is an environment\n"
                + "variable and the flag of the same name (--MOXXIE_PORT=9090) or its short form (--port=9090):\n\n");
        for (Option o : OPTIONS) {
            sb.append(String.format(Locale.ROOT, "  %-24s %-28s %s%n", o.name(), o.defaultValue(), o.meaning()));
        }
        return sb.toString();
    }

    /** Never prints the API token, the database password, the PVE token or the rollout actions' commands (names only). */
    @Override
    public String toString() {
        return "ServerConfig[port=" + port + ", bind=" + bind + ", apiToken=" + (apiToken == null ? "none" : "****")
                + ", jdbcUrl=" + redactUrl(jdbcUrl) + ", jdbcUser=" + jdbcUser + ", dataDir=" + dataDir + ", demoSpeed=" + demoSpeed
                + ", pveUrl=" + pveUrl + ", pveInsecure=" + pveInsecure + ", pveAllowPlainHttp=" + pveAllowPlainHttp
                + ", allowedHosts=" + allowedHosts + ", idleTimeout=" + idleTimeout + ", lease=" + lease + ", logFile=" + effectiveLogFile()
                + ", logLevel=" + logLevel + ", rolloutActions=" + rolloutActions.keySet() + "]";
    }

    /** A JDBC URL with any {@code password=…} parameter masked. */
    public static String redactUrl(String url) {
        if (url == null) return null;
        return url.replaceAll("(?i)(password=)[^;&]*", "$1****");
    }

    private static Option option(String key) {
        List<String> known = new ArrayList<>();
        for (Option o : OPTIONS) {
            if (o.name().equals(key) || o.shortFlag().equals(key)) return o;
            known.add("--" + o.name());
        }
        throw new IllegalArgumentException("unknown flag --" + key + " (known: " + String.join(", ", known) + ")");
    }

    private static int parseInt(String name, String value) {
        try {
            return Integer.parseInt(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a whole number, was '" + value + "'");
        }
    }

    private static double parseDouble(String name, String value) {
        try {
            return Double.parseDouble(value.trim());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be a number, was '" + value + "'");
        }
    }

    /** Whole or decimal seconds; absent gives null (the default). */
    private static Duration parseSeconds(String name, String value) {
        if (value == null || value.isBlank()) return null;
        double seconds = parseDouble(name, value);
        if (!(seconds > 0) || seconds > 86_400) throw new IllegalArgumentException(name + " must be > 0 and <= 86400 seconds, was '" + value + "'");
        return Duration.ofMillis(Math.round(seconds * 1000));
    }

    /** {@code a.example, b.example:8443, [fe80::1]:8080}: lower-cased, blanks dropped; a scheme or a path is refused. */
    private static List<String> parseHosts(String value) {
        List<String> hosts = new ArrayList<>();
        if (value == null) return hosts;
        for (String h : value.split(",")) {
            String host = h.trim().toLowerCase(Locale.ROOT);
            if (host.isEmpty()) continue;
            if (!host.matches("(\\[[0-9a-f:.]+]|[a-z0-9_.-]+)(:\\d{1,5})?")) {
                throw new IllegalArgumentException("MOXXIE_ALLOWED_HOSTS must list host names, each optionally with :port "
                        + "(e.g. moxxie.example.org,moxxie.example.org:8443), was '" + h.trim() + "'");
            }
            hosts.add(host);
        }
        return hosts;
    }

    private static boolean parseBoolean(String name, String value) {
        String v = value.trim().toLowerCase(Locale.ROOT);
        if (v.equals("true") || v.equals("1") || v.equals("yes")) return true;
        if (v.equals("false") || v.equals("0") || v.equals("no") || v.isEmpty()) return false;
        throw new IllegalArgumentException(name + " must be true or false, was '" + value + "'");
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }
}
