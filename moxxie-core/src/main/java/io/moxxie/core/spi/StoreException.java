package io.moxxie.core.spi;

import io.moxxie.core.MoxxieException;

/** The {@link MaintenanceStore} failed: unreachable, refused a value, or holds a row it cannot read. */
public class StoreException extends MoxxieException {
    public StoreException(String message) {
        super(message);
    }

    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
