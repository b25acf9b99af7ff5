package io.moxxie.core.service;

import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeException;
import dev.failsafe.FailsafeExecutor;
import dev.failsafe.RetryPolicy;
import io.moxxie.core.MoxxieException;
import io.moxxie.core.NotFoundException;
import io.moxxie.core.plan.PreflightException;
import io.moxxie.core.execution.DrainExecutor;
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
import io.moxxie.core.spi.MaintenanceStore;
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
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Supplier;

/**
 * The facade of Moxxie: every workflow of the user guide — drain, status, cancel, maintenance mode with
 * drain and undrain, node and guest listings, tags, start — over one {@link HypervisorClient} and one
 * {@link MaintenanceStore}. The REST server of {@code moxxie-examples} is a thin layer over it, and so is any
 * application that embeds Moxxie.
 *
 * <pre>{@code
 * MaintenanceService service = MaintenanceService.builder(proxmoxClient, jdbcStore).build();
 * service.recover();                                   // finish drains a previous process left
 * DrainStatus s = service.drain(DrainRequest.soft("hv7"));
 * ... service.status("hv7", s.drainId()) ...
 * }</pre>
 *
 * <p>Drains run in the background on the {@link Scheduler}; every call here returns at once (after planning,
 * for a drain). One drain or undrain per node at a time, across every process sharing the store: each running
 * drain is owned by one service instance, which renews a lease on it; when an instance dies, another one's
 * {@link #recover()} takes its drains over once the lease has expired.
 *
 * <p>Thread-safe.
 */
