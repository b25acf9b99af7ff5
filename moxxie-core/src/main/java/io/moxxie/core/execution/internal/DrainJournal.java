package io.moxxie.core.execution.internal;

import io.moxxie.core.execution.DrainListener;
import io.moxxie.core.spi.DrainRecord;
import io.moxxie.core.spi.GuestProgress;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * Where one drain's state changes go: handed to the executor's {@link WriteBehindJournal}, which writes them to the
 * store as this process, the drain's owner, in order (and keeps and writes again what the store could not take; a write
 * the store refuses because another process owns the drain now makes this run give the drain up), and told to the
 * listeners. Also runs the drain's log lines with its MDC ({@code drainId}, {@code node}, {@code vmid}). Once the run is
 * abandoned, nothing more is written or told.
 *
 * <p>Changes reach the store in the order the run made them. The run changes its state under its lock but may not
 * write under it, so a change is handed over in two steps: {@link #save} and {@link #write}, called under the run's lock
 * right where the change is made, put it in the write-behind journal's queue (its place in the order is taken then);
 * {@link #flush}, called after the lock is let go, writes. Two threads that change the same guest (or the record) one
 * after the other therefore cannot write in the other order and leave the older entry in the store.
 *
 * <p>Threading: thread-safe and without state of its own (final fields; the write-behind journal and the listener list
 * are thread-safe). {@link #save} and {@link #write} take only the write-behind journal's lock and may be called under
 * the run's lock; every other call does I/O or runs listener code, and {@link #flush} may run, in the calling thread,
 * callbacks the write-behind journal held (this or another drain's end reported, a paused drain resumed): the run makes
 * those outside its lock, never under it.
 */
final class DrainJournal {
    /** A drain's story is told by one logger, the run's. */
    private static final Logger log = LoggerFactory.getLogger(DrainRun.class);

    private final ExecutorParts parts;
    private final String drainId;
    private final String node;
    private final String owner;
    private final BooleanSupplier abandoned;
    private final Runnable lostOwnership;

    /**
     * @param abandoned     whether the run was given up (then nothing is written or told)
     * @param lostOwnership called when the store says another process owns the drain now
     */
    DrainJournal(ExecutorParts parts, String drainId, String node, String owner, BooleanSupplier abandoned, Runnable lostOwnership) {
        this.parts = parts;
        this.drainId = drainId;
        this.node = node;
        this.owner = owner;
        this.abandoned = abandoned;
        this.lostOwnership = lostOwnership;
    }

    /** Under the run's lock, where the entry changed: records a guest's entry, written at the next {@link #flush}. */
    void save(GuestProgress g) {
        if (abandoned.getAsBoolean()) return;
        parts.writeBehind.queueGuest(g, owner, this::fenced);
    }

    /** Under the run's lock, where the record changed: records the drain itself (status, message), written at the next {@link #flush}. */
    void write(DrainRecord r) {
        if (abandoned.getAsBoolean()) return;
        parts.writeBehind.queueDrain(r, this::fenced);
    }

    /**
     * Outside the run's lock: writes what was saved, in order — now, or (while another thread writes) by that thread
     * after its own; kept and written again in order while the store does not take it.
     */
    void flush() {
        parts.writeBehind.flush();
    }

    /**
     * Runs {@code action} once every change of this drain saved or written before is in the store (at
     * once, in this thread, while the store takes writes); never if one of them is refused by the ownership fence.
     */
    void afterWritten(Runnable action) {
        parts.writeBehind.afterWritten(drainId, action);
    }

    /** Whether the store is behind: a change it could not take waits to be written again. */
    boolean storeBehind() {
        return parts.writeBehind.behind();
    }

    /** Runs {@code action} once the store has caught up (at once, in this thread, if it is not behind). */
    void whenCaughtUp(Runnable action) {
        parts.writeBehind.whenCaughtUp(action);
    }

    /** The store's ownership fence refused a write: another process owns the drain now. */
    private void fenced() {
        if (abandoned.getAsBoolean()) return;
        withDrainMdc(() -> log.warn("Drain {} is now owned by another process; this process stops working on it", drainId));
        lostOwnership.run();
    }

    /** Tells every listener; one that throws is logged and the others are still told. */
    void tell(Consumer<DrainListener> event) {
        if (abandoned.getAsBoolean()) return;
        for (DrainListener l : parts.listeners()) {
            try {
                event.accept(l);
            } catch (RuntimeException e) {
                log.warn("Drain listener {} failed: {}", l, e.toString());
            }
        }
    }

    /** Runs {@code r} (a log call) with the drain id and node in the MDC; work runs on shared threads, so it is put back after. */
    void withDrainMdc(Runnable r) {
        MDC.put("drainId", drainId);
        MDC.put("node", node);
        try {
            r.run();
        } finally {
            MDC.remove("drainId");
            MDC.remove("node");
        }
    }

    /** {@link #withDrainMdc} with the guest's vmid as well. */
    void withGuestMdc(int vmid, Runnable r) {
        MDC.put("vmid", Integer.toString(vmid));
        try {
            withDrainMdc(r);
        } finally {
            MDC.remove("vmid");
        }
    }
}
