package io.moxxie.core;

/**
 * An explicit {@code targetNode} cannot take guests: it is the source, unknown, offline or in maintenance.
 * The message says which.
 */
public class InvalidTargetException extends MoxxieException {
    private final String node;
    private final String targetNode;

    public InvalidTargetException(String node, String targetNode, String reason) {
        super("targetNode '" + targetNode + "' cannot be used to drain " + node + ": " + reason);
        this.node = node;
        this.targetNode = targetNode;
    }

    public String node() {
        return node;
    }

    public String targetNode() {
        return targetNode;
    }
}