public final class MaintenanceService implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(MaintenanceService.class);
    public static final Duration DEFAULT_LEASE = Duration.ofSeconds(60);
    private static final int UNDRAIN_HISTORY = 50;

    private final HypervisorClient client;
    private final MaintenanceStore store;
    private final Scheduler scheduler;
    private final boolean ownsScheduler;
    private final DrainPlanner planner;
    private final DrainExecutor executor;
    private final String ownerId;
    private final Duration lease;
    private final FailsafeExecutor<Object> planningRetry;
    private final Map<String, RunningDrain> active = new ConcurrentHashMap<>();
    private final Object heartbeatLock = new Object();
    private Scheduler.Cancellable heartbeat;
    private volatile boolean closed;

    private MaintenanceService(Builder b) {
        this.client = b.client;
        this.store = b.store;
        this.ownsScheduler = b.scheduler == null;
        this.scheduler = b.scheduler != null ? b.scheduler : RealTimeScheduler.create();
        this.planner = new DrainPlanner(b.tagPolicy, b.placement);
        this.ownerId = b.ownerId != null ? b.ownerId : defaultOwnerId();
        this.lease = b.lease;
        this.executor = new DrainExecutor(client, store, scheduler, planner, b.executorConfig, this::nodesInMaintenance);
        b.listeners.forEach(executor::addListener);
        this.planningRetry = Failsafe.with(RetryPolicy.builder().handle(TransientHypervisorException.class)
                .withBackoff(b.planningRetryDelay, b.planningRetryDelay.multipliedBy(8)).withMaxRetries(b.executorConfig.maxRetries()).build());
        log.info("Moxxie maintenance service {}: tags always-on='{}' maint-ok='{}', headroom {}%, per-target limit {}, "
                        + "auto concurrency {}, migration timeout {}, drain timeout {}, lease {}", ownerId, b.tagPolicy.alwaysOnTag(),
                b.tagPolicy.maintOkTag(), Math.round(b.placement.memoryHeadroom() * 100),
                b.executorConfig.perTargetLimit() == ExecutorConfig.AUTO_PER_TARGET_LIMIT ? "half the concurrency (at least 2)"
                        : b.executorConfig.perTargetLimit(),
                b.executorConfig.autoConcurrency(), b.executorConfig.migrationTimeout(), b.executorConfig.drainTimeout(), lease);
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

    public void addListener(DrainListener listener) {
        executor.addListener(listener);
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
        return planDrain(snapshot, request).plan;
    }

    /**
     * Starts a drain and returns at once with its status ({@code in_progress}, every guest pending, skipped or
     * failed at planning).
     *
     * @throws NotFoundException                     the node does not exist
     * @throws io.moxxie.core.DrainConflictException the node already has a drain or undrain running
     * @throws PreflightException                    a soft drain blocks guests (without {@code force}), or the node is offline
     * @throws io.moxxie.core.InvalidTargetException the request's {@code targetNode} cannot take guests
     * @throws IllegalArgumentException              the request is a dry run: use {@link #plan(DrainRequest)}
     */
    public DrainStatus drain(DrainRequest request) {
        Checks.notNull("request", request);
        if (request.dryRun()) throw new IllegalArgumentException("dryRun requests are answered by plan(), not drain()");
        ensureOpen();
        return startDrain(readCluster(), request);
    }

    /**
     * {@link #drain} on a cluster view already read (maintenance with drain reads it once; the drain's first moves
     * start on it too).
     */
    private DrainStatus startDrain(ClusterRead read, DrainRequest request) {
        ClusterSnapshot snapshot = read.snapshot();
        Node node = requireNode(snapshot, request.node());
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

    /** The drain's status now. @throws NotFoundException no such drain of that node */
    public DrainStatus status(String node, String drainId) {
        RunningDrain run = active.get(drainId == null ? "" : drainId);
        if (run != null && run.node().equals(node)) return run.status();
        DrainRecord d = requireDrain(node, drainId);
        return DrainStatus.of(d, store.guests(d.drainId()));
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
     * Cancels a running drain: no new migration starts, those in flight finish, the drain ends {@code cancelled}.
     * Works across processes (the owner sees the request at its next heartbeat). Cancelling a finished drain
     * changes nothing.
     */
    public DrainStatus cancel(String node, String drainId) {
        RunningDrain run = active.get(drainId == null ? "" : drainId);
        if (run != null && run.node().equals(node)) {
            run.cancel();
            return run.status();
        }
        DrainRecord d = requireDrain(node, drainId);
        if (!d.status().finished()) store.requestCancel(drainId);
        return DrainStatus.of(store.drain(drainId).orElse(d), store.guests(drainId));
    }

    /**
     * Brings back the guests the node's last drain moved away and that are still where the drain put them,
     * under the same tag policy. Guests moved elsewhere since, or deleted, are skipped with the reason.
     *
     * @throws NotFoundException                     the node does not exist
     * @throws io.moxxie.core.DrainConflictException the node already has a drain or undrain running
     * @throws PreflightException                    the node is offline or still in maintenance
     */
    public DrainStatus undrain(String node) {
        ensureOpen();
        return startUndrain(readCluster(), node);
    }

    /** {@link #undrain} on a cluster view already read (maintenance off with undrain reads it once). */
    private DrainStatus startUndrain(ClusterRead read, String node) {
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
        DrainRequest request = DrainRequest.builder(node).mode(original.mode()).parallel(original.parallel())
                .maxConcurrent(original.maxConcurrent()).autoConcurrency(original.autoConcurrency()).allowOffline(original.allowOffline()).build();

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
        DrainPlan plan = planner.plan(PlanningInput.undrain(snapshot, request, back, nodesInMaintenance(), pre));
        String message = last.isEmpty() ? "Nothing to undrain: node " + node + " has no finished drain"
                : "Undraining node " + node + " (returning " + plan.moves().size() + " of " + (back.size() + left.size())
                + " guests moved by drain " + last.get().drainId() + ")";
        return launch(undrainId, Operation.UNDRAIN, request, plan, pre, message, last.map(DrainRecord::drainId).orElse(null), left, null,
                read);
    }

    // ------------------------------------------------------------------ maintenance mode

    /** The node's maintenance state. @throws NotFoundException the node does not exist */
    public MaintenanceView maintenance(String node) {
        ClusterSnapshot snapshot = read(client::snapshot);
        requireNode(snapshot, node);
        return view(maintenanceOf(node), snapshot);
    }

    /**
     * Puts the node in maintenance: no drain or undrain places guests on it any more. With {@code drain}, also
     * starts a soft drain of it (linked as {@code lastDrainId}); the drain is planned first, so a drain refused
     * by its preflight leaves the node as it was. Enabling it again updates the reason and keeps the start time.
     */
    public MaintenanceView enableMaintenance(String node, String reason, boolean drain) {
        ensureOpen();
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
        log.info("Node {} is in maintenance{}", node, reason == null ? "" : ": " + reason);
        return view(maintenanceOf(node), snapshot);
    }

    /**
     * Takes the node out of maintenance, recording the end time. With {@code undrain}, also starts an undrain
     * (checked first: a node with a drain still running is refused before anything changes).
     */
    public MaintenanceView disableMaintenance(String node, boolean undrain) {
        ensureOpen();
        ClusterRead read = readCluster();
        ClusterSnapshot snapshot = read.snapshot();
        requireNode(snapshot, node);
        // Refused before anything changes; startUndrain checks again, atomically, when it records the undrain.
        if (undrain) failFastOnConflict(node);
        NodeMaintenance current = maintenanceOf(node);
        if (current.inMaintenance()) {
            Instant now = scheduler.now();
            store.saveMaintenanceMode(node, false, current.reason(), current.maintenanceStarted(), now, now);
            log.info("Node {} is out of maintenance", node);
        }
        if (undrain) startUndrain(read, node);
        return view(maintenanceOf(node), snapshot);
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

    // ------------------------------------------------------------------ recovery and lifecycle

    /**
     * Finishes drains that a process which died left {@code in_progress}: takes over each one whose lease has
     * expired (or that this instance's owner id already owns), reads where every guest actually is, and
     * carries on — guests already on their target are completed, guests still on their source are moved, none
     * is moved twice. Drains whose lease is still held elsewhere are tried again when it expires.
     *
     * @return the ids of the drains taken over now
     */
    public List<String> recover() {
        ensureOpen();
        List<String> taken = new ArrayList<>();
        for (DrainRecord d : store.unfinishedDrains()) {
            if (active.containsKey(d.drainId())) continue;
            Instant now = scheduler.now();
            Optional<DrainRecord> mine = store.takeOver(d.drainId(), ownerId, now, now.plus(lease));
            if (mine.isEmpty()) {
                Instant expires = d.leaseExpiresAt() == null ? now : d.leaseExpiresAt();
                Duration wait = Duration.between(now, expires).plusSeconds(1);
                log.info("Drain {} of {} is owned by {} until {}; will try to take it over then", d.drainId(), d.node(), d.owner(), expires);
                scheduler.schedule(wait.isNegative() ? Duration.ZERO : wait, () -> {
                    if (!closed) recover();
                });
                continue;
            }
            DrainRecord rec = mine.get();
            List<GuestProgress> guests = store.guests(rec.drainId());
            log.info("Recovering drain {} of node {} (previous owner {}): {} guests not finished", rec.drainId(), rec.node(),
                    d.owner(), guests.stream().filter(g -> !g.status().finished()).count());
            startRun(rec, guests, Map.of(), null, null);
            taken.add(rec.drainId());
        }
        return taken;
    }

    /** Drains this instance is running now. */
    public List<DrainStatus> activeDrains() {
        return active.values().stream().map(RunningDrain::status).toList();
    }

    /**
     * Stops this instance: no new work, running drains are left as recorded (their leases expire and another
     * instance's {@link #recover()} finishes them; migrations already running in the cluster go on there).
     * Stops the scheduler if the service created it.
     */
    @Override
    public void close() {
        closed = true;
        synchronized (heartbeatLock) {
            if (heartbeat != null) heartbeat.cancel();
        }
        active.values().forEach(RunningDrain::abandon);
        active.clear();
        if (ownsScheduler && scheduler instanceof RealTimeScheduler r) r.close();
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

    private Planned planDrain(ClusterSnapshot snapshot, DrainRequest request) {
        List<Guest> onNode = snapshot.guestsOn(request.node());
        Map<Integer, MigrationPreconditions> pre = preconditions(onNode, request);
        return new Planned(planner.plan(PlanningInput.drain(snapshot, request, nodesInMaintenance(), pre)), pre);
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

    private DrainStatus launch(String drainId, Operation op, DrainRequest request, DrainPlan plan,
                                     Map<Integer, MigrationPreconditions> pre, String message, String undrainOf,
                                     List<GuestProgress> extra, List<Integer> vmList, ClusterRead read) {
        Instant now = scheduler.now();
        List<GuestProgress> guests = new ArrayList<>();
        for (PlanEntry e : plan.entries()) guests.add(progressOf(drainId, e, now));
        for (GuestProgress g : extra) guests.add(g);
        DrainRecord record = new DrainRecord(drainId, request.node(), op, request, DrainState.IN_PROGRESS, message, now, null,
                ownerId, now.plus(lease), false, undrainOf);
        store.createDrain(record, guests);
        store.recordDrainStarted(request.node(), drainId, vmList, now);
        RunningDrain run = startRun(record, guests, pre, now, read);
        return run.status();
    }

    /** {@code read}: the cluster view the drain was planned on, for its first moves; null after a restart. */
    private RunningDrain startRun(DrainRecord record, List<GuestProgress> guests, Map<Integer, MigrationPreconditions> pre, Instant at,
                              ClusterRead read) {
        RunningDrain run = executor.start(record, guests, pre, at, read == null ? null : read.snapshot(), read == null ? null : read.at(),
                this::onFinished);
        if (!run.isFinished()) active.put(record.drainId(), run);
        ensureHeartbeat();
        return run;
    }

    private void onFinished(DrainStatus status) {
        active.remove(status.drainId());
        store.recordDrainFinished(status.node(), status.drainId(), status.status(), scheduler.now());
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
        return new GuestProgress(drainId, g.vmid(), g.name(), g.type(), g.node(), e.targetNode(), e.migrationType(), state,
                e.alwaysOn(), g.haManaged(), g.running(), g.memory(), 0, null, error, note, null,
                state.finished() ? now : null);
    }

    private GuestProgress skipped(String drainId, GuestProgress moved, Guest now, String reason, Instant at) {
        Guest g = now;
        return new GuestProgress(drainId, moved.vmid(), moved.name(), moved.type(), g != null ? g.node() : moved.targetNode(), null, null,
                GuestState.SKIPPED, moved.alwaysOn(), moved.haManaged(), g != null && g.running(), moved.memory(), 0, null,
                reason, null, null, at);
    }

    private void ensureHeartbeat() {
        synchronized (heartbeatLock) {
            if (heartbeat != null || closed) return;
            heartbeat = scheduler.schedule(heartbeatInterval(), this::beat);
        }
    }

    private Duration heartbeatInterval() {
        return lease.dividedBy(3);
    }

    private void beat() {
        synchronized (heartbeatLock) {
            heartbeat = null;
        }
        if (closed) return;
        Instant until = scheduler.now().plus(lease);
        for (RunningDrain run : List.copyOf(active.values())) {
            try {
                if (!store.renewLease(run.drainId(), ownerId, until)) {
                    if (!run.isFinished()) {
                        log.warn("Lost the lease of drain {} of {}; another process owns it now", run.drainId(), run.node());
                        run.abandon();
                    }
                    active.remove(run.drainId());
                    continue;
                }
                if (store.drain(run.drainId()).map(DrainRecord::cancelRequested).orElse(false)) run.cancel();
            } catch (RuntimeException e) {
                log.error("Heartbeat of drain {} failed: {}", run.drainId(), e.getMessage());
            }
        }
        if (!active.isEmpty()) ensureHeartbeat();
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

    private <T> T read(Supplier<T> call) {
        try {
            return planningRetry.get(call::get);
        } catch (FailsafeException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException r) throw r;
            throw new MoxxieException(String.valueOf(c), c);
        }
    }

    private void ensureOpen() {
        if (closed) throw new IllegalStateException("MaintenanceService " + ownerId + " is closed");
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
        private Duration planningRetryDelay = Duration.ofMillis(500);
        private final List<DrainListener> listeners = new ArrayList<>();

        private Builder(HypervisorClient client, MaintenanceStore store) {
            this.client = Checks.notNull("client", client);
            this.store = Checks.notNull("store", store);
        }

        /** Where time and background work come from; default a {@link RealTimeScheduler} the service owns. */
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
            if (ownerId == null || ownerId.isBlank()) throw new IllegalArgumentException("ownerId cannot be empty, was '" + ownerId + "'");
            this.ownerId = ownerId;
            return this;
        }

        /** How long a drain stays owned without a heartbeat (renewed every third of it); default 60 s. */
        public Builder lease(Duration lease) {
            this.lease = Checks.positive("lease", lease);
            return this;
        }

        /** First backoff of retried reads made while planning (in the caller's thread); default 500 ms. */
        public Builder planningRetryDelay(Duration delay) {
            this.planningRetryDelay = Checks.positive("planningRetryDelay", delay);
            return this;
        }

        public Builder listener(DrainListener listener) {
            listeners.add(Checks.notNull("listener", listener));
            return this;
        }

        public MaintenanceService build() {
            return new MaintenanceService(this);
        }
    }

    @Override
    public String toString() {
        return "MaintenanceService[" + ownerId + ", " + active.size() + " active drains]";
    }
}
