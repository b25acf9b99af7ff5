package io.moxxie.core.execution;

import java.time.Instant;

/**
 * The maintenance store has not taken the executor's oldest state change yet: the executor keeps it, with every change
 * after it, and writes them again in order until the store takes them (see {@link DrainExecutor#storeOutage()}).
 *
 * @param since         when the first write that failed was tried
 * @param reason        the store's error of the last attempt
 * @param pendingWrites changes waiting to be written, in order
 */
public record StoreOutage(Instant since, String reason, int pendingWrites) {
}
