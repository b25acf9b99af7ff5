package io.moxxie.proxmox;

import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.HypervisorClient;
import io.moxxie.core.spi.HypervisorClientContract;
import io.moxxie.proxmox.simulation.SimulatedProxmoxApi;
import io.moxxie.proxmox.simulation.SimulatedProxmoxServer;

import java.time.Duration;

/** The Proxmox client keeps the hypervisor contract against the simulated Proxmox API, served over HTTP by the JDK's server. */
class ProxmoxClientContractTest extends HypervisorClientContract {
    private static final String TOKEN_ID = "contract@pve!drain";
    private static final String TOKEN_SECRET = "5e0d2c7a-1b3f-4e69-8a2d-7c4b9e1f0a36";

    private SimulatedProxmoxServer server;
    private ProxmoxClient proxmox;

    @Override
    protected HypervisorClient client(SimulatedCluster cluster) {
        server = SimulatedProxmoxServer.start(SimulatedProxmoxApi.builder(cluster).apiToken(TOKEN_ID, TOKEN_SECRET).build());
        proxmox = ProxmoxClient.builder().baseUrl(server.baseUrl()).apiToken(TOKEN_ID + "=" + TOKEN_SECRET)
                .retryDelay(Duration.ofMillis(1), Duration.ofMillis(5)).clock(cluster.scheduler().clock()).build();
        return proxmox;
    }

    @Override
    protected void closeClient() {
        if (proxmox != null) proxmox.close();
        if (server != null) server.close();
    }
}
