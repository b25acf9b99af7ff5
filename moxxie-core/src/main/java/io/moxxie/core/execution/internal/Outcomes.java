package io.moxxie.core.execution.internal;

import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.Operation;
import io.moxxie.core.spi.DrainRecord;
import io.moxxie.core.spi.GuestProgress;

import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A drain's record and its guests' entries as they stand, with the done and failed counts kept as entries change,
 * and the messages built from them ({@code Progress: 8/15 completed}, the final summary).
 *
 * <p>Threading: not thread-safe; it belongs to one {@link DrainRun} and is used only under that run's lock (every
 * method asserts it).
 */
final class Outcomes {
    private final Object lock;
    private DrainRecord record;
    private final Map<Integer, GuestProgress> guests = new LinkedHashMap<>();
    private int doneCount;
    private int failedCount;
    /** A warning every message of the drain carries (e.g. the hypervisor's HA rebalancing), or null. */
    private String notice;

    Outcomes(Object lock, DrainRecord record) {
        this.lock = lock;
        this.record = record;
    }

    GuestProgress get(int vmid) {
        assert Thread.holdsLock(lock);
        return guests.get(vmid);
    }

    /** Replaces a guest's entry, keeping the done and failed counts (progress is reported after every move). */
    void put(GuestProgress g) {
        assert Thread.holdsLock(lock);
        GuestProgress old = guests.put(g.vmid(), g);
        if (old != null) count(old, -1);
        count(g, 1);
    }

    DrainRecord record() {
        assert Thread.holdsLock(lock);
        return record;
    }

    /** Sets the drain's message. */
    void message(String message) {
        assert Thread.holdsLock(lock);
        record = record.withMessage(message);
    }

    /** From now on every message of the drain ends with {@code warning}; the current one too. */
    void notice(String warning) {
        assert Thread.holdsLock(lock);
        notice = warning;
        record = record.withMessage(withNotice(record.message()));
    }

    private String withNotice(String message) {
        if (notice == null || (message != null && message.contains(notice))) return message;
        return (message == null || message.isEmpty() ? "" : message + ". ") + "Warning: " + notice;
    }

    DrainStatus status() {
        assert Thread.holdsLock(lock);
        return DrainStatus.of(record, List.copyOf(guests.values()));
    }

    /**
     * The status at {@code now} with its timing: {@code message} in place of the recorded one unless null, expected
     * to end at {@code expectedEnd} (null: no estimate), and what queued guests wait for ({@code waiting}, by vmid: e.g.
     * their anti-affinity group) ahead of their notes; not recorded: it changes with every start and end.
     */
    DrainStatus status(String message, Instant now, Instant expectedEnd, Map<Integer, String> waiting) {
        assert Thread.holdsLock(lock);
        List<GuestProgress> entries = List.copyOf(guests.values());
        if (!waiting.isEmpty()) {
            entries = entries.stream().map(g -> {
                String w = waiting.get(g.vmid());
                return w == null ? g : g.withNote(g.note() == null ? w : w + "; " + g.note());
            }).toList();
        }
        return DrainStatus.of(message == null ? record : record.withMessage(withNotice(message)), entries, now, expectedEnd);
    }

    String progressMessage() {
        assert Thread.holdsLock(lock);
        return withNotice("Progress: " + doneCount + "/" + guests.size() + " completed" + (failedCount > 0 ? ", " + failedCount + " failed" : ""));
    }

    /**
     * The drain's end as it stands: {@code cancelled} when asked, else {@code failed} if any guest failed, else
     * {@code completed}. Not the record yet: see {@link #end}.
     */
    DrainRecord finalRecord(boolean cancelled, Instant at) {
        assert Thread.holdsLock(lock);
        // A drain taken over with its cancel requested ends cancelled even if no cancel() reached its run.
        DrainState state = cancelled || record.cancelRequested() ? DrainState.CANCELLED : failedCount > 0 ? DrainState.FAILED : DrainState.COMPLETED;
        return record.withStatus(state, withNotice(finalMessage(state)), at);
    }

    /** Ends the drain with {@code finalRecord} (from {@link #finalRecord}, once the store holds it). */
    DrainStatus end(DrainRecord finalRecord) {
        assert Thread.holdsLock(lock);
        record = finalRecord;
        return status();
    }

    private String finalMessage(DrainState state) {
        String op = record.operation() == Operation.DRAIN ? "Drain" : "Undrain";
        String node = record.node();
        long moved = guests.values().stream().filter(g -> g.status() == GuestState.COMPLETED).count();
        long skipped = guests.values().stream().filter(g -> g.status() == GuestState.SKIPPED).count();
        List<GuestProgress> failed = guests.values().stream().filter(g -> g.status() == GuestState.FAILED).toList();
        String counts = moved + " migrated, " + skipped + " skipped, " + failed.size() + " failed";
        return switch (state) {
            case COMPLETED -> op + " of " + node + " completed: " + counts;
            case CANCELLED -> op + " of " + node + " cancelled: " + counts + ", "
                    + guests.values().stream().filter(g -> g.status() == GuestState.PENDING).count() + " not started";
            default -> op + " of " + node + " failed: " + counts + " (" + failed.stream()
                    .map(g -> g.vmid() + ": " + g.error()).reduce((a, b) -> a + "; " + b).orElse("") + ")";
        };
    }

    private void count(GuestProgress g, int delta) {
        if (g.status() == GuestState.COMPLETED || g.status() == GuestState.SKIPPED) doneCount += delta;
        else if (g.status() == GuestState.FAILED) failedCount += delta;
    }
}
