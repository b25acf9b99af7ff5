package io.moxxie.examples.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moxxie.core.NotFoundException;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.model.RolloutPhase;
import io.moxxie.core.plan.RolloutRequest;
import io.moxxie.core.rollout.RolloutService;
import io.moxxie.core.rollout.RolloutStatus;
import io.moxxie.core.spi.RolloutStep;
import io.moxxie.examples.server.HttpApi.Response;
import io.moxxie.examples.server.HttpApi.Route;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * The rollout endpoints: {@code POST /api/v1/rollouts} (or its dry run), the list, one rollout, and an operator's
 * pause, resume, cancel and continue, over one {@link RolloutService}. As for drains, each handler validates its input
 * completely before calling the service, so a request that is refused has changed nothing.
 */
final class RolloutRoutes {
    /** The rollout request body: {@link RolloutRequest}'s fields under the drain's names, durations in seconds. */
    static final Set<String> FIELDS = Set.of("nodes", "drainMode", "parallel", "maxConcurrent", "allowOffline", "force", "action",
            "beforeDrain", "afterUndrain", "cephAllowedWarnings", "cephNoout", "gateTimeoutSeconds", "actionTimeoutSeconds",
            "nodeBackTimeoutSeconds", "settleTimeSeconds", "maxNodesDown", "continueOnFailure", "dryRun");
    /** The longest time limit a request may give: a week (an operator's {@code continue} over a long weekend). */
    static final int MAX_TIMEOUT_SECONDS = 7 * 24 * 3600;
    static final int MAX_SETTLE_SECONDS = 24 * 3600;
    static final int MAX_NODES_DOWN = 1000;
    static final String ALL = "all";

    private final RolloutService rollouts;
    private final JsonViews views;
    private final ObjectMapper json;

    RolloutRoutes(RolloutService rollouts, JsonViews views, ObjectMapper json) {
        this.rollouts = rollouts;
        this.views = views;
        this.json = json;
    }

    List<Route> routes() {
        return List.of(
                Route.of("POST", "/api/v1/rollouts", Set.of("dryRun"), this::submit),
                Route.of("GET", "/api/v1/rollouts", Set.of("limit"), this::list),
                Route.of("GET", "/api/v1/rollouts/{rolloutId}", Set.of(), r -> Response.ok(views.rollout(rollouts.status(r.path("rolloutId"))))),
                Route.of("POST", "/api/v1/rollouts/{rolloutId}/pause", Set.of(), r -> operator(r, rollouts::pause)),
                Route.of("POST", "/api/v1/rollouts/{rolloutId}/resume", Set.of(), r -> operator(r, rollouts::resume)),
                Route.of("POST", "/api/v1/rollouts/{rolloutId}/cancel", Set.of(), r -> operator(r, rollouts::cancel)),
                Route.of("POST", "/api/v1/rollouts/{rolloutId}/continue", Set.of("node"), this::continueNode));
    }

    private Response submit(Request r) {
        ObjectNode body = r.jsonObject(FIELDS);
        RolloutRequest request = request(body);
        boolean dryRun = r.queryBoolean("dryRun", false) || request.dryRun();
        try {
            if (dryRun) return Response.ok(views.rolloutPlan(rollouts.plan(request.toBuilder().dryRun(true).build())));
            RolloutStatus s = rollouts.submit(request);
            return Response.accepted(views.rollout(s), "/api/v1/rollouts/" + s.rolloutId());
        } catch (NotFoundException e) {
            // The service names the node; in this body it is one of "nodes".
            if (e.kind().equals("node")) throw new ApiException(404, e.getMessage(), "nodes");
            throw e;
        }
    }

    /** The body as a {@link RolloutRequest}; every field checked here or by the request itself, naming the field. */
    RolloutRequest request(ObjectNode body) {
        RolloutRequest.Builder b = RolloutRequest.builder().nodes(nodes(body.get("nodes")));
        String mode = Request.optString(body, "drainMode");
        if (mode != null) b.mode(DrainMode.parse(mode));
        b.concurrency(ApiRoutes.concurrency(body));
        Boolean allowOffline = Request.optBoolean(body, "allowOffline");
        if (allowOffline != null) b.allowOffline(allowOffline);
        Boolean force = Request.optBoolean(body, "force");
        if (force != null) b.force(force);
        String action = Request.optString(body, "action");
        if (action != null) b.action(action);
        b.beforeDrain(Request.optString(body, "beforeDrain"));
        b.afterUndrain(Request.optString(body, "afterUndrain"));
        JsonNode warnings = body.get("cephAllowedWarnings");
        if (warnings != null && !warnings.isNull()) {
            if (!warnings.isArray()) {
                throw ApiException.badRequest("cephAllowedWarnings", "cephAllowedWarnings must be an array of Ceph health check codes "
                        + "such as [\"PG_NOT_DEEP_SCRUBBED\"], was " + warnings);
            }
            Set<String> codes = new TreeSet<>();
            for (JsonNode w : warnings) {
                if (!w.isTextual()) throw ApiException.badRequest("cephAllowedWarnings", "cephAllowedWarnings must hold strings, was " + w);
                codes.add(w.textValue());
            }
            b.cephAllowedWarnings(codes);
        }
        Boolean noout = Request.optBoolean(body, "cephNoout");
        if (noout != null) b.cephNoout(noout);
        seconds(body, "gateTimeoutSeconds", 1, MAX_TIMEOUT_SECONDS).ifPresent(b::gateTimeout);
        seconds(body, "actionTimeoutSeconds", 1, MAX_TIMEOUT_SECONDS).ifPresent(b::actionTimeout);
        seconds(body, "nodeBackTimeoutSeconds", 1, MAX_TIMEOUT_SECONDS).ifPresent(b::nodeBackTimeout);
        seconds(body, "settleTimeSeconds", 0, MAX_SETTLE_SECONDS).ifPresent(b::settleTime);
        Integer maxDown = Request.optInt(body, "maxNodesDown");
        if (maxDown != null) {
            if (maxDown < 1 || maxDown > MAX_NODES_DOWN) {
                throw ApiException.badRequest("maxNodesDown", "maxNodesDown must be between 1 and " + MAX_NODES_DOWN + ", was " + maxDown);
            }
            b.maxNodesDown(maxDown);
        }
        Boolean goOn = Request.optBoolean(body, "continueOnFailure");
        if (goOn != null) b.continueOnFailure(goOn);
        Boolean dryRun = Request.optBoolean(body, "dryRun");
        if (dryRun != null) b.dryRun(dryRun);
        return b.build();
    }

