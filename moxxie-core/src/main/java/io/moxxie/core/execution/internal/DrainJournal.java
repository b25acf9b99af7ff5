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
 * Where one drain's state changes go: written to the store as this process, the drain's owner (a write the store
 * refuses because another process owns the drain now makes this run give the drain up), and told to the listeners.
 * Also runs the drain's log lines with its MDC ({@code drainId}, {@code node}, {@code vmid}). Once the run is
 * abandoned, nothing more is written or told.
 *
 * <p>Threading: thread-safe and without state of its own (final fields; the store and the listener list are
 * thread-safe). Its calls do I/O and run listener code: the run makes them outside its lock, never under it.
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

    /** Records a guest's entry. A store error is logged (the run goes on). */
    void save(GuestProgress g) {
        if (abandoned.getAsBoolean()) return;
        try {
            if (!parts.store.updateGuest(g, owner)) {
                withDrainMdc(() -> log.warn("Drain {} is now owned by another process; this process stops working on it", drainId));
                lostOwnership.run();
            }
        } catch (RuntimeException e) {
            withGuestMdc(g.vmid(), () -> log.error("Could not record the progress of VM {} in drain {}: {}", g.vmid(), drainId, e.getMessage()));
        }
    }

    /** Records the drain itself (status, message). A store error is logged (the run goes on). */
    void write(DrainRecord r) {
        if (abandoned.getAsBoolean()) return;
        try {
            if (!parts.store.updateDrain(r)) {
                withDrainMdc(() -> log.warn("Drain {} is now owned by another process; this process stops working on it", drainId));
                lostOwnership.run();
            }
        } catch (RuntimeException e) {
            withDrainMdc(() -> log.error("Could not record the state of drain {}: {}", drainId, e.getMessage()));
        }
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
