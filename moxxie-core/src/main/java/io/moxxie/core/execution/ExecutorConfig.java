package io.moxxie.core.execution;

import io.moxxie.core.Checks;
import io.moxxie.core.ValidationException;
import io.moxxie.core.model.Concurrency;

import java.time.Duration;

/**
 * Limits and timings of the {@link DrainExecutor}. Immutable; {@link #defaults()} or {@link #builder()}.
 *
 * @param perTargetLimit      migrations that may run into one target node at once; {@value #AUTO_PER_TARGET_LIMIT} (the
 *                            default): half the drain's concurrency, rounded up, and at least 2 — see {@link #perTargetLimit(int)}
 * @param migrationTimeout    longest one guest's move may take, from its start to verified on the target
 * @param drainTimeout        longest a whole drain may take
 * @param pollInitialDelay    first wait before reading a task's state again after it was found running; grows up to {@code pollMaxDelay}
 * @param pollMaxDelay        longest wait between two reads of a task's state
 * @param shutdownTimeout     how long a guest gets to shut down (offline moves, container restart mode) before it is stopped
 * @param lockWaitTimeout     how long a locked guest (backup, snapshot) is waited for before it fails
 * @param powerTimeout        how long a start or stop may take to show
 * @param maxRetries          retries of a hypervisor call that failed transiently
 * @param retryInitialDelay   first backoff of those retries (doubling up to {@code retryMaxDelay})
 * @param retryMaxDelay       longest backoff
 * @param retriesOnNewTarget  after a failed migration task, how many times the guest is tried again on the next-best target
 * @param preconditionMaxAge  a precondition answer older than this is asked again before the guest moves
 * @param clusterViewMaxAge   a cluster view read this recently is reused to start a move (moves starting together share one read)
 * @param expectedMigrationRate     bytes per second one migration stream is first expected to move at most (corrected as the drain goes)
 * @param expectedLinkBandwidth     bytes per second the migrations in flight are first expected to share (corrected as the drain goes)
 * @param expectedMigrationOverhead fixed time one migration is first expected to take besides moving memory
 */