    /**
     * {@code "all"}, or an array of node names: required, so that a body that forgot it never rolls out the whole
     * cluster.
     */
    private static List<String> nodes(JsonNode nodes) {
        if (nodes == null || nodes.isNull()) {
            throw ApiException.badRequest("nodes", "nodes is required: an array of node names in the order to take them out "
                    + "(e.g. [\"hv7\", \"hv8\"]), or \"all\" for every node, in an order Moxxie chooses");
        }
        if (nodes.isTextual()) {
            if (nodes.textValue().equals(ALL)) return List.of();
            throw ApiException.badRequest("nodes", "nodes must be an array of node names or \"all\", was " + nodes);
        }
        if (!nodes.isArray()) throw ApiException.badRequest("nodes", "nodes must be an array of node names or \"all\", was " + nodes);
        if (nodes.isEmpty()) throw ApiException.badRequest("nodes", "nodes must name at least one node (or be \"all\"), was []");
        List<String> names = new ArrayList<>();
        for (JsonNode n : nodes) {
            if (!n.isTextual()) throw ApiException.badRequest("nodes", "nodes must hold node names (strings), was " + n);
            names.add(n.textValue());
        }
        return names;
    }

    private static Optional<Duration> seconds(ObjectNode body, String field, int min, int max) {
        JsonNode v = body.get(field);
        if (v == null || v.isNull()) return Optional.empty();
        if (!v.isIntegralNumber() || !v.canConvertToInt() || v.intValue() < min || v.intValue() > max) {
            throw ApiException.badRequest(field, field + " must be a whole number of seconds between " + min + " and " + max + ", was " + v);
        }
        return Optional.of(Duration.ofSeconds(v.intValue()));
    }

    private Response list(Request r) {
        int limit = r.queryInt("limit", ApiRoutes.DEFAULT_HISTORY, 1, ApiRoutes.MAX_HISTORY);
        ArrayNode a = json.createArrayNode();
        for (RolloutStatus s : rollouts.rollouts(limit)) a.add(views.rollout(s));
        return Response.ok(a);
    }

    private interface Operation {
        RolloutStatus apply(String rolloutId);
    }

    private Response operator(Request r, Operation op) {
        r.jsonObject(Set.of());
        return Response.ok(views.rollout(op.apply(r.path("rolloutId"))));
    }

    /**
     * An operator's go-ahead, only for a node whose action waits for one ({@code awaitingContinue}): a continue sent
     * while a command runs would otherwise be kept and, should the server die, let the node go on unchecked. With
     * {@code ?node=}, only if that node is the one waiting: a script that saw hv7 wait never lets hv8 go on by a
     * continue sent late.
     */
    private Response continueNode(Request r) {
        r.jsonObject(Set.of());
        String id = r.path("rolloutId");
        String node = r.query("node");
        RolloutStatus s = rollouts.status(id);
        Optional<RolloutStep> current = s.current();
        if (!s.rollout().ended()) {
            Optional<RolloutStep> running = current.filter(c -> c.phase() == RolloutPhase.ACTION && !JsonViews.awaitsContinue(c)
                    && !RolloutRequest.CONTINUE_ACTION.equals(s.rollout().request().action()));
            if (running.isPresent()) {
                throw new ApiException(409, "the action " + s.rollout().request().action() + " is running on " + running.get().node()
                        + " in rollout " + id + ": continue is for an action that waits for an operator (continue, or a command "
                        + "a stopped server left); cancel stops a command", null, json.createObjectNode().put("rolloutId", id));
            }
            if (node != null && current.filter(c -> c.node().equals(node) && c.phase() == RolloutPhase.ACTION).isEmpty()) {
                throw new ApiException(409, "node " + node + " does not wait for continue in rollout " + id + ": "
                        + current.map(c -> c.node() + " is at " + c.phase().wireName()).orElse("no node is under way"), "node",
                        json.createObjectNode().put("rolloutId", id));
            }
        }
        return Response.ok(views.rollout(rollouts.continueNode(id)));
    }
}
