package io.moxxie.core.plan;

import io.moxxie.core.model.DrainMode;

import io.moxxie.core.Checks;

import java.util.Optional;

/**
 * What an operator asked for: the guide's request body plus the node from the path. Immutable and
 * validated at construction: a request that exists is a request that can be planned.
 *
 * <p>Build one with {@link #builder(String)}; defaults are the public constants below.
 */
public final class DrainRequest {
    public static final DrainMode DEFAULT_MODE = DrainMode.SOFT;
    public static final boolean DEFAULT_PARALLEL = true;
    public static final int DEFAULT_MAX_CONCURRENT = 3;
    /** The upper bound for {@code maxConcurrent}; Proxmox's own bulk migrations stop at 64 workers too. */
    public static final int MAX_CONCURRENT_LIMIT = 64;

    private final String node;
    private final DrainMode mode;
    private final boolean parallel;
    private final int maxConcurrent;
    private final boolean autoConcurrency;
    private final boolean allowOffline;
    private final String targetNode;
    private final boolean dryRun;
    private final boolean force;

    private DrainRequest(Builder b) {
        this.node = Checks.nodeName("node", b.node);
        this.mode = Checks.notNull("drainMode", b.mode);
        this.parallel = b.parallel;
        if (b.maxConcurrent < 1 || b.maxConcurrent > MAX_CONCURRENT_LIMIT) {
            throw new IllegalArgumentException("maxConcurrent must be between 1 and " + MAX_CONCURRENT_LIMIT
                    + ", was " + b.maxConcurrent);
        }
        this.maxConcurrent = b.maxConcurrent;
        this.autoConcurrency = b.autoConcurrency;
        this.allowOffline = b.allowOffline;
        if (b.targetNode != null) {
            Checks.nodeName("targetNode", b.targetNode);
            if (b.targetNode.equals(node)) {
                throw new IllegalArgumentException("targetNode must differ from the node being drained, was '" + b.targetNode + "'");
            }
        }
        this.targetNode = b.targetNode;
        this.dryRun = b.dryRun;
        this.force = b.force;
    }

    public static Builder builder(String node) {
        return new Builder(node);
    }

    /** A soft drain of {@code node} with every default. */
    public static DrainRequest soft(String node) {
        return builder(node).build();
    }

    /** A hard drain of {@code node} with every other default. */
    public static DrainRequest hard(String node) {
        return builder(node).mode(DrainMode.HARD).build();
    }

    public Builder toBuilder() {
        return new Builder(node).mode(mode).parallel(parallel).maxConcurrent(maxConcurrent).autoConcurrency(autoConcurrency)
                .allowOffline(allowOffline).targetNode(targetNode).dryRun(dryRun).force(force);
    }

    public String node() {
        return node;
    }

    public DrainMode mode() {
        return mode;
    }

    public boolean parallel() {
        return parallel;
    }

    public int maxConcurrent() {
        return maxConcurrent;
    }

    /**
     * {@code maxConcurrent: "auto"}: the executor chooses how many migrations run at once from its link model
     * ({@link io.moxxie.core.execution.ExecutorConfig#autoConcurrency()}); {@link #maxConcurrent()} is then not used.
     */
    public boolean autoConcurrency() {
        return autoConcurrency;
    }

    /**
     * Migrations that may run at once: {@code maxConcurrent}, or {@code auto} when it is "auto", or 1 when not parallel.
     *
     * @param auto the executor's choice for "auto"
     */
    public int effectiveConcurrency(int auto) {
        if (!parallel) return 1;
        return autoConcurrency ? auto : maxConcurrent;
    }

    /** As asked. Hard drains allow offline moves whatever this says: see {@link #offlineAllowed()}. */
    public boolean allowOffline() {
        return allowOffline;
    }

    public boolean offlineAllowed() {
        return allowOffline || mode == DrainMode.HARD;
    }

    public Optional<String> targetNode() {
        return Optional.ofNullable(targetNode);
    }

    public boolean dryRun() {
        return dryRun;
    }

    /** For a soft drain: move what fits even when the preflight blocks some guests. */
    public boolean force() {
        return force;
    }

    @Override
    public String toString() {
        return "DrainRequest[node=" + node + ", mode=" + mode.wireName() + ", parallel=" + parallel
                + ", maxConcurrent=" + (autoConcurrency ? "auto" : maxConcurrent) + ", allowOffline=" + allowOffline + ", targetNode=" + targetNode
                + ", dryRun=" + dryRun + ", force=" + force + "]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DrainRequest r && r.toString().equals(toString());
    }

    @Override
    public int hashCode() {
        return toString().hashCode();
    }

    /** Not thread-safe; {@link #build()} validates. */
    public static final class Builder {
        private final String node;
        private DrainMode mode = DEFAULT_MODE;
        private boolean parallel = DEFAULT_PARALLEL;
        private int maxConcurrent = DEFAULT_MAX_CONCURRENT;
        private boolean autoConcurrency;
        private boolean allowOffline;
        private String targetNode;
        private boolean dryRun;
        private boolean force;

        private Builder(String node) {
            this.node = node;
        }

        public Builder mode(DrainMode mode) {
            this.mode = mode;
            return this;
        }

        /** {@code soft} or {@code hard}. */
        public Builder mode(String mode) {
            this.mode = DrainMode.parse(mode);
            return this;
        }

        public Builder parallel(boolean parallel) {
            this.parallel = parallel;
            return this;
        }

        public Builder maxConcurrent(int maxConcurrent) {
            this.maxConcurrent = maxConcurrent;
            return this;
        }

        /** {@code maxConcurrent: "auto"}: see {@link DrainRequest#autoConcurrency()}. */
        public Builder autoConcurrency(boolean auto) {
            this.autoConcurrency = auto;
            return this;
        }

        public Builder allowOffline(boolean allowOffline) {
            this.allowOffline = allowOffline;
            return this;
        }

        /** {@code null} or blank: targets are chosen automatically. */
        public Builder targetNode(String targetNode) {
            this.targetNode = targetNode == null || targetNode.isBlank() ? null : targetNode;
            return this;
        }

        public Builder dryRun(boolean dryRun) {
            this.dryRun = dryRun;
            return this;
        }

        public Builder force(boolean force) {
            this.force = force;
            return this;
        }

        public DrainRequest build() {
            return new DrainRequest(this);
        }
    }
}
