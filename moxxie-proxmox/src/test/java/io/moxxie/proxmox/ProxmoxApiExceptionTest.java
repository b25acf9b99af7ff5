package io.moxxie.proxmox;

import org.junit.jupiter.api.Test;

import java.util.LinkedHashMap;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/** What an operator reads when Proxmox refuses a request: its own words, each refused parameter, and the request. */
class ProxmoxApiExceptionTest {
    @Test
    void theMessageCarriesProxmoxsTextEachParameterErrorAndTheRequest() {
        Map<String, String> errors = new LinkedHashMap<>();
        errors.put("target", "target is local node.");
        errors.put("online", "type check ('boolean') failed");
        ProxmoxApiException e = new ProxmoxApiException(400, "POST /nodes/hv7/qemu/8601/migrate",
                "Parameter verification failed.", errors);

        assertThat(e.getMessage()).isEqualTo("Parameter verification failed. (target: target is local node.; "
                + "online: type check ('boolean') failed) (HTTP 400, POST /nodes/hv7/qemu/8601/migrate)");
        assertThat(e.status()).isEqualTo(400);
        assertThat(e.request()).isEqualTo("POST /nodes/hv7/qemu/8601/migrate");
        assertThat(e.proxmoxMessage()).isEqualTo("Parameter verification failed.");
        assertThat(e.errors()).isEqualTo(errors);
    }

    @Test
    void withoutProxmoxsTextTheStatusStandsInAndNoErrorsIsAnEmptyMap() {
        ProxmoxApiException blank = new ProxmoxApiException(596, "GET /cluster/resources", "  ", Map.of());
        assertThat(blank.getMessage()).isEqualTo("HTTP 596 (HTTP 596, GET /cluster/resources)");
        ProxmoxApiException none = new ProxmoxApiException(500, "GET /version", null, null);
        assertThat(none.getMessage()).isEqualTo("HTTP 500 (HTTP 500, GET /version)");
        assertThat(none.errors()).isEmpty();
        assertThat(none.proxmoxMessage()).isNull();
    }
}
