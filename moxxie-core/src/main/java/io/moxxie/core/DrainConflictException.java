package io.moxxie.core;

/** A drain or undrain was asked for a node that already has one running; {@link #activeDrainId()} names it. */
public class DrainConflictException extends MoxxieException {
    private final String node;
    private final String activeDrainId;

    public DrainConflictException(String node, String activeDrainId) {
        super("Node " + node + " already has an active drain/undrain: " + activeDrainId);
        this.node = node;
        this.activeDrainId = activeDrainId;
    }

    public String node() {
        return node;
    }

    public String activeDrainId() {
        return activeDrainId;
    }
}
