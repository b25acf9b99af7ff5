package io.moxxie.examples.server;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Issue 17: with MOXXIE_PVE_URL pointing at a loopback port that refuses connections, eight and more concurrent requests
 * that read the cluster must not starve the API. Once the client's circuit breaker knows Proxmox is down they are
 * answered 503 at once, saying Proxmox is unreachable and since when; requests that need no cluster (the OpenAPI
 * document, a drain's status, maintenance state from the store) are answered whatever Proxmox does.
 */
class UnreachableProxmoxTest {
    private static final int CLUSTER_READS = 12;

    @TempDir
    Path dataDir;
    private MoxxieServer server;
    private ExecutorService clients;

    @AfterEach
    void stop() {
        if (clients != null) clients.shutdownNow();
        if (server != null) server.close();
    }

    private static int refusingPort() throws Exception {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    @Test
    void concurrentClusterReadsFailFastWith503AndTheRestOfTheApiIsAnsweredAtOnce() throws Exception {
        server = TestServers.start(dataDir, Map.of("MOXXIE_PVE_URL", "https://127.0.0.1:" + refusingPort(),
                "MOXXIE_PVE_TOKEN", "moxxie@pve!drain=5f2c8d4e-13a7-4b0e-9f61-7c2d8e0a4b19"));
        Api api = new Api(server.uri());
        clients = Executors.newFixedThreadPool(CLUSTER_READS + 3);

        List<CompletableFuture<Api.Result>> reads = new ArrayList<>();
        for (int i = 0; i < CLUSTER_READS; i++) {
            String path = i % 3 == 0 ? "/api/v1/nodes" : i % 3 == 1 ? "/api/v1/vms?tags=always-on" : "/api/v1/vms/8200";
            reads.add(CompletableFuture.supplyAsync(() -> api.get(path), clients));
        }
        // While those are under way: requests that need no cluster.
        CompletableFuture<Api.Result> openApi = CompletableFuture.supplyAsync(() -> api.get("/api/v1/openapi.json"), clients);
        CompletableFuture<Api.Result> status = CompletableFuture.supplyAsync(
                () -> api.get("/api/v1/nodes/hv7/drain/0f4e9a52-0000-4000-8000-000000000000/status"), clients);

        assertThat(openApi.get().status()).isEqualTo(200);
        assertThat(openApi.get().body().path("openapi").asText()).startsWith("3.");
        assertThat(status.get().status()).as("a drain's status comes from the store: %s", status.get()).isEqualTo(404);
        assertThat(status.get().field()).isEqualTo("drainId");
        for (CompletableFuture<Api.Result> f : reads) {
            Api.Result r = f.get();
            assertThat(r.status()).as("cluster read: %s", r).isEqualTo(503);
            assertThat(r.error()).contains("unreachable");
            assertThat(r.field()).isEqualTo("MOXXIE_PVE_URL");
        }

        // Now known down: a cluster read is answered at once, saying since when; so is the rest.
        Api.Result again = api.get("/api/v1/nodes");
        assertThat(again.status()).isEqualTo(503);
        assertThat(again.error()).containsPattern("Proxmox VE is unreachable since \\d{4}-\\d\\d-\\d\\dT")
                .contains("127.0.0.1").contains("fail at once");
        Api.Result maintenance = api.get("/api/v1/nodes/hv7/maintenance");
        assertThat(maintenance.status()).as("no record of hv7 in the store, and the cluster cannot say: %s", maintenance).isEqualTo(503);
        assertThat(api.get("/api/v1/openapi.json").status()).isEqualTo(200);
    }
}
