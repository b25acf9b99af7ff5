package io.moxxie.core;

import java.util.List;

/**
 * An explicit {@code targetNode} cannot take guests; {@link #reason()} says why, so that a caller can tell bad input
 * ({@link Reason#UNKNOWN}) from a state of the cluster that may change
 * ({@link Reason#OFFLINE}, {@link Reason#IN_MAINTENANCE}) without parsing the message or reading the cluster again.
 *
 * <p>Immutable.
 */
public class InvalidTargetException extends MoxxieException {
    /** Why the target was refused. */
    public enum Reason {
        /** No node of that name in the cluster; {@link #clusterNodes()} lists the nodes there are. */
        UNKNOWN,
        /** The node is offline. */
        OFFLINE,
        /** The node is in maintenance: nothing is placed on it. */
        IN_MAINTENANCE
    }

    private final String node;
    private final String targetNode;
    private final Reason reason;
    private final List<String> clusterNodes;

    /**
     * @param node         the node being drained
     * @param targetNode   the target asked for
     * @param reason       why it cannot be used
     * @param clusterNodes for {@link Reason#UNKNOWN}, the cluster's nodes in the order the message lists them;
     *                     otherwise may be empty
     */
    public InvalidTargetException(String node, String targetNode, Reason reason, List<String> clusterNodes) {
        super(message(node, targetNode, reason, clusterNodes));
        this.node = node;
        this.targetNode = targetNode;
        this.reason = Checks.notNull("reason", reason);
        this.clusterNodes = List.copyOf(clusterNodes);
    }

    private static String message(String node, String targetNode, Reason reason, List<String> clusterNodes) {
        return switch (reason) {
            case UNKNOWN -> "targetNode '" + targetNode + "' is not a node of the cluster (nodes: "
                    + String.join(", ", clusterNodes) + ")";
            case OFFLINE -> "targetNode '" + targetNode + "' cannot be used to drain " + node + ": the node is offline";
            case IN_MAINTENANCE -> "targetNode '" + targetNode + "' cannot be used to drain " + node
                    + ": the node is in maintenance";
        };
    }

    /** The node being drained. */
    public String node() {
        return node;
    }

    public String targetNode() {
        return targetNode;
    }

    public Reason reason() {
        return reason;
    }

    /** For {@link Reason#UNKNOWN}: the nodes the cluster has, in natural order; otherwise empty or as given. */
    public List<String> clusterNodes() {
        return clusterNodes;
    }
}
