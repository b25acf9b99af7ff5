package io.moxxie.examples.server;

import io.moxxie.core.rollout.RolloutService;
import io.moxxie.core.service.MaintenanceService;
import io.moxxie.core.spi.HypervisorClient;
import io.moxxie.core.spi.RolloutStore;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.examples.demo.RebootAction;
import io.moxxie.core.time.RealTimeScheduler;
import io.moxxie.proxmox.ProxmoxClient;
import io.moxxie.proxmox.ProxmoxCredentials;
import io.moxxie.proxmox.TlsTrust;
import io.moxxie.core.spi.MaintenanceStore;
import io.moxxie.core.time.Scheduler;
import io.moxxie.examples.demo.DemoCluster;
import io.moxxie.store.jdbc.JdbcMaintenanceStore;

import java.nio.file.Path;

/**
 * The seams of the server: how the {@link MaintenanceStore}, the {@link HypervisorClient} and the rollouts' store
 * and actions are made from the configuration. Everything else in the server works on the SPIs only.
 */
final class Backends {
    private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(Backends.class);
    /** Worker threads of the scheduler: hypervisor calls of a few concurrent drains, the heartbeats, the demo's saves. */
    static final int SCHEDULER_THREADS = 8;

    private Backends() {
    }

    /** A part made from the configuration, with a one-line description for the start line (never a secret). */
    record Opened<T>(T value, String description, AutoCloseable closer) implements AutoCloseable {
        @Override
        public void close() throws Exception {
            if (closer != null) closer.close();
        }
    }

    /** The hypervisor side: the client and the scheduler the service runs on. */
    record Cluster(HypervisorClient client, Scheduler scheduler, DemoCluster demo, String description, AutoCloseable closer)
            implements AutoCloseable {
        @Override
        public void close() throws Exception {
            if (closer != null) closer.close();
        }
    }

    /**
     * The maintenance store: {@code MOXXIE_JDBC_URL} (PostgreSQL, MariaDB, H2), or by default an H2 file database in
     * the data directory. The schema is applied at start (versioned, safe when two servers start at once).
     */
    static Opened<MaintenanceStore> store(ServerConfig config) {
        if (config.jdbcUrl() == null || config.jdbcUrl().startsWith("jdbc:h2:")) {
            String url = config.jdbcUrl() != null ? config.jdbcUrl() : defaultJdbcUrl(config.dataDir());
            JdbcMaintenanceStore store = JdbcMaintenanceStore.builder(url, config.jdbcUser(), config.jdbcPassword())
                    .applyMigrations(true).build();
            return new Opened<>(store, "H2 " + store.location(), store);
        }
        // PostgreSQL, MariaDB: through a small pool (the store itself would open a connection per call).
        com.zaxxer.hikari.HikariConfig pool = new com.zaxxer.hikari.HikariConfig();
        pool.setJdbcUrl(config.jdbcUrl());
        pool.setUsername(config.jdbcUser());
        pool.setPassword(config.jdbcPassword());
        pool.setMaximumPoolSize(8);
        pool.setPoolName("moxxie-store");
        com.zaxxer.hikari.HikariDataSource dataSource = new com.zaxxer.hikari.HikariDataSource(pool);
        try {
            JdbcMaintenanceStore store = JdbcMaintenanceStore.builder(dataSource).applyMigrations(true).build();
            return new Opened<>(store, store.dialect().name().toLowerCase(java.util.Locale.ROOT) + " " + ServerConfig.redactUrl(config.jdbcUrl()),
                    () -> {
                        store.close();
                        dataSource.close();
                    });
        } catch (RuntimeException e) {
            dataSource.close();
            throw e;
        }
    }

    /** H2 file database {@code moxxie.mv.db} in the data directory. */
    static String defaultJdbcUrl(Path dataDir) {
        return "jdbc:h2:file:" + dataDir.toAbsolutePath().resolve("moxxie") + ";DB_CLOSE_ON_EXIT=FALSE";
    }

