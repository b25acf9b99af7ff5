package io.moxxie.core.spi;

/**
 * A call failed in a way that may pass if repeated: timeout, connection refused, node unreachable
 * (Proxmox's 595/596), a 5xx on a read. Thrown only when the call certainly had no effect, so the
 * caller may repeat it (Moxxie does, with backoff).
 */
public class TransientHypervisorException extends HypervisorException {
    public TransientHypervisorException(String message) {
        super(message);
    }

    public TransientHypervisorException(String message, Throwable cause) {
        super(message, cause);
    }
}
