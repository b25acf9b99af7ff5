package io.moxxie.core.service;

import io.moxxie.core.NotFoundException;
import io.moxxie.core.ValidationException;
import io.moxxie.core.plan.PreflightException;
import io.moxxie.core.execution.DrainExecutor;
import io.moxxie.core.execution.StoreOutage;
import io.moxxie.core.execution.DrainListener;
import io.moxxie.core.spi.DrainRecord;
import io.moxxie.core.execution.RunningDrain;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.execution.ExecutorConfig;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.Operation;
import io.moxxie.core.Checks;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.model.Node;
import io.moxxie.core.model.NodeMaintenance;
import io.moxxie.core.plan.DrainPlan;
import io.moxxie.core.plan.DrainPlanner;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.plan.PlacementConfig;
import io.moxxie.core.plan.PlanEntry;
import io.moxxie.core.plan.PlanningInput;
import io.moxxie.core.policy.TagPolicy;
import io.moxxie.core.spi.HypervisorClient;
import io.moxxie.core.spi.HypervisorUnavailableException;
import io.moxxie.core.spi.MaintenanceStore;
import io.moxxie.core.spi.StoreUnavailableException;
import io.moxxie.core.spi.TaskRef;
import io.moxxie.core.spi.TransientHypervisorException;
import io.moxxie.core.time.RealTimeScheduler;
import io.moxxie.core.time.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * The facade of Moxxie: every workflow of the user guide — drain, status, cancel, maintenance mode with
 * drain and undrain, node and guest listings, tags, start — over one {@link HypervisorClient} and one
 * {@link MaintenanceStore}. The REST server of {@code moxxie-examples} is a thin layer over it, and so is any
 * application that embeds Moxxie.
 *
 * <pre>{@code
 * try (MaintenanceService service = MaintenanceService.builder(proxmoxClient, jdbcStore).build()) {
 *     service.start();                                 // takes over drains dead instances left, and keeps watching
 *     DrainHandle drain = service.drain(DrainRequest.soft("hv7"));
 *     DrainStatus done = drain.completion().get();     // or drain.status() now and then
 * }
 * }</pre>
 *
 * <h2>Lifecycle</h2>
 * Building a service starts no thread and touches nothing. {@link #start()} takes over at once the drains whose owner
 * is gone (their lease expired, or they are this owner id's own from before a restart), then runs a heartbeat every
 * {@link Builder#heartbeatInterval(Duration) heartbeat interval}: it renews the leases of the drains this instance runs,
 * passes on cancel requests made through other instances, and takes over every drain whose lease has expired since —
 * an instance that dies mid-drain is replaced within a lease and a heartbeat. Of several instances looking, exactly one
 * takes a drain over (the store's {@link MaintenanceStore#takeOver} is atomic). {@link #close()} stops the heartbeat
 * and leaves this instance's drains as recorded, for another instance (or this owner id restarted) to take over:
 * migrations already running in the cluster go on there. Drains, undrains and maintenance with drain or undrain need
 * a started service; reads do not.
 *
 * <p>Drains run in the background on the {@link Scheduler}; every call here returns at once (after planning, for a
 * drain). One drain or undrain per node at a time, across every process sharing the store.
 *
 * <p>Thread-safe.
 */
public final class MaintenanceService implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MaintenanceService.class);
    /**
     * Maintenance mode changes, under their own name: {@code grep NodeMaintenance} on a log with logger names finds
     * every node going into and out of maintenance, as the user guide's support section expects.
     */
    private static final Logger maintenanceLog = LoggerFactory.getLogger("io.moxxie.core.service.NodeMaintenance");

    /** How long a drain stays owned without a heartbeat. */
    public static final Duration DEFAULT_LEASE = Duration.ofSeconds(60);
    /** First wait before a read made while planning is tried again; the waits double up to eight times it. */
    public static final Duration DEFAULT_PLANNING_RETRY_DELAY = Duration.ofMillis(500);
    /** How long {@link #close()} waits for a heartbeat under way. */
    public static final Duration DEFAULT_CLOSE_TIMEOUT = Duration.ofSeconds(10);
    private static final int UNDRAIN_HISTORY = 50;

    private final HypervisorClient client;
    private final MaintenanceStore store;
    private final Scheduler scheduler;
    private final boolean ownsScheduler;
    private final DrainPlanner planner;
    private final DrainExecutor executor;
    private final ExecutorConfig executorConfig;
    private final String ownerId;
    private final Duration lease;
    private final Duration heartbeatInterval;
    private final Duration closeTimeout;
    private final Duration planningRetryDelay;
    private final int planningRetries;
    private final Map<String, RunningDrain> active = new ConcurrentHashMap<>();
    /** Completion of the drains a handle was given for, until they finish (here or, seen at a heartbeat, elsewhere). */
    private final Map<String, CompletableFuture<DrainStatus>> completions = new ConcurrentHashMap<>();
    /** Held by a heartbeat while it runs, so that {@link #close()} can wait for it. */
    private final ReentrantLock beating = new ReentrantLock();
    private final Object lifecycle = new Object();
    private final Object takingOver = new Object();
    private Scheduler.Cancellable heartbeat;
    private volatile State state = State.NEW;

    private enum State { NEW, STARTED, CLOSED }

    private MaintenanceService(Builder b) {
        this.client = b.client;
        this.store = b.store;
        Scheduler given = b.effectiveScheduler();
        this.ownsScheduler = given == null;
        // Its threads start with the first task, at start(): building starts none.
        this.scheduler = given != null ? given : RealTimeScheduler.create();
        this.planner = new DrainPlanner(b.tagPolicy, b.placement);
        this.ownerId = b.ownerId != null ? b.ownerId : defaultOwnerId();
        this.lease = b.lease;
        this.heartbeatInterval = b.heartbeatInterval != null ? b.heartbeatInterval : b.lease.dividedBy(3);
        this.closeTimeout = b.closeTimeout;
        this.planningRetryDelay = b.planningRetryDelay;
        this.planningRetries = b.executorConfig.maxRetries();
        this.executorConfig = b.executorConfig;
        this.executor = new DrainExecutor(client, store, scheduler, planner, b.executorConfig, this::nodesInMaintenance);
        b.listeners.forEach(executor::addListener);
        log.info("Moxxie maintenance service {}: tags always-on='{}' maint-ok='{}', headroom {}%, per-target limit {}, "
                        + "auto concurrency {}, migration timeout {}, drain timeout {}, lease {}, heartbeat every {}", ownerId,
                b.tagPolicy.alwaysOnTag(), b.tagPolicy.maintOkTag(), Math.round(b.placement.memoryHeadroom() * 100),
                b.executorConfig.perTargetLimit() == ExecutorConfig.AUTO_PER_TARGET_LIMIT ? "half the concurrency (at least 2)"
                        : b.executorConfig.perTargetLimit(),
                b.executorConfig.autoConcurrency(), b.executorConfig.migrationTimeout(), b.executorConfig.drainTimeout(), lease,
                heartbeatInterval);
    }

    /** Starts a builder with the two parts every service needs. */
    public static Builder builder(HypervisorClient client, MaintenanceStore store) {
        return new Builder(client, store);
    }

    public String ownerId() {
        return ownerId;
    }

    public DrainPlanner planner() {
        return planner;
    }

    public TagPolicy tagPolicy() {
        return planner.policy();
    }

    public Scheduler scheduler() {
        return scheduler;
    }

    /** Adds a listener to every drain this instance runs from now on (and those running). */
    public void addListener(DrainListener listener) {
        executor.addListener(listener);
    }

    /** Removes a listener added here or with {@link Builder#listener}; does nothing if it is not registered. */
    public void removeListener(DrainListener listener) {
        executor.removeListener(listener);
    }

    // ------------------------------------------------------------------ drains

    /**
     * Plans the drain and shows the plan; nothing moves (the guide's dry run).
     *
     * @throws NotFoundException                     the node does not exist
     * @throws io.moxxie.core.InvalidTargetException the request's {@code targetNode} cannot take guests
     */
    public DrainPlan plan(DrainRequest request) {
        Checks.notNull("request", request);
        ClusterSnapshot snapshot = read(client::snapshot);
        requireNode(snapshot, request.node());
        requireUsableTarget(snapshot, request);
        return planDrain(snapshot, request).plan;
    }

    /**
     * Starts a drain and returns at once with its handle: {@link DrainHandle#status()} is {@code in_progress} with every
     * guest pending, skipped or failed at planning; {@link DrainHandle#completion()} completes when it ends.
     *
     * @throws NotFoundException                     the node does not exist
     * @throws io.moxxie.core.DrainConflictException the node already has a drain or undrain running
     * @throws PreflightException                    a soft drain blocks guests (without {@code force}), or the node is offline
     * @throws io.moxxie.core.InvalidTargetException the request's {@code targetNode} cannot take guests
     * @throws IllegalArgumentException              the request is a dry run: use {@link #plan(DrainRequest)}
     * @throws IllegalStateException                 the service is not started, or closed
     */
    public DrainHandle drain(DrainRequest request) {
        Checks.notNull("request", request);
        if (request.dryRun()) throw new ValidationException("dryRun", true, "dryRun requests are answered by plan(), not drain()");
        ensureStarted("drain()");
        return startDrain(readCluster(), request);
    }

    /**
     * {@link #drain} on a cluster view already read (maintenance with drain reads it once; the drain's first moves
     * start on it too).
     */
    private DrainHandle startDrain(ClusterRead read, DrainRequest request) {
        ClusterSnapshot snapshot = read.snapshot();
        Node node = requireNode(snapshot, request.node());
        requireUsableTarget(snapshot, request);
        failFastOnConflict(request.node());
        if (!node.online()) {
            throw new PreflightException(node.name(), "Node " + node.name() + " is offline: its guests cannot be migrated by Moxxie "
                    + "(Proxmox HA recovers HA-managed guests of a failed node)", List.of());
        }
        Planned planned = planDrain(snapshot, request);
        DrainPlan plan = planned.plan;
        if (plan.hasBlocked() && request.mode() == io.moxxie.core.model.DrainMode.SOFT && !request.force()) {
            throw PreflightException.blocked(request.node(), plan.blocked());
        }
        String message = "Draining node " + request.node() + " (" + request.mode().wireName() + " mode)";
        List<Integer> vms = snapshot.guestsOn(request.node()).stream().map(Guest::vmid).toList();
        return launch(UUID.randomUUID().toString(), Operation.DRAIN, request, plan, planned.preconditions, message, null, List.of(), vms,
                read);
    }

    /**
     * The drain's status now.
     *
     * @throws NotFoundException         no such drain of that node
     * @throws StoreUnavailableException the store does not take this instance's state changes (or cannot be read): the
     *                                   status could not be the one the store holds; the message says since when and why
     */
    public DrainStatus status(String node, String drainId) {
        RunningDrain run = active.get(drainId == null ? "" : drainId);
        if (run != null && run.node().equals(node)) {
            requireJournalCaughtUp(run);
            return run.status();
        }
        DrainRecord d = requireDrain(node, drainId);
        return DrainStatus.of(d, store.guests(d.drainId()));
    }

    /**
     * While the store does not take this instance's writes, a drain's status is not what the store holds: the status
     * API says so instead of answering a status that a failover could not reproduce.
     */
    private void requireJournalCaughtUp(RunningDrain run) {
        Optional<StoreOutage> outage = executor.storeOutage();
        if (outage.isEmpty()) return;
        StoreOutage o = outage.get();
        throw new StoreUnavailableException("The maintenance store has not taken Moxxie's writes since " + o.since() + " (" + o.reason()
                + "); " + o.pendingWrites() + " state change(s) wait to be written, in order, when it is back. Drain " + run.drainId()
                + " of " + run.node() + " starts no new migration until then; migrations under way go on");
    }

    /** The node's drains and undrains, newest first. */
    public List<DrainStatus> drains(String node, int limit) {
        Checks.nodeName("node", node);
        Checks.positive("limit", limit);
        List<DrainStatus> out = new ArrayList<>();
        for (DrainRecord d : store.drains(node, limit)) {
            RunningDrain run = active.get(d.drainId());
            out.add(run != null ? run.status() : DrainStatus.of(d, store.guests(d.drainId())));
        }
        return out;
    }

    /**
     * A handle on a drain or undrain of the node, running or finished, wherever it runs. Its {@link
     * DrainHandle#completion()} completes when the drain ends here, or at the first heartbeat after it ended in
     * another instance.
     *
     * @throws NotFoundException no such drain of that node
     */
    public DrainHandle handle(String node, String drainId) {
        DrainRecord d = requireDrain(node, drainId);
        CompletableFuture<DrainStatus> done;
        if (d.status().finished()) {
            done = CompletableFuture.completedFuture(DrainStatus.of(d, store.guests(drainId)));
        } else {
            done = completions.computeIfAbsent(drainId, id -> new CompletableFuture<>());
            // It may have ended between the read and the registration.
            store.drain(drainId).filter(r -> r.status().finished()).ifPresent(r -> complete(DrainStatus.of(r, store.guests(drainId))));
            if (state == State.CLOSED) abandonCompletions();
        }
        return new DrainHandle(this, drainId, node, d.operation(), done);
    }

    /**
     * Cancels a running drain: no new migration starts, those in flight finish, the drain ends {@code cancelled} with
     * the guests not started recorded as such. Works across processes: a live owner sees the request at its next
     * heartbeat; a drain whose owner is gone (lease expired) is taken over by this instance, if started, and ended
     * {@code cancelled} at once, else by whichever instance takes it over. Cancelling a finished drain changes nothing.
     *
     * @throws NotFoundException no such drain of that node
     */
    public DrainStatus cancel(String node, String drainId) {
        RunningDrain run = active.get(drainId == null ? "" : drainId);
        if (run != null && run.node().equals(node)) {
            run.cancel();
            return run.status();
        }
        DrainRecord d = requireDrain(node, drainId);
        if (d.status().finished()) return DrainStatus.of(d, store.guests(drainId));
        store.requestCancel(drainId);
        if (state == State.STARTED) {
            // d's lease as read above will do: the store's takeOver checks it again, atomically, and answers the record
            // with the cancel requested.
            takeOverIfExpired(d);
            RunningDrain taken = active.get(drainId);
            if (taken != null) return taken.status();
        }
        return DrainStatus.of(store.drain(drainId).orElse(d), store.guests(drainId));
    }

    /**
     * Brings back the guests the node's last drain moved away and that are still where the drain put them,
     * under the same tag policy. Guests moved elsewhere since, or deleted, are skipped with the reason.
     *
     * @throws NotFoundException                     the node does not exist
     * @throws io.moxxie.core.DrainConflictException the node already has a drain or undrain running
     * @throws PreflightException                    the node is offline or still in maintenance
     * @throws IllegalStateException                 the service is not started, or closed
     */
    public DrainHandle undrain(String node) {
        ensureStarted("undrain()");
        return startUndrain(readCluster(), node);
    }

    /** {@link #undrain} on a cluster view already read (maintenance off with undrain reads it once). */
    private DrainHandle startUndrain(ClusterRead read, String node) {
        ClusterSnapshot snapshot = read.snapshot();
        Node n = requireNode(snapshot, node);
        failFastOnConflict(node);
        if (!n.online()) throw new PreflightException(node, "Node " + node + " is offline: guests cannot be moved back to it", List.of());
        if (maintenanceOf(node).inMaintenance()) {
            throw new PreflightException(node, "Node " + node + " is in maintenance: disable maintenance first "
                    + "(DELETE /api/v1/nodes/" + node + "/maintenance?undrain=true does both)", List.of());
        }
        Optional<DrainRecord> last = store.drains(node, UNDRAIN_HISTORY).stream()
                .filter(d -> d.operation() == Operation.DRAIN && d.status().finished()).findFirst();
        DrainRequest original = last.map(DrainRecord::request).orElse(DrainRequest.soft(node));
        DrainRequest request = DrainRequest.builder(node).mode(original.mode()).concurrency(original.concurrency())
                .allowOffline(original.allowOffline()).build();

        List<Guest> back = new ArrayList<>();
        List<GuestProgress> left = new ArrayList<>();
        String undrainId = UUID.randomUUID().toString();
        Instant now = scheduler.now();
        if (last.isPresent()) {
            for (GuestProgress moved : store.guests(last.get().drainId())) {
                if (moved.status() != GuestState.COMPLETED) continue;
                Optional<Guest> g = snapshot.guest(moved.vmid());
                String reason = null;
                if (g.isEmpty()) reason = "no longer exists";
                else if (g.get().node().equals(node)) reason = "already on " + node;
                else if (!g.get().node().equals(moved.targetNode())) {
                    reason = "moved since the drain: now on " + g.get().node() + " (the drain put it on " + moved.targetNode() + "); left alone";
                }
                if (reason == null) back.add(g.get());
                else left.add(skipped(undrainId, moved, g.orElse(null), reason, now));
            }
        }
        Map<Integer, MigrationPreconditions> pre = preconditions(back, request);
        DrainPlan plan = planner.plan(PlanningInput.undrain(snapshot, request, back, placementExcluded(snapshot), pre));
        String message = last.isEmpty() ? "Nothing to undrain: node " + node + " has no finished drain"
                : "Undraining node " + node + " (returning " + plan.moves().size() + " of " + (back.size() + left.size())
                + " guests moved by drain " + last.get().drainId() + ")";
        return launch(undrainId, Operation.UNDRAIN, request, plan, pre, message, last.map(DrainRecord::drainId).orElse(null), left, null,
                read);
    }

    // ------------------------------------------------------------------ maintenance mode

    /**
     * The node's maintenance state. While the hypervisor is known to be unreachable, the store's record is answered at
     * once with {@code vmsOnNode} {@link MaintenanceView#UNKNOWN}.
     *
     * @throws NotFoundException                the node does not exist
     * @throws HypervisorUnavailableException the hypervisor is unreachable and the store has no record of the node
     */
    public MaintenanceView maintenance(String node) {
        ClusterSnapshot snapshot;
        try {
            snapshot = read(client::snapshot);
        } catch (HypervisorUnavailableException e) {
            Checks.nodeName("node", node);
            NodeMaintenance m = store.maintenance(node).orElseThrow(() -> e);
            return new MaintenanceView(m.node(), m.inMaintenance(), m.reason(), m.maintenanceStarted(), m.maintenanceEnded(),
                    MaintenanceView.UNKNOWN, m.lastDrainId(), m.drainStatus());
        }
        requireNode(snapshot, node);
        return view(maintenanceOf(node), snapshot);
    }

    /**
     * Puts the node in maintenance: no drain or undrain places guests on it any more. With {@code drain}, also
     * starts a soft drain of it (linked as {@code lastDrainId}); the drain is planned first, so a drain refused
     * by its preflight leaves the node as it was. Enabling it again updates the reason and keeps the start time.
     *
     * @throws IllegalStateException with {@code drain}: the service is not started, or closed
     */
    public MaintenanceView enableMaintenance(String node, String reason, boolean drain) {
        if (drain) ensureStarted("enableMaintenance(drain)");
        else ensureOpen();
        ClusterRead read = readCluster();
        ClusterSnapshot snapshot = read.snapshot();
        requireNode(snapshot, node);
        if (drain) startDrain(read, DrainRequest.soft(node));
        NodeMaintenance current = maintenanceOf(node);
        Instant now = scheduler.now();
        if (current.inMaintenance()) {
            store.saveMaintenanceMode(node, true, reason != null ? reason : current.reason(), current.maintenanceStarted(), null, now);
        } else {
            store.saveMaintenanceMode(node, true, reason, now, null, now);
        }
        maintenanceLog.info("Node {} is in maintenance{}", node, reason == null ? "" : ": " + reason);
        return view(maintenanceOf(node), snapshot);
    }

    /**
     * Takes the node out of maintenance, recording the end time. With {@code undrain}, also starts an undrain
     * (checked first: a node with a drain still running is refused before anything changes).
     *
     * @throws IllegalStateException with {@code undrain}: the service is not started, or closed
     */
    public MaintenanceView disableMaintenance(String node, boolean undrain) {
        if (undrain) ensureStarted("disableMaintenance(undrain)");
        else ensureOpen();
        ClusterRead read = readCluster();
        ClusterSnapshot snapshot = read.snapshot();
        requireNode(snapshot, node);
        // Refused before anything changes; startUndrain checks again, atomically, when it records the undrain.
        if (undrain) failFastOnConflict(node);
        NodeMaintenance current = maintenanceOf(node);
        if (current.inMaintenance()) {
            Instant now = scheduler.now();
            store.saveMaintenanceMode(node, false, current.reason(), current.maintenanceStarted(), now, now);
            maintenanceLog.info("Node {} is out of maintenance", node);
        }
        if (undrain) startUndrain(read, node);
        return view(maintenanceOf(node), snapshot);
    }

    /**
     * The nodes out of service now, each with why, in name order: in maintenance, being drained or undrained (by any
     * process sharing the store; a node is back only once its guests are) or offline in {@code snapshot}. What a rollout
     * counts against its {@code maxNodesDown}.
     */
    public Map<String, String> nodesOutOfService(ClusterSnapshot snapshot) {
        Map<String, String> out = new java.util.TreeMap<>(Node.NAME_ORDER);
        for (Node n : snapshot.nodes()) if (!n.online()) out.put(n.name(), "offline");
        for (DrainRecord d : store.unfinishedDrains()) {
            out.put(d.node(), d.operation() == Operation.DRAIN ? "being drained (drain " + d.drainId() + ")"
                    : "being undrained (undrain " + d.drainId() + ")");
        }
        for (NodeMaintenance m : store.maintenanceStates()) {
            if (m.inMaintenance()) out.put(m.node(), "in maintenance" + (m.reason() == null ? "" : " (" + m.reason() + ")"));
        }
        return out;
    }

    /** The executor's settings: what a rollout's duration estimates assume about migrations. */
    public ExecutorConfig executorConfig() {
        return executorConfig;
    }

    // ------------------------------------------------------------------ nodes and guests

    /** Every node with its status: {@code maintenance} when in maintenance, else {@code online} / {@code offline}. */
    public List<NodeView> nodes() {
        ClusterSnapshot snapshot = read(client::snapshot);
        Map<String, NodeMaintenance> states = new HashMap<>();
        for (NodeMaintenance m : store.maintenanceStates()) states.put(m.node(), m);
        List<NodeView> out = new ArrayList<>();
        for (Node n : snapshot.nodes()) {
            NodeMaintenance m = states.get(n.name());
            boolean maint = m != null && m.inMaintenance();
            out.add(new NodeView(n.name(), maint ? "maintenance" : n.online() ? "online" : "offline", n.online(), maint,
                    maint ? m.reason() : null, n.memoryTotal(), n.memoryUsed(), n.cpus(), n.cpuLoad(), snapshot.guestsOn(n.name()).size()));
        }
        return out;
    }

    /**
     * Guests, optionally filtered: {@code tags} (one tag, or several separated by {@code , ;} or spaces, all of
     * which a guest must have; case-insensitive) and {@code node}. {@code null} or blank filters match all.
     */
    public List<Guest> guests(String tags, String node) {
        List<String> wanted = TagPolicy.parseTags(tags);
        return read(client::snapshot).guests().stream()
                .filter(g -> node == null || node.isBlank() || g.node().equals(node))
                .filter(g -> wanted.stream().allMatch(t -> planner.policy().hasTag(g, t)))
                .toList();
    }

    /** @throws NotFoundException no such guest */
    public Guest guest(int vmid) {
        return read(() -> client.guest(vmid)).orElseThrow(() -> NotFoundException.guest(vmid));
    }

    /**
     * Replaces a guest's tags ({@code "always-on,env-prod"}: separated by {@code , ;} or spaces).
     *
     * @throws IllegalArgumentException a tag Proxmox would refuse, named
     * @throws NotFoundException        no such guest
     */
    public Guest setTags(int vmid, String tags) {
        List<String> parsed = TagPolicy.parseValidTags(tags);
        Guest g = guest(vmid);
        read(() -> {
            client.setTags(g, parsed);
            return null;
        });
        log.info("Tags of VM {} set to {}", vmid, TagPolicy.formatTags(parsed));
        return guest(vmid);
    }

    /** Asks the hypervisor to start a guest; returns the task. @throws NotFoundException no such guest */
    public TaskRef startGuest(int vmid) {
        Guest g = guest(vmid);
        TaskRef task = client.start(g);
        log.info("Start of VM {} ({}) requested: {}", vmid, g.name(), task.id());
        return task;
    }

    /**
     * Asks the hypervisor to stop a guest at once (power off, no ACPI shutdown); returns the task.
     *
     * @throws NotFoundException no such guest
     */
    public TaskRef stopGuest(int vmid) {
        Guest g = guest(vmid);
        TaskRef task = client.stop(g);
        log.info("Stop of VM {} ({}) on {} requested: {}", vmid, g.name(), g.node(), task.id());
        return task;
    }

    // ------------------------------------------------------------------ recovery and lifecycle

    /**
     * Starts this instance: takes over at once every drain whose owner is gone (its lease expired, or it is this owner
     * id's own from before a restart) and carries it on — guests already on their target are completed, guests still
     * on their source are moved, none is moved twice — then runs the heartbeat (see the class comment). Returns once
     * the drains taken over are under way. Calling it again does nothing.
     *
     * @throws IllegalStateException the service is closed
     */
    public void start() {
        List<DrainRecord> left;
        synchronized (lifecycle) {
            if (state == State.CLOSED) throw new IllegalStateException("MaintenanceService " + ownerId + " is closed; build a new one");
            if (state == State.STARTED) return;
            // Read before drains can be started here: this owner id's drains among them are a previous process's.
            left = store.unfinishedDrains();
            state = State.STARTED;
        }
        log.info("Maintenance service {} started: lease {}, heartbeat every {}", ownerId, lease, heartbeatInterval);
        takeOver(left, true);
        synchronized (lifecycle) {
            if (state == State.STARTED) heartbeat = scheduler.scheduleWithFixedDelay(heartbeatInterval, heartbeatInterval, this::beat);
        }
    }

    /** Whether {@link #start()} was called and {@link #close()} was not. */
    public boolean isStarted() {
        return state == State.STARTED;
    }

    /** Drains this instance is running now. */
    public List<DrainStatus> activeDrains() {
        return active.values().stream().map(RunningDrain::status).toList();
    }

    /**
     * Stops this instance: no new work, the heartbeat stops (waiting up to the {@link Builder#closeTimeout close
     * timeout} for one under way), and running drains are left as recorded — their leases expire and another started
     * instance takes them over within a lease and a heartbeat (this owner id restarted takes them back at once);
     * migrations already running in the cluster go on there. Handles' completions still pending complete
     * exceptionally ({@link IllegalStateException}). Stops the scheduler if the service created it. Idempotent.
     */
    @Override
    public void close() {
        synchronized (lifecycle) {
            if (state == State.CLOSED) return;
            state = State.CLOSED;
            if (heartbeat != null) heartbeat.cancel();
        }
        boolean locked = false;
        try {
            locked = beating.tryLock(closeTimeout.toNanos(), TimeUnit.NANOSECONDS);
            if (!locked) log.warn("A heartbeat of {} still runs after {}; closing anyway", ownerId, closeTimeout);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            active.values().forEach(RunningDrain::abandon);
            active.clear();
            abandonCompletions();
        } finally {
            if (locked) beating.unlock();
        }
        if (ownsScheduler && scheduler instanceof RealTimeScheduler r) r.close();
        log.info("Maintenance service {} closed", ownerId);
    }

    // ------------------------------------------------------------------ internals

    private record Planned(DrainPlan plan, Map<Integer, MigrationPreconditions> preconditions) {
    }

    /** A cluster view and when it was asked for. */
    private record ClusterRead(ClusterSnapshot snapshot, Instant at) {
    }

    private ClusterRead readCluster() {
        Instant at = scheduler.now();
        return new ClusterRead(read(client::snapshot), at);
    }

    /** A bad {@code targetNode} is refused before the conflict check and before the hypervisor is asked about guests. */
    private void requireUsableTarget(ClusterSnapshot snapshot, DrainRequest request) {
        if (request.targetNode().isPresent()) DrainPlanner.checkTarget(request, snapshot, placementExcluded(snapshot));
    }

    private Planned planDrain(ClusterSnapshot snapshot, DrainRequest request) {
        List<Guest> onNode = snapshot.guestsOn(request.node());
        Map<Integer, MigrationPreconditions> pre = preconditions(onNode, request);
        return new Planned(planner.plan(PlanningInput.drain(snapshot, request, placementExcluded(snapshot), pre)), pre);
    }

    /**
     * Asks the hypervisor's precondition check for the guests that may move. Guests the policy leaves in place
     * need none; a locked guest is checked when its lock is gone (Proxmox refuses the check while it is locked).
     */
    private Map<Integer, MigrationPreconditions> preconditions(List<Guest> guests, DrainRequest request) {
        Map<Integer, MigrationPreconditions> pre = new HashMap<>();
        for (Guest g : guests) {
            if (g.lock() != null) continue;
            TagPolicy.Decision d = planner.policy().decide(g, request.mode(), request.offlineAllowed(),
                    MigrationPreconditions.unrestricted(g.vmid()));
            if (d.kind() == TagPolicy.Decision.Kind.SKIP) continue;
            pre.put(g.vmid(), read(() -> client.preconditions(g)));
        }
        return pre;
    }

    private DrainHandle launch(String drainId, Operation op, DrainRequest request, DrainPlan plan,
                                     Map<Integer, MigrationPreconditions> pre, String message, String undrainOf,
                                     List<GuestProgress> extra, List<Integer> vmList, ClusterRead read) {
        Instant now = scheduler.now();
        List<GuestProgress> guests = new ArrayList<>();
        for (PlanEntry e : plan.entries()) guests.add(progressOf(drainId, e, now));
        guests.addAll(extra);
        DrainRecord record = new DrainRecord(drainId, request.node(), op, request, DrainState.IN_PROGRESS, message, now, null,
                ownerId, now.plus(lease), false, undrainOf);
        store.createDrain(record, guests);
        // The drain exists now: its run must start whatever the store does next, so this goes through the journal.
        executor.recordMaintenance(drainId, "maintenance record of " + request.node() + " (drain started)",
                s -> s.recordDrainStarted(request.node(), drainId, vmList, now));
        // Registered first: a drain with nothing to move finishes inside startRun.
        CompletableFuture<DrainStatus> done = completions.computeIfAbsent(drainId, id -> new CompletableFuture<>());
        startRun(record, guests, pre, now, read);
        return new DrainHandle(this, drainId, request.node(), op, done);
    }

    /** {@code read}: the cluster view the drain was planned on, for its first moves; null after a restart. */
    private void startRun(DrainRecord record, List<GuestProgress> guests, Map<Integer, MigrationPreconditions> pre, Instant at,
                          ClusterRead read) {
        RunningDrain run = executor.start(record, guests, pre, at, read == null ? null : read.snapshot(), read == null ? null : read.at(),
                this::onFinished);
        // The run goes on in other threads and may end before it is registered here: onFinished's remove then finds
        // nothing, so look again after the put. The run marks itself finished before it calls onFinished.
        active.put(record.drainId(), run);
        if (run.isFinished()) active.remove(record.drainId(), run);
    }

    private void onFinished(DrainStatus status) {
        active.remove(status.drainId());
        Instant at = scheduler.now();
        executor.recordMaintenance(status.drainId(), "maintenance record of " + status.node() + " (drain " + status.status().wireName() + ")",
                s -> s.recordDrainFinished(status.node(), status.drainId(), status.status(), at));
        complete(status);
    }

    private void complete(DrainStatus status) {
        CompletableFuture<DrainStatus> f = completions.remove(status.drainId());
        if (f != null) f.complete(status);
    }

    private void abandonCompletions() {
        for (String id : List.copyOf(completions.keySet())) {
            CompletableFuture<DrainStatus> f = completions.remove(id);
            if (f != null) f.completeExceptionally(new IllegalStateException("MaintenanceService " + ownerId
                    + " was closed before drain " + id + " finished; another instance takes it over, see its status in the store"));
        }
    }

    /**
     * Takes over those of {@code drains} whose lease has expired and that do not run here; {@code ownToo}: also those
     * this owner id holds (at start, when they can only be a previous process's).
     */
    private void takeOver(List<DrainRecord> drains, boolean ownToo) {
        for (DrainRecord d : drains) {
            if (state != State.STARTED) return;
            try {
                if (ownToo && ownerId.equals(d.owner())) takeOverNow(d);
                else takeOverIfExpired(d);
            } catch (RuntimeException e) {
                log.error("Taking over drain {} of {} failed: {}", d.drainId(), d.node(), e.toString());
            }
        }
    }

    /**
     * {@code d} as read a moment ago. A drain this owner id holds is never taken here: it is running, or being started,
     * in this instance ({@link #start()} takes a previous process's).
     */
    private void takeOverIfExpired(DrainRecord d) {
        Instant now = scheduler.now();
        boolean expired = d.leaseExpiresAt() == null || d.leaseExpiresAt().isBefore(now);
        if (!expired || ownerId.equals(d.owner())) return;
        takeOverNow(d);
    }

    private void takeOverNow(DrainRecord d) {
        // One taker at a time here: the store lets an owner take its own drain again, so two threads of this instance
        // that both saw the lease expired must not both run it.
        synchronized (takingOver) {
            if (active.containsKey(d.drainId()) || d.status().finished()) return;
            Instant now = scheduler.now();
            Optional<DrainRecord> mine = store.takeOver(d.drainId(), ownerId, now, now.plus(lease));
            if (mine.isEmpty()) return; // another instance was first, or it ended meanwhile
            startTakenOver(d.owner(), mine.get());
        }
    }

    private void startTakenOver(String previousOwner, DrainRecord rec) {
        List<GuestProgress> guests = store.guests(rec.drainId());
        log.info("Recovering drain {} of node {} (previous owner {}): {} guests not finished{}", rec.drainId(), rec.node(), previousOwner,
                guests.stream().filter(g -> !g.status().finished()).count(), rec.cancelRequested() ? "; cancelled, it ends so" : "");
        if (rec.cancelRequested()) guests = recordNotStarted(rec, guests);
        synchronized (lifecycle) {
            if (state != State.STARTED) return; // closed meanwhile: the lease just taken expires for another instance
            startRun(rec, guests, Map.of(), null, null);
        }
    }

    /**
     * A drain taken over with its cancel requested: the guests its owner had not started never will be; recorded so now
     * (the run sees the moves that were under way through and ends the drain {@code cancelled}).
     */
    private List<GuestProgress> recordNotStarted(DrainRecord rec, List<GuestProgress> guests) {
        List<GuestProgress> out = new ArrayList<>();
        for (GuestProgress g : guests) {
            GuestProgress p = g.status() == GuestState.PENDING ? g.withNote("not started: drain cancelled") : g;
            if (p != g) store.updateGuest(p, ownerId);
            out.add(p);
        }
        return out;
    }

    /** Runs every heartbeat interval while started; never overlaps itself. */
    private void beat() {
        if (!beating.tryLock()) return;
        try {
            if (state != State.STARTED) return;
            renewLeases();
            // One read serves the rest of the beat: cancel requests, drains to take over, drains that ended elsewhere.
            List<DrainRecord> unfinished = store.unfinishedDrains();
            passOnCancels(unfinished);
            takeOver(unfinished, false);
            completeFinishedElsewhere(unfinished);
        } finally {
            beating.unlock();
        }
    }

    private void renewLeases() {
        Instant until = scheduler.now().plus(lease);
        for (RunningDrain run : List.copyOf(active.values())) {
            try {
                if (!store.renewLease(run.drainId(), ownerId, until)) {
                    if (!run.isFinished()) {
                        log.warn("Lost the lease of drain {} of {}; another process owns it now", run.drainId(), run.node());
                        run.abandon();
                    }
                    active.remove(run.drainId());
                }
            } catch (RuntimeException e) {
                log.error("Heartbeat of drain {} failed: {}", run.drainId(), e.getMessage());
            }
        }
    }

    /** Cancel requests made through other instances, for the drains running here. */
    private void passOnCancels(List<DrainRecord> unfinished) {
        for (DrainRecord d : unfinished) {
            RunningDrain run = d.cancelRequested() ? active.get(d.drainId()) : null;
            if (run == null) continue;
            try {
                run.cancel();
            } catch (RuntimeException e) {
                log.error("Heartbeat of drain {} failed: {}", run.drainId(), e.getMessage());
            }
        }
    }

    /**
     * Handles' drains that ended in another instance (taken over from this one, or never run here): only those no longer
     * among {@code unfinished} are read.
     */
    private void completeFinishedElsewhere(List<DrainRecord> unfinished) {
        if (completions.isEmpty()) return;
        Set<String> running = new HashSet<>();
        for (DrainRecord d : unfinished) running.add(d.drainId());
        for (String id : List.copyOf(completions.keySet())) {
            if (active.containsKey(id) || running.contains(id)) continue;
            try {
                store.drain(id).filter(d -> d.status().finished()).ifPresent(d -> complete(DrainStatus.of(d, store.guests(id))));
            } catch (RuntimeException e) {
                log.error("Reading drain {} failed: {}", id, e.getMessage());
            }
        }
    }

    private static GuestProgress progressOf(String drainId, PlanEntry e, Instant now) {
        Guest g = e.guest();
        GuestState state = switch (e.action()) {
            case MOVE -> GuestState.PENDING;
            case SKIP -> GuestState.SKIPPED;
            case BLOCK -> GuestState.FAILED;
        };
        String note = e.action() == PlanEntry.Action.MOVE ? e.reason() : null;
        String error = e.action() == PlanEntry.Action.MOVE ? null : e.reason();
        return GuestProgress.builder(drainId, g).targetNode(e.targetNode()).migrationType(e.migrationType()).status(state)
                .alwaysOn(e.alwaysOn()).error(error).note(note).completedAt(state.finished() ? now : null).build();
    }

    private static GuestProgress skipped(String drainId, GuestProgress moved, Guest now, String reason, Instant at) {
        return GuestProgress.builder(drainId, moved.vmid()).name(moved.name()).type(moved.type())
                .sourceNode(now != null ? now.node() : moved.targetNode()).status(GuestState.SKIPPED).alwaysOn(moved.alwaysOn())
                .haManaged(moved.haManaged()).wasRunning(now != null && now.running()).memory(moved.memory()).error(reason)
                .completedAt(at).build();
    }

    /**
     * The nodes a plan places nothing on: those in Moxxie's maintenance, and those whose Proxmox HA LRM is in maintenance
     * mode ({@code ha-manager crm-command node-maintenance}, {@link ClusterSnapshot#haMaintenance()}), where the HA stack
     * would start no guest either. The executor's re-planning uses Moxxie's own record only.
     */
    private Set<String> placementExcluded(ClusterSnapshot snapshot) {
        Set<String> out = nodesInMaintenance();
        out.addAll(snapshot.haMaintenance());
        return out;
    }

    Set<String> nodesInMaintenance() {
        Set<String> out = new HashSet<>();
        for (NodeMaintenance m : store.maintenanceStates()) if (m.inMaintenance()) out.add(m.node());
        return out;
    }

    private NodeMaintenance maintenanceOf(String node) {
        return store.maintenance(node).orElseGet(() -> NodeMaintenance.none(node, scheduler.now()));
    }

    private MaintenanceView view(NodeMaintenance m, ClusterSnapshot snapshot) {
        return new MaintenanceView(m.node(), m.inMaintenance(), m.reason(), m.maintenanceStarted(), m.maintenanceEnded(),
                snapshot.guestsOn(m.node()).size(), m.lastDrainId(), m.drainStatus());
    }

    private void failFastOnConflict(String node) {
        for (DrainRecord d : store.unfinishedDrains()) {
            if (d.node().equals(node)) throw new io.moxxie.core.DrainConflictException(node, d.drainId());
        }
    }

    private static Node requireNode(ClusterSnapshot snapshot, String node) {
        Checks.nodeName("node", node);
        return snapshot.node(node).orElseThrow(() -> NotFoundException.node(node));
    }

    private DrainRecord requireDrain(String node, String drainId) {
        if (drainId == null || drainId.isBlank()) throw NotFoundException.drain(String.valueOf(drainId));
        DrainRecord d = store.drain(drainId).orElseThrow(() -> NotFoundException.drain(drainId));
        if (!d.node().equals(node)) throw NotFoundException.drain(drainId);
        return d;
    }

    /**
     * A read made while planning, in the caller's thread: a transient failure is tried again, up to the executor's
     * {@code maxRetries} times, after waits in the scheduler's time (so they pass in virtual time too) that start at
     * the planning retry delay and double up to eight times it. A hypervisor known to be down is answered at once: the
     * caller is a person or a script, and no retry in their thread would help.
     */
    private <T> T read(Supplier<T> call) {
        Duration wait = planningRetryDelay;
        Duration maxWait = planningRetryDelay.multipliedBy(8);
        for (int retries = 0; ; retries++) {
            try {
                return call.get();
            } catch (TransientHypervisorException e) {
                if (retries >= planningRetries || e instanceof HypervisorUnavailableException) throw e;
                log.debug("Transient failure while planning ({}), trying again in {}", e.getMessage(), wait);
                scheduler.await(wait);
                wait = wait.multipliedBy(2).compareTo(maxWait) > 0 ? maxWait : wait.multipliedBy(2);
            }
        }
    }

    private void ensureOpen() {
        if (state == State.CLOSED) throw new IllegalStateException("MaintenanceService " + ownerId + " is closed");
    }

    private void ensureStarted(String what) {
        ensureOpen();
        if (state != State.STARTED) {
            throw new IllegalStateException("MaintenanceService " + ownerId + " is not started: call start() before " + what
                    + " (it also takes over drains that other instances leave)");
        }
    }

    private static String defaultOwnerId() {
        String host;
        try {
            host = java.net.InetAddress.getLocalHost().getHostName();
        } catch (java.io.IOException e) {
            host = "unknown-host";
        }
        return host + ":" + ProcessHandle.current().pid() + ":" + UUID.randomUUID().toString().substring(0, 8);
    }

    /** Configures a {@link MaintenanceService}; every setter validates at once. Not thread-safe. */
    public static final class Builder {
        private final HypervisorClient client;
        private final MaintenanceStore store;
        private Scheduler scheduler;
        private TagPolicy tagPolicy = TagPolicy.defaults();
        private PlacementConfig placement = PlacementConfig.defaults();
        private ExecutorConfig executorConfig = ExecutorConfig.defaults();
        private String ownerId;
        private Duration lease = DEFAULT_LEASE;
        private Duration heartbeatInterval;
        private Duration closeTimeout = DEFAULT_CLOSE_TIMEOUT;
        private Duration planningRetryDelay = DEFAULT_PLANNING_RETRY_DELAY;
        private final List<DrainListener> listeners = new ArrayList<>();

        private Builder(HypervisorClient client, MaintenanceStore store) {
            this.client = Checks.notNull("client", client);
            this.store = Checks.notNull("store", store);
        }

        /**
         * Where time and background work come from. Default: the client's own when it has one ({@link
         * HypervisorClient#timeSource()}: a {@link io.moxxie.core.simulation.SimulatedCluster}), else a {@link
         * RealTimeScheduler} the service owns and closes. A scheduler other than the client's own is refused by
         * {@link #build()}: the drains would wait for a cluster whose time never passes.
         */
        public Builder scheduler(Scheduler scheduler) {
            this.scheduler = Checks.notNull("scheduler", scheduler);
            return this;
        }

        public Builder tagPolicy(TagPolicy tagPolicy) {
            this.tagPolicy = Checks.notNull("tagPolicy", tagPolicy);
            return this;
        }

        public Builder placement(PlacementConfig placement) {
            this.placement = Checks.notNull("placement", placement);
            return this;
        }

        public Builder executorConfig(ExecutorConfig executorConfig) {
            this.executorConfig = Checks.notNull("executorConfig", executorConfig);
            return this;
        }

        /** This instance's identity as owner of drains; default {@code host:pid:random}. Keep it stable across restarts to recover at once. */
        public Builder ownerId(String ownerId) {
            if (ownerId == null || ownerId.isBlank()) throw new ValidationException("ownerId", ownerId, "ownerId cannot be empty, was '" + ownerId + "'");
            this.ownerId = ownerId;
            return this;
        }

        /**
         * How long a drain stays owned without a heartbeat; default {@link #DEFAULT_LEASE}. A drain whose owner died is
         * taken over within a lease and a heartbeat.
         */
        public Builder lease(Duration lease) {
            this.lease = Checks.positive("lease", lease);
            return this;
        }

        /**
         * How often the heartbeat renews leases, passes on cancel requests and looks for drains to take over; default a
         * third of the lease. Must be shorter than the lease (checked by {@link #build()}).
         */
        public Builder heartbeatInterval(Duration interval) {
            this.heartbeatInterval = Checks.positive("heartbeatInterval", interval);
            return this;
        }

        /** How long {@link MaintenanceService#close()} waits for a heartbeat under way; default {@link #DEFAULT_CLOSE_TIMEOUT}. */
        public Builder closeTimeout(Duration timeout) {
            this.closeTimeout = Checks.positive("closeTimeout", timeout);
            return this;
        }

        /**
         * First wait before a read made while planning (in the caller's thread) is tried again, in the scheduler's time;
         * default {@link #DEFAULT_PLANNING_RETRY_DELAY}.
         */
        public Builder planningRetryDelay(Duration delay) {
            this.planningRetryDelay = Checks.positive("planningRetryDelay", delay);
            return this;
        }

        /** Adds a listener to every drain the service runs; {@link MaintenanceService#removeListener} removes it. */
        public Builder listener(DrainListener listener) {
            listeners.add(Checks.notNull("listener", listener));
            return this;
        }

        /**
         * Builds the service; starts no thread (see {@link MaintenanceService#start()}).
         *
         * @throws ValidationException {@code scheduler} is not the client's own, or {@code heartbeatInterval} is not
         *                             shorter than {@code lease}
         */
        public MaintenanceService build() {
            effectiveScheduler();
            if (heartbeatInterval != null && heartbeatInterval.compareTo(lease) >= 0) {
                throw new ValidationException("heartbeatInterval", heartbeatInterval,
                        "heartbeatInterval must be shorter than lease (" + lease + "), was " + heartbeatInterval);
            }
            return new MaintenanceService(this);
        }

        /** The scheduler given, or the client's own; null for a service-owned real-time one. */
        private Scheduler effectiveScheduler() {
            Optional<Scheduler> own = client.timeSource();
            if (own.isEmpty()) return scheduler;
            if (scheduler != null && scheduler != own.get()) {
                throw new ValidationException("scheduler", scheduler, "scheduler must be the one " + client.getClass().getSimpleName() + " runs on ("
                        + own.get().getClass().getSimpleName() + " at " + own.get().now() + "), was another "
                        + scheduler.getClass().getSimpleName() + " (at " + scheduler.now() + "): drains would wait for a cluster"
                        + " whose time never passes. Give the service the cluster's scheduler, or none");
            }
            return own.get();
        }
    }

    @Override
    public String toString() {
        return "MaintenanceService[" + ownerId + ", " + active.size() + " active drains]";
    }
}
