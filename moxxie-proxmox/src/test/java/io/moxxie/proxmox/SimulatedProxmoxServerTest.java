package io.moxxie.proxmox;

import io.moxxie.core.model.Concurrency;

import io.moxxie.core.model.DrainState;
import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.service.MaintenanceService;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.MigrationCommand;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.time.VirtualScheduler;
import io.moxxie.proxmox.simulation.SimulatedProxmoxApi;
import io.moxxie.proxmox.simulation.SimulatedProxmoxServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static io.moxxie.proxmox.TestClusters.PLAIN_VM;
import static io.moxxie.proxmox.TestClusters.mixed;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The simulated Proxmox API served by the JDK's own HTTP server, as demos and benchmarks use it: no MockWebServer. */
class SimulatedProxmoxServerTest {
    private static final String TOKEN_ID = "bench@pve!drain";
    private static final String TOKEN_SECRET = "0b6f3c1e-8d2a-4f57-9c3e-2a1d7e5b9f40";

    private final VirtualScheduler scheduler = new VirtualScheduler();
    private final SimulatedHttp http = new SimulatedHttp(scheduler, TOKEN_ID, TOKEN_SECRET);

    @AfterEach
    void tearDown() throws Exception {
        http.close();
    }

    private <T extends AutoCloseable> T closeLater(T resource) {
        return http.closeLater(resource);
    }

    private SimulatedProxmoxApi api(SimulatedCluster cluster) {
        return SimulatedProxmoxApi.builder(cluster).apiToken(TOKEN_ID, TOKEN_SECRET).build();
    }

    @Test
    void softDrainOfTheGuideClusterCompletesOverPlainHttp() {
        SimulatedCluster cluster = io.moxxie.core.testing.TestClusters.guideCluster(scheduler).build();
        SimulatedProxmoxApi api = api(cluster);
        SimulatedProxmoxServer server = closeLater(SimulatedProxmoxServer.start(api));
        MaintenanceService service = closeLater(MaintenanceService.builder(http.client(server), new InMemoryMaintenanceStore())
                .scheduler(scheduler).ownerId("jdk-server-test").build());
        service.start();

        DrainStatus started = service.drain(DrainRequest.builder("hv7").mode(DrainMode.SOFT).concurrency(Concurrency.fixed(3)).build()).status();
        scheduler.runUntilIdle();
        DrainStatus done = service.status("hv7", started.drainId());

        assertThat(server.baseUrl()).startsWith("http://127.0.0.1:");
        assertThat(done.status()).as("drain of hv7: %s", done).isEqualTo(DrainState.COMPLETED);
        assertThat(cluster.currentSnapshot().guestsOn("hv7")).extracting(Guest::vmid)
                .as("only the maint-ok guests stay").containsExactlyInAnyOrder(8300, 8301, 8215);
        assertThat(api.calls("POST", "/nodes/hv7/(qemu|lxc)/\\d+/migrate")).isNotEmpty();
        assertThat(api.calls("POST", "/cluster/ha/resources/vm:8600/migrate")).hasSize(1);
    }

    @Test
    void errorReachesTheClientWithTheMessageOfTheBody() {
        SimulatedCluster cluster = mixed(scheduler).build();
        SimulatedProxmoxApi api = api(cluster);
        ProxmoxClient client = http.client(api);
        cluster.lock(PLAIN_VM, "backup");
        Guest guest = cluster.currentSnapshot().guest(PLAIN_VM).orElseThrow();

        // The JDK server's status line says "Internal Server Error": the text can only have come from the body.
        assertThatThrownBy(() -> client.migrate(new MigrationCommand(guest, "pve2", MigrationType.ONLINE, false, Duration.ofMinutes(3))))
                .isInstanceOf(ProxmoxApiException.class)
                .hasMessageStartingWith("VM is locked (backup)")
                .hasMessageContaining("HTTP 500")
                .satisfies(e -> assertThat(((ProxmoxApiException) e).proxmoxMessage()).isEqualTo("VM is locked (backup)"));
        assertThat(api.calls("POST", "/nodes/pve1/qemu/104/migrate")).hasSize(1);
    }

    @Test
    void httpsServesWithTheCertificateOfTheGivenSslContext() {
        SimulatedProxmoxApi api = api(mixed(scheduler).build());
        SimulatedProxmoxServer server = closeLater(SimulatedProxmoxServer.start(api, TestTls.get().serverContext));
        ProxmoxClient client = closeLater(ProxmoxClient.builder().baseUrl(server.baseUrl()).apiToken(TOKEN_ID + "=" + TOKEN_SECRET)
                .tls(TlsTrust.pinnedFingerprints(TestTls.get().fingerprint)).build());

        assertThat(server.baseUrl()).startsWith("https://127.0.0.1:");
        assertThat(client.snapshot().nodes()).hasSize(3);
    }

    @Test
    void pathOutsideTheApiIsNoSuchUri() throws Exception {
        SimulatedProxmoxServer server = closeLater(SimulatedProxmoxServer.start(api(mixed(scheduler).build())));
        java.net.HttpURLConnection c = (java.net.HttpURLConnection) new java.net.URL(server.baseUrl() + "/api2/extjs/version").openConnection();
        try {
            assertThat(c.getResponseCode()).isEqualTo(501);
            assertThat(new String(c.getErrorStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8)).contains("\"message\":\"no such uri\\n\"");
        } finally {
            c.disconnect();
        }
        assertThat(server.api().calls()).isEmpty();
    }
}
