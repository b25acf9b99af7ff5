package io.moxxie.core.plan;

import io.moxxie.core.Checks;
import io.moxxie.core.ValidationException;
import io.moxxie.core.model.Concurrency;
import io.moxxie.core.model.DrainMode;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * What an operator asked of a rollout: maintenance of several nodes, one after another, each drained, worked on,
 * brought back and undrained, behind safety gates. Immutable and validated at construction; invalid input throws a
 * {@link ValidationException} naming the REST body's field.
 *
 * @param nodes               the nodes in the order asked; empty means every node of the cluster, in an order Moxxie
 *                            chooses ({@link #allNodes()})
 * @param mode                each node's drain mode
 * @param concurrency         each drain's {@code maxConcurrent}
 * @param allowOffline        each drain's {@code allowOffline}
 * @param force               each drain's {@code force}: move what fits even when the preflight blocks some guests
 *                            (the empty check then fails the step unless the guests left are {@code maint-ok})
 * @param action              the maintenance action's name: {@code continue} (wait for an operator) or one the
 *                            embedding application registered (the server: configured commands)
 * @param beforeDrain         an action run before the node's drain, or {@code null}
 * @param afterUndrain        an action run after the node's undrain, or {@code null}
 * @param cephAllowedWarnings Ceph health check codes that do not block (e.g. {@code PG_NOT_DEEP_SCRUBBED}); the
 *                            {@code noout} flag the rollout sets itself never blocks
 * @param cephNoout           set Ceph's {@code noout} flag while a node is out, and clear it once its OSDs are up
 * @param gateTimeout         how long a node waits for a blocking gate before the rollout fails
 * @param actionTimeout       how long the maintenance action may take (an operator's {@code continue} too)
 * @param nodeBackTimeout     how long the node may take to come back (online, in the quorum, healthy)
 * @param settleTime          how long the node must have been back before its guests return
 * @param maxNodesDown        how many nodes may be out of service at once, counting other rollouts' and drains'
 * @param continueOnFailure   a failed node does not stop the rollout (it stays in maintenance; the next starts)
 * @param dryRun              answer the plan only
 */
public record RolloutRequest(List<String> nodes, DrainMode mode, Concurrency concurrency, boolean allowOffline,
                             boolean force, String action, String beforeDrain, String afterUndrain,
                             Set<String> cephAllowedWarnings, boolean cephNoout, Duration gateTimeout,
                             Duration actionTimeout, Duration nodeBackTimeout, Duration settleTime, int maxNodesDown,
                             boolean continueOnFailure, boolean dryRun) {
    /** The action that waits for an operator's {@code POST …/continue}: always available. */
    public static final String CONTINUE_ACTION = "continue";
    public static final Duration DEFAULT_GATE_TIMEOUT = Duration.ofMinutes(30);
    public static final Duration DEFAULT_ACTION_TIMEOUT = Duration.ofHours(4);
    public static final Duration DEFAULT_NODE_BACK_TIMEOUT = Duration.ofMinutes(30);
    /** Long enough for pve-cluster, corosync and the HA LRM to settle after a boot. */
    public static final Duration DEFAULT_SETTLE_TIME = Duration.ofMinutes(2);
    public static final int MAX_NODES = 10_000;

    private static final Pattern ACTION_NAME = Pattern.compile("^[a-z][a-z0-9_-]{0,63}$");
    private static final Pattern CEPH_CHECK = Pattern.compile("^[A-Z][A-Z0-9_]{0,63}$");

    public RolloutRequest {
        Checks.notNull("nodes", nodes);
        if (nodes.size() > MAX_NODES) throw new ValidationException("nodes", nodes.size(), "nodes may name at most " + MAX_NODES + " nodes, was " + nodes.size());
        Set<String> seen = new LinkedHashSet<>();
        for (String n : nodes) {
            Checks.nodeName("nodes", n);
            if (!seen.add(n)) throw new ValidationException("nodes", n, "nodes names '" + n + "' twice");
        }
        nodes = List.copyOf(nodes);
        Checks.notNull("drainMode", mode);
        Checks.notNull(Concurrency.FIELD, concurrency);
        action = actionName("action", Checks.notNull("action", action));
        beforeDrain = beforeDrain == null || beforeDrain.isBlank() ? null : actionName("beforeDrain", beforeDrain);
        afterUndrain = afterUndrain == null || afterUndrain.isBlank() ? null : actionName("afterUndrain", afterUndrain);
        Checks.notNull("cephAllowedWarnings", cephAllowedWarnings);
        for (String c : cephAllowedWarnings) {
            if (c == null || !CEPH_CHECK.matcher(c).matches()) {
                throw new ValidationException("cephAllowedWarnings", c,
                        "cephAllowedWarnings must hold Ceph health check codes such as PG_NOT_DEEP_SCRUBBED, was '" + c + "'");
            }
        }
        cephAllowedWarnings = Checks.sortedCopy("cephAllowedWarnings", cephAllowedWarnings);
        Checks.positive("gateTimeout", gateTimeout);
        Checks.positive("actionTimeout", actionTimeout);
        Checks.positive("nodeBackTimeout", nodeBackTimeout);
        Checks.notNull("settleTime", settleTime);
        if (settleTime.isNegative()) throw new ValidationException("settleTime", settleTime, "settleTime must be >= 0, was " + settleTime);
        Checks.positive("maxNodesDown", maxNodesDown);
    }

    private static String actionName(String field, String name) {
        if (!ACTION_NAME.matcher(name).matches()) {
            throw new ValidationException(field, name, field + " must be an action name (lower-case letters, digits, '-', '_'), was '" + name + "'");
        }
        return name;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Every node of the cluster, in an order Moxxie chooses. */
    public boolean allNodes() {
        return nodes.isEmpty();
    }

    public Optional<String> beforeDrainAction() {
        return Optional.ofNullable(beforeDrain);
    }

    public Optional<String> afterUndrainAction() {
        return Optional.ofNullable(afterUndrain);
    }

    /** The drain of {@code node} this rollout runs. */
    public DrainRequest drainRequest(String node) {
        return DrainRequest.builder(node).mode(mode).concurrency(concurrency).allowOffline(allowOffline).force(force).build();
    }

    public Builder toBuilder() {
        return new Builder().nodes(nodes).mode(mode).concurrency(concurrency).allowOffline(allowOffline).force(force)
                .action(action).beforeDrain(beforeDrain).afterUndrain(afterUndrain).cephAllowedWarnings(cephAllowedWarnings)
                .cephNoout(cephNoout).gateTimeout(gateTimeout).actionTimeout(actionTimeout).nodeBackTimeout(nodeBackTimeout)
                .settleTime(settleTime).maxNodesDown(maxNodesDown).continueOnFailure(continueOnFailure).dryRun(dryRun);
    }

    /** Not thread-safe; {@link #build()} validates. Defaults: all nodes, soft drains of 3 at once, the continue action. */
    public static final class Builder {
        private List<String> nodes = new ArrayList<>();
        private DrainMode mode = DrainRequest.DEFAULT_MODE;
        private Concurrency concurrency = DrainRequest.DEFAULT_CONCURRENCY;
        private boolean allowOffline;
        private boolean force;
        private String action = CONTINUE_ACTION;
        private String beforeDrain;
        private String afterUndrain;
        private Set<String> cephAllowedWarnings = Set.of();
        private boolean cephNoout = true;
        private Duration gateTimeout = DEFAULT_GATE_TIMEOUT;
        private Duration actionTimeout = DEFAULT_ACTION_TIMEOUT;
        private Duration nodeBackTimeout = DEFAULT_NODE_BACK_TIMEOUT;
        private Duration settleTime = DEFAULT_SETTLE_TIME;
        private int maxNodesDown = 1;
        private boolean continueOnFailure;
        private boolean dryRun;

        private Builder() {
        }

        /** The nodes in this order; empty: every node, in an order Moxxie chooses. */
        public Builder nodes(List<String> nodes) {
            this.nodes = nodes == null ? null : new ArrayList<>(nodes);
            return this;
        }

        public Builder nodes(String... nodes) {
            return nodes(List.of(nodes));
        }

        public Builder allNodes() {
            return nodes(List.of());
        }

        public Builder mode(DrainMode mode) {
            this.mode = mode;
            return this;
        }

        public Builder concurrency(Concurrency concurrency) {
            this.concurrency = concurrency;
            return this;
        }

        public Builder allowOffline(boolean allowOffline) {
            this.allowOffline = allowOffline;
            return this;
        }

        public Builder force(boolean force) {
            this.force = force;
            return this;
        }

        public Builder action(String action) {
            this.action = action;
            return this;
        }

        public Builder beforeDrain(String action) {
            this.beforeDrain = action;
            return this;
        }

        public Builder afterUndrain(String action) {
            this.afterUndrain = action;
            return this;
        }

        public Builder cephAllowedWarnings(Set<String> codes) {
            this.cephAllowedWarnings = codes;
            return this;
        }

        public Builder cephNoout(boolean cephNoout) {
            this.cephNoout = cephNoout;
            return this;
        }

        public Builder gateTimeout(Duration gateTimeout) {
            this.gateTimeout = gateTimeout;
            return this;
        }

        public Builder actionTimeout(Duration actionTimeout) {
            this.actionTimeout = actionTimeout;
            return this;
        }

        public Builder nodeBackTimeout(Duration nodeBackTimeout) {
            this.nodeBackTimeout = nodeBackTimeout;
            return this;
        }

        public Builder settleTime(Duration settleTime) {
            this.settleTime = settleTime;
            return this;
        }

        public Builder maxNodesDown(int maxNodesDown) {
            this.maxNodesDown = maxNodesDown;
            return this;
        }

        public Builder continueOnFailure(boolean continueOnFailure) {
            this.continueOnFailure = continueOnFailure;
            return this;
        }

        public Builder dryRun(boolean dryRun) {
            this.dryRun = dryRun;
            return this;
        }

        public RolloutRequest build() {
            return new RolloutRequest(nodes, mode, concurrency, allowOffline, force, action, beforeDrain, afterUndrain,
                    cephAllowedWarnings, cephNoout, gateTimeout, actionTimeout, nodeBackTimeout, settleTime, maxNodesDown,
                    continueOnFailure, dryRun);
        }
    }
}
