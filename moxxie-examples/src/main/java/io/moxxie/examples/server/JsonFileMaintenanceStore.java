package io.moxxie.examples.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moxxie.core.execution.DrainRecord;
import io.moxxie.core.execution.DrainState;
import io.moxxie.core.execution.GuestProgress;
import io.moxxie.core.execution.GuestState;
import io.moxxie.core.execution.Operation;
import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.NodeMaintenance;
import io.moxxie.core.plan.DrainMode;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.plan.MigrationType;
import io.moxxie.core.spi.MaintenanceStore;
import io.moxxie.core.spi.StoreException;
import io.moxxie.core.store.InMemoryMaintenanceStore;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The server's single-process store until {@code moxxie-jdbc-store} is wired in: core's in-memory store, written
 * whole to a JSON file (atomically) after every change and read back at start, so that drains survive a restart.
 * Only for one process and a handful of drains; a real deployment uses the JDBC store.
 *
 * <p>Thread-safe: every method holds the store's lock while it changes memory and writes the file.
 */
final class JsonFileMaintenanceStore implements MaintenanceStore {
    static final String FILE = "maintenance-store.json";
    private static final int FORMAT_VERSION = 1;

    private final ObjectMapper json = new ObjectMapper();
    private final Path file;
    private final InMemoryMaintenanceStore memory = new InMemoryMaintenanceStore();
    /** Drain ids in creation order: the file keeps them so. */
    private final List<String> drainIds = new ArrayList<>();

    JsonFileMaintenanceStore(Path file) {
        this.file = file;
        if (Files.exists(file)) load();
    }

    Path file() {
        return file;
    }

    @Override
    public synchronized Optional<NodeMaintenance> maintenance(String node) {
        return memory.maintenance(node);
    }

    @Override
    public synchronized List<NodeMaintenance> maintenanceStates() {
        return memory.maintenanceStates();
    }

    @Override
    public synchronized void saveMaintenance(NodeMaintenance state) {
        memory.saveMaintenance(state);
        write();
    }

    @Override
    public synchronized void createDrain(DrainRecord drain, List<GuestProgress> guests) {
        memory.createDrain(drain, guests);
        drainIds.add(drain.drainId());
        write();
    }

    @Override
    public synchronized boolean updateDrain(DrainRecord drain) {
        boolean ok = memory.updateDrain(drain);
        if (ok) write();
        return ok;
    }

    @Override
    public synchronized void updateGuest(GuestProgress guest) {
        memory.updateGuest(guest);
        write();
    }

    @Override
    public synchronized Optional<DrainRecord> drain(String drainId) {
        return memory.drain(drainId);
    }

    @Override
    public synchronized List<GuestProgress> guests(String drainId) {
        return memory.guests(drainId);
    }

    @Override
    public synchronized List<DrainRecord> drains(String node, int limit) {
        return memory.drains(node, limit);
    }

    @Override
    public synchronized List<DrainRecord> unfinishedDrains() {
        return memory.unfinishedDrains();
    }

    @Override
    public synchronized boolean renewLease(String drainId, String owner, Instant leaseExpiresAt) {
        boolean ok = memory.renewLease(drainId, owner, leaseExpiresAt);
        if (ok) write();
        return ok;
    }

    @Override
    public synchronized Optional<DrainRecord> takeOver(String drainId, String newOwner, Instant now, Instant leaseExpiresAt) {
        Optional<DrainRecord> taken = memory.takeOver(drainId, newOwner, now, leaseExpiresAt);
        if (taken.isPresent()) write();
        return taken;
    }

    @Override
    public synchronized void requestCancel(String drainId) {
        memory.requestCancel(drainId);
        write();
    }

    // ------------------------------------------------------------------ the file

