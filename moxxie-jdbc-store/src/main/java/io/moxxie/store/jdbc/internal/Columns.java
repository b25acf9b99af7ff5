package io.moxxie.store.jdbc.internal;

import io.moxxie.core.spi.StoreException;

/**
 * The length limits of the schema's text columns, checked before anything is written so that a value that does
 * not fit fails the same way on every database (and never gets truncated silently by a lenient one). Not public API.
 */
public final class Columns {
    public static final int NODE_NAME = 64;
    public static final int DRAIN_ID = 64;
    public static final int REASON = 1000;
    public static final int MESSAGE = 1000;
    public static final int OWNER = 255;
    public static final int GUEST_NAME = 255;
    public static final int TASK_ID = 255;
    public static final int ERROR = 4000;
    public static final int NOTE = 1000;
    public static final int ROLLOUT_ID = 64;
    /** Action names are at most 64 characters ({@code RolloutRequest} checks them). */
    public static final int ACTION_NAME = 64;
    /** A rollout's and a step's message: longer than a drain's, they may quote the gates that block. */
    public static final int ROLLOUT_MESSAGE = 4000;
    /** {@code rollout.ceph_allowed_warnings}, comma-separated codes of at most 64 characters each. */
    public static final int CEPH_CHECKS = 4000;
    /**
     * {@code rollout_step.gates} and {@code action_output} (the tail of a command's output, which the rollout keeps to
     * about 8 KiB): MariaDB's TEXT holds 65,535 bytes, so 16,000 UTF-16 characters of up to 3 bytes each fit.
     */
    public static final int GATES = 16_000;
    public static final int ACTION_OUTPUT = 16_000;
    /** {@code vm_list} is unbounded text on every dialect but MariaDB's MEDIUMTEXT; this keeps it well inside. */
    public static final int VM_LIST = 1_000_000;

    private Columns() {
    }

    /**
     * @throws StoreException naming table, column, the row and both lengths when {@code value} is longer than {@code max}
     */
    public static String fit(String table, String column, int max, String value, String row) {
        if (value != null && value.length() > max) {
            throw new StoreException("Value too long for column " + table + "." + column + " (" + row + "): "
                    + value.length() + " characters, at most " + max + " allowed; nothing was written");
        }
        return value;
    }
}
