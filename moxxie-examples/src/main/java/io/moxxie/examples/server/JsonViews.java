package io.moxxie.examples.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.execution.VmStatus;
import io.moxxie.core.model.Guest;
import io.moxxie.core.plan.DrainPlan;
import io.moxxie.core.plan.PlanEntry;
import io.moxxie.core.service.MaintenanceView;
import io.moxxie.core.service.NodeView;
import io.moxxie.core.spi.TaskRef;

import java.time.Instant;
import java.time.temporal.ChronoUnit;

/**
 * Core's values as the guide's JSON: its field names, enums by their wire names ({@code in_progress}, {@code soft}),
 * times as ISO-8601 UTC to the second. Fields beyond the guide's are additions, never renamings.
 */
final class JsonViews {
    private final ObjectMapper json;

    JsonViews(ObjectMapper json) {
        this.json = json;
    }

    /** hv7, hv8, hv9, hv10: names compared with their numbers as numbers, as an operator reads them. */
    static final java.util.Comparator<String> NATURAL = io.moxxie.core.model.Node.NAME_ORDER;

    static String time(Instant t) {
        return t == null ? null : t.truncatedTo(ChronoUnit.SECONDS).toString();
    }

    /**
     * The guide's drain / undrain status, with {@code skippedVMs}, {@code drainMode}, {@code undrainOf},
     * {@code elapsedSeconds} and {@code etaSeconds} added (and per guest {@code elapsedSeconds}; while its migration
     * runs {@code etaSeconds}, and while a live migration reports progress {@code transferredBytes} and
     * {@code remainingBytes}).
     */
    ObjectNode status(DrainStatus s) {
        ObjectNode o = json.createObjectNode();
        o.put("drainId", s.drainId());
        o.put("node", s.node());
        o.put("operation", s.operation().wireName());
        o.put("status", s.status().wireName());
        o.put("totalVMs", s.totalVMs());
        o.put("completedVMs", s.completedVMs());
        o.put("failedVMs", s.failedVMs());
        o.put("skippedVMs", s.skippedVMs());
        ArrayNode vms = o.putArray("vmStatus");
        for (VmStatus v : s.vmStatus()) vms.add(vm(v));
        o.put("startedAt", time(s.startedAt()));
        o.put("completedAt", time(s.completedAt()));
        o.put("message", s.message());
        o.put("drainMode", s.mode());
        o.put("undrainOf", s.undrainOf());
        o.put("elapsedSeconds", s.elapsedSeconds());
        o.put("etaSeconds", s.etaSeconds());
        return o;
    }

    ObjectNode vm(VmStatus v) {
        ObjectNode o = json.createObjectNode();
        o.put("vmid", v.vmid());
        o.put("name", v.name());
        o.put("status", v.status().wireName());
        o.put("targetNode", v.targetNode());
        o.put("error", v.error());
        o.put("type", v.type() == null ? null : v.type().wireName());
        o.put("sourceNode", v.sourceNode());
        o.put("migrationType", v.migrationType() == null ? null : v.migrationType().wireName());
        o.put("alwaysOn", v.alwaysOn());
        o.put("reason", v.reason());
        o.put("note", v.note());
        o.put("attempts", v.attempts());
        o.put("startedAt", time(v.startedAt()));
        o.put("completedAt", time(v.completedAt()));
        o.put("elapsedSeconds", v.elapsedSeconds());
        o.put("transferredBytes", v.transferredBytes());
        o.put("remainingBytes", v.remainingBytes());
        o.put("etaSeconds", v.etaSeconds());
        return o;
    }

