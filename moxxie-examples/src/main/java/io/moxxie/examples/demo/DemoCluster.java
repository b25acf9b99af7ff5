package io.moxxie.examples.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.model.PowerState;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.policy.TagPolicy;
import io.moxxie.core.simulation.MigrationModel;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.simulation.SimulatedCluster.MigrationRecord;
import io.moxxie.core.simulation.SimulatedCluster.NodeSpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The demo cluster the server drives when no Proxmox cluster is configured: core's {@link SimulatedCluster} in
 * scaled real time, shaped like the user guide's examples, and saved to {@code demo-cluster.json} in the data
 * directory after every change so that a restarted server finds its guests where they were.
 *
 * <p>The cluster: nodes {@code hv7}–{@code hv10}, 256 GiB each (8 GiB used by the host). {@code hv7} holds the
 * guide's 15 guests (8200 {@code web-prod-01}, 8201 {@code db-prod-01}, 8300, a container, a stopped guest, an
 * HA-managed guest, …); {@code hv8} and {@code hv9} hold 140 GiB of guests each, among them another container,
 * HA-managed and stopped guest; {@code hv10} holds a template and a {@code maint-ok} guest with a PCI device
 * ({@code hostpci0}) that cannot move. With the planner's 10 % headroom, a hard drain of any one of
 * {@code hv7}–{@code hv9} fits on the other nodes, but the guests of two nodes do not fit on the other two.
 *
 * <p>A migration in flight when the process dies is not state: the saved cluster has the guest on its source,
 * unlocked, as Proxmox has it after an aborted migration. The file also keeps a log of finished migration attempts
 * (the last {@value #MIGRATION_LOG_LIMIT}) across restarts.
 *
 * <p>Thread-safe.
 */
public final class DemoCluster implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(DemoCluster.class);
    public static final String STATE_FILE = "demo-cluster.json";
    public static final long GIB = 1L << 30;
    static final int MIGRATION_LOG_LIMIT = 1000;
    private static final int FORMAT_VERSION = 1;

    private final ObjectMapper json = new ObjectMapper();
    private final Path stateFile;
    private final ScaledScheduler scheduler;
    private final SimulatedCluster cluster;
    private final List<MigrationRecord> earlierMigrations;
    private final boolean resumed;
    private final Object saveLock = new Object();

    private DemoCluster(Path stateFile, ScaledScheduler scheduler, SimulatedCluster cluster, List<MigrationRecord> earlier,
                        boolean resumed) {
        this.stateFile = stateFile;
        this.scheduler = scheduler;
        this.cluster = cluster;
        this.earlierMigrations = earlier;
        this.resumed = resumed;
    }

    /**
     * Loads the demo cluster saved in {@code dataDir}, or creates the initial one (and saves it).
     *
     * @param speed   simulated seconds per real second
     * @param threads worker threads of the scheduler
     */
    public static DemoCluster open(Path dataDir, double speed, int threads) {
        Path file = dataDir.resolve(STATE_FILE);
        ObjectMapper json = new ObjectMapper();
        JsonNode saved = null;
        if (Files.exists(file)) {
            try {
                saved = json.readTree(file.toFile());
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the demo cluster state " + file + " (delete it to start afresh): "
                        + e.getMessage(), e);
            }
        }
        Instant simulatedTime = saved != null && saved.hasNonNull("simulatedTime") ? Instant.parse(saved.get("simulatedTime").asText()) : null;
        ScaledScheduler scheduler = ScaledScheduler.create(threads, speed, simulatedTime);
        SimulatedCluster.Builder b = SimulatedCluster.builder(scheduler).model(MigrationModel.DEFAULT);
        List<MigrationRecord> earlier = new ArrayList<>();
        if (saved == null) {
            initial(b);
        } else {
            try {
                restore(b, saved, earlier);
            } catch (RuntimeException e) {
                scheduler.close();
                throw new IllegalStateException("cannot rebuild the demo cluster from " + file + " (delete it to start afresh): "
                        + e.getMessage(), e);
            }
        }
        DemoCluster demo = new DemoCluster(file, scheduler, b.build(), earlier, saved != null);
        demo.cluster.onChange(demo::save);
        demo.save();
        return demo;
    }

    /** The initial demo cluster (what a fresh data directory starts with). */
    public static void initial(SimulatedCluster.Builder b) {
        for (String n : List.of("hv7", "hv8", "hv9", "hv10")) b.node(n, 256 * GIB, 8 * GIB, 32);
        // hv7: the guide's node, 15 guests, 158 GiB
        b.guest(qemu(8200, "web-prod-01", "hv7", 8, "always-on,env-prod,client-acme"));
        b.guest(qemu(8201, "db-prod-01", "hv7", 32, "always-on"));
        b.guest(qemu(8202, "web-prod-02", "hv7", 8, "always-on,env-prod"));
        b.guest(qemu(8210, "app-01", "hv7", 16, ""));
        b.guest(qemu(8211, "app-02", "hv7", 16, "env-prod"));
        b.guest(qemu(8212, "app-03", "hv7", 12, ""));
        b.guest(qemu(8213, "cache-01", "hv7", 6, ""));
        b.guest(qemu(8214, "queue-01", "hv7", 8, "always-on,maint-ok"));
        b.guest(qemu(8215, "monitor-01", "hv7", 4, "maint-ok,env-ops"));
        b.guest(qemu(8300, "dev-box-01", "hv7", 4, "maint-ok,env-dev,client-acme"));
        b.guest(qemu(8301, "batch-worker-01", "hv7", 8, "maint-ok"));
        b.guest(lxc(8400, "dns-ct-01", "hv7", 2, "always-on"));
        b.guest(lxc(8401, "proxy-ct-01", "hv7", 2, ""));
        b.guest(qemu(8500, "old-app", "hv7", 8, "").withStatus(PowerState.STOPPED));
        b.guest(ha(qemu(8600, "ha-db-02", "hv7", 24, "always-on")));
        // hv8: 140 GiB
        b.guest(qemu(9100, "web-hv8", "hv8", 32, "env-prod"));
        b.guest(qemu(9101, "db-hv8", "hv8", 48, "always-on"));
        b.guest(lxc(9102, "mail-ct-hv8", "hv8", 4, ""));
        b.guest(qemu(9103, "worker-hv8", "hv8", 24, "maint-ok"));
        b.guest(qemu(9104, "app-hv8", "hv8", 32, ""));
        // hv9: 140 GiB
        b.guest(qemu(9200, "web-hv9", "hv9", 32, "env-prod"));
        b.guest(qemu(9201, "db-hv9", "hv9", 40, ""));
        b.guest(ha(qemu(9202, "ha-app-hv9", "hv9", 16, "always-on")));
        b.guest(qemu(9203, "archive-hv9", "hv9", 12, "").withStatus(PowerState.STOPPED));
        b.guest(qemu(9204, "cache-hv9", "hv9", 24, "maint-ok"));
        b.guest(qemu(9205, "app-hv9", "hv9", 16, ""));
        // hv10: 100 GiB, a template and a GPU guest that cannot move
        b.guest(qemu(9300, "build-hv10", "hv10", 48, "maint-ok"));
        b.guest(qemu(9301, "gpu-render-01", "hv10", 32, "maint-ok"));
        b.guest(Guest.qemu(9302, "hv10").name("tpl-debian-12").status(PowerState.STOPPED).memory(4 * GIB).template(true).build());
        b.guest(qemu(9303, "app-hv10", "hv10", 16, ""));
        b.preconditions(new MigrationPreconditions(9301, Map.of(), List.of(), List.of("hostpci0"), false));
    }

    public SimulatedCluster cluster() {
        return cluster;
    }

    public ScaledScheduler scheduler() {
        return scheduler;
    }

    public Path stateFile() {
        return stateFile;
    }

    /** Whether this cluster was loaded from a saved state (rather than created afresh). */
    public boolean resumed() {
        return resumed;
    }

    /** Finished migration attempts, earlier processes' first, oldest first. */
    public List<MigrationRecord> migrationLog() {
        List<MigrationRecord> all = new ArrayList<>(earlierMigrations);
        all.addAll(cluster.migrations());
        return all.size() <= MIGRATION_LOG_LIMIT ? all : all.subList(all.size() - MIGRATION_LOG_LIMIT, all.size());
    }

    /** Writes the cluster's state (atomically: a reader or a crash sees the old file or the new one). */
    public void save() {
        synchronized (saveLock) {
            ObjectNode root = json.createObjectNode();
            root.put("version", FORMAT_VERSION);
            root.put("simulatedTime", scheduler.now().toString());
            ArrayNode nodes = root.putArray("nodes");
            for (NodeSpec n : cluster.nodeSpecs()) {
                nodes.addObject().put("name", n.name()).put("memoryTotal", n.memoryTotal()).put("baseMemoryUsed", n.baseMemoryUsed())
                        .put("cpus", n.cpus()).put("online", n.online());
            }
            ArrayNode guests = root.putArray("guests");
            for (Guest g : cluster.guestStates()) {
                ObjectNode o = guests.addObject().put("vmid", g.vmid()).put("name", g.name()).put("node", g.node())
                        .put("type", g.type().wireName()).put("status", g.status().wireName()).put("memory", g.memory())
                        .put("memoryUsed", g.memoryUsed()).put("template", g.template()).put("haManaged", g.haManaged())
                        .put("lock", g.lock());
                ArrayNode tags = o.putArray("tags");
                g.tags().forEach(tags::add);
            }
            ArrayNode pre = root.putArray("preconditions");
            for (MigrationPreconditions p : cluster.preconditionOverrides().values()) {
                ObjectNode o = pre.addObject().put("vmid", p.vmid()).put("localDisks", p.localDisks());
                ObjectNode na = o.putObject("notAllowed");
                p.notAllowed().forEach(na::put);
                ArrayNode live = o.putArray("liveBlockers");
                p.liveBlockers().forEach(live::add);
                ArrayNode blockers = o.putArray("blockers");
                p.blockers().forEach(blockers::add);
            }
            ArrayNode migrations = root.putArray("migrations");
            for (MigrationRecord m : migrationLog()) {
                migrations.addObject().put("vmid", m.vmid()).put("source", m.source()).put("target", m.target())
                        .put("type", m.type().wireName()).put("startedAt", m.startedAt().toString())
                        .put("finishedAt", m.finishedAt().toString()).put("successful", m.successful()).put("message", m.message());
            }
            try {
                Path tmp = stateFile.resolveSibling(STATE_FILE + ".tmp");
                json.writerWithDefaultPrettyPrinter().writeValue(tmp.toFile(), root);
                Files.move(tmp, stateFile, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                log.error("Cannot save the demo cluster state to {}: {}", stateFile, e.getMessage());
            }
        }
    }

    /** Saves the state and stops the scheduler. */
    @Override
    public void close() {
        save();
        scheduler.close();
    }

    private static void restore(SimulatedCluster.Builder b, JsonNode saved, List<MigrationRecord> earlier) {
        int version = saved.path("version").asInt(-1);
        if (version != FORMAT_VERSION) throw new IllegalArgumentException("unknown format version " + version);
        for (JsonNode n : saved.path("nodes")) {
            b.node(new NodeSpec(n.get("name").asText(), n.get("memoryTotal").asLong(), n.get("baseMemoryUsed").asLong(),
                    n.get("cpus").asInt(), n.get("online").asBoolean()));
        }
        for (JsonNode g : saved.path("guests")) {
            List<String> tags = new ArrayList<>();
            g.path("tags").forEach(t -> tags.add(t.asText()));
            b.guest(Guest.builder(g.get("vmid").asInt(), g.get("node").asText(), GuestType.parse(g.get("type").asText()))
                    .name(g.get("name").asText())
                    .status(PowerState.parse(g.get("status").asText()))
                    .tags(tags)
                    .memory(g.get("memory").asLong())
                    .memoryUsed(g.get("memoryUsed").asLong())
                    .template(g.get("template").asBoolean())
                    .haManaged(g.get("haManaged").asBoolean())
                    .lock(g.path("lock").isNull() ? null : g.path("lock").asText(null))
                    .build());
        }
        for (JsonNode p : saved.path("preconditions")) {
            Map<String, String> notAllowed = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> e : p.path("notAllowed").properties()) {
                notAllowed.put(e.getKey(), e.getValue().asText());
            }
            List<String> live = new ArrayList<>();
            p.path("liveBlockers").forEach(x -> live.add(x.asText()));
            List<String> blockers = new ArrayList<>();
            p.path("blockers").forEach(x -> blockers.add(x.asText()));
            b.preconditions(new MigrationPreconditions(p.get("vmid").asInt(), notAllowed, live, blockers, p.path("localDisks").asBoolean()));
        }
        for (JsonNode m : saved.path("migrations")) {
            earlier.add(new MigrationRecord(m.get("vmid").asInt(), m.get("source").asText(), m.get("target").asText(),
                    MigrationType.parse(m.get("type").asText()), Instant.parse(m.get("startedAt").asText()),
                    Instant.parse(m.get("finishedAt").asText()), m.get("successful").asBoolean(), m.path("message").asText(null)));
        }
    }

    private static Guest qemu(int vmid, String name, String node, int memGib, String tags) {
        return Guest.qemu(vmid, node).name(name).tags(TagPolicy.parseTags(tags)).memory(memGib * GIB).memoryUsed(memGib * GIB / 2).build();
    }

    private static Guest lxc(int vmid, String name, String node, int memGib, String tags) {
        return Guest.lxc(vmid, node).name(name).tags(TagPolicy.parseTags(tags)).memory(memGib * GIB).memoryUsed(memGib * GIB / 2).build();
    }

    private static Guest ha(Guest g) {
        return g.toBuilder().haManaged(true).build();
    }
}
