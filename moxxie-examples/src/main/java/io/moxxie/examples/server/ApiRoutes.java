package io.moxxie.examples.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.Concurrency;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.rollout.RolloutService;
import io.moxxie.core.service.MaintenanceService;
import io.moxxie.core.service.MaintenanceView;
import io.moxxie.core.service.NodeView;
import io.moxxie.core.spi.TaskRef;
import io.moxxie.examples.server.HttpApi.Response;
import io.moxxie.examples.server.HttpApi.Route;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Set;

/**
 * The endpoints of the user guide, plus dry run, cancel, maintenance state and drain history, over one
 * {@link MaintenanceService}, and the rollouts' ({@link RolloutRoutes}). Each handler validates its input completely before calling the service, so a
 * request that is refused has changed nothing.
 */
final class ApiRoutes {
    /** The drain request body: the guide's fields plus {@code force} and {@code dryRun}. */
    static final Set<String> DRAIN_FIELDS = Set.of("drainMode", "parallel", "maxConcurrent", "allowOffline", "targetNode", "force", "dryRun");
    static final int MAX_REASON_LENGTH = 500;
    static final int DEFAULT_HISTORY = 20;
    static final int MAX_HISTORY = 500;
    static final String OPENAPI_RESOURCE = "/io/moxxie/examples/server/openapi.json";

    private final MaintenanceService service;
    private final JsonViews views;
    private final ObjectMapper json;
    private final JsonNode openApi;

    private final EventStream events;
    private final RolloutService rolloutService;
    private final RolloutRoutes rollouts;

    ApiRoutes(MaintenanceService service, RolloutService rollouts, ObjectMapper json) {
        this(service, rollouts, json, null);
    }

    /** @param events the event stream (null: {@code GET /api/v1/events} answers 503) */
    ApiRoutes(MaintenanceService service, RolloutService rollouts, ObjectMapper json, EventStream events) {
        this.events = events;
        this.service = service;
        this.json = json;
        this.views = new JsonViews(json);
        this.rolloutService = rollouts;
        this.rollouts = new RolloutRoutes(rollouts, views, json);
        this.openApi = loadOpenApi(json);
    }

