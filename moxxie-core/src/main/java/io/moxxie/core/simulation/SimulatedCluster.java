package io.moxxie.core.simulation;

import io.moxxie.core.Checks;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.model.Node;
import io.moxxie.core.model.PlacementRule;
import io.moxxie.core.model.PowerState;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.spi.HypervisorClient;
import io.moxxie.core.spi.HypervisorException;
import io.moxxie.core.spi.MigrationCommand;
import io.moxxie.core.spi.MigrationProgress;
import io.moxxie.core.spi.TaskRef;
import io.moxxie.core.spi.TaskState;
import io.moxxie.core.spi.TransientHypervisorException;
import io.moxxie.core.time.Scheduler;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * An in-memory Proxmox-like cluster behind the {@link HypervisorClient} SPI: for tests, benchmarks and the
 * demo server. Time comes from a {@link Scheduler} (virtual in tests and benchmarks, sped-up real time in
 * the demo), migrations take the time the {@link MigrationModel} gives them, and faults can be injected.
 *
 * <p>It refuses what Proxmox refuses: a running qemu guest moved offline ("can't migrate running VM
 * without --online"), a running container moved live (the task fails: "lxc live migration is currently
 * not implemented"), a locked guest ("VM is locked (backup)"), a guest with passthrough devices
 * ("can't migrate VM which uses local devices: hostpci0"), a move to a node without room for a guest that
 * runs there, a move to an offline node. HA-managed guests behave as in Proxmox: a migrate call only
 * queues a request ({@link TaskRef#tracked()} is false), and a request to an offline node is dropped silently.
 *
 * <p>It holds placement rules as Proxmox VE 9 does ({@link Builder#rule}: {@link ClusterSnapshot#rules()} answers them)
 * and enforces the HA rules on HA-managed guests as its HA stack does: migrating a member of a positive
 * resource-affinity rule moves the rule's other HA members along to the same target (the answer's {@link
 * TaskRef#comigrated()}), and a migration onto a node holding another HA member of a negative rule is refused, naming
 * the blocking resources. Tag rules are not its business (only Moxxie enforces those).
 *
 * <p>It records what a test needs to assert on: every migration attempt, the peak number of concurrent
 * migrations overall and per target, each node's peak memory use, and the number of client calls.
 *
 * <p>Thread-safe: every method takes the cluster's lock, briefly.
 */
public final class SimulatedCluster implements HypervisorClient {
    private static final Duration POWER_TASK_DURATION = Duration.ofSeconds(2);
    private static final Duration DEFAULT_SHUTDOWN_DURATION = Duration.ofSeconds(10);

    private final Scheduler scheduler;
    private final MigrationModel model;
    private final Random random;
    private final Map<String, SimNode> nodes = new TreeMap<>();
    private final Map<Integer, SimGuest> guests = new TreeMap<>();
    private final Map<String, SimTask> tasks = new HashMap<>();
    private final List<Transfer> transfers = new ArrayList<>();
    private final List<MigrationRecord> migrations = new ArrayList<>();
    private final Map<String, Integer> peakPerTarget = new TreeMap<>();
    private final Map<String, Long> calls = new TreeMap<>();
    private final Map<String, Long> used = new HashMap<>();
    private final List<Runnable> changeListeners = new java.util.concurrent.CopyOnWriteArrayList<>();
    private final List<PlacementRule> rules;
    private final boolean haAutoRebalance;
    private double transientFailureRate;
    private int peakConcurrent;
    private int peakConcurrentLive;
    private long taskSeq;
    private long transferGeneration;
    private Scheduler.Cancellable nextTransferEvent;
    private Instant lastTransferUpdate;
    private final SimulatedHealth health = new SimulatedHealth();

    private SimulatedCluster(Builder b) {
        this.scheduler = b.scheduler;
        this.model = b.model;
        this.random = new Random(b.seed);
        this.rules = List.copyOf(b.rules);
        this.haAutoRebalance = b.haAutoRebalance;
        for (SimNode n : b.nodes.values()) nodes.put(n.name, n);
        for (Map.Entry<Integer, Guest> e : b.guests.entrySet()) {
            Guest g = e.getValue();
            if (!nodes.containsKey(g.node())) throw new IllegalArgumentException("guest " + g.vmid() + " is on unknown node '" + g.node() + "'");
            SimGuest sg = new SimGuest(g);
            MigrationPreconditions p = b.preconditions.get(g.vmid());
            if (p != null) sg.preconditions = p;
            double[] dirty = b.dirty.get(g.vmid());
            if (dirty != null) {
                sg.dirtyRate = dirty[0];
                sg.workingSet = (long) dirty[1];
            }
            sg.localDiskBytes = b.localDisks.getOrDefault(g.vmid(), 0L);
            guests.put(g.vmid(), sg);
            count(sg, 1);
        }
        this.lastTransferUpdate = scheduler.now();
    }

    public static Builder builder(Scheduler scheduler) {
        return new Builder(scheduler);
    }

    public Scheduler scheduler() {
        return scheduler;
    }

    /** Its scheduler: a service on this cluster must run on it. */
    @Override
    public java.util.Optional<Scheduler> timeSource() {
        return java.util.Optional.of(scheduler);
    }

    public MigrationModel model() {
        return model;
    }

    // ---------------------------------------------------------------- HypervisorClient

    @Override
    public synchronized ClusterSnapshot snapshot() {
        call("snapshot");
        return currentSnapshot();
    }

    /** The cluster as it is, without counting a call or injecting faults: for assertions. */
    public synchronized ClusterSnapshot currentSnapshot() {
        Map<String, Long> used = memoryUsedByNode();
        List<Node> ns = new ArrayList<>();
        for (SimNode n : nodes.values()) ns.add(n.toNode(used.get(n.name)));
        List<Guest> gs = new ArrayList<>();
        for (SimGuest g : guests.values()) gs.add(g.view(nodes.get(g.guest.node()).online));
        return new ClusterSnapshot(scheduler.now(), ns, gs, rules, haAutoRebalance).withHaMaintenance(health.haMaintenance);
    }

    /** The placement rules it holds (as built). */
    public List<PlacementRule> rules() {
        return rules;
    }

    /** Whether its HA stack may rebalance HA guests by itself (Proxmox VE 9 {@code crs: ha-auto-rebalance}). */
    public boolean haAutoRebalance() {
        return haAutoRebalance;
    }

    @Override
    public synchronized java.util.Optional<Guest> guest(int vmid) {
        call("guest");
        SimGuest g = guests.get(vmid);
        return g == null ? java.util.Optional.empty() : java.util.Optional.of(g.view(nodes.get(g.guest.node()).online));
    }

    @Override
    public synchronized MigrationPreconditions preconditions(Guest guest) {
        call("preconditions");
        SimGuest g = existing(guest.vmid());
        if (g.guest.lock() != null) throw new HypervisorException("VM is locked (" + g.guest.lock() + ")");
        return g.preconditions;
    }

    @Override
    public synchronized TaskRef migrate(MigrationCommand cmd) {
        call("migrate");
        SimGuest g = existing(cmd.guest().vmid());
        String source = g.guest.node();
        if (!source.equals(cmd.guest().node())) {
            throw new HypervisorException("Configuration file 'nodes/" + cmd.guest().node() + "/" + confDir(g) + "/"
                    + g.guest.vmid() + ".conf' does not exist");
        }
        SimNode target = nodes.get(cmd.target());
        if (target == null) throw new HypervisorException("no such cluster node '" + cmd.target() + "'");
        if (g.guest.lock() != null) throw new HypervisorException("VM is locked (" + g.guest.lock() + ")");
        if (!nodes.get(source).online) throw new TransientHypervisorException("595 Errors during connection establishment: node " + source + " unreachable");

        if (g.guest.haManaged()) return haMigrate(g, target);

        boolean running = g.guest.running();
        if (g.guest.type() == GuestType.QEMU && running && cmd.type() != MigrationType.ONLINE) {
            throw new HypervisorException("can't migrate running VM without --online");
        }
        if (g.guest.type() == GuestType.LXC && running && cmd.type() == MigrationType.OFFLINE) {
            throw new HypervisorException("can't migrate running container without --online or --restart");
        }
        SimTask task = newTask(source, g.guest.type() == GuestType.QEMU ? "qmigrate" : "vzmigrate", g.guest.vmid());
        String failure = migrationFailure(g, cmd, target, running);
        if (failure == null && setUpsFrom(source) >= model.maxStartups()) {
            // OpenSSH's MaxStartups: the tunnel's connection is dropped before it is authenticated.
            failure = "kex_exchange_identification: read: Connection reset by peer; ERROR: migration aborted: command "
                    + "'/usr/bin/ssh -e none -o BatchMode=yes -o HostKeyAlias=" + target.name + " root@" + target.name
                    + " /bin/true' failed: exit code 255";
        }
        if (failure != null) {
            finishTask(task, false, failure);
            migrations.add(new MigrationRecord(g.guest.vmid(), source, target.name, cmd.type(), scheduler.now(), scheduler.now(), false, failure));
            return task.ref();
        }
        if (g.hangsNextMigration) {
            g.hangsNextMigration = false;
            set(g, g.guest.withLock("migrate"));
            changed();
            return task.ref();
        }
        startTransfer(g, source, target.name, cmd.type(), task, cmd.withLocalDisks() && g.preconditions.localDisks(), cmd.shutdownTimeout());
        if (g.answersToLose > 0) {
            g.answersToLose--;
            // What ProxmoxClient reports when a migrate POST's answer is lost and no task of it is found.
            throw new HypervisorException("migration to " + target.name + " of VM " + g.guest.vmid() + ": connection reset; no "
                    + task.ref().id().split(":")[5] + " task of it was found on " + source + ", and the request was not repeated");
        }
        return task.ref();
    }

    private String migrationFailure(SimGuest g, MigrationCommand cmd, SimNode target, boolean running) {
        if (!target.online) return "migration aborted: target node '" + target.name + "' is not online";
        if (g.failuresLeft > 0) {
            g.failuresLeft--;
            return g.failureMessage;
        }
        if (!g.preconditions.blockers().isEmpty()) {
            return "can't migrate VM which uses local devices: " + String.join(", ", g.preconditions.blockers());
        }
        if (cmd.type() == MigrationType.ONLINE && running && !g.preconditions.liveBlockers().isEmpty()) {
            return "can't live migrate running VM which uses following mapped devices: " + String.join(", ", g.preconditions.liveBlockers());
        }
        if (g.guest.type() == GuestType.LXC && running && cmd.type() == MigrationType.ONLINE) {
            return "lxc live migration is currently not implemented";
        }
        String notAllowed = g.preconditions.notAllowed().get(target.name);
        if (notAllowed != null) return "migration to " + target.name + " not possible: " + notAllowed;
        boolean willRun = running && cmd.type() != MigrationType.OFFLINE;
        if (willRun && memoryUsed(target.name) + g.guest.memory() > target.memoryTotal) {
            return String.format(Locale.ROOT, "not enough memory on target node '%s': needs %d MiB, %d MiB free",
                    target.name, g.guest.memory() >> 20, Math.max(0, target.memoryTotal - memoryUsed(target.name)) >> 20);
        }
        return null;
    }

    private TaskRef haMigrate(SimGuest g, SimNode target) {
        List<String> blocking = haBlocking(g, target.name);
        if (!blocking.isEmpty()) {
            // PVE 9 answers blocking-resources and its CRM never executes the request: a refusal, as a client reports it.
            throw new HypervisorException("cannot migrate " + sid(g) + " to " + target.name + ": blocked by " + String.join(", ", blocking)
                    + " (resource-affinity)");
        }
        List<SimGuest> along = comigrated(g, target.name);
        // Proxmox only queues "migrate vm:ID target" with the CRM; the CRM drops requests to offline targets.
        if (target.online && g.failuresLeft <= 0) {
            startHaTransfer(g, target);
            for (SimGuest c : along) startHaTransfer(c, target);
        } else if (g.failuresLeft > 0) {
            g.failuresLeft--;
        }
        return TaskRef.untracked("ha-migrate " + sid(g) + " " + target.name, g.guest.node())
                .withComigrated(along.stream().map(c -> c.guest.vmid()).toList());
    }

    private void startHaTransfer(SimGuest g, SimNode target) {
        MigrationType type = g.guest.type() == GuestType.LXC ? (g.guest.running() ? MigrationType.RESTART : MigrationType.OFFLINE)
                : (g.guest.running() ? MigrationType.ONLINE : MigrationType.OFFLINE);
        startTransfer(g, g.guest.node(), target.name, type, null, false, DEFAULT_SHUTDOWN_DURATION);
    }

    private static String sid(SimGuest g) {
        return (g.guest.type() == GuestType.QEMU ? "vm:" : "ct:") + g.guest.vmid();
    }

    /** The HA members of g's negative HA rules on {@code target}, or on their way there: they block the move. */
    private List<String> haBlocking(SimGuest g, String target) {
        List<String> out = new ArrayList<>();
        for (PlacementRule r : rules) {
            if (!(r instanceof PlacementRule.GuestAffinity ga) || ga.together() || r.origin() != PlacementRule.Origin.HA_RULE
                    || !ga.guests().contains(g.guest.vmid())) continue;
            for (int vmid : ga.guests()) {
                SimGuest o = guests.get(vmid);
                if (o == null || o == g || !o.guest.haManaged()) continue;
                boolean there = o.guest.node().equals(target) || transfers.stream().anyMatch(t -> t.guest == o && t.target.equals(target));
                if (there) out.add(sid(o));
            }
        }
        return out;
    }

    /** The other HA members of g's positive HA rules, not on {@code target} and not moving: Proxmox moves them along. */
    private List<SimGuest> comigrated(SimGuest g, String target) {
        java.util.Set<SimGuest> out = new java.util.LinkedHashSet<>();
        for (PlacementRule r : rules) {
            if (!(r instanceof PlacementRule.GuestAffinity ga) || !ga.together() || r.origin() != PlacementRule.Origin.HA_RULE
                    || !ga.guests().contains(g.guest.vmid())) continue;
            for (int vmid : ga.guests()) {
                SimGuest o = guests.get(vmid);
                if (o == null || o == g || !o.guest.haManaged() || o.guest.node().equals(target) || o.guest.lock() != null) continue;
                out.add(o);
            }
        }
        return List.copyOf(out);
    }

    @Override
    public synchronized TaskState task(TaskRef ref) {
        call("task");
        if (!ref.tracked()) return TaskState.ok("OK");
        SimTask t = tasks.get(ref.id());
        if (t == null) throw new HypervisorException("no such task '" + ref.id() + "'");
        return t.finished ? (t.ok ? TaskState.ok("OK") : TaskState.failed(t.message)) : TaskState.RUNNING;
    }

    /**
     * The progress of the live migration carried by {@code ref}, as Proxmox's task log would report it now: empty during
     * the set-up, for a move that copies no memory (offline, container restart), and once the task has ended.
     */
    @Override
    public synchronized java.util.Optional<MigrationProgress> migrationProgress(TaskRef ref) {
        call("migrationProgress");
        if (!ref.tracked()) return java.util.Optional.empty();
        advanceTransfers();
        Instant now = scheduler.now();
        for (Transfer t : transfers) {
            if (t.task == null || !t.task.upid.equals(ref.id())) continue;
            if (!t.live() || t.overheadEnds.isAfter(now)) return java.util.Optional.empty();
            long total = t.guest.guest.memory();
            // QEMU's ram "remaining" counts the dirty bitmap, which it syncs at the end of each pass: what is left of this
            // pass; it grows again when the next pass begins with what the guest dirtied meanwhile.
            long remaining = (long) Math.ceil(t.remaining);
            long transferred = (long) (t.bytesSent + t.passSize - t.remaining);
            java.util.OptionalDouble rate = Double.isFinite(t.rate) ? java.util.OptionalDouble.of(t.rate) : java.util.OptionalDouble.empty();
            java.util.OptionalDouble throttle = t.throttle > 0 ? java.util.OptionalDouble.of(t.throttle) : java.util.OptionalDouble.empty();
            return java.util.Optional.of(new MigrationProgress(Math.max(0, transferred), remaining, total, rate, throttle, now));
        }
        return java.util.Optional.empty();
    }

    @Override
    public synchronized TaskRef start(Guest guest) {
        call("start");
        SimGuest g = existing(guest.vmid());
        requireNodeOnline(g);
        SimTask task = newTask(g.guest.node(), g.guest.type() == GuestType.QEMU ? "qmstart" : "vzstart", g.guest.vmid());
        if (g.startFailuresLeft > 0) {
            g.startFailuresLeft--;
            finishTaskLater(task, POWER_TASK_DURATION, false, "start failed: " + g.startFailureMessage, null);
        } else if (g.guest.template()) {
            finishTask(task, false, "you can't start a vm if it's a template");
        } else {
            finishTaskLater(task, POWER_TASK_DURATION, true, "OK", () -> setStatus(g, PowerState.RUNNING));
        }
        return task.ref();
    }

    @Override
    public synchronized TaskRef shutdown(Guest guest, Duration timeout) {
        call("shutdown");
        SimGuest g = existing(guest.vmid());
        requireNodeOnline(g);
        SimTask task = newTask(g.guest.node(), g.guest.type() == GuestType.QEMU ? "qmshutdown" : "vzshutdown", g.guest.vmid());
        Duration takes = g.ignoresShutdown ? timeout : (DEFAULT_SHUTDOWN_DURATION.compareTo(timeout) < 0 ? DEFAULT_SHUTDOWN_DURATION : timeout);
        finishTaskLater(task, takes, true, "OK", () -> setStatus(g, PowerState.STOPPED));
        return task.ref();
    }

    @Override
    public synchronized TaskRef stop(Guest guest) {
        call("stop");
        SimGuest g = existing(guest.vmid());
        requireNodeOnline(g);
        SimTask task = newTask(g.guest.node(), g.guest.type() == GuestType.QEMU ? "qmstop" : "vzstop", g.guest.vmid());
        finishTaskLater(task, Duration.ofSeconds(1), true, "OK", () -> setStatus(g, PowerState.STOPPED));
        return task.ref();
    }

    @Override
    public synchronized void setTags(Guest guest, List<String> tags) {
        call("setTags");
        SimGuest g = existing(guest.vmid());
        set(g, g.guest.withTags(tags));
        changed();
    }

    // ---------------------------------------------------------------- fault injection

    /** The next {@code times} migrations of the guest fail with {@code message} (as a task error). */
    public synchronized SimulatedCluster failMigrations(int vmid, int times, String message) {
        SimGuest g = existing(vmid);
        g.failuresLeft = times;
        g.failureMessage = message;
        return this;
    }

    /** Every call fails with a {@link TransientHypervisorException} with this probability (seeded). */
    public synchronized SimulatedCluster transientFailureRate(double rate) {
        if (!(rate >= 0 && rate < 1)) throw new IllegalArgumentException("rate must be >= 0 and < 1, was " + rate);
        this.transientFailureRate = rate;
        return this;
    }

    /**
     * The guest's next {@code times} migrations are carried out, but the client hears no answer: the migrate call fails
     * with a {@link HypervisorException} as Proxmox's client reports a lost answer whose task it could not find.
     */
    public synchronized SimulatedCluster loseMigrationAnswers(int vmid, int times) {
        existing(vmid).answersToLose = times;
        return this;
    }

    /** The guest's next migration starts (its task runs, the guest is locked {@code migrate}) and never ends. */
    public synchronized SimulatedCluster hangNextMigration(int vmid) {
        existing(vmid).hangsNextMigration = true;
        return this;
    }

    /** After its next migration the guest is found stopped. */
    public synchronized SimulatedCluster stopAfterMigration(int vmid) {
        existing(vmid).stopAfterMigration = true;
        return this;
    }

    /** The next {@code times} starts of the guest fail. */
    public synchronized SimulatedCluster failStarts(int vmid, int times, String message) {
        SimGuest g = existing(vmid);
        g.startFailuresLeft = times;
        g.startFailureMessage = message;
        return this;
    }

    /** The guest ignores ACPI shutdown: a shutdown runs into its timeout and the guest is then stopped hard. */
    public synchronized SimulatedCluster ignoreShutdown(int vmid) {
        existing(vmid).ignoresShutdown = true;
        return this;
    }

    /**
     * How busy the guest's memory is, for its live migrations ({@link MigrationModel}): it dirties {@code bytesPerSecond}
     * bytes a second within a writable working set of {@code workingSetBytes}. Both 0 by default.
     */
    public synchronized SimulatedCluster dirty(int vmid, double bytesPerSecond, long workingSetBytes) {
        SimGuest g = existing(vmid);
        g.dirtyRate = Builder.checkDirtyRate(bytesPerSecond);
        g.workingSet = Builder.checkWorkingSet(workingSetBytes);
        return this;
    }

    /** Sets ({@code null}: clears) the guest's config lock. */
    public synchronized SimulatedCluster lock(int vmid, String lock) {
        SimGuest g = existing(vmid);
        set(g, g.guest.withLock(lock));
        changed();
        return this;
    }

    /** Takes a node offline (migrations touching it abort) or brings it back. */
    public synchronized SimulatedCluster setNodeOnline(String node, boolean online) {
        SimNode n = nodes.get(node);
        if (n == null) throw new IllegalArgumentException("node '" + node + "' unknown");
        n.online = online;
        if (!online) {
            advanceTransfers();
            for (Transfer t : List.copyOf(transfers)) {
                if (t.source.equals(node) || t.target.equals(node)) {
                    endTransfer(t, false, "migration aborted: node '" + node + "' went offline");
                }
            }
            rescheduleTransfers();
        }
        changed();
        return this;
    }

    /** Takes {@code node} offline after {@code delay} of scheduler time. */
    public SimulatedCluster nodeOfflineAfter(String node, Duration delay) {
        scheduler.schedule(delay, () -> setNodeOnline(node, false));
        return this;
    }

    /** Adds or replaces the precondition answer of a guest. */
    public synchronized SimulatedCluster preconditions(MigrationPreconditions p) {
        existing(p.vmid()).preconditions = p;
        return this;
    }

    /** Moves a guest at once, as an operator would by hand (no migration record). */
    public synchronized SimulatedCluster relocate(int vmid, String node) {
        if (!nodes.containsKey(node)) throw new IllegalArgumentException("node '" + node + "' unknown");
        SimGuest g = existing(vmid);
        set(g, g.guest.withNode(node));
        return this;
    }

    /** Removes a guest, as if deleted. */
    public synchronized SimulatedCluster delete(int vmid) {
        SimGuest removed = guests.remove(vmid);
        if (removed != null) count(removed, -1);
        return this;
    }

    // ---------------------------------------------------------------- quorum, Ceph, HA, reboots (a rollout's gates)

    @Override
    public synchronized io.moxxie.core.model.Quorum quorum() {
        call("quorum");
        java.util.Set<String> online = new java.util.TreeSet<>();
        for (SimNode n : nodes.values()) if (n.online) online.add(n.name);
        boolean quorate = !health.quorumLost && online.size() > nodes.size() / 2;
        return new io.moxxie.core.model.Quorum(quorate, nodes.size(), online);
    }

    @Override
    public synchronized java.util.Optional<io.moxxie.core.model.CephHealth> ceph() {
        call("ceph");
        return health.ceph ? java.util.Optional.of(health.cephHealth(scheduler.now())) : java.util.Optional.empty();
    }

    @Override
    public synchronized List<io.moxxie.core.model.CephOsd> cephOsds(String node) {
        call("cephOsds");
        return health.osdsOf(node);
    }

    @Override
    public synchronized io.moxxie.core.model.CephOsd.Safety cephOkToStop(String node, int osd) {
        call("cephOkToStop");
        if (!health.ceph) throw new HypervisorException("binary not installed: /usr/bin/ceph-mon");
        return health.okToStop(node, osd);
    }

    @Override
    public synchronized void setCephFlag(String flag, boolean value) {
        call("setCephFlag");
        if (!health.ceph) throw new HypervisorException("binary not installed: /usr/bin/ceph-mon");
        if (value) health.flags.add(flag);
        else health.flags.remove(flag);
        changed();
    }

    @Override
    public synchronized java.util.Optional<io.moxxie.core.model.HaManagerStatus> haManagerStatus() {
        call("haManagerStatus");
        if (!health.ha) return java.util.Optional.empty();
        Map<String, Boolean> online = new TreeMap<>();
        for (SimNode n : nodes.values()) online.put(n.name, n.online);
        return java.util.Optional.of(health.haStatus(nodes.keySet(), online));
    }

    /**
     * Reboots {@code node}: it goes offline at once (migrations touching it abort; its running guests stop; its OSDs go
     * down) and comes back after {@code downFor}, starting the guests that were running (as Proxmox does for guests
     * with {@code onboot=1}; a drained node has none but {@code maint-ok} ones).
     */
    public synchronized SimulatedCluster reboot(String node, Duration downFor) {
        if (!nodes.containsKey(node)) throw new IllegalArgumentException("node '" + node + "' unknown");
        List<Integer> wereRunning = new ArrayList<>();
        for (SimGuest g : guests.values()) {
            if (g.guest.node().equals(node) && g.guest.running()) {
                wereRunning.add(g.guest.vmid());
                set(g, g.guest.withStatus(PowerState.STOPPED));
            }
        }
        health.osdsUp(node, false, scheduler.now());
        setNodeOnline(node, false);
        scheduler.schedule(downFor, () -> {
            synchronized (this) {
                setNodeOnline(node, true);
                health.osdsUp(node, true, scheduler.now());
                for (int vmid : wereRunning) {
                    SimGuest g = guests.get(vmid);
                    if (g != null && g.guest.node().equals(node)) set(g, g.guest.withStatus(PowerState.RUNNING));
                }
                changed();
            }
        });
        return this;
    }

    /** Makes the cluster lose quorum (as with a corosync network split), or regain it. */
    public synchronized SimulatedCluster quorumLost(boolean lost) {
        health.quorumLost = lost;
        changed();
        return this;
    }

    /** Gives the cluster Ceph with {@code osdsPerNode} OSDs on every node (ids from 0, node by node). */
    public synchronized SimulatedCluster withCeph(int osdsPerNode) {
        health.ceph = true;
        int id = 0;
        for (String n : nodes.keySet()) {
            List<Integer> ids = new ArrayList<>();
            for (int i = 0; i < osdsPerNode; i++) ids.add(id++);
            health.osds.put(n, ids);
        }
        return this;
    }

    /**
     * Sets Ceph's health as an operator would see it ({@code HEALTH_WARN} / {@code HEALTH_ERR} with one check), or with
     * {@code null} status goes back to the modelled health.
     */
    public synchronized SimulatedCluster cephHealth(String status, String check, String summary) {
        health.forcedStatus = status;
        health.forcedChecks.clear();
        if (status != null && check != null) health.forcedChecks.put(check, new io.moxxie.core.model.CephHealth.Check(status, summary));
        changed();
        return this;
    }

    /** Makes Ceph answer that {@code osd} is not safe to stop ({@code null}: safe again). */
    public synchronized SimulatedCluster osdUnsafeToStop(int osd, String why) {
        if (why == null) health.unsafeToStop.remove(osd);
        else health.unsafeToStop.put(osd, why);
        return this;
    }

    /** Gives the cluster an HA manager (every node online in its view unless in HA maintenance). */
    public synchronized SimulatedCluster withHa() {
        health.ha = true;
        return this;
    }

    /** Puts {@code node}'s HA LRM in maintenance mode ({@code ha-manager crm-command node-maintenance}), or out of it. */
    public synchronized SimulatedCluster haMaintenance(String node, boolean on) {
        if (on) health.haMaintenance.add(node);
        else health.haMaintenance.remove(node);
        changed();
        return this;
    }

    /** The Ceph OSD flags set now. */
    public synchronized java.util.Set<String> cephFlags() {
        return java.util.Set.copyOf(health.flags);
    }

    // ---------------------------------------------------------------- state export (the demo server persists it)

    /**
     * Calls {@code listener} after every change of the cluster's state (a migration ending, a power change,
     * tags, a lock, a node going offline), outside the cluster's lock. Migrations in flight are not state:
     * a cluster rebuilt from an export has them aborted, with their guests on the source.
     */
    public SimulatedCluster onChange(Runnable listener) {
        changeListeners.add(Checks.notNull("listener", listener));
        return this;
    }

    /** The nodes as built, with their current online state: enough, with the guests, to build the cluster again. */
    public synchronized List<NodeSpec> nodeSpecs() {
        List<NodeSpec> out = new ArrayList<>();
        for (SimNode n : nodes.values()) out.add(new NodeSpec(n.name, n.memoryTotal, n.baseMemoryUsed, n.cpus, n.online));
        return out;
    }

    /** Every guest as it stands (a guest migrating now: on its source, unlocked, in the power state it had). */
    public synchronized List<Guest> guestStates() {
        List<Guest> out = new ArrayList<>();
        for (SimGuest g : guests.values()) {
            Guest x = g.guest;
            for (Transfer t : transfers) {
                if (t.guest == g) x = x.withLock(null).withStatus(t.wasRunning ? PowerState.RUNNING : x.status());
            }
            out.add(x);
        }
        return out;
    }

    /** Precondition answers that differ from "unrestricted", by vmid. */
    public synchronized Map<Integer, MigrationPreconditions> preconditionOverrides() {
        Map<Integer, MigrationPreconditions> out = new TreeMap<>();
        for (SimGuest g : guests.values()) {
            if (!g.preconditions.equals(MigrationPreconditions.unrestricted(g.guest.vmid()))) out.put(g.guest.vmid(), g.preconditions);
        }
        return out;
    }

    /** A node of the simulated cluster. */
    public record NodeSpec(String name, long memoryTotal, long baseMemoryUsed, int cpus, boolean online) {
    }

    private void changed() {
        if (changeListeners.isEmpty()) return;
        scheduler.execute(() -> changeListeners.forEach(Runnable::run));
    }

    // ---------------------------------------------------------------- observations

    /** Every migration attempt that ended, in the order they ended. */
    public synchronized List<MigrationRecord> migrations() {
        return List.copyOf(migrations);
    }

    /** Migrations running now. */
    public synchronized int activeMigrations() {
        return transfers.size();
    }

    /** The most migrations that ever ran at once. */
    public synchronized int peakConcurrentMigrations() {
        return peakConcurrent;
    }

    /** The most live migrations (QEMU pre-copy streams) that ever ran at once; moves that copy no memory not counted. */
    public synchronized int peakConcurrentLiveMigrations() {
        return peakConcurrentLive;
    }

    /** Per target node, the most migrations that ever ran into it at once. */
    public synchronized Map<String, Integer> peakMigrationsPerTarget() {
        return Map.copyOf(peakPerTarget);
    }

    /** Per node, the highest memory use seen, as a fraction of its memory. */
    public synchronized Map<String, Double> peakMemoryUtilization() {
        Map<String, Double> out = new TreeMap<>();
        for (SimNode n : nodes.values()) out.put(n.name, n.memoryTotal == 0 ? 0 : (double) n.peakUsed / n.memoryTotal);
        return out;
    }

    /** Client calls made, by method. */
    public synchronized Map<String, Long> calls() {
        return Map.copyOf(calls);
    }

    public synchronized long totalCalls() {
        return calls.values().stream().mapToLong(Long::longValue).sum();
    }

    /** Successful migrations of one guest. */
    public synchronized long successfulMigrations(int vmid) {
        return migrations.stream().filter(m -> m.vmid() == vmid && m.successful()).count();
    }

    // ---------------------------------------------------------------- internals

    private void call(String op) {
        calls.merge(op, 1L, Long::sum);
        if (transientFailureRate > 0 && random.nextDouble() < transientFailureRate) {
            throw new TransientHypervisorException("simulated transient failure of " + op + " (596 Connection timed out)");
        }
    }

    private SimGuest existing(int vmid) {
        SimGuest g = guests.get(vmid);
        if (g == null) throw new HypervisorException("VM " + vmid + " does not exist");
        return g;
    }

    private void requireNodeOnline(SimGuest g) {
        if (!nodes.get(g.guest.node()).online) {
            throw new TransientHypervisorException("595 Errors during connection establishment: node " + g.guest.node() + " unreachable");
        }
    }

    private static String confDir(SimGuest g) {
        return g.guest.type() == GuestType.QEMU ? "qemu-server" : "lxc";
    }

    /**
     * Memory in use per node: its host's own use, the running guests on it, and the guests migrating into it that
     * will run there. Kept as counters, changed with every guest change ({@link #set}), so that reading it is cheap
     * however large the cluster.
     */
    private Map<String, Long> memoryUsedByNode() {
        Map<String, Long> out = new HashMap<>();
        for (SimNode n : nodes.values()) out.put(n.name, memoryUsed(n.name));
        return out;
    }

    private long memoryUsed(String node) {
        return nodes.get(node).baseMemoryUsed + used.getOrDefault(node, 0L);
    }

    /** Replaces a guest's state, keeping the memory counters. */
    private void set(SimGuest g, Guest next) {
        count(g, -1);
        g.guest = next;
        count(g, 1);
    }

    private void count(SimGuest g, int sign) {
        if (g.guest.running()) used.merge(g.guest.node(), sign * g.guest.memory(), Long::sum);
    }

    private void notePeakMemory(String node) {
        SimNode n = nodes.get(node);
        n.peakUsed = Math.max(n.peakUsed, memoryUsed(node));
    }

    private void setStatus(SimGuest g, PowerState s) {
        set(g, g.guest.withStatus(s));
        notePeakMemory(g.guest.node());
        changed();
    }

    private SimTask newTask(String node, String type, int vmid) {
        long seq = ++taskSeq;
        String upid = String.format(Locale.ROOT, "UPID:%s:%08X:%08X:%08X:%s:%d:root@pam:", node, 1000 + seq, seq,
                scheduler.now().getEpochSecond(), type, vmid);
        SimTask t = new SimTask(upid, node);
        tasks.put(upid, t);
        return t;
    }

    private void finishTask(SimTask t, boolean ok, String message) {
        t.finished = true;
        t.ok = ok;
        t.message = message;
    }

    private void finishTaskLater(SimTask t, Duration after, boolean ok, String message, Runnable effect) {
        scheduler.schedule(after, () -> {
            synchronized (SimulatedCluster.this) {
                if (effect != null) effect.run();
                finishTask(t, ok, message);
            }
        });
    }

    // A fluid model: between two events every transfer moves at a constant rate; an event (a start, an
    // end, the end of an overhead phase) re-divides each link among the transfers touching it.

    private void startTransfer(SimGuest g, String source, String target, MigrationType type, SimTask task, boolean localDisks,
                               Duration shutdownTimeout) {
        advanceTransfers();
        boolean running = g.guest.running();
        boolean live = running && type == MigrationType.ONLINE && g.guest.type() == GuestType.QEMU;
        // A live move sets up, then copies memory; any other move copies none (shared storage): a fixed cost, and for a
        // container restart its shutdown and start inside the task. Local disks are copied on top.
        Duration fixed = live ? model.overhead() : model.offlineOverhead();
        if (type == MigrationType.RESTART && running) {
            Duration shutdown = g.ignoresShutdown ? shutdownTimeout
                    : (DEFAULT_SHUTDOWN_DURATION.compareTo(shutdownTimeout) < 0 ? DEFAULT_SHUTDOWN_DURATION : shutdownTimeout);
            fixed = fixed.plus(shutdown).plus(POWER_TASK_DURATION);
        }
        if (localDisks && g.localDiskBytes > 0) fixed = fixed.plusNanos((long) Math.ceil(g.localDiskBytes / model.diskCopyRate() * 1e9));
        Transfer t = new Transfer(g, source, target, type, task, running && type != MigrationType.OFFLINE, running,
                scheduler.now(), scheduler.now().plus(fixed), live ? g.guest.memory() : 0);
        if (live) t.passStart = t.overheadEnds; // pass 0 begins when the set-up ends
        set(g, g.guest.withLock("migrate"));
        if (type == MigrationType.RESTART) set(g, g.guest.withStatus(PowerState.STOPPED));
        transfers.add(t);
        if (t.willRun) used.merge(t.target, t.guest.guest.memory(), Long::sum);
        peakConcurrent = Math.max(peakConcurrent, transfers.size());
        if (live) peakConcurrentLive = Math.max(peakConcurrentLive, (int) transfers.stream().filter(Transfer::live).count());
        peakPerTarget.merge(target, (int) transfers.stream().filter(x -> x.target.equals(target)).count(), Math::max);
        notePeakMemory(target);
        rescheduleTransfers();
    }

    private void advanceTransfers() {
        Instant now = scheduler.now();
        double dt = Duration.between(lastTransferUpdate, now).toNanos() / 1e9;
        if (dt > 0) {
            for (Transfer t : transfers) {
                if (t.rate > 0) t.remaining = Math.max(0, t.remaining - t.rate * dt);
            }
        }
        lastTransferUpdate = now;
    }

    private void rescheduleTransfers() {
        Instant now = scheduler.now();
        Map<String, Integer> load = new HashMap<>();
        for (Transfer t : transfers) {
            if (!t.overheadEnds.isAfter(now) && t.live()) {
                load.merge(t.source, 1, Integer::sum);
                load.merge(t.target, 1, Integer::sum);
            }
        }
        double next = Double.POSITIVE_INFINITY;
        for (Transfer t : transfers) {
            if (t.overheadEnds.isAfter(now)) {
                t.rate = 0;
                next = Math.min(next, Duration.between(now, t.overheadEnds).toNanos() / 1e9);
            } else if (!t.live()) {
                next = 0;
            } else {
                t.rate = Math.min(model.streamCap(), Math.min(model.linkBandwidth() / load.get(t.source), model.linkBandwidth() / load.get(t.target)));
                next = Math.min(next, Double.isInfinite(t.rate) ? 0 : t.remaining / t.rate);
            }
        }
        if (nextTransferEvent != null) nextTransferEvent.cancel();
        nextTransferEvent = null;
        if (transfers.isEmpty()) return;
        long generation = ++transferGeneration;
        long nanos = (long) Math.ceil(next * 1e9);
        nextTransferEvent = scheduler.schedule(Duration.ofNanos(Math.max(0, nanos)), () -> onTransferEvent(generation));
    }

    private synchronized void onTransferEvent(long generation) {
        if (generation != transferGeneration) return;
        advanceTransfers();
        Instant now = scheduler.now();
        for (Transfer t : List.copyOf(transfers)) {
            if (t.overheadEnds.isAfter(now)) continue;
            if (!t.live()) {
                endTransfer(t, true, "OK");
            } else if (t.remaining <= 1.0 || Double.isInfinite(t.rate)) {
                // An unbounded rate (the INSTANT model, or a model of overhead only) sends every pass at once.
                passEnded(t, now);
            }
        }
        rescheduleTransfers();
    }

    /**
     * A pre-copy pass of a live move has been sent (see {@link MigrationModel}): the switchover's copy ends the move; any
     * other pass is followed by one of what the guest dirtied meanwhile, after auto-converge and the downtime limit have
     * had their say — or by the switchover, when that fits in the limit at the stream's current rate.
     */
    private void passEnded(Transfer t, Instant now) {
        double seconds = Duration.between(t.passStart, now).toNanos() / 1e9;
        t.bytesSent += t.passSize;
        t.passes++;
        if (t.switchingOver) {
            t.downtime = seconds;
            endTransfer(t, true, "OK");
            return;
        }
        t.throttleSeconds += t.throttle * seconds;
        SimGuest g = t.guest;
        double dirtied = Math.min(g.workingSet, g.dirtyRate * (1 - t.throttle) * seconds);
        // QEMU's migration_trigger_throttle (migration/ram.c): every second pass over the threshold steps the throttle.
        if (dirtied > MigrationModel.THROTTLE_TRIGGER_PERCENT / 100.0 * t.passSize && ++t.passesOverThreshold >= 2) {
            t.passesOverThreshold = 0;
            t.throttle = t.throttle == 0 ? MigrationModel.THROTTLE_INITIAL_PERCENT / 100.0
                    : Math.min(MigrationModel.THROTTLE_MAX_PERCENT / 100.0, t.throttle + MigrationModel.THROTTLE_INCREMENT_PERCENT / 100.0);
        }
        // passSize is still the pass just sent: from the second pass on, what the guest dirtied during the one before.
        if (t.passes > 1 && dirtied >= t.passSize && ++t.passesNotShrinking >= MigrationModel.DOWNTIME_PATIENCE_PASSES) {
            t.downtimeLimit *= 2;
            t.passesNotShrinking = 0;
        }
        t.switchingOver = dirtied <= t.rate * t.downtimeLimit;
        t.passSize = dirtied;
        t.remaining = dirtied;
        t.passStart = now;
        if (t.switchingOver && dirtied <= 1.0) {
            t.bytesSent += dirtied;
            t.downtime = 0;
            endTransfer(t, true, "OK");
        }
    }

    /** Migrations from {@code source} in their set-up now (their SSH connection being established, as the model counts it). */
    private int setUpsFrom(String source) {
        Instant now = scheduler.now();
        int n = 0;
        for (Transfer t : transfers) {
            if (t.source.equals(source) && t.overheadEnds.isAfter(now)) n++;
        }
        return n;
    }

    private void endTransfer(Transfer t, boolean ok, String message) {
        transfers.remove(t);
        if (t.willRun) used.merge(t.target, -t.guest.guest.memory(), Long::sum);
        SimGuest g = t.guest;
        set(g, g.guest.withLock(null));
        if (ok && guests.get(g.guest.vmid()) == g) {
            set(g, g.guest.withNode(t.target));
            PowerState after = t.wasRunning && t.type != MigrationType.OFFLINE ? PowerState.RUNNING : g.guest.status();
            if (g.stopAfterMigration) {
                g.stopAfterMigration = false;
                after = PowerState.STOPPED;
            }
            set(g, g.guest.withStatus(after));
        } else if (t.type == MigrationType.RESTART && t.wasRunning) {
            set(g, g.guest.withStatus(PowerState.RUNNING)); // Proxmox restarts the container on the source
        }
        if (t.task != null) finishTask(t.task, ok, message);
        migrations.add(new MigrationRecord(g.guest.vmid(), t.source, t.target, t.type, t.startedAt, scheduler.now(), ok, message,
                (long) t.bytesSent, t.passes, Duration.ofNanos((long) (t.downtime * 1e9)), t.throttleSeconds));
        notePeakMemory(t.target);
        changed();
    }

    /**
     * One migration attempt. For a live move: the bytes its pre-copy passes sent (memory and what the guest dirtied
     * meanwhile), the passes (the switchover's included), the switchover's downtime, and {@code throttleSeconds}, the
     * integral of auto-converge's CPU throttle over the move (guest-seconds lost). All 0 for a move that copies no memory.
     */
    public record MigrationRecord(int vmid, String source, String target, MigrationType type, Instant startedAt,
                                  Instant finishedAt, boolean successful, String message, long bytesSent, int passes,
                                  Duration downtime, double throttleSeconds) {
        public MigrationRecord(int vmid, String source, String target, MigrationType type, Instant startedAt, Instant finishedAt,
                               boolean successful, String message) {
            this(vmid, source, target, type, startedAt, finishedAt, successful, message, 0, 0, Duration.ZERO, 0);
        }

        public Duration duration() {
            return Duration.between(startedAt, finishedAt);
        }
    }

    private static final class SimNode {
        final String name;
        final long memoryTotal;
        final long baseMemoryUsed;
        final int cpus;
        boolean online = true;
        long peakUsed;

        SimNode(String name, long memoryTotal, long baseMemoryUsed, int cpus) {
            this.name = name;
            this.memoryTotal = memoryTotal;
            this.baseMemoryUsed = baseMemoryUsed;
            this.cpus = cpus;
        }

        Node toNode(long used) {
            return new Node(name, online, memoryTotal, used, cpus, memoryTotal == 0 ? 0 : Math.min(1.0, (double) used / memoryTotal / 2));
        }
    }

    private static final class SimGuest {
        Guest guest;
        MigrationPreconditions preconditions;
        int failuresLeft;
        String failureMessage;
        int startFailuresLeft;
        String startFailureMessage;
        boolean stopAfterMigration;
        boolean ignoresShutdown;
        int answersToLose;
        boolean hangsNextMigration;
        double dirtyRate;
        long workingSet;
        long localDiskBytes;

        SimGuest(Guest guest) {
            this.guest = guest;
            this.preconditions = MigrationPreconditions.unrestricted(guest.vmid());
        }

        Guest view(boolean nodeOnline) {
            return nodeOnline ? guest : guest.withStatus(PowerState.UNKNOWN);
        }
    }

    private static final class SimTask {
        final String upid;
        final String node;
        boolean finished;
        boolean ok;
        String message;

        SimTask(String upid, String node) {
            this.upid = upid;
            this.node = node;
        }

        TaskRef ref() {
            return TaskRef.of(upid, node);
        }
    }

    private static final class Transfer {
        final SimGuest guest;
        final String source;
        final String target;
        final MigrationType type;
        final SimTask task;
        final boolean willRun;
        final boolean wasRunning;
        final Instant startedAt;
        final Instant overheadEnds;
        double remaining;
        double rate;
        /** Live moves: when the current pre-copy pass began (pass 0: at the set-up's end), its size, and the move's tallies. */
        Instant passStart;
        double passSize;
        double bytesSent;
        int passes;
        double throttle;
        double throttleSeconds;
        double downtimeLimit = MigrationModel.INITIAL_DOWNTIME_SECONDS;
        int passesNotShrinking;
        int passesOverThreshold;
        boolean switchingOver;
        double downtime;

        Transfer(SimGuest guest, String source, String target, MigrationType type, SimTask task, boolean willRun,
                 boolean wasRunning, Instant startedAt, Instant overheadEnds, long bytes) {
            this.guest = guest;
            this.source = source;
            this.target = target;
            this.type = type;
            this.task = task;
            this.willRun = willRun;
            this.wasRunning = wasRunning;
            this.startedAt = startedAt;
            this.overheadEnds = overheadEnds;
            this.remaining = bytes;
            this.passSize = bytes;
        }

        /** A running qemu guest moved online: its memory is copied by a QEMU pre-copy stream. */
        boolean live() {
            return wasRunning && type == MigrationType.ONLINE && guest.guest.type() == GuestType.QEMU;
        }
    }

    /** Describes the cluster to simulate. Not thread-safe. */
    public static final class Builder {
        private final Scheduler scheduler;
        private MigrationModel model = MigrationModel.DEFAULT;
        private long seed = 42;
        private final Map<String, SimNode> nodes = new LinkedHashMap<>();
        private final Map<Integer, Guest> guests = new LinkedHashMap<>();
        private final Map<Integer, MigrationPreconditions> preconditions = new HashMap<>();
        private final List<PlacementRule> rules = new ArrayList<>();
        private boolean haAutoRebalance;
        private final Map<Integer, double[]> dirty = new HashMap<>();
        private final Map<Integer, Long> localDisks = new HashMap<>();

        private Builder(Scheduler scheduler) {
            this.scheduler = Checks.notNull("scheduler", scheduler);
        }

        public Builder model(MigrationModel model) {
            this.model = Checks.notNull("model", model);
            return this;
        }

        /** Seed of the random transient failures. */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        public Builder node(String name, long memoryBytes, int cpus) {
            return node(name, memoryBytes, 0, cpus);
        }

        /** A node whose host already uses {@code baseMemoryUsed} bytes besides its guests. */
        public Builder node(String name, long memoryBytes, long baseMemoryUsed, int cpus) {
            Checks.nodeName("name", name);
            if (nodes.containsKey(name)) throw new IllegalArgumentException("duplicate node '" + name + "'");
            nodes.put(name, new SimNode(name, memoryBytes, baseMemoryUsed, cpus));
            return this;
        }

        /** A node as exported by {@link SimulatedCluster#nodeSpecs()}. */
        public Builder node(NodeSpec spec) {
            node(spec.name(), spec.memoryTotal(), spec.baseMemoryUsed(), spec.cpus());
            nodes.get(spec.name()).online = spec.online();
            return this;
        }

        public Builder guest(Guest guest) {
            if (guests.containsKey(guest.vmid())) throw new IllegalArgumentException("duplicate vmid " + guest.vmid());
            guests.put(guest.vmid(), guest);
            return this;
        }

        public Builder preconditions(MigrationPreconditions p) {
            preconditions.put(p.vmid(), p);
            return this;
        }

        /**
         * A placement rule the cluster holds: an HA rule or group (enforced on HA-managed members, see the class
         * comment), or any rule a test wants {@link ClusterSnapshot#rules()} to answer.
         */
        public Builder rule(PlacementRule rule) {
            rules.add(Checks.notNull("rule", rule));
            return this;
        }

        /** Whether the HA stack rebalances HA guests by itself (Proxmox VE 9 {@code crs: ha-auto-rebalance}); off by default. */
        public Builder haAutoRebalance(boolean on) {
            this.haAutoRebalance = on;
            return this;
        }

        /**
         * The guest dirties {@code bytesPerSecond} bytes of memory a second within a writable working set of
         * {@code workingSetBytes} (see {@link MigrationModel}); a guest not named here dirties none.
         */
        public Builder dirty(int vmid, double bytesPerSecond, long workingSetBytes) {
            dirty.put(vmid, new double[]{checkDirtyRate(bytesPerSecond), checkWorkingSet(workingSetBytes)});
            return this;
        }

        /** The guest has {@code bytes} of disks on local storage, copied when a move asks for local disks. */
        public Builder localDisk(int vmid, long bytes) {
            if (bytes < 0) throw new IllegalArgumentException("bytes must be >= 0, was " + bytes);
            localDisks.put(vmid, bytes);
            return this;
        }

        static double checkDirtyRate(double bytesPerSecond) {
            if (!(bytesPerSecond >= 0) || Double.isInfinite(bytesPerSecond)) {
                throw new IllegalArgumentException("bytesPerSecond must be >= 0 and finite, was " + bytesPerSecond);
            }
            return bytesPerSecond;
        }

        static long checkWorkingSet(long workingSetBytes) {
            if (workingSetBytes < 0) throw new IllegalArgumentException("workingSetBytes must be >= 0, was " + workingSetBytes);
            return workingSetBytes;
        }

        public SimulatedCluster build() {
            return new SimulatedCluster(this);
        }
    }
}
