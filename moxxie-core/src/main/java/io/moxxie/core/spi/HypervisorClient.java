package io.moxxie.core.spi;

import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.MigrationPreconditions;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * What Moxxie needs from a hypervisor cluster. Implementations: {@code moxxie-proxmox}'s client for a real
 * Proxmox VE cluster, and {@link io.moxxie.core.simulation.SimulatedCluster} for tests, benchmarks and demos.
 *
 * <h2>Contract</h2>
 * <ul>
 *   <li>Every method may block on I/O; core calls them from its own worker threads, never while holding a lock.
 *       Implementations must be thread-safe.</li>
 *   <li>Reads ({@link #snapshot()}, {@link #guest(int)}, {@link #preconditions(Guest)}, {@link #task(TaskRef)})
 *       have no effect and may be repeated freely.</li>
 *   <li>{@link TransientHypervisorException}: the call may pass if repeated and <em>certainly had no effect</em>.
 *       Core retries it with backoff. A write whose effect is unknown (a migrate POST whose answer was lost)
 *       must be resolved by the implementation (look at the task list or where the guest is) before it
 *       answers: it returns the task it finds or throws {@link HypervisorException}, never a transient error.</li>
 *   <li>{@link HypervisorAuthenticationException}: credentials or permissions refused; never retried.</li>
 *   <li>{@link HypervisorException}: a definite refusal or failure, with the hypervisor's own text.</li>
 *   <li>Writes are not idempotent in general: {@link #migrate(MigrationCommand)} twice moves twice (or fails
 *       the second time). {@link #setTags(Guest, List)} is idempotent.</li>
 * </ul>
 */
public interface HypervisorClient {

    /** Nodes and guests of the whole cluster, in as few requests as the hypervisor allows. */
    ClusterSnapshot snapshot();

    /** One guest, freshly read; empty if it no longer exists. */
    default Optional<Guest> guest(int vmid) {
        return snapshot().guest(vmid);
    }

    /** Where the guest may go and whether it can move live; asked before planning and before each move. */
    MigrationPreconditions preconditions(Guest guest);

    /**
     * Starts a move and returns at once with the task that carries it out. Success is judged by the caller:
     * the task ends well <em>and</em> the guest is then found on the target.
     */
    TaskRef migrate(MigrationCommand command);

    /** The state of a task. */
    TaskState task(TaskRef task);

    /**
     * How far the live migration carried by {@code task} has come: the last progress the hypervisor reported, or empty
     * when it reported none yet (set-up, an offline move, a container, a finished task). Reads are incremental where the
     * hypervisor allows (Proxmox: the task log from the next unread line), so calling it once per watch is cheap.
     */
    default java.util.Optional<MigrationProgress> migrationProgress(TaskRef task) {
        return java.util.Optional.empty();
    }

    // Reads (and one write) for a rollout's safety gates. The defaults describe a cluster without Ceph or HA whose
    // quorum is judged from the snapshot; a client of a real cluster reads them.

    /**
     * The cluster's quorum. The default judges it from {@link #snapshot()}: one vote per node, quorate while more than
     * half are online.
     */
    default io.moxxie.core.model.Quorum quorum() {
        ClusterSnapshot s = snapshot();
        java.util.Set<String> online = new java.util.TreeSet<>();
        s.nodes().stream().filter(io.moxxie.core.model.Node::online).forEach(n -> online.add(n.name()));
        return new io.moxxie.core.model.Quorum(online.size() > s.nodes().size() / 2, s.nodes().size(), online);
    }

    /** Ceph's health, or empty when the cluster runs no Ceph (the default). */
    default Optional<io.moxxie.core.model.CephHealth> ceph() {
        return Optional.empty();
    }

    /** The Ceph OSDs that run on {@code node}; empty (the default) without Ceph or without OSDs there. */
    default List<io.moxxie.core.model.CephOsd> cephOsds(String node) {
        return List.of();
    }

    /** Whether Ceph says OSD {@code osd} of {@code node} can stop without data becoming unavailable. */
    default io.moxxie.core.model.CephOsd.Safety cephOkToStop(String node, int osd) {
        return new io.moxxie.core.model.CephOsd.Safety(true, "no Ceph");
    }

    /**
     * Sets or clears a cluster-wide Ceph OSD flag ({@code noout}: OSDs that go down are not marked out, so a
     * rebooting node's data is not rebalanced away and back). Idempotent.
     *
     * @throws HypervisorException the cluster runs no Ceph (the default) or refused
     */
    default void setCephFlag(String flag, boolean value) {
        throw new HypervisorException("this cluster has no Ceph; cannot " + (value ? "set" : "unset") + " the " + flag + " flag");
    }

    /** What the HA manager sees, or empty when the cluster has no HA manager (the default). */
    default Optional<io.moxxie.core.model.HaManagerStatus> haManagerStatus() {
        return Optional.empty();
    }

    /** Starts a stopped guest. */
    TaskRef start(Guest guest);

    /** Asks the guest's OS to shut down; after {@code timeout} the hypervisor stops it hard. */
    TaskRef shutdown(Guest guest, Duration timeout);

    /** Stops the guest at once (power cut). */
    TaskRef stop(Guest guest);

    /** Replaces the guest's tags. Idempotent. */
    void setTags(Guest guest, List<String> tags);

    /**
     * The scheduler this client's own time runs on, if it has one: a simulated cluster, whose guests move only as its
     * scheduler's time passes. A {@link io.moxxie.core.service.MaintenanceService} then runs on that scheduler and
     * refuses another. Empty (the default) for a client of a real cluster.
     */
    default Optional<io.moxxie.core.time.Scheduler> timeSource() {
        return Optional.empty();
    }
}
