package io.moxxie.examples.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.execution.VmStatus;
import io.moxxie.core.model.Concurrency;
import io.moxxie.core.model.GateVerdict;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.RolloutPhase;
import io.moxxie.core.model.RolloutState;
import io.moxxie.core.plan.RolloutRequest;
import io.moxxie.core.rollout.RolloutPlan;
import io.moxxie.core.rollout.RolloutStatus;
import io.moxxie.core.spi.RolloutRecord;
import io.moxxie.core.spi.RolloutStep;
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
        ArrayNode warnings = o.putArray("warnings");
        p.warnings().forEach(warnings::add);
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
        // The placement rule(s) that decided the target or block the guest (HA rule, HA group, ProxLB tag), or null.
        o.put("rule", e.rule());
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

    /**
     * A rollout: its state and message, counts of its nodes, the node under way and whether it waits for a
     * {@code continue}, the request as understood, and per node its step.
     */
    ObjectNode rollout(RolloutStatus s) {
        RolloutRecord r = s.rollout();
        ObjectNode o = json.createObjectNode();
        o.put("rolloutId", r.rolloutId());
        o.put("state", r.state().wireName());
        o.put("message", r.message());
        o.put("totalNodes", s.steps().size());
        o.put("completedNodes", s.steps().stream().filter(st -> st.state() == RolloutState.SUCCEEDED).count());
        o.put("failedNodes", s.steps().stream().filter(st -> st.state() == RolloutState.FAILED).count());
        o.put("skippedNodes", s.steps().stream().filter(st -> st.state() == RolloutState.SKIPPED).count());
        java.util.Optional<RolloutStep> current = s.current();
        o.put("currentNode", current.map(RolloutStep::node).orElse(null));
        o.put("currentPhase", current.map(st -> st.phase().wireName()).orElse(null));
        o.put("awaitingContinue", current.filter(JsonViews::awaitsContinue).map(RolloutStep::node).orElse(null));
        o.put("pauseRequested", r.pauseRequested());
        o.put("cancelRequested", r.cancelRequested());
        o.put("createdAt", time(r.createdAt()));
        o.put("completedAt", time(r.completedAt()));
        o.put("owner", r.owner());
        o.set("request", rolloutRequest(r.request()));
        ArrayNode steps = o.putArray("steps");
        for (RolloutStep st : s.steps()) steps.add(rolloutStep(st));
        return o;
    }

    /** The node's maintenance action waits for an operator: the {@code continue} action, or a command a stopped process left. */
    static boolean awaitsContinue(RolloutStep step) {
        return step.phase() == RolloutPhase.ACTION && step.state() == RolloutState.WAITING;
    }

    ObjectNode rolloutStep(RolloutStep st) {
        ObjectNode o = json.createObjectNode();
        o.put("node", st.node());
        o.put("index", st.index());
        o.put("phase", st.phase().wireName());
        o.put("state", st.state().wireName());
        o.put("message", st.message());
        o.put("startedAt", time(st.startedAt()));
        o.put("phaseStartedAt", time(st.phaseStartedAt()));
        o.put("endedAt", time(st.endedAt()));
        o.put("drainId", st.drainId());
        o.put("undrainId", st.undrainId());
        o.set("gates", gates(st.gates()));
        if (st.actionExit() == null && st.actionOutput().isEmpty()) {
            o.putNull("action");
        } else {
            ObjectNode a = o.putObject("action");
            a.put("exitStatus", st.actionExit());
            a.put("output", st.actionOutput());
        }
        o.put("backSince", time(st.backSince()));
        return o;
    }

    ArrayNode gates(java.util.List<GateVerdict> verdicts) {
        ArrayNode a = json.createArrayNode();
        for (GateVerdict v : verdicts) a.addObject().put("gate", v.gate()).put("pass", v.pass()).put("reason", v.reason());
        return a;
    }

    /** The request as the rollout understood it: the body's fields, defaults filled in, durations in seconds. */
    ObjectNode rolloutRequest(RolloutRequest q) {
        ObjectNode o = json.createObjectNode();
        if (q.allNodes()) {
            o.put("nodes", "all");
        } else {
            ArrayNode nodes = o.putArray("nodes");
            q.nodes().forEach(nodes::add);
        }
        o.put("drainMode", q.mode().wireName());
        if (q.concurrency().kind() == Concurrency.Kind.FIXED) o.put("maxConcurrent", Integer.parseInt(q.concurrency().toString()));
        else o.put("maxConcurrent", q.concurrency().toString());
        o.put("allowOffline", q.allowOffline());
        o.put("force", q.force());
        o.put("action", q.action());
        o.put("beforeDrain", q.beforeDrain());
        o.put("afterUndrain", q.afterUndrain());
        ArrayNode warnings = o.putArray("cephAllowedWarnings");
        q.cephAllowedWarnings().stream().sorted().forEach(warnings::add);
        o.put("cephNoout", q.cephNoout());
        o.put("gateTimeoutSeconds", q.gateTimeout().toSeconds());
        o.put("actionTimeoutSeconds", q.actionTimeout().toSeconds());
        o.put("nodeBackTimeoutSeconds", q.nodeBackTimeout().toSeconds());
        o.put("settleTimeSeconds", q.settleTime().toSeconds());
        o.put("maxNodesDown", q.maxNodesDown());
        o.put("continueOnFailure", q.continueOnFailure());
        return o;
    }

    /** A rollout's dry run: the order and why, per node its drain's plan, the gates now and estimates. */
    ObjectNode rolloutPlan(RolloutPlan p) {
        ObjectNode o = json.createObjectNode();
        o.put("dryRun", true);
        ArrayNode order = o.putArray("order");
        p.nodes().forEach(n -> order.add(n.node()));
        o.put("orderReason", p.order());
        o.put("estimateSeconds", p.estimate().toSeconds());
        long blocked = p.nodes().stream().filter(n -> !n.gatesPass()).count();
        o.put("message", "Would take " + p.nodes().size() + " node(s) out one at a time: " + String.join(", ",
                p.nodes().stream().map(RolloutPlan.NodePlan::node).toList()) + (blocked == 0 ? "; every gate passes now"
                : "; " + blocked + " node(s) blocked by a gate now (a rollout waits for it, up to gateTimeoutSeconds)"));
        o.set("request", rolloutRequest(p.request()));
        ArrayNode nodes = o.putArray("nodes");
        for (RolloutPlan.NodePlan n : p.nodes()) {
            ObjectNode e = nodes.addObject();
            e.put("node", n.node());
            e.put("gatesPass", n.gatesPass());
            e.set("gates", gates(n.gates()));
            e.put("guestsToMove", n.guestsToMove());
            e.put("memoryToMove", n.memoryToMove());
            e.put("migrationSeconds", n.migrationTime().toSeconds());
            e.put("settleTimeSeconds", n.settleTime().toSeconds());
            e.put("estimateSeconds", n.estimate().toSeconds());
            e.set("drain", plan(n.drain()));
        }
        return o;
    }
}
