package io.moxxie.core.rollout;

import io.moxxie.core.Checks;
import io.moxxie.core.NotFoundException;
import io.moxxie.core.ValidationException;
import io.moxxie.core.execution.ExecutorConfig;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.GateVerdict;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.model.Node;
import io.moxxie.core.model.RolloutPhase;
import io.moxxie.core.model.RolloutState;
import io.moxxie.core.plan.DrainPlan;
import io.moxxie.core.plan.PlanEntry;
import io.moxxie.core.plan.RolloutRequest;
import io.moxxie.core.service.MaintenanceService;
import io.moxxie.core.spi.HypervisorClient;
import io.moxxie.core.spi.RolloutRecord;
import io.moxxie.core.spi.RolloutStep;
import io.moxxie.core.spi.RolloutStore;
import io.moxxie.core.time.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * Rolling maintenance of a cluster: a <em>rollout</em> takes its nodes out of service strictly one at a time — for
 * each, the gates pass, maintenance goes on and the node is drained, an empty check, the maintenance action (an
 * operator's {@code continue}, a command, a reboot), the node back and settled, the gates again, the undrain and
 * maintenance off — and stops at the first failure, leaving that node in maintenance with its guests where they are and
 * every other node untouched.
 *
 * <pre>{@code
 * RolloutService rollouts = RolloutService.builder(maintenanceService, client, store).action(myUpgrade).build();
 * rollouts.start();                                  // takes over rollouts dead instances left
 * RolloutPlan plan = rollouts.plan(RolloutRequest.builder().allNodes().dryRun(true).build());
 * RolloutStatus s = rollouts.submit(RolloutRequest.builder().nodes("hv7", "hv8").action("upgrade").build());
 * }</pre>
 *
 * <h2>Persistence and takeover</h2>
 * A rollout is kept in a {@link RolloutStore} as it runs, owned by one instance under a lease that a heartbeat renews,
 * like a drain. An instance that starts, or whose heartbeat finds a lease expired, takes the rollout over and goes on
 * from the phase recorded (see {@link RolloutRun}). Operators' pause, resume, cancel and continue are written to the
 * store, so they work through any instance.
 *
 * <h2>Several rollouts</h2>
 * Rollouts may run side by side; the {@code nodes-down} gate keeps the nodes out of service (in maintenance, being
 * drained or offline, whoever caused it) within each request's {@code maxNodesDown}, and of two that take a node out at
 * the same instant the later steps back.
 *
 * <p>Thread-safe. Runs on the maintenance service's {@link Scheduler}; needs that service started.
 */
public final class RolloutService implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(RolloutService.class);
    /** How often a rollout looks again at what it waits for. */
    public static final Duration DEFAULT_TICK = Duration.ofSeconds(5);
    /** How much of an action's output a step keeps (its tail). */
    public static final int MAX_ACTION_OUTPUT = 4096;
    private static final double GIB = 1024.0 * 1024 * 1024;

    private final MaintenanceService service;
    private final HypervisorClient client;
    private final RolloutStore store;
    private final Scheduler scheduler;
    private final Map<String, MaintenanceAction> actions;
    private final List<Gate> gates;
    private final Duration tick;
    private final Duration lease;
    private final Duration heartbeatInterval;
    private final Map<String, RolloutRun> active = new ConcurrentHashMap<>();
    private final Object lifecycle = new Object();
    private Scheduler.Cancellable heartbeat;
    private volatile State state = State.NEW;

    private enum State { NEW, STARTED, CLOSED }

    private RolloutService(Builder b) {
        this.service = b.service;
        this.client = b.client;
        this.store = b.store;
        this.scheduler = service.scheduler();
        this.actions = Map.copyOf(b.actions);
        this.gates = List.copyOf(b.gates);
        this.tick = b.tick;
        this.lease = b.lease;
        this.heartbeatInterval = b.lease.dividedBy(3);
    }

    public static Builder builder(MaintenanceService service, HypervisorClient client, RolloutStore store) {
        return new Builder(service, client, store);
    }

    /** The names of the actions a request may name, sorted. */
    public Set<String> actionNames() {
        return new java.util.TreeSet<>(actions.keySet());
    }

    // ------------------------------------------------------------------ the API

    /**
     * The rollout's dry run: node order (and why), each node's drain plan, the gates' verdicts now, estimates. Nothing
     * changes.
     *
     * @throws ValidationException an unknown action, or a node named that is offline
     * @throws NotFoundException   a node named that does not exist
     */
    public RolloutPlan plan(RolloutRequest request) {
        Checks.notNull("request", request);
        checkActions(request);
        ClusterSnapshot snapshot = client.snapshot();
        Order order = order(request, snapshot);
        List<RolloutPlan.NodePlan> nodes = new ArrayList<>();
        Duration total = Duration.ZERO;
        for (String node : order.nodes) {
            DrainPlan drain = order.plans.containsKey(node) ? order.plans.get(node) : service.plan(request.drainRequest(node));
            List<GateVerdict> verdicts = check(node, request, snapshot, "dry-run", Set.of(), true);
            long memory = drain.moves().stream().mapToLong(e -> e.guest().memory()).sum();
            Duration migrations = estimate(drain, request).multipliedBy(2);
            RolloutPlan.NodePlan p = new RolloutPlan.NodePlan(node, drain, verdicts, drain.moves().size(), memory, migrations,
                    request.settleTime());
            nodes.add(p);
            total = total.plus(p.estimate());
        }
        return new RolloutPlan(request, nodes, order.reason, total);
    }

    /**
     * Starts a rollout and returns at once with its status: every step pending, the first about to check its gates.
     *
     * @throws ValidationException   a dry-run request (use {@link #plan}), an unknown action, a node named twice or offline
     * @throws NotFoundException     a node named that does not exist
     * @throws IllegalStateException this service is not started, or closed
     */
    public RolloutStatus submit(RolloutRequest request) {
        Checks.notNull("request", request);
        if (request.dryRun()) throw new ValidationException("dryRun", true, "dryRun requests are answered by plan(), not submit()");
        ensureStarted("submit()");
        checkActions(request);
        Order order = order(request, client.snapshot());
        if (order.nodes.isEmpty()) throw new ValidationException("nodes", "all", "no online node to roll out: " + order.reason);
        Instant now = scheduler.now();
        String id = UUID.randomUUID().toString();
        RolloutRecord record = new RolloutRecord(id, request, RolloutState.RUNNING, "Rollout of " + order.nodes.size()
                + " node(s): " + String.join(", ", order.nodes), now, null, ownerId(), now.plus(lease), false, false, null);
        List<RolloutStep> steps = new ArrayList<>();
        for (int i = 0; i < order.nodes.size(); i++) steps.add(RolloutStep.pending(id, i, order.nodes.get(i)));
        store.createRollout(record, steps);
        log.info("Rollout {} started by {}: {} ({}), action {}", id, ownerId(), String.join(", ", order.nodes), order.reason,
                request.action());
        RolloutRun run = new RolloutRun(this, record);
        active.put(id, run);
        run.schedule(Duration.ZERO);
        return status(id);
    }

    /** @throws NotFoundException no such rollout */
    public RolloutStatus status(String rolloutId) {
        RolloutRecord r = require(rolloutId);
        return new RolloutStatus(r, store.steps(rolloutId));
    }

    /** Rollouts, newest first. */
    public List<RolloutStatus> rollouts(int limit) {
        Checks.positive("limit", limit);
        return store.rollouts(limit).stream().map(r -> new RolloutStatus(r, store.steps(r.rolloutId()))).toList();
    }

    /**
     * Pauses: the node under way finishes its whole step (back in service), then no new node starts until {@link
     * #resume}. Idempotent.
     *
     * @throws RolloutConflictException the rollout has ended
     */
    public RolloutStatus pause(String rolloutId) {
        requireRunning(rolloutId, "paused");
        store.requestRolloutPause(rolloutId, true);
        return status(rolloutId);
    }

    /** @throws RolloutConflictException the rollout has ended */
    public RolloutStatus resume(String rolloutId) {
        requireRunning(rolloutId, "resumed");
        store.requestRolloutPause(rolloutId, false);
        return status(rolloutId);
    }

    /**
     * Cancels: the drain or undrain under way is cancelled, no new node starts; the node under way is left as it is
     * (in maintenance when it was out), as the rollout's message then says. A cancelled rollout changes nothing more.
     *
     * @throws RolloutConflictException the rollout has ended
     */
    public RolloutStatus cancel(String rolloutId) {
        requireRunning(rolloutId, "cancelled");
        store.requestRolloutCancel(rolloutId);
        RolloutRun run = active.get(rolloutId);
        if (run != null) run.schedule(Duration.ZERO);
        return status(rolloutId);
    }

    /**
     * An operator's go-ahead for the node whose maintenance action waits for one: the {@code continue} action, or an
     * action a stopped process left with an unknown end.
     *
     * @throws RolloutConflictException nothing waits for a continue now
     */
    public RolloutStatus continueNode(String rolloutId) {
        RolloutStatus s = status(rolloutId);
        if (s.rollout().ended()) throw new RolloutConflictException(rolloutId, "rollout " + rolloutId + " has ended ("
                + s.rollout().state().wireName() + ")");
        // A continue is for the continue action, or for an action a stopped process left (its step waits); never for an
        // action running now: an instance taking over would take that continue for the operator's word that it ended.
        boolean continueAction = RolloutRequest.CONTINUE_ACTION.equals(s.rollout().request().action());
        Optional<RolloutStep> step = s.current().filter(c -> c.phase() == RolloutPhase.ACTION);
        if (step.isEmpty()) {
            throw new RolloutConflictException(rolloutId, "nothing waits for continue in rollout " + rolloutId + ": "
                    + s.current().map(c -> c.node() + " is at " + c.phase().wireName()).orElse("no node is under way"));
        }
        if (!continueAction && step.get().state() != RolloutState.WAITING) {
            throw new RolloutConflictException(rolloutId, "the action " + s.rollout().request().action() + " is running on "
                    + step.get().node() + "; continue is for an action that waits for an operator (cancel stops this one)");
        }
        store.requestRolloutContinue(rolloutId, step.get().node());
        RolloutRun run = active.get(rolloutId);
        if (run != null) run.schedule(Duration.ZERO);
        return status(rolloutId);
    }

    /**
     * Refuses a drain of {@code node} that would take one node too many out while a rollout runs: a drain started by
     * hand beside a rollout counts against the rollout's {@code maxNodesDown} as the rollout's own nodes do. A drain of
     * the node a rollout has out already (the rollout's own, or an operator's retry) is not refused here.
     *
     * @throws RolloutConflictException a running rollout's {@code maxNodesDown} would be exceeded; the message names it
     */
    public void checkDrainAllowed(String node) {
        Checks.nodeName("node", node);
        List<RolloutRecord> running = store.unfinishedRollouts();
        if (running.isEmpty()) return;
        ClusterSnapshot snapshot = client.snapshot();
        if (snapshot.node(node).isEmpty()) return; // the drain answers that the node does not exist
        Map<String, String> out = service.nodesOutOfService(snapshot);
        if (out.containsKey(node)) return;
        for (RolloutRecord r : running) {
            int max = r.request().maxNodesDown();
            if (out.size() >= max) {
                throw new RolloutConflictException(r.rolloutId(), "rollout " + r.rolloutId() + " is running with maxNodesDown " + max
                        + " and " + out.size() + " node(s) are out of service already (" + String.join(", ", out.keySet())
                        + "): draining " + node + " now would take one more out. Pause or wait for the rollout, or cancel it");
            }
        }
    }

    // ------------------------------------------------------------------ lifecycle

    /**
     * Takes over the rollouts whose owner is gone (lease expired, or this owner id's own from before a restart) and
     * starts the heartbeat that renews this instance's leases and takes over any that expire later. Idempotent.
     *
     * @throws IllegalStateException closed, or the maintenance service is not started
     */
    public void start() {
        List<RolloutRecord> left;
        synchronized (lifecycle) {
            if (state == State.CLOSED) throw new IllegalStateException("RolloutService is closed; build a new one");
            if (state == State.STARTED) return;
            if (!service.isStarted()) throw new IllegalStateException("start the MaintenanceService before the RolloutService");
            // Read before rollouts can be submitted here (this owner id's among them are a previous process's), and before
            // the state changes: a store that fails this read leaves the service not started, so start() can be retried.
            left = store.unfinishedRollouts();
            state = State.STARTED;
        }
        takeOver(left, true);
        synchronized (lifecycle) {
            if (state == State.STARTED) heartbeat = scheduler.scheduleWithFixedDelay(heartbeatInterval, heartbeatInterval, this::beat);
        }
    }

    /** Stops this instance's work on rollouts, leaving them as recorded for another instance to take over. Idempotent. */
    @Override
    public void close() {
        synchronized (lifecycle) {
            if (state == State.CLOSED) return;
            state = State.CLOSED;
            if (heartbeat != null) heartbeat.cancel();
        }
        active.values().forEach(RolloutRun::stop);
        active.clear();
    }

    private void beat() {
        if (state != State.STARTED) return;
        Instant until = scheduler.now().plus(lease);
        for (RolloutRun run : List.copyOf(active.values())) {
            try {
                if (!store.renewRolloutLease(run.rolloutId(), ownerId(), until)) {
                    run.stop();
                    active.remove(run.rolloutId());
                }
            } catch (RuntimeException e) {
                log.warn("Rollout {}: lease not renewed ({}); trying again at the next heartbeat", run.rolloutId(), e.getMessage());
            }
        }
        List<RolloutRecord> unfinished;
        try {
            unfinished = store.unfinishedRollouts();
        } catch (RuntimeException e) {
            log.warn("Looking for rollouts to take over failed ({}); trying again at the next heartbeat", e.getMessage());
            return;
        }
        takeOver(unfinished, false);
    }

    /**
     * Takes over those of {@code rollouts} whose lease has expired and that do not run here; {@code includeOwn}: also
     * those this owner id holds (at start, when they can only be a previous process's). One failing does not keep the
     * others; a service closed meanwhile takes nothing more over.
     */
    private void takeOver(List<RolloutRecord> rollouts, boolean includeOwn) {
        for (RolloutRecord r : rollouts) {
            if (state != State.STARTED) return;
            if (active.containsKey(r.rolloutId())) continue;
            Instant now = scheduler.now();
            boolean own = ownerId().equals(r.owner());
            boolean expired = r.leaseExpiresAt() == null || r.leaseExpiresAt().isBefore(now);
            if (!(expired || (own && includeOwn))) continue;
            try {
                Optional<RolloutRecord> taken = store.takeOverRollout(r.rolloutId(), ownerId(), now, now.plus(lease));
                if (taken.isEmpty()) continue;
                log.warn("Rollout {} taken over by {} from {} (lease expired {})", r.rolloutId(), ownerId(), r.owner(), r.leaseExpiresAt());
                RolloutRun run = new RolloutRun(this, taken.get());
                synchronized (lifecycle) {
                    // Closed meanwhile: close() has stopped the runs it saw; the lease just taken expires for another instance.
                    if (state != State.STARTED) return;
                    active.put(r.rolloutId(), run);
                }
                run.schedule(Duration.ZERO);
            } catch (RuntimeException e) {
                log.error("Taking over rollout {} failed: {}", r.rolloutId(), e.toString());
            }
        }
    }

    // ------------------------------------------------------------------ for RolloutRun

    MaintenanceService service() {
        return service;
    }

    HypervisorClient client() {
        return client;
    }

    RolloutStore store() {
        return store;
    }

    String ownerId() {
        return service.ownerId();
    }

    Duration tick() {
        return tick;
    }

    void ended(RolloutRun run) {
        active.remove(run.rolloutId(), run);
    }

    MaintenanceAction action(String name) {
        MaintenanceAction a = actions.get(name);
        if (a == null) throw new ValidationException("action", name, "unknown action '" + name + "'; this server has: " + actionNames());
        return a;
    }

    /** Every gate's verdict for {@code node} (before it goes out, or before its guests return). */
    List<GateVerdict> check(String node, RolloutRecord record, Set<String> flagsWeSet, boolean beforeNode) {
        return check(node, record.request(), client.snapshot(), record.rolloutId(), flagsWeSet, beforeNode);
    }

    private List<GateVerdict> check(String node, RolloutRequest request, ClusterSnapshot snapshot, String rolloutId,
                                    Set<String> flagsWeSet, boolean beforeNode) {
        GateContext context = new GateContext(rolloutId, node, request, snapshot, client, service, flagsWeSet);
        List<GateVerdict> out = new ArrayList<>();
        for (Gate g : gates) {
            GateVerdict v;
            try {
                v = beforeNode ? g.beforeNode(context) : g.beforeReturn(context);
            } catch (RuntimeException e) {
                v = GateVerdict.block(g.name(), "could not check: " + e.getMessage());
            }
            out.add(v);
        }
        return out;
    }

    // ------------------------------------------------------------------ internals

    private void checkActions(RolloutRequest request) {
        action(request.action());
        if (request.beforeDrainAction().isPresent()) checkSideAction("beforeDrain", request.beforeDrain());
        if (request.afterUndrainAction().isPresent()) checkSideAction("afterUndrain", request.afterUndrain());
    }

    private void checkSideAction(String field, String name) {
        if (RolloutRequest.CONTINUE_ACTION.equals(name)) {
            throw new ValidationException(field, name, field + " cannot be '" + name + "': an operator's continue is for the "
                    + "maintenance action itself");
        }
        if (!actions.containsKey(name)) {
            throw new ValidationException(field, name, "unknown action '" + name + "' for " + field + "; this server has: " + actionNames());
        }
    }

    /** The nodes in the order they go, and why; the drain plans made to choose it. */
    private record Order(List<String> nodes, String reason, Map<String, DrainPlan> plans) {
    }

    private Order order(RolloutRequest request, ClusterSnapshot snapshot) {
        if (!request.allNodes()) {
            for (String n : request.nodes()) {
                Node node = snapshot.node(n).orElseThrow(() -> NotFoundException.node(n));
                if (!node.online()) throw new ValidationException("nodes", n, "node " + n + " is offline: it cannot be drained");
            }
            return new Order(request.nodes(), "as given", Map.of());
        }
        Map<String, DrainPlan> plans = new LinkedHashMap<>();
        Map<String, Long> cost = new TreeMap<>();
        List<String> left = new ArrayList<>();
        for (Node n : snapshot.nodes()) {
            if (!n.online()) {
                left.add(n.name() + " (offline)");
                continue;
            }
            DrainPlan p = service.plan(request.drainRequest(n.name()));
            plans.put(n.name(), p);
            cost.put(n.name(), p.moves().stream().filter(e -> e.migrationType() != MigrationType.OFFLINE)
                    .mapToLong(e -> e.guest().memory()).sum());
        }
        List<String> nodes = cost.keySet().stream()
                .sorted(Comparator.comparingLong((String n) -> cost.get(n)).thenComparing(Node.NAME_ORDER)).toList();
        String costs = nodes.stream().map(n -> n + " " + String.format(Locale.ROOT, "%.1f GiB", cost.get(n) / GIB))
                .collect(Collectors.joining(", "));
        String reason = "least memory to move live first (" + costs + "): the first nodes cost least if the rollout has to stop"
                + (left.isEmpty() ? "" : "; left out: " + String.join(", ", left));
        return new Order(nodes, reason, plans);
    }

    /**
     * A lower bound on the drain's duration from the executor's expectations: the longest move alone, the moves shared
     * over the concurrency, and the memory over the link — {@code max(max_i(o + m_i/s), Σ(o + m_i/s)/k, Σm_i/B)}.
     */
    private Duration estimate(DrainPlan plan, RolloutRequest request) {
        ExecutorConfig c = service.executorConfig();
        double o = c.expectedMigrationOverhead().toNanos() / 1e9;
        int k = Math.max(1, request.concurrency().resolve(c.autoConcurrency()));
        double longest = 0, sum = 0, bytes = 0;
        for (PlanEntry e : plan.moves()) {
            double m = e.migrationType() == MigrationType.OFFLINE ? 0 : e.guest().memory();
            double solo = o + m / c.expectedMigrationRate();
            longest = Math.max(longest, solo);
            sum += solo;
            bytes += m;
        }
        double seconds = Math.max(longest, Math.max(sum / k, bytes / c.expectedLinkBandwidth()));
        return Duration.ofMillis(Math.round(seconds * 1000));
    }

    private RolloutRecord require(String rolloutId) {
        Checks.notNull("rolloutId", rolloutId);
        return store.rollout(rolloutId).orElseThrow(() -> new NotFoundException("rollout", rolloutId));
    }

    private void requireRunning(String rolloutId, String verb) {
        RolloutRecord r = require(rolloutId);
        if (r.ended()) throw new RolloutConflictException(rolloutId, "rollout " + rolloutId + " has ended (" + r.state().wireName()
                + "); it cannot be " + verb);
    }

    private void ensureStarted(String what) {
        if (state != State.STARTED) throw new IllegalStateException(what + " needs a started RolloutService (call start())");
    }

    @Override
    public String toString() {
        return "RolloutService[" + ownerId() + ", " + active.size() + " rollout(s) running here, actions " + actionNames() + "]";
    }

    /** Not thread-safe. */
    public static final class Builder {
        private final MaintenanceService service;
        private final HypervisorClient client;
        private final RolloutStore store;
        private final Map<String, MaintenanceAction> actions = new TreeMap<>();
        private final List<Gate> gates = new ArrayList<>(Gates.defaults());
        private Duration tick = DEFAULT_TICK;
        private Duration lease = MaintenanceService.DEFAULT_LEASE;

        private Builder(MaintenanceService service, HypervisorClient client, RolloutStore store) {
            this.service = Checks.notNull("service", service);
            this.client = Checks.notNull("client", client);
            this.store = Checks.notNull("store", store);
            action(MaintenanceAction.waitForContinue());
        }

        /** Registers an action under its {@link MaintenanceAction#name() name} (replacing one of the same name). */
        public Builder action(MaintenanceAction action) {
            Checks.notNull("action", action);
            RolloutRequest.builder().action(action.name()).build(); // validates the name as a request would
            actions.put(action.name(), action);
            return this;
        }

        /** Adds a gate after the built-in ones. */
        public Builder gate(Gate gate) {
            gates.add(Checks.notNull("gate", gate));
            return this;
        }

        /** How often a rollout looks again at what it waits for; 5 s by default. */
        public Builder tick(Duration tick) {
            this.tick = Checks.positive("tick", tick);
            return this;
        }

        /** How long a rollout stays owned without a heartbeat; the maintenance service's default (60 s) by default. */
        public Builder lease(Duration lease) {
            this.lease = Checks.positive("lease", lease);
            return this;
        }

        public RolloutService build() {
            return new RolloutService(this);
        }
    }
}
