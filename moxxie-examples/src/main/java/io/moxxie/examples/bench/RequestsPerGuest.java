package io.moxxie.examples.bench;

import io.moxxie.core.model.Concurrency;

import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.service.MaintenanceService;
import io.moxxie.core.simulation.MigrationModel;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.time.VirtualScheduler;
import io.moxxie.proxmox.ProxmoxClient;
import io.moxxie.proxmox.simulation.SimulatedProxmoxApi;
import io.moxxie.proxmox.simulation.SimulatedProxmoxServer;

import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * HTTP requests per migrated guest through the real {@link ProxmoxClient} against the simulated Proxmox API (JDK
 * HTTP server on loopback), with every migration taking 60 s: a soft drain and a hard drain of the demo cluster's
 * hv7 at k = 3, and a soft drain with {@code "auto"}, planning included.
 */
final class RequestsPerGuest {
    private static final String TOKEN_ID = "moxxie@pve!bench";
    private static final String TOKEN_SECRET = "5f0c7a8e-bench-only-secret";

    record Result(String drain, int migrated, int requests, Map<String, Long> byEndpoint) {
        double perGuest() {
            return migrated == 0 ? 0 : (double) requests / migrated;
        }
    }

    private RequestsPerGuest() {
    }

    /** {@code auto}: {@code maxConcurrent: "auto"} (its controller follows the streams through the watcher's reads); else 3. */
    static Result measure(Consumer<SimulatedCluster.Builder> demoCluster, boolean hard, boolean auto) {
        VirtualScheduler scheduler = new VirtualScheduler();
        SimulatedCluster.Builder b = SimulatedCluster.builder(scheduler)
                .model(new MigrationModel(Double.POSITIVE_INFINITY, Double.POSITIVE_INFINITY, Duration.ofSeconds(60)));
        demoCluster.accept(b);
        SimulatedCluster cluster = b.build();
        SimulatedProxmoxApi api = SimulatedProxmoxApi.builder(cluster).apiToken(TOKEN_ID, TOKEN_SECRET).build();
        try (SimulatedProxmoxServer server = SimulatedProxmoxServer.start(api);
             ProxmoxClient client = ProxmoxClient.builder().baseUrl(server.baseUrl()).apiToken(TOKEN_ID + "=" + TOKEN_SECRET)
                     .retryDelay(Duration.ofMillis(1), Duration.ofMillis(5)).clock(scheduler.clock()).build();
             MaintenanceService service = MaintenanceService.builder(client, new InMemoryMaintenanceStore()).scheduler(scheduler)
                     .planningRetryDelay(Duration.ofMillis(1)).ownerId("bench").build()) {
            service.start();
            client.checkAccess(); // the start check a server makes once (privileges, datacenter options): not a drain's cost
            api.clearCalls();
            DrainRequest request = DrainRequest.builder("hv7").mode(hard ? "hard" : "soft").concurrency(auto ? Concurrency.auto() : Concurrency.fixed(3)).build();
            DrainStatus started = service.drain(request).status();
            scheduler.runUntilIdle();
            DrainStatus done = service.status("hv7", started.drainId());
            int migrated = (int) done.vmStatus().stream().filter(v -> v.status() == GuestState.COMPLETED).count();
            Map<String, Long> byEndpoint = new TreeMap<>();
            for (SimulatedProxmoxApi.Call c : api.calls()) {
                String path = c.path().replaceAll("/\\d+", "/{vmid}").replaceAll("/nodes/[^/]+", "/nodes/{node}")
                        .replaceAll("UPID:[^/]+", "{upid}").replaceAll("/(vm|ct):\\{vmid}", "/{sid}");
                byEndpoint.merge(c.method() + " " + path, 1L, Long::sum);
            }
            return new Result((hard ? "hard" : "soft") + " drain of hv7, " + (auto ? "auto" : "k=3"), migrated, api.calls().size(), byEndpoint);
        }
    }
}
