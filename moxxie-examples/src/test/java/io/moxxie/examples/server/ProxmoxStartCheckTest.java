package io.moxxie.examples.server;

import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.HypervisorAuthenticationException;
import io.moxxie.core.time.VirtualScheduler;
import io.moxxie.proxmox.simulation.SimulatedProxmoxApi;
import io.moxxie.proxmox.simulation.SimulatedProxmoxServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The server checks the Proxmox token's privileges as it starts: a token whose {@code Sys.Audit} does not propagate
 * over {@code /nodes} (the cluster view would have no node memory, and no drain could place a guest) stops it at
 * once, naming the privilege, instead of failing drains later.
 */
class ProxmoxStartCheckTest {
    private static final String TOKEN_ID = "moxxie@pve!drain";
    private static final String TOKEN_SECRET = "9e1d3c5b-7a0f-4e2d-8b6c-3a5f7d9e1b20";

    @TempDir
    Path dataDir;

    private static SimulatedProxmoxServer proxmox(Map<String, Map<String, Integer>> privileges) {
        SimulatedCluster cluster = SimulatedCluster.builder(new VirtualScheduler()).node("pve1", 64L << 30, 16).node("pve2", 64L << 30, 16).build();
        return SimulatedProxmoxServer.start(SimulatedProxmoxApi.builder(cluster).apiToken(TOKEN_ID, TOKEN_SECRET).permissions(privileges).build());
    }

    private MoxxieServer start(SimulatedProxmoxServer pve) {
        return TestServers.start(dataDir, Map.of("MOXXIE_PVE_URL", pve.baseUrl(), "MOXXIE_PVE_ALLOW_PLAIN_HTTP", "true",
                "MOXXIE_PVE_TOKEN", TOKEN_ID + "=" + TOKEN_SECRET));
    }

    @Test
    void aTokenWhoseSysAuditDoesNotReachTheNodesStopsTheServerNamingIt() {
        try (SimulatedProxmoxServer pve = proxmox(Map.of("/", Map.of("Sys.Audit", 0, "Sys.Console", 0),
                "/vms", Map.of("VM.Audit", 1, "VM.Migrate", 1, "VM.PowerMgmt", 1, "VM.Config.Options", 1)))) {
            assertThatThrownBy(() -> start(pve).close())
                    .isInstanceOf(HypervisorAuthenticationException.class)
                    .hasMessageContaining("Sys.Audit on /nodes")
                    .hasMessageContaining(TOKEN_ID)
                    .hasMessageNotContaining(TOKEN_SECRET);
            assertThat(pve.api().calls()).extracting(SimulatedProxmoxApi.Call::toString).containsExactly("GET /access/permissions");
        }
    }

    @Test
    void aTokenWithWhatTheSetupPageGrantsStartsTheServer() {
        try (SimulatedProxmoxServer pve = proxmox(SimulatedProxmoxApi.DEFAULT_PERMISSIONS);
             MoxxieServer server = start(pve)) {
            assertThat(server.uri()).isNotNull();
            assertThat(pve.api().calls("GET", "/access/permissions")).hasSize(1);
        }
    }
}
