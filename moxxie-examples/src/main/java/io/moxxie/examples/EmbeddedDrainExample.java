package io.moxxie.examples;

import io.moxxie.core.model.Concurrency;

import io.moxxie.core.execution.DrainListener;
import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.service.MaintenanceService;
import io.moxxie.proxmox.ProxmoxClient;
import io.moxxie.proxmox.TlsTrust;
import io.moxxie.store.jdbc.JdbcMaintenanceStore;

import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/**
 * Moxxie embedded in an application: drain a node of a real Proxmox VE cluster, wait for the drain, put the node in
 * maintenance; progress is kept in PostgreSQL, so another instance can finish a drain this one could not.
 * Run with {@code PVE_URL=https://pve1:8006 PVE_TOKEN='moxxie@pve!drain=…' PVE_CA=pve-root-ca.pem
 * DB_URL=jdbc:postgresql://db/moxxie DB_USER=moxxie DB_PASSWORD=…} and the node as argument:
 * {@code java -cp moxxie-server.jar io.moxxie.examples.EmbeddedDrainExample hv7}.
 */
public final class EmbeddedDrainExample {
    public static void main(String[] args) throws Exception {
        String node = args.length > 0 ? args[0] : "hv7";
        try (ProxmoxClient proxmox = ProxmoxClient.builder()
                     .baseUrl(System.getenv("PVE_URL"))
                     .apiToken(System.getenv("PVE_TOKEN"))
                     .tls(TlsTrust.caFile(Path.of(System.getenv("PVE_CA"))))
                     .build();
             JdbcMaintenanceStore store = JdbcMaintenanceStore.builder(System.getenv("DB_URL"), System.getenv("DB_USER"),
                             System.getenv("DB_PASSWORD"))
                     .applyMigrations(true)
                     .build();
             MaintenanceService service = MaintenanceService.builder(proxmox, store).ownerId("drain-example").build()) {
            service.recover();                                       // finish what a previous run left
            DrainStatus done = drainAndWait(service, DrainRequest.builder(node).concurrency(Concurrency.fixed(3)).build());
            System.out.printf("%s: %s, %d/%d completed, %d failed%n", node, done.status().wireName(),
                    done.completedVMs(), done.totalVMs(), done.failedVMs());
            service.enableMaintenance(node, "kernel update", false);
        }
    }

    /** Starts the drain and blocks until it is finished (completed, failed or cancelled). */
    public static DrainStatus drainAndWait(MaintenanceService service, DrainRequest request) throws Exception {
        CompletableFuture<String> drainId = new CompletableFuture<>();
        CompletableFuture<DrainStatus> finished = new CompletableFuture<>();
        service.addListener(new DrainListener() {
            @Override
            public void drainFinished(DrainStatus status) {
                drainId.thenAccept(id -> {
                    if (id.equals(status.drainId())) finished.complete(status);
                });
            }
        });
        DrainStatus started = service.drain(request);
        drainId.complete(started.drainId());
        return started.status().finished() ? started : finished.get();
    }
}
