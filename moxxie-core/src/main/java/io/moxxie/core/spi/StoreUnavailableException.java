package io.moxxie.core.spi;

/**
 * The {@link MaintenanceStore} could not be reached (connection refused or lost, database not accepting
 * connections): nothing was written, and the same call may succeed later. Moxxie keeps a drain's state changes that
 * failed this way and writes them again once the store answers (see {@code DrainExecutor.storeOutage()}).
 */
public class StoreUnavailableException extends StoreException {
    public StoreUnavailableException(String message) {
        super(message);
    }

    public StoreUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }
}