    static Cluster cluster(ServerConfig config) {
        if (!config.demo()) return proxmox(config);
        DemoCluster demo = DemoCluster.open(config.dataDir(), config.demoSpeed(), SCHEDULER_THREADS);
        String description = "demo cluster " + String.join(", ", demo.cluster().nodeSpecs().stream().map(n -> n.name())
                .sorted(JsonViews.NATURAL).toList())
                + " at " + fmt(config.demoSpeed()) + "x speed (" + (demo.resumed() ? "resumed from " : "new, saved to ") + demo.stateFile() + ")";
        return new Cluster(demo.cluster(), demo.scheduler(), demo, description, demo);
    }

    /** A real cluster: {@code MOXXIE_PVE_URL} (several separated by commas: tried in turn), token, TLS trust. */
    static Cluster proxmox(ServerConfig config) {
        if (config.pveAllowPlainHttp() && config.pveUrl().toLowerCase(java.util.Locale.ROOT).contains("http://")) {
            log.warn("MOXXIE_PVE_ALLOW_PLAIN_HTTP=true: the Proxmox API token goes to {} in clear text with every request; "
                    + "anyone on the network path can read it and drive the cluster. For a lab only.", config.pveUrl());
        }
        TlsTrust tls;
        String trust;
        if (config.pveInsecure()) {
            tls = TlsTrust.insecure();
            trust = "TLS NOT verified (MOXXIE_PVE_INSECURE)";
        } else if (config.pveFingerprint() != null) {
            tls = TlsTrust.pinnedFingerprints(config.pveFingerprint().split("[,\\s]+"));
            trust = "TLS pinned to the certificate fingerprint(s)";
        } else if (config.pveCa() != null) {
            tls = TlsTrust.caFile(Path.of(config.pveCa()));
            trust = "TLS verified against " + config.pveCa();
        } else {
            tls = TlsTrust.systemDefault();
            trust = "TLS verified against the JVM's trust store";
        }
        ProxmoxCredentials credentials = ProxmoxCredentials.apiToken(config.pveToken());
        ProxmoxClient client = ProxmoxClient.builder().baseUrls(config.pveUrl().split("\\s*,\\s*")).credentials(credentials).tls(tls).build();
        try {
            client.checkAccess(); // a missing privilege stops the server now, naming it, instead of failing a drain later
        } catch (io.moxxie.core.spi.TransientHypervisorException e) {
            log.warn("Proxmox VE is unreachable at start ({}); its privileges are checked at the first cluster read", e.getMessage());
        } catch (RuntimeException e) {
            client.close();
            throw e;
        }
        RealTimeScheduler scheduler = RealTimeScheduler.create(SCHEDULER_THREADS, 1.0);
        AutoCloseable closer = () -> {
            scheduler.close();
            client.close();
        };
        return new Cluster(client, scheduler, null, "Proxmox VE cluster " + config.pveUrl() + " as " + credentials.principal() + " (" + trust + ")",
                closer);
    }

    /**
     * The rollouts, on the same store as the drains when it keeps rollouts too (so that a rollout survives a restart
     * and is taken over by another server on the same database), else in memory with a warning. Actions: {@code
     * continue}, the demo's {@code reboot} when the server drives the demo, and the commands of the configuration
     * ({@code MOXXIE_ROLLOUT_ACTION_<NAME>}; one of them named {@code reboot} replaces the demo's). Not started.
     */
    static Opened<RolloutService> rollouts(ServerConfig config, MaintenanceService service, Cluster cluster, MaintenanceStore store) {
        RolloutStore rolloutStore;
        String where;
        if (store instanceof RolloutStore kept) {
            rolloutStore = kept;
            where = "rollouts in the same store";
        } else {
            log.warn("The maintenance store ({}) does not keep rollouts: rollouts are kept in memory and lost when the server stops",
                    store.getClass().getSimpleName());
            rolloutStore = new InMemoryMaintenanceStore();
            where = "rollouts in memory only (lost on restart)";
        }
        RolloutService.Builder b = RolloutService.builder(service, cluster.client(), rolloutStore).lease(config.lease());
        if (cluster.demo() != null) b.action(new RebootAction(cluster.demo().cluster()));
        config.rolloutActions().forEach((name, command) -> b.action(new CommandAction(name, command)));
        RolloutService rollouts = b.build();
        return new Opened<>(rollouts, where + ", actions " + String.join(", ", rollouts.actionNames()), rollouts);
    }

    private static String fmt(double d) {
        return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
    }
}
