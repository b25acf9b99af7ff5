package io.moxxie.core.spi;

import io.moxxie.core.MoxxieException;

/**
 * The hypervisor refused or failed a request, definitely: retrying the same call will not help.
 * The message is the hypervisor's own text (e.g. {@code can't migrate VM which uses local devices: hostpci0}),
 * which is what an operator needs to see.
 */
public class HypervisorException extends MoxxieException {
    public HypervisorException(String message) {
        super(message);
    }

    public HypervisorException(String message, Throwable cause) {
        super(message, cause);
    }
}
