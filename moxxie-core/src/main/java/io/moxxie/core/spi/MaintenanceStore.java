package io.moxxie.core.spi;

import io.moxxie.core.DrainConflictException;
import io.moxxie.core.model.NodeMaintenance;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Where Moxxie keeps node maintenance state and every drain with its per-guest progress, written as it
 * happens, so that a process that dies mid-drain can be replaced by another that finishes the drain
 * (a started {@link io.moxxie.core.service.MaintenanceService} takes it over). Implementations: {@link
 * io.moxxie.core.store.InMemoryMaintenanceStore}, and {@code moxxie-jdbc-store} (H2, PostgreSQL, MariaDB).
 *
 * <h2>Contract</h2>
 * <ul>
 *   <li>Thread-safe; every method may block on I/O and is called outside core's locks.</li>
 *   <li>Every write is atomic and durable when the method returns; reads see all writes that returned before.</li>
 *   <li>Several processes may share one store. {@link #createDrain} is the only way to start a drain and it
 *       refuses a second unfinished drain of the same node, atomically, across processes.</li>
 *   <li>Ownership: each unfinished drain has an owner and a lease. The owner renews the lease
 *       ({@link #renewLease}); another process may {@link #takeOver} a drain only once its lease has expired.
 *       {@link #updateDrain} and {@link #updateGuest} are fenced: they change nothing for a caller that no longer owns
 *       the drain.</li>
 *   <li>{@link StoreException} (unchecked) for failures of the store itself, with a message naming the table,
 *       column or URL concerned and never a password.</li>
 *   <li>Idempotent: {@link #saveMaintenance}, {@link #updateGuest}, {@link #updateDrain},
 *       {@link #renewLease}, {@link #requestCancel}.</li>
 * </ul>
 */
public interface MaintenanceStore {

    /** A node's maintenance record, if it ever had one. */
    Optional<NodeMaintenance> maintenance(String node);

    /** All maintenance records, by node name. */
    List<NodeMaintenance> maintenanceStates();

    /** Inserts or replaces the node's maintenance record. */
    void saveMaintenance(NodeMaintenance state);

    /**
     * Records a new drain with its guests, in one transaction.
     *
     * @throws DrainConflictException when the node already has an unfinished drain (naming it)
     */
    void createDrain(DrainRecord drain, List<GuestProgress> guests);

    /**
     * Writes a drain's status, message, completion time and cancel flag, only if {@code drain.owner()} still owns it.
     *
     * @return {@code false} when another process owns the drain now (the caller must stop working on it)
     */
    boolean updateDrain(DrainRecord drain);

    /**
     * Writes one guest's progress, only if {@code owner} still owns the guest's drain (one short statement: this is on
     * the hot path).
     *
     * @return {@code false} when another process owns the drain now: nothing was written, the caller must stop
     * @throws IllegalArgumentException when the drain does not exist
     */
    boolean updateGuest(GuestProgress guest, String owner);

    Optional<DrainRecord> drain(String drainId);

    /** The drain's guests, in the order they were created. */
    List<GuestProgress> guests(String drainId);

    /** The node's drains and undrains, newest first, at most {@code limit}. */
    List<DrainRecord> drains(String node, int limit);

    /** Drains whose status is {@code in_progress}, whoever owns them. */
    List<DrainRecord> unfinishedDrains();

    /**
     * Extends the lease of a drain the caller owns.
     *
     * @return {@code false} when {@code owner} does not own the drain (any more) or it is finished
     */
    boolean renewLease(String drainId, String owner, Instant leaseExpiresAt);

    /**
     * Makes {@code newOwner} the owner of an unfinished drain whose lease expired before {@code now} (or
     * that {@code newOwner} owns already). Atomic across processes: of two callers, one wins.
     *
     * @return the drain as now owned, or empty when its lease is still held by someone else or it is finished
     */
    Optional<DrainRecord> takeOver(String drainId, String newOwner, Instant now, Instant leaseExpiresAt);

    /** Marks the drain as to be cancelled; its owner sees it at its next heartbeat. */
    void requestCancel(String drainId);

    // The three writes below each change only their own columns of a node's maintenance record, so that an operator
    // putting a node in maintenance in one process and a drain of that node finishing in another never undo each
    // other. The defaults read, modify and write the whole record; a store shared by processes overrides them with
    // single statements.

    /**
     * Sets the node's maintenance columns ({@code in_maintenance}, {@code reason}, {@code maintenance_started},
     * {@code maintenance_ended}, {@code updated_at}), creating the record if the node has none; the drain columns
     * are left as they are.
     */
    default void saveMaintenanceMode(String node, boolean inMaintenance, String reason, Instant started, Instant ended, Instant at) {
        NodeMaintenance m = maintenance(node).orElseGet(() -> NodeMaintenance.none(node, at));
        saveMaintenance(new NodeMaintenance(node, inMaintenance, reason, started, ended, m.drainStatus(), m.lastDrainId(), m.vmList(), at));
    }

    /**
     * Records that {@code drainId} is the node's last drain, {@code in_progress}, and (when {@code vmList} is not
     * {@code null}) the guests that were on the node; creates the record if the node has none. The maintenance
     * columns are left as they are.
     */
    default void recordDrainStarted(String node, String drainId, List<Integer> vmList, Instant at) {
        NodeMaintenance m = maintenance(node).orElseGet(() -> NodeMaintenance.none(node, at));
        saveMaintenance(m.withDrain(drainId, io.moxxie.core.model.DrainState.IN_PROGRESS, vmList != null ? vmList : m.vmList(), at));
    }

    /** Sets the node's {@code drain_status} to {@code state}, only if {@code drainId} is still its last drain. */
    default void recordDrainFinished(String node, String drainId, io.moxxie.core.model.DrainState state, Instant at) {
        maintenance(node).filter(m -> drainId.equals(m.lastDrainId())).ifPresent(m -> saveMaintenance(m.withDrainStatus(state, at)));
    }
}
