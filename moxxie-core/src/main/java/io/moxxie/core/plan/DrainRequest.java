package io.moxxie.core.plan;

import io.moxxie.core.Checks;
import io.moxxie.core.ValidationException;
import io.moxxie.core.model.Concurrency;
import io.moxxie.core.model.DrainMode;

import java.util.Objects;
import java.util.Optional;

/**
 * What an operator asked for: the guide's request body plus the node from the path. Immutable and
 * validated at construction: a request that exists is a request that can be planned.
 *
 * <p>Build one with {@link #builder(String)}; defaults are the public constants below. Invalid input throws a
 * {@link ValidationException} naming the field as the guide's request body does ({@code node}, {@code drainMode},
 * {@code maxConcurrent}, {@code targetNode}).
 *
 * <p>Immutable, thread-safe.
 */
public final class DrainRequest {
    public static final DrainMode DEFAULT_MODE = DrainMode.SOFT;
    /** The guide's defaults, {@code parallel: true} and {@code maxConcurrent: 3}. */
    public static final Concurrency DEFAULT_CONCURRENCY = Concurrency.fixed(3);

    private final String node;
    private final DrainMode mode;
    private final Concurrency concurrency;
    private final boolean allowOffline;
    private final String targetNode;
    private final boolean dryRun;
    private final boolean force;

    private DrainRequest(Builder b) {
        this.node = Checks.nodeName("node", b.node);
        this.mode = Checks.notNull("drainMode", b.mode);
        this.concurrency = Checks.notNull(Concurrency.FIELD, b.concurrency);
        this.allowOffline = b.allowOffline;
        if (b.targetNode != null) {
            Checks.nodeName("targetNode", b.targetNode);
            if (b.targetNode.equals(node)) {
                throw new ValidationException("targetNode", b.targetNode,
                        "targetNode must differ from the node being drained, was '" + b.targetNode + "'");
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
        return new Builder(node).mode(mode).concurrency(concurrency).allowOffline(allowOffline).targetNode(targetNode)
                .dryRun(dryRun).force(force);
    }

    public String node() {
        return node;
    }

    public DrainMode mode() {
        return mode;
    }

    /** How many of the drain's migrations may run at once. */
    public Concurrency concurrency() {
        return concurrency;
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
        return "DrainRequest[node=" + node + ", mode=" + mode.wireName() + ", concurrency=" + concurrency
                + ", allowOffline=" + allowOffline + ", targetNode=" + targetNode + ", dryRun=" + dryRun + ", force=" + force + "]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof DrainRequest r && r.node.equals(node) && r.mode == mode && r.concurrency.equals(concurrency)
                && r.allowOffline == allowOffline && Objects.equals(r.targetNode, targetNode) && r.dryRun == dryRun && r.force == force;
    }

    @Override
    public int hashCode() {
        return Objects.hash(node, mode, concurrency, allowOffline, targetNode, dryRun, force);
    }

    /** Not thread-safe; {@link #build()} validates. */
    public static final class Builder {
        private final String node;
        private DrainMode mode = DEFAULT_MODE;
        private Concurrency concurrency = DEFAULT_CONCURRENCY;
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

        /** {@link Concurrency#serial()}, {@link Concurrency#fixed(int)} or {@link Concurrency#auto()}; by default fixed 3. */
        public Builder concurrency(Concurrency concurrency) {
            this.concurrency = concurrency;
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
