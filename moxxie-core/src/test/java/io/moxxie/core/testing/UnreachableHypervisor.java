package io.moxxie.core.testing;

import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.spi.HypervisorClient;
import io.moxxie.core.spi.HypervisorUnavailableException;
import io.moxxie.core.spi.MigrationCommand;
import io.moxxie.core.spi.TaskRef;
import io.moxxie.core.spi.TaskState;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * A {@link HypervisorClient} whose hypervisor goes away for a while, as a client with an open circuit breaker sees it:
 * every call fails at once with {@link HypervisorUnavailableException} and does nothing. The cluster behind it goes on
 * (migrations under way continue). Thread-safe.
 */
public final class UnreachableHypervisor implements HypervisorClient {
    private final HypervisorClient delegate;
    private final Supplier<Instant> clock;
    private volatile Instant from = Instant.MAX;
    private volatile Instant until = Instant.MAX;
    private final AtomicInteger refused = new AtomicInteger();

    public UnreachableHypervisor(HypervisorClient delegate, Supplier<Instant> clock) {
        this.delegate = delegate;
        this.clock = clock;
    }

    public void outage(Instant from, Instant until) {
        this.from = from;
        this.until = until;
    }

    public int refused() {
        return refused.get();
    }

    private void check() {
        Instant now = clock.get();
        if (now.isBefore(from) || !now.isBefore(until)) return;
        refused.incrementAndGet();
        throw new HypervisorUnavailableException("Proxmox VE is unreachable since " + from + " (connection refused)", from, null);
    }

    @Override
    public ClusterSnapshot snapshot() {
        check();
        return delegate.snapshot();
    }

    @Override
    public MigrationPreconditions preconditions(Guest guest) {
        check();
        return delegate.preconditions(guest);
    }

    @Override
    public TaskRef migrate(MigrationCommand command) {
        check();
        return delegate.migrate(command);
    }

    @Override
    public TaskState task(TaskRef task) {
        check();
        return delegate.task(task);
    }

    @Override
    public TaskRef start(Guest guest) {
        check();
        return delegate.start(guest);
    }

    @Override
    public TaskRef shutdown(Guest guest, Duration timeout) {
        check();
        return delegate.shutdown(guest, timeout);
    }

    @Override
    public TaskRef stop(Guest guest) {
        check();
        return delegate.stop(guest);
    }

    @Override
    public void setTags(Guest guest, List<String> tags) {
        check();
        delegate.setTags(guest, tags);
    }
}
