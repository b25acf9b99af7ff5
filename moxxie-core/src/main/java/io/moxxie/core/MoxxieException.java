package io.moxxie.core;

/**
 * Root of every exception Moxxie throws on purpose. Unchecked: callers catch the subtype they can
 * act on and let the rest reach their own error handling. Subclasses carry the node, vmid or drain id
 * they concern, so that a message never has to be parsed to find out what went wrong where.
 */
public class MoxxieException extends RuntimeException {
    public MoxxieException(String message) {
        super(message);
    }

    public MoxxieException(String message, Throwable cause) {
        super(message, cause);
    }
}
