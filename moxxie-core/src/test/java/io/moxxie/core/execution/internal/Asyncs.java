package io.moxxie.core.execution.internal;

import io.moxxie.core.time.Scheduler;

import java.time.Duration;

/** The {@link Async} the watcher's tests read through: no retries, a one-second delay, an hour's wait for the hypervisor. */
final class Asyncs {
    private Asyncs() {
    }

    static Async noRetries(Scheduler scheduler) {
        return new Async(scheduler, 0, Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofHours(1));
    }
}
