package io.moxxie.core.spi;

/**
 * The hypervisor rejected the credentials (HTTP 401) or the permission (403). Never retried.
 * The message names the user and token id, never the secret.
 */
public class HypervisorAuthenticationException extends HypervisorException {
    public HypervisorAuthenticationException(String message) {
        super(message);
    }
}
