package io.moxxie.core.testing;

import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.spi.HypervisorClient;
import io.moxxie.core.spi.MigrationCommand;
import io.moxxie.core.spi.MigrationProgress;
import io.moxxie.core.spi.TaskRef;
import io.moxxie.core.spi.TaskState;
import io.moxxie.core.time.Scheduler;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * A {@link HypervisorClient} that hands every call to another: a test's wrapper extends it and overrides only the calls
 * it changes (a fault, a hidden node, a count). {@link #guest(int)} is deliberately not handed on: the interface's
 * default reads it from this client's {@link #snapshot()}, so a wrapper that changes {@code snapshot()} changes
 * {@code guest()} alike; override it to hand it on. {@link #timeSource()} is the delegate's. Thread-safe if the delegate
 * and the overrides are.
 */
public abstract class DelegatingHypervisorClient implements HypervisorClient {
    protected final HypervisorClient delegate;

    protected DelegatingHypervisorClient(HypervisorClient delegate) {
        this.delegate = delegate;
    }

    @Override
    public ClusterSnapshot snapshot() {
        return delegate.snapshot();
    }

    @Override
    public MigrationPreconditions preconditions(Guest guest) {
        return delegate.preconditions(guest);
    }

    @Override
    public TaskRef migrate(MigrationCommand command) {
        return delegate.migrate(command);
    }

    @Override
    public TaskState task(TaskRef task) {
        return delegate.task(task);
    }

    @Override
    public Optional<MigrationProgress> migrationProgress(TaskRef task) {
        return delegate.migrationProgress(task);
    }

    @Override
    public TaskRef start(Guest guest) {
        return delegate.start(guest);
    }

    @Override
    public TaskRef shutdown(Guest guest, Duration timeout) {
        return delegate.shutdown(guest, timeout);
    }

    @Override
    public TaskRef stop(Guest guest) {
        return delegate.stop(guest);
    }

    @Override
    public void setTags(Guest guest, List<String> tags) {
        delegate.setTags(guest, tags);
    }

    @Override
    public Optional<Scheduler> timeSource() {
        return delegate.timeSource();
    }
}