    private void write() {
        ObjectNode root = json.createObjectNode().put("version", FORMAT_VERSION);
        ArrayNode maint = root.putArray("maintenance");
        for (NodeMaintenance m : memory.maintenanceStates()) {
            ObjectNode o = maint.addObject().put("node", m.node()).put("inMaintenance", m.inMaintenance()).put("reason", m.reason())
                    .put("maintenanceStarted", str(m.maintenanceStarted())).put("maintenanceEnded", str(m.maintenanceEnded()))
                    .put("drainStatus", m.drainStatus() == null ? null : m.drainStatus().wireName()).put("lastDrainId", m.lastDrainId())
                    .put("updatedAt", str(m.updatedAt()));
            ArrayNode vms = o.putArray("vmList");
            m.vmList().forEach(vms::add);
        }
        ArrayNode drains = root.putArray("drains");
        for (String id : drainIds) {
            DrainRecord d = memory.drain(id).orElseThrow();
            DrainRequest r = d.request();
            ObjectNode o = drains.addObject().put("drainId", d.drainId()).put("node", d.node()).put("operation", d.operation().wireName())
                    .put("status", d.status().wireName()).put("message", d.message()).put("startedAt", str(d.startedAt()))
                    .put("completedAt", str(d.completedAt())).put("owner", d.owner()).put("leaseExpiresAt", str(d.leaseExpiresAt()))
                    .put("cancelRequested", d.cancelRequested()).put("undrainOf", d.undrainOf());
            o.putObject("request").put("drainMode", r.mode().wireName()).put("parallel", r.parallel()).put("maxConcurrent", r.maxConcurrent())
                    .put("allowOffline", r.allowOffline()).put("targetNode", r.targetNode().orElse(null)).put("force", r.force());
            ArrayNode guests = o.putArray("guests");
            for (GuestProgress g : memory.guests(id)) {
                guests.addObject().put("vmid", g.vmid()).put("name", g.name()).put("type", g.type().wireName()).put("sourceNode", g.sourceNode())
                        .put("targetNode", g.targetNode()).put("migrationType", g.migrationType() == null ? null : g.migrationType().wireName())
                        .put("status", g.status().wireName()).put("alwaysOn", g.alwaysOn()).put("haManaged", g.haManaged())
                        .put("wasRunning", g.wasRunning()).put("memory", g.memory()).put("attempts", g.attempts()).put("taskId", g.taskId())
                        .put("error", g.error()).put("note", g.note()).put("startedAt", str(g.startedAt())).put("completedAt", str(g.completedAt()));
            }
        }
        try {
            Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
            json.writeValue(tmp.toFile(), root);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new StoreException("cannot write the maintenance store " + file + ": " + e.getMessage(), e);
        }
    }

    private void load() {
        try {
            JsonNode root = json.readTree(file.toFile());
            if (root.path("version").asInt() != FORMAT_VERSION) throw new IllegalArgumentException("unknown format version " + root.path("version"));
            for (JsonNode m : root.path("maintenance")) {
                List<Integer> vms = new ArrayList<>();
                m.path("vmList").forEach(v -> vms.add(v.asInt()));
                memory.saveMaintenance(new NodeMaintenance(m.get("node").asText(), m.get("inMaintenance").asBoolean(), text(m, "reason"),
                        time(m, "maintenanceStarted"), time(m, "maintenanceEnded"),
                        m.path("drainStatus").isNull() ? null : DrainState.parse(m.get("drainStatus").asText()), text(m, "lastDrainId"), vms,
                        time(m, "updatedAt")));
            }
            for (JsonNode d : root.path("drains")) {
                JsonNode r = d.get("request");
                DrainRequest request = DrainRequest.builder(d.get("node").asText()).mode(DrainMode.parse(r.get("drainMode").asText()))
                        .parallel(r.get("parallel").asBoolean()).maxConcurrent(r.get("maxConcurrent").asInt())
                        .allowOffline(r.get("allowOffline").asBoolean()).targetNode(text(r, "targetNode")).force(r.get("force").asBoolean()).build();
                String id = d.get("drainId").asText();
                DrainRecord record = new DrainRecord(id, d.get("node").asText(), Operation.parse(d.get("operation").asText()), request,
                        DrainState.parse(d.get("status").asText()), text(d, "message"), time(d, "startedAt"), time(d, "completedAt"),
                        text(d, "owner"), time(d, "leaseExpiresAt"), d.get("cancelRequested").asBoolean(), text(d, "undrainOf"));
                List<GuestProgress> guests = new ArrayList<>();
                for (JsonNode g : d.path("guests")) {
                    guests.add(new GuestProgress(id, g.get("vmid").asInt(), text(g, "name"), GuestType.parse(g.get("type").asText()),
                            g.get("sourceNode").asText(), text(g, "targetNode"),
                            g.path("migrationType").isNull() ? null : MigrationType.parse(g.get("migrationType").asText()),
                            GuestState.parse(g.get("status").asText()), g.get("alwaysOn").asBoolean(), g.get("haManaged").asBoolean(),
                            g.get("wasRunning").asBoolean(), g.get("memory").asLong(), g.get("attempts").asInt(), text(g, "taskId"),
                            text(g, "error"), text(g, "note"), time(g, "startedAt"), time(g, "completedAt")));
                }
                memory.createDrain(record, guests);
                drainIds.add(id);
            }
        } catch (IOException | RuntimeException e) {
            throw new StoreException("cannot read the maintenance store " + file + " (move it away to start afresh): " + e.getMessage(), e);
        }
    }

    private static String str(Instant t) {
        return t == null ? null : t.toString();
    }

    private static String text(JsonNode o, String field) {
        JsonNode v = o.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }

    private static Instant time(JsonNode o, String field) {
        String s = text(o, field);
        return s == null ? null : Instant.parse(s);
    }
}
