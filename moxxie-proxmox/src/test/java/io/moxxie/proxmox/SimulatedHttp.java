package io.moxxie.proxmox;

import io.moxxie.core.time.VirtualScheduler;
import io.moxxie.proxmox.simulation.SimulatedProxmoxApi;
import io.moxxie.proxmox.simulation.SimulatedProxmoxServer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * What the tests through the JDK's HTTP server share: the simulated API served over plain HTTP and a {@link ProxmoxClient}
 * of it with the test's API token, fast retries (1-5 ms) and the virtual clock. Closing it closes everything it was
 * given, last first (once: it can be closed mid-test and used again).
 */
final class SimulatedHttp implements AutoCloseable {
    private final VirtualScheduler scheduler;
    private final String tokenId;
    private final String tokenSecret;
    private final List<AutoCloseable> open = new ArrayList<>();

    SimulatedHttp(VirtualScheduler scheduler, String tokenId, String tokenSecret) {
        this.scheduler = scheduler;
        this.tokenId = tokenId;
        this.tokenSecret = tokenSecret;
    }

    /** Serves {@code api} and connects a client to it. */
    ProxmoxClient client(SimulatedProxmoxApi api) {
        return client(closeLater(SimulatedProxmoxServer.start(api)));
    }

    ProxmoxClient client(SimulatedProxmoxServer server) {
        return closeLater(ProxmoxClient.builder().baseUrl(server.baseUrl()).apiToken(tokenId + "=" + tokenSecret)
                .retryDelay(Duration.ofMillis(1), Duration.ofMillis(5)).clock(scheduler.clock()).build());
    }

    <T extends AutoCloseable> T closeLater(T resource) {
        open.add(resource);
        return resource;
    }

    @Override
    public void close() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) open.remove(i).close();
    }
}