public record ExecutorConfig(int perTargetLimit, Duration migrationTimeout, Duration drainTimeout,
                             Duration pollInitialDelay, Duration pollMaxDelay, Duration shutdownTimeout,
                             Duration lockWaitTimeout, Duration powerTimeout, int maxRetries, Duration retryInitialDelay,
                             Duration retryMaxDelay, int retriesOnNewTarget, Duration preconditionMaxAge,
                             Duration clusterViewMaxAge, double expectedMigrationRate, double expectedLinkBandwidth,
                             Duration expectedMigrationOverhead) {
    /** {@code perTargetLimit} chosen from the drain's concurrency: see {@link #perTargetLimit(int)}. */
    public static final int AUTO_PER_TARGET_LIMIT = 0;
    public static final int DEFAULT_PER_TARGET_LIMIT = AUTO_PER_TARGET_LIMIT;
    public static final Duration DEFAULT_MIGRATION_TIMEOUT = Duration.ofMinutes(30);
    public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofHours(12);

    public ExecutorConfig {
        if (perTargetLimit < 0) {
            throw new ValidationException("perTargetLimit", perTargetLimit,
                    "perTargetLimit must be >= 1, or 0 for half the drain's concurrency, was " + perTargetLimit);
        }
        Checks.positive("migrationTimeout", migrationTimeout);
        Checks.positive("drainTimeout", drainTimeout);
        Checks.positive("pollInitialDelay", pollInitialDelay);
        Checks.positive("pollMaxDelay", pollMaxDelay);
        Checks.positive("shutdownTimeout", shutdownTimeout);
        Checks.positive("lockWaitTimeout", lockWaitTimeout);
        Checks.positive("powerTimeout", powerTimeout);
        Checks.atLeast("maxRetries", maxRetries, 0);
        Checks.positive("retryInitialDelay", retryInitialDelay);
        Checks.positive("retryMaxDelay", retryMaxDelay);
        Checks.atLeast("retriesOnNewTarget", retriesOnNewTarget, 0);
        Checks.notNull("preconditionMaxAge", preconditionMaxAge);
        Checks.notNull("clusterViewMaxAge", clusterViewMaxAge);
        Checks.positive("expectedMigrationRate", expectedMigrationRate);
        Checks.positive("expectedLinkBandwidth", expectedLinkBandwidth);
        Checks.notNull("expectedMigrationOverhead", expectedMigrationOverhead);
    }

    /**
     * Migrations that may run into one target at once in a drain running {@code concurrency} at once: the configured
     * limit, or by default half of {@code concurrency} rounded up and at least 2. So no target takes every stream, yet
     * a target that receives a large part of the drain (the roomiest node, when memory decides) is not left with a
     * small share of the source's link while the others are done (BENCHMARKS.md, S1).
     */
    public int perTargetLimit(int concurrency) {
        return perTargetLimit != AUTO_PER_TARGET_LIMIT ? perTargetLimit : Math.max(2, (concurrency + 1) / 2);
    }

    /**
     * Live migrations one source may run at once at most, whatever a drain asks: each opens an SSH connection from the
     * source, and OpenSSH's default {@code MaxStartups 10:30:100} (sshd_config(5)) starts dropping connections once 10
     * are being set up. An {@code auto} drain runs this many slots; its controller decides how many of them stream.
     */
    public static final int AUTO_MAX_PER_SOURCE = 10;

    /**
     * Where a drain asked with {@code maxConcurrent: "auto"} starts from: twice the streams that fill the link,
     * {@code 2 * ceil(expectedLinkBandwidth / expectedMigrationRate)}, within 2 and {@link #AUTO_MAX_PER_SOURCE}. As many
     * streams as fill the source's link keep it busy only while they all copy; each move also spends a fixed time
     * setting up without copying, so twice as many keep it busy through those. With the defaults (1.1 GB/s, 0.5 GB/s per
     * stream): 6. The drain's controller then lowers it while a guest that dirties memory fast is moving, and raises it
     * when the link turns out wider (see the README, "maxConcurrent: auto").
     */
    public int autoConcurrency() {
        return Math.max(2, Math.min(AUTO_MAX_PER_SOURCE, 2 * streamsFillingLink()));
    }

    /**
     * How many streams fill the source's link while all of them copy: {@code ceil(expectedLinkBandwidth /
     * expectedMigrationRate)}, 3 with the defaults. A drain with no more slots than this needs every one of them copying.
     */
    public int streamsFillingLink() {
        return (int) Math.ceil(expectedLinkBandwidth / expectedMigrationRate - 1e-9);
    }

    public static ExecutorConfig defaults() {
        return builder().build();
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.perTargetLimit = perTargetLimit;
        b.migrationTimeout = migrationTimeout;
        b.drainTimeout = drainTimeout;
        b.pollInitialDelay = pollInitialDelay;
        b.pollMaxDelay = pollMaxDelay;
        b.shutdownTimeout = shutdownTimeout;
        b.lockWaitTimeout = lockWaitTimeout;
        b.powerTimeout = powerTimeout;
        b.maxRetries = maxRetries;
        b.retryInitialDelay = retryInitialDelay;
        b.retryMaxDelay = retryMaxDelay;
        b.retriesOnNewTarget = retriesOnNewTarget;
        b.preconditionMaxAge = preconditionMaxAge;
        b.clusterViewMaxAge = clusterViewMaxAge;
        b.expectedMigrationRate = expectedMigrationRate;
        b.expectedLinkBandwidth = expectedLinkBandwidth;
        b.expectedMigrationOverhead = expectedMigrationOverhead;
        return b;
    }

    /** Not thread-safe; {@link #build()} validates. */
    public static final class Builder {
        private int perTargetLimit = DEFAULT_PER_TARGET_LIMIT;
        private Duration migrationTimeout = DEFAULT_MIGRATION_TIMEOUT;
        private Duration drainTimeout = DEFAULT_DRAIN_TIMEOUT;
        private Duration pollInitialDelay = Duration.ofSeconds(2);
        private Duration pollMaxDelay = Duration.ofSeconds(10);
        private Duration shutdownTimeout = Duration.ofMinutes(3);
        private Duration lockWaitTimeout = Duration.ofMinutes(10);
        private Duration powerTimeout = Duration.ofMinutes(2);
        private int maxRetries = 6;
        private Duration retryInitialDelay = Duration.ofSeconds(1);
        private Duration retryMaxDelay = Duration.ofSeconds(30);
        private int retriesOnNewTarget = 1;
        private Duration preconditionMaxAge = Duration.ofMinutes(5);
        private Duration clusterViewMaxAge = Duration.ofSeconds(5);
        // A 10 GbE migration network: about 1.1 GB/s to share, one stream rarely above 0.5 GB/s.
        private double expectedMigrationRate = 500e6;
        private double expectedLinkBandwidth = 1.1e9;
        private Duration expectedMigrationOverhead = Duration.ofSeconds(5);

        public Builder perTargetLimit(int v) { perTargetLimit = v; return this; }
        public Builder migrationTimeout(Duration v) { migrationTimeout = v; return this; }
        public Builder drainTimeout(Duration v) { drainTimeout = v; return this; }
        public Builder pollInitialDelay(Duration v) { pollInitialDelay = v; return this; }
        public Builder pollMaxDelay(Duration v) { pollMaxDelay = v; return this; }
        public Builder shutdownTimeout(Duration v) { shutdownTimeout = v; return this; }
        public Builder lockWaitTimeout(Duration v) { lockWaitTimeout = v; return this; }
        public Builder powerTimeout(Duration v) { powerTimeout = v; return this; }
        public Builder maxRetries(int v) { maxRetries = v; return this; }
        public Builder retryInitialDelay(Duration v) { retryInitialDelay = v; return this; }
        public Builder retryMaxDelay(Duration v) { retryMaxDelay = v; return this; }
        public Builder retriesOnNewTarget(int v) { retriesOnNewTarget = v; return this; }
        public Builder preconditionMaxAge(Duration v) { preconditionMaxAge = v; return this; }
        public Builder clusterViewMaxAge(Duration v) { clusterViewMaxAge = v; return this; }
        public Builder expectedMigrationRate(double bytesPerSecond) { expectedMigrationRate = bytesPerSecond; return this; }
        public Builder expectedLinkBandwidth(double bytesPerSecond) { expectedLinkBandwidth = bytesPerSecond; return this; }
        public Builder expectedMigrationOverhead(Duration v) { expectedMigrationOverhead = v; return this; }

        public ExecutorConfig build() {
            return new ExecutorConfig(perTargetLimit, migrationTimeout, drainTimeout, pollInitialDelay, pollMaxDelay,
                    shutdownTimeout, lockWaitTimeout, powerTimeout, maxRetries, retryInitialDelay, retryMaxDelay,
                    retriesOnNewTarget, preconditionMaxAge, clusterViewMaxAge, expectedMigrationRate, expectedLinkBandwidth,
                    expectedMigrationOverhead);
        }
    }
}
