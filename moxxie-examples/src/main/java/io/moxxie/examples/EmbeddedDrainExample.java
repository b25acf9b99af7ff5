package io.moxxie.examples;

import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.model.Concurrency;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.service.DrainHandle;
import io.moxxie.core.service.MaintenanceService;
import io.moxxie.proxmox.ProxmoxClient;
import io.moxxie.proxmox.TlsTrust;
import io.moxxie.store.jdbc.JdbcMaintenanceStore;

import java.nio.file.Path;

/** Drains a node of a Proxmox VE cluster, waits for the drain, then puts the node in maintenance. */
public final class EmbeddedDrainExample {
    public static void main(String[] args) throws Exception {
        String node = args.length > 0 ? args[0] : "hv7";
        try (ProxmoxClient proxmox = ProxmoxClient.builder()
                     .baseUrl(System.getenv("PVE_URL"))                     // https://pve1:8006
                     .apiToken(System.getenv("PVE_TOKEN"))                  // user@realm!tokenid=secret
                     .tls(TlsTrust.caFile(Path.of(System.getenv("PVE_CA"))))
                     .build();
             JdbcMaintenanceStore store = JdbcMaintenanceStore.builder(System.getenv("DB_URL"), System.getenv("DB_USER"),
                             System.getenv("DB_PASSWORD"))
                     .applyMigrations(true)                                 // versioned DDL, safe when two start at once
                     .build();
             MaintenanceService service = MaintenanceService.builder(proxmox, store).ownerId("drain-example").build()) {
            service.start();                                                // takes over drains a dead instance left
            DrainHandle drain = service.drain(DrainRequest.builder(node).concurrency(Concurrency.fixed(3)).build());
            DrainStatus done = drain.completion().get();                    // completed, failed or cancelled
            System.out.printf("%s: %s, %d/%d completed, %d failed%n", node, done.status().wireName(),
                    done.completedVMs(), done.totalVMs(), done.failedVMs());
            service.enableMaintenance(node, "kernel update", false);
        }                                                                   // close(): a drain still running is left
    }                                                                       // to another instance to finish
}