    static JsonNode loadOpenApi(ObjectMapper json) {
        try (InputStream in = ApiRoutes.class.getResourceAsStream(OPENAPI_RESOURCE)) {
            if (in == null) throw new IllegalStateException("missing resource " + OPENAPI_RESOURCE);
            return json.readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    List<Route> routes() {
        List<Route> routes = new java.util.ArrayList<>(List.of(
                Route.of("POST", "/api/v1/nodes/{node}/drain", Set.of("dryRun"), this::drain),
                Route.of("GET", "/api/v1/nodes/{node}/drain/{drainId}/status", Set.of(), r -> Response.ok(
                        views.status(service.status(r.path("node"), r.path("drainId"))))),
                Route.of("POST", "/api/v1/nodes/{node}/drain/{drainId}/cancel", Set.of(), this::cancel),
                Route.of("GET", "/api/v1/nodes/{node}/drains", Set.of("limit"), this::drains),
                Route.of("POST", "/api/v1/nodes/{node}/undrain", Set.of(), this::undrain),
                Route.of("GET", "/api/v1/nodes/{node}/maintenance", Set.of(), r -> Response.ok(
                        views.maintenance(service.maintenance(r.path("node"))))),
                Route.of("POST", "/api/v1/nodes/{node}/maintenance", Set.of("drain", "reason"), this::enableMaintenance),
                Route.of("DELETE", "/api/v1/nodes/{node}/maintenance", Set.of("undrain"), this::disableMaintenance),
                Route.of("GET", "/api/v1/nodes", Set.of(), r -> {
                    ArrayNode a = json.createArrayNode();
                    service.nodes().stream().sorted(java.util.Comparator.comparing(NodeView::node, JsonViews.NATURAL))
                            .forEach(n -> a.add(views.node(n)));
                    return Response.ok(a);
                }),
                Route.of("GET", "/api/v1/vms", Set.of("tags", "node"), this::vms),
                Route.of("GET", "/api/v1/vms/{vmid}", Set.of(), r -> Response.ok(views.guest(service.guest(r.vmid())))),
                Route.of("PUT", "/api/v1/vms/{vmid}/config", Set.of(), this::config),
                Route.of("POST", "/api/v1/vms/{vmid}/power/start", Set.of(), this::start),
                Route.of("POST", "/api/v1/vms/{vmid}/power/stop", Set.of(), this::stop),
                Route.raw("GET", EventStream.PATH, ctx -> {
                    if (events == null) throw new ApiException(503, "no event stream in this server", null);
                    events.open(ctx);
                }),
                Route.of("GET", "/api/v1/openapi.json", Set.of(), r -> Response.ok(openApi))));
        routes.addAll(rollouts.routes());
        return List.copyOf(routes);
    }

    private Response drain(Request r) {
        String node = r.path("node");
        ObjectNode body = r.jsonObject(DRAIN_FIELDS);
        DrainRequest.Builder b = DrainRequest.builder(node);
        String mode = Request.optString(body, "drainMode");
        if (mode != null) b.mode(DrainMode.parse(mode));
        Concurrency concurrency = concurrency(body);
        Boolean allowOffline = Request.optBoolean(body, "allowOffline");
        if (allowOffline != null) b.allowOffline(allowOffline);
        Boolean force = Request.optBoolean(body, "force");
        if (force != null) b.force(force);
        b.targetNode(Request.optString(body, "targetNode"));
        Boolean bodyDryRun = Request.optBoolean(body, "dryRun");
        boolean dryRun = r.queryBoolean("dryRun", false) || Boolean.TRUE.equals(bodyDryRun);
        b.concurrency(concurrency);
        // The service answers an unknown node (404) and a target that cannot take guests (400 / 409) from its own read.
        DrainRequest request = b.build();
        if (dryRun) return Response.ok(views.plan(service.plan(request)));
        rolloutService.checkDrainAllowed(node); // a drain by hand counts against a running rollout's maxNodesDown (409)
        DrainStatus s = service.drain(request).status();
        return Response.accepted(views.status(s), statusPath(s));
    }

    /**
     * The body's {@code parallel} and {@code maxConcurrent} (a whole number, its range Concurrency's to check, or
     * {@code "auto"}) as one {@link Concurrency}, as the guide has it: {@code parallel: false} runs one at a time
     * whatever {@code maxConcurrent} says, though a {@code maxConcurrent} out of range is still refused.
     */
    static Concurrency concurrency(ObjectNode body) {
        Boolean parallel = Request.optBoolean(body, "parallel");
        JsonNode max = body.get("maxConcurrent");
        boolean autoMax = max != null && "auto".equals(max.textValue());
        if (max != null && !max.isNull() && !autoMax && (!max.isIntegralNumber() || !max.canConvertToInt())) {
            throw ApiException.badRequest("maxConcurrent", "maxConcurrent must be a whole number or \"auto\", was " + max);
        }
        Concurrency asked = autoMax ? Concurrency.auto()
                : max == null || max.isNull() ? DrainRequest.DEFAULT_CONCURRENCY : Concurrency.fixed(max.intValue());
        return Boolean.FALSE.equals(parallel) ? Concurrency.serial() : asked;
    }

    private Response cancel(Request r) {
        r.jsonObject(Set.of());
        return Response.ok(views.status(service.cancel(r.path("node"), r.path("drainId"))));
    }

    private Response drains(Request r) {
        int limit = r.queryInt("limit", DEFAULT_HISTORY, 1, MAX_HISTORY);
        String node = r.path("node");
        service.maintenance(node); // 404 for an unknown node rather than an empty history
        ArrayNode a = json.createArrayNode();
        for (DrainStatus s : service.drains(node, limit)) a.add(views.status(s));
        return Response.ok(a);
    }

    private Response undrain(Request r) {
        r.jsonObject(Set.of());
        DrainStatus s = service.undrain(r.path("node")).status();
        return Response.accepted(views.status(s), statusPath(s));
    }

    private Response enableMaintenance(Request r) {
        r.jsonObject(Set.of());
        boolean drain = r.queryBoolean("drain", false);
        String reason = r.query("reason");
        if (reason != null && reason.length() > MAX_REASON_LENGTH) {
            throw ApiException.badRequest("reason", "reason must be at most " + MAX_REASON_LENGTH + " characters, was " + reason.length());
        }
        if (reason != null && reason.isBlank()) reason = null;
        if (drain) rolloutService.checkDrainAllowed(r.path("node"));
        MaintenanceView v = service.enableMaintenance(r.path("node"), reason, drain);
        if (events != null) events.maintenanceChanged(v);
        return Response.ok(views.maintenance(v));
    }

    private Response disableMaintenance(Request r) {
        r.jsonObject(Set.of());
        boolean undrain = r.queryBoolean("undrain", false);
        MaintenanceView v = service.disableMaintenance(r.path("node"), undrain);
        if (events != null) events.maintenanceChanged(v);
        return Response.ok(views.maintenance(v));
    }

    private Response vms(Request r) {
        String node = r.query("node");
        if (node != null && !node.isBlank() && service.nodes().stream().noneMatch(n -> n.node().equals(node))) {
            throw new ApiException(404, "node '" + node + "' not found", "node");
        }
        ArrayNode a = json.createArrayNode();
        for (Guest g : service.guests(r.query("tags"), node)) a.add(views.guest(g));
        return Response.ok(a);
    }

    private Response config(Request r) {
        int vmid = r.vmid();
        ObjectNode body = r.jsonObject(Set.of("tags"));
        if (!body.has("tags")) throw ApiException.badRequest("tags", "tags is required, e.g. {\"tags\": \"always-on,env-prod\"}");
        String tags = Request.optString(body, "tags");
        if (tags == null) throw ApiException.badRequest("tags", "tags must be a string, was null (send \"\" to remove every tag)");
        io.moxxie.core.policy.TagPolicy.parseValidTags(tags);
        return Response.ok(views.guest(service.setTags(vmid, tags)));
    }

    private Response start(Request r) {
        int vmid = r.vmid();
        r.jsonObject(Set.of());
        Guest g = service.guest(vmid);
        if (g.template()) throw new ApiException(409, "VM " + vmid + " (" + g.name() + ") is a template and cannot be started", "vmid");
        if (g.running()) {
            ObjectNode o = views.guest(g);
            o.put("message", "VM " + vmid + " (" + g.name() + ") is already running on " + g.node());
            return Response.ok(o);
        }
        TaskRef task = service.startGuest(vmid);
        return Response.accepted(views.task(g, task), "/api/v1/vms/" + vmid);
    }

    /** Powers a guest off at once (no ACPI shutdown): in the demo, how an operator sees a drain start an always-on guest again. */
    private Response stop(Request r) {
        int vmid = r.vmid();
        r.jsonObject(Set.of());
        Guest g = service.guest(vmid);
        if (g.template()) throw new ApiException(409, "VM " + vmid + " (" + g.name() + ") is a template and cannot be stopped", "vmid");
        if (g.status() == io.moxxie.core.model.PowerState.STOPPED) {
            ObjectNode o = views.guest(g);
            o.put("message", "VM " + vmid + " (" + g.name() + ") is already stopped on " + g.node());
            return Response.ok(o);
        }
        TaskRef task = service.stopGuest(vmid);
        return Response.accepted(views.task(g, task, "Stop"), "/api/v1/vms/" + vmid);
    }

    private static String statusPath(DrainStatus s) {
        return "/api/v1/nodes/" + s.node() + "/drain/" + s.drainId() + "/status";
    }
}
