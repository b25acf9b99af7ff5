package io.moxxie.examples.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.javalin.Javalin;
import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.rollout.RolloutService;
import io.moxxie.core.rollout.RolloutStatus;
import io.moxxie.core.service.MaintenanceService;
import io.moxxie.examples.demo.DemoCluster;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The REST server of the user guide: a {@link MaintenanceService} and its {@link RolloutService} over the configured
 * cluster (the demo cluster by default) and store, behind Javalin (Jetty) as {@link HttpApi} sets it up. {@link #start} returns once the server answers requests and has
 * taken back the drains and rollouts a previous process left unfinished.
 *
 * <p>The data directory holds what must outlive the process: the owner id (stable, so that this server's own
 * unfinished drains are taken back at once after a restart instead of after their lease), the demo cluster's state,
 * and the default database. One server at a time uses a data directory (a file lock says so).
 */
public final class MoxxieServer implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MoxxieServer.class);
    static final String OWNER_FILE = "owner-id";
    static final String LOCK_FILE = ".lock";
    /** How many of the latest rollouts the start and stop lines look through for unfinished ones. */
    private static final int MAX_LISTED_ROLLOUTS = 100;

    private final ServerConfig config;
    private final FileChannel lockChannel;
    private final FileLock lock;
    private final Backends.Opened<?> store;
    private final Backends.Cluster cluster;
    private final MaintenanceService service;
    private final Backends.Opened<RolloutService> rollouts;
    private final Javalin http;
    private final EventStream events;
    private final String startLine;
    private final List<String> recovered;

    private MoxxieServer(ServerConfig config, FileChannel lockChannel, FileLock lock, Backends.Opened<?> store, Backends.Cluster cluster,
                         MaintenanceService service, Backends.Opened<RolloutService> rollouts, Javalin http, EventStream events,
                         String startLine, List<String> recovered) {
        this.rollouts = rollouts;
        this.events = events;
        this.config = config;
        this.lockChannel = lockChannel;
        this.lock = lock;
        this.store = store;
        this.cluster = cluster;
        this.service = service;
        this.http = http;
        this.startLine = startLine;
        this.recovered = recovered;
    }

    /**
     * Starts the server.
     *
     * @throws IllegalStateException    the configuration is unsafe or refers to something this build cannot drive, or
     *                                  another server uses the data directory; the message says what to do
     * @throws UncheckedIOException     the port cannot be bound or the data directory cannot be written
     */
    public static MoxxieServer start(ServerConfig config) {
        config.checkSafeToServe();
        Path dataDir = config.dataDir().toAbsolutePath().normalize();
        FileChannel lockChannel = null;
        FileLock lock = null;
        Backends.Opened<io.moxxie.core.spi.MaintenanceStore> store = null;
        Backends.Cluster cluster = null;
        MaintenanceService service = null;
        Backends.Opened<RolloutService> rollouts = null;
        Javalin http = null;
        EventStream events = null;
        try {
            Files.createDirectories(dataDir);
            lockChannel = FileChannel.open(dataDir.resolve(LOCK_FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            try {
                lock = lockChannel.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                throw new IllegalStateException("Refusing to start: another Moxxie server is using the data directory " + dataDir
                        + " (stop it, or set MOXXIE_DATA_DIR to another directory)");
            }
            String ownerId = ownerId(dataDir);
            // The file first (wall clock): what goes wrong while the store and cluster open is in it too.
            io.moxxie.examples.logging.ServerLogging.configure(config.effectiveLogFile(), config.logLevel(), null);
            store = Backends.store(config);
            cluster = Backends.cluster(config);
            // From here the log is stamped on the drains' clock: in the demo its lines and the API's times agree.
            io.moxxie.examples.logging.ClockConverter.use(cluster.scheduler());
            service = MaintenanceService.builder(cluster.client(), store.value()).scheduler(cluster.scheduler()).ownerId(ownerId)
                    .lease(config.lease()).build();
            service.start(); // takes back this owner's unfinished drains now, and takes over dead instances' from then on
            List<String> recovered = service.activeDrains().stream().map(DrainStatus::drainId).toList();
            rollouts = Backends.rollouts(config, service, cluster, store.value());
            rollouts.value().start(); // takes back this owner's unfinished rollouts now, and dead instances' from then on
            List<String> recoveredRollouts = unfinishedRollouts(rollouts.value(), ownerId);

            ObjectMapper json = HttpApi.mapper();
            events = new EventStream(service, json, EventStream.heartbeatFor(config.idleTimeout()));
            HttpApi api = new HttpApi(new ApiRoutes(service, rollouts.value(), json, events).routes(), config.apiToken(), json, new Dashboard());
            AtomicInteger boundPort = new AtomicInteger(config.port());
            http = api.javalin(config.bind(), config.port(), new RequestGuard(config.bind(), config.allowedHosts(), boundPort::get),
                    config.idleTimeout());
            try {
                http.start();
            } catch (RuntimeException e) {
                throw new UncheckedIOException(new IOException(config.port() == 0 ? "no free port" : "port " + config.port()
                        + " is in use or cannot be bound", e));
            }
            int port = http.port();
            boundPort.set(port);
            String line = "Moxxie server on http://" + RequestGuard.bracketed(config.bind()) + ":" + port + "/api/v1 serving the " + cluster.description()
                    + "; store: " + store.description() + "; " + (config.apiToken() == null ? "no API token (loopback only)"
                    : "bearer token required") + "; owner " + ownerId
                    + (recovered.isEmpty() ? "" : "; took back " + recovered.size() + " unfinished drain(s): " + String.join(", ", recovered))
                    + "; " + rollouts.description()
                    + (recoveredRollouts.isEmpty() ? "" : "; took back " + recoveredRollouts.size() + " unfinished rollout(s): "
                    + String.join(", ", recoveredRollouts))
                    + "; log: " + (config.effectiveLogFile() == null ? "console only" : config.effectiveLogFile().toAbsolutePath().normalize())
                    + " (" + config.logLevel() + ")";
            log.info(line);
            return new MoxxieServer(config.withPort(port), lockChannel, lock, store, cluster, service, rollouts, http, events, line, recovered);
        } catch (IOException e) {
            closeQuietly(http, events, rollouts, service, cluster, store, lock, lockChannel);
            throw new UncheckedIOException("cannot start on " + config.bind() + ":" + config.port() + " with data directory " + dataDir
                    + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            closeQuietly(http, events, rollouts, service, cluster, store, lock, lockChannel);
            throw e;
        }
    }

    /** The line printed at start: address, cluster, store, auth, owner. Never a secret. */
    public String startLine() {
        return startLine;
    }

    /** The effective configuration, with the port actually bound. */
    public ServerConfig config() {
        return config;
    }

    public int port() {
        return http.port();
    }

    /** {@code http://host:port} (no trailing slash). */
    public URI uri() {
        return URI.create("http://" + RequestGuard.bracketed(config.bind()) + ":" + port());
    }

    /** How many event streams ({@code GET /api/v1/events}) are open. */
    int eventClients() {
        return events.clients();
    }

    public MaintenanceService service() {
        return service;
    }

    public RolloutService rollouts() {
        return rollouts.value();
    }

    /** The demo cluster, when the server drives it. */
    public Optional<DemoCluster> demo() {
        return Optional.ofNullable(cluster.demo());
    }

    /** Drains taken back from a previous process at start. */
    public List<String> recoveredDrains() {
        return recovered;
    }

    /**
     * Stops answering, then stops the service (running drains stay recorded as they are and are taken back by the
     * next start on this data directory), saves the demo cluster and releases the data directory.
     */
    @Override
    public void close() {
        List<DrainStatus> running;
        try {
            running = service.activeDrains();
        } catch (RuntimeException e) {
            running = List.of();
        }
        log.info(stoppingLine(running));
        List<String> unfinished;
        try {
            unfinished = unfinishedRollouts(rollouts.value(), service.ownerId());
        } catch (RuntimeException e) {
            unfinished = List.of();
        }
        if (!unfinished.isEmpty()) {
            log.info("Moxxie server stopping: leaves {} unfinished rollout(s), taken over on restart: {}", unfinished.size(),
                    String.join(", ", unfinished));
        }
        closeQuietly(http, events, rollouts, service, cluster, store, lock, lockChannel);
        log.info("Moxxie server stopped");
        io.moxxie.examples.logging.ServerLogging.closeFile(config.effectiveLogFile(), cluster.scheduler());
    }

    /** What the server leaves when it stops: the drains it was running, which the next start takes back. */
    static String stoppingLine(List<DrainStatus> running) {
        if (running.isEmpty()) return "Moxxie server stopping: no drain running";
        StringBuilder b = new StringBuilder("Moxxie server stopping: leaves ").append(running.size())
                .append(" running drain(s) in progress, taken over on restart (the next start on this data directory, or another "
                        + "server on the same database once their lease expires): ");
        for (int i = 0; i < running.size(); i++) {
            DrainStatus d = running.get(i);
            if (i > 0) b.append(", ");
            b.append(d.drainId()).append(" (").append(d.operation().wireName()).append(" of ").append(d.node()).append(", ")
                    .append(d.completedVMs()).append('/').append(d.totalVMs()).append(" completed, ").append(d.failedVMs())
                    .append(" failed)");
        }
        return b.append("; migrations already running in the cluster go on there").toString();
    }

    /** The rollouts this owner runs and has not finished (taken back at start, or left at stop). */
    private static List<String> unfinishedRollouts(RolloutService rollouts, String ownerId) {
        return rollouts.rollouts(MAX_LISTED_ROLLOUTS).stream().filter(r -> !r.rollout().ended() && ownerId.equals(r.rollout().owner()))
                .map(RolloutStatus::rolloutId).toList();
    }

    private static void closeQuietly(Javalin http, EventStream events, Backends.Opened<RolloutService> rollouts, MaintenanceService service,
                                     Backends.Cluster cluster, Backends.Opened<?> store, FileLock lock, FileChannel lockChannel) {
        // Open event streams end first: the HTTP server then stops without waiting for them.
        if (events != null) events.close();
        if (http != null) {
            try {
                http.stop();
            } catch (RuntimeException e) {
                log.warn("Stopping the HTTP server failed: {}", e.toString());
            }
        }
        // The rollouts before the drains they follow: a rollout left running must not see the service gone.
        for (AutoCloseable c : new AutoCloseable[]{rollouts, service, cluster, store, lock, lockChannel}) {
            if (c == null) continue;
            try {
                c.close();
            } catch (Exception e) {
                log.warn("Closing {} failed: {}", c.getClass().getSimpleName(), e.toString());
            }
        }
    }

    /** This server's owner id, kept in the data directory so that it survives restarts. */
    static String ownerId(Path dataDir) throws IOException {
        Path file = dataDir.resolve(OWNER_FILE);
        if (Files.exists(file)) {
            String id = Files.readString(file, StandardCharsets.UTF_8).trim();
            if (!id.isEmpty()) return id;
        }
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            host = "localhost";
        }
        String id = "moxxie-server@" + host + "/" + UUID.randomUUID().toString().substring(0, 8);
        Files.writeString(file, id + "\n", StandardCharsets.UTF_8);
        return id;
    }
}
