package io.moxxie.core;

/** A node, guest or drain named by the caller does not exist. {@link #kind()} says which, {@link #id()} which one. */
public class NotFoundException extends MoxxieException {
    private final String kind;
    private final String id;

    public NotFoundException(String kind, String id) {
        super(kind + " '" + id + "' not found");
        this.kind = kind;
        this.id = id;
    }

    public static NotFoundException node(String node) {
        return new NotFoundException("node", node);
    }

    public static NotFoundException guest(int vmid) {
        return new NotFoundException("guest", Integer.toString(vmid));
    }

    public static NotFoundException drain(String drainId) {
        return new NotFoundException("drain", drainId);
    }

    /** {@code node}, {@code guest} or {@code drain}. */
    public String kind() {
        return kind;
    }

    public String id() {
        return id;
    }
}
