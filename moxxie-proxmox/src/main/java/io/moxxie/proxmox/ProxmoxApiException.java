package io.moxxie.proxmox;

import io.moxxie.core.spi.HypervisorException;

import java.util.Map;

/**
 * Proxmox answered a request with an error: its own text (from the body's {@code message}, or before PVE 8.4
 * from the status line's reason phrase, where it was the only place), the per-parameter {@code errors} of a 400,
 * the HTTP status and the request. The message starts with Proxmox's text, e.g.
 * {@code can't migrate VM which uses local devices: hostpci0 (HTTP 500, POST /nodes/pve1/qemu/100/migrate)}.
 */
public class ProxmoxApiException extends HypervisorException {
    private final int status;
    private final String request;
    private final String proxmoxMessage;
    private final Map<String, String> errors;

    public ProxmoxApiException(int status, String request, String proxmoxMessage, Map<String, String> errors) {
        super(format(status, request, proxmoxMessage, errors));
        this.status = status;
        this.request = request;
        this.proxmoxMessage = proxmoxMessage;
        this.errors = errors == null ? Map.of() : Map.copyOf(errors);
    }

    private static String format(int status, String request, String message, Map<String, String> errors) {
        StringBuilder sb = new StringBuilder(message == null || message.isBlank() ? "HTTP " + status : message);
        if (errors != null && !errors.isEmpty()) {
            sb.append(" (");
            boolean first = true;
            for (Map.Entry<String, String> e : errors.entrySet()) {
                if (!first) sb.append("; ");
                sb.append(e.getKey()).append(": ").append(e.getValue());
                first = false;
            }
            sb.append(')');
        }
        sb.append(" (HTTP ").append(status).append(", ").append(request).append(')');
        return sb.toString();
    }

    /** The HTTP status code (Proxmox uses 500 for nearly every refusal: the text is what tells them apart). */
    public int status() {
        return status;
    }

    /** Method and path, e.g. {@code POST /nodes/pve1/qemu/100/migrate}. */
    public String request() {
        return request;
    }

    /** Proxmox's own text, without the HTTP context; {@code null} if it gave none. */
    public String proxmoxMessage() {
        return proxmoxMessage;
    }

    /** Per-parameter messages of a 400 (parameter verification failed), e.g. {@code target → target is local node.}. */
    public Map<String, String> errors() {
        return errors;
    }
}