    /** A guest as {@code GET /api/v1/vms} lists it; {@code tags} comma-separated, as the guide writes them. */
    ObjectNode guest(Guest g) {
        ObjectNode o = json.createObjectNode();
        o.put("vmid", g.vmid());
        o.put("name", g.name());
        o.put("node", g.node());
        o.put("status", g.status().wireName());
        o.put("tags", String.join(",", g.tags()));
        o.put("type", g.type().wireName());
        o.put("template", g.template());
        o.put("maxmem", g.memory());
        o.put("mem", g.running() ? g.memoryUsed() : 0);
        o.put("haManaged", g.haManaged());
        o.put("lock", g.lock());
        return o;
    }

    ObjectNode node(NodeView n) {
        ObjectNode o = json.createObjectNode();
        o.put("node", n.node());
        o.put("status", n.status());
        o.put("online", n.online());
        o.put("inMaintenance", n.inMaintenance());
        o.put("maintenanceReason", n.maintenanceReason());
        o.put("maxmem", n.memoryTotal());
        o.put("mem", n.memoryUsed());
        o.put("maxcpu", n.cpus());
        o.put("cpu", n.cpuLoad());
        o.put("vms", n.guests());
        return o;
    }

    ObjectNode maintenance(MaintenanceView m) {
        ObjectNode o = json.createObjectNode();
        o.put("node", m.node());
        o.put("inMaintenance", m.inMaintenance());
        o.put("reason", m.reason());
        o.put("maintenanceStarted", time(m.maintenanceStarted()));
        o.put("maintenanceEnded", time(m.maintenanceEnded()));
        if (m.vmsOnNode() == MaintenanceView.UNKNOWN) o.putNull("vmsOnNode"); // Proxmox unreachable: the store's state only
        else o.put("vmsOnNode", m.vmsOnNode());
        o.put("lastDrainId", m.lastDrainId());
        o.put("drainStatus", m.drainStatus() == null ? null : m.drainStatus().wireName());
        return o;
    }

    /** The dry run's answer: what would move where and how, what stays and why, what cannot move and why. */
    ObjectNode plan(DrainPlan p) {
        ObjectNode o = json.createObjectNode();
        o.put("node", p.node());
        o.put("dryRun", true);
        o.put("drainMode", p.request().mode().wireName());
        o.put("plannedAt", time(p.plannedAt()));
        o.put("totalVMs", p.entries().size());
        o.put("moveVMs", p.moves().size());
        o.put("skipVMs", p.skipped().size());
        o.put("blockedVMs", p.blocked().size());
        ArrayNode vms = o.putArray("vms");
        for (PlanEntry e : p.entries()) vms.add(planEntry(e));
        o.put("message", p.hasBlocked()
                ? p.blocked().size() + " of " + p.entries().size() + " guests cannot be moved" + (p.request().mode().wireName().equals("soft")
                ? ": a soft drain would be refused unless forced" : "")
                : "Would move " + p.moves().size() + " guests off " + p.node() + ", " + p.skipped().size() + " stay");
        return o;
    }

    ObjectNode planEntry(PlanEntry e) {
        ObjectNode o = json.createObjectNode();
        o.put("vmid", e.vmid());
        o.put("name", e.guest().name());
        o.put("type", e.guest().type().wireName());
        o.put("action", e.action().name().toLowerCase(java.util.Locale.ROOT));
        o.put("targetNode", e.targetNode());
        o.put("migrationType", e.migrationType() == null ? null : e.migrationType().wireName());
        o.put("alwaysOn", e.alwaysOn());
        o.put("maxmem", e.guest().memory());
        o.put("reason", e.reason());
        return o;
    }

    ObjectNode task(Guest g, TaskRef task) {
        return task(g, task, "Start");
    }

    /** A power task: {@code what} is "Start" or "Stop". */
    ObjectNode task(Guest g, TaskRef task, String what) {
        ObjectNode o = json.createObjectNode();
        o.put("vmid", g.vmid());
        o.put("name", g.name());
        o.put("node", g.node());
        o.put("task", task.id());
        o.put("message", what + " of VM " + g.vmid() + " (" + g.name() + ") requested on " + g.node());
        return o;
    }
}
