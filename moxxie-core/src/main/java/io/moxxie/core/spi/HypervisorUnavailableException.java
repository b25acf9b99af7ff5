package io.moxxie.core.spi;

import java.time.Instant;

/**
 * The hypervisor is known to be unreachable (its client's circuit breaker is open): the call was not sent and failed at
 * once, instead of waiting out connection attempts and retries that would fail too. Nothing happened. Callers that
 * serve a person answer at once (the REST server: 503); a drain in flight waits until the hypervisor answers again,
 * within its time limits.
 */
public class HypervisorUnavailableException extends TransientHypervisorException {
    private final Instant since;

    /** @param since when the hypervisor was first found unreachable in this outage (may be {@code null} if unknown) */
    public HypervisorUnavailableException(String message, Instant since, Throwable cause) {
        super(message, cause);
        this.since = since;
    }

    /** When the hypervisor was found unreachable, or {@code null}. */
    public Instant since() {
        return since;
    }
}
