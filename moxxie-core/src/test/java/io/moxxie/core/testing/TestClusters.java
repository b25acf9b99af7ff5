package io.moxxie.core.testing;

import io.moxxie.core.model.Guest;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.model.PowerState;
import io.moxxie.core.policy.TagPolicy;
import io.moxxie.core.simulation.MigrationModel;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.HypervisorClient;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.spi.MaintenanceStore;
import io.moxxie.core.service.MaintenanceService;
import io.moxxie.core.time.VirtualScheduler;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/** Guests, clusters and services for tests: the guide's cluster in virtual time. */
public final class TestClusters {
    public static final long GIB = 1L << 30;

    private TestClusters() {
    }

    public static Guest qemu(int vmid, String name, String node, int memGib, String tags) {
        return Guest.qemu(vmid, node).name(name).tags(TagPolicy.parseTags(tags)).memory(memGib * GIB).memoryUsed(memGib * GIB / 2)
                .build();
    }

    public static Guest stoppedQemu(int vmid, String name, String node, int memGib, String tags) {
        return qemu(vmid, name, node, memGib, tags).withStatus(PowerState.STOPPED);
    }

    public static Guest lxc(int vmid, String name, String node, int memGib, String tags) {
        return Guest.lxc(vmid, node).name(name).tags(TagPolicy.parseTags(tags)).memory(memGib * GIB).memoryUsed(memGib * GIB / 2)
                .build();
    }

    public static Guest template(int vmid, String name, String node, int memGib) {
        return Guest.qemu(vmid, node).name(name).status(PowerState.STOPPED).memory(memGib * GIB).template(true).build();
    }

    public static Guest ha(Guest g) {
        return g.toBuilder().haManaged(true).build();
    }

    /**
     * The guide's cluster: hv7 with 15 guests (8200 web-prod-01 always-on, 8201 db-prod-01 always-on, 8300 maint-ok,
     * a container, a stopped guest, an HA-managed guest), and hv8, hv9, hv10 with guests of their own.
     * 256 GiB per node; a hard drain of hv7 fits on the others.
     */
    public static SimulatedCluster.Builder guideCluster(io.moxxie.core.time.Scheduler scheduler) {
        SimulatedCluster.Builder b = SimulatedCluster.builder(scheduler).model(MigrationModel.DEFAULT);
        for (String n : List.of("hv7", "hv8", "hv9", "hv10")) b.node(n, 256 * GIB, 32);
        b.guest(qemu(8200, "web-prod-01", "hv7", 8, "always-on,env-prod,client-acme"));
        b.guest(qemu(8201, "db-prod-01", "hv7", 32, "always-on"));
        b.guest(qemu(8300, "dev-box-01", "hv7", 4, "maint-ok,env-dev,client-acme"));
        b.guest(qemu(8301, "batch-worker-01", "hv7", 8, "maint-ok"));
        b.guest(qemu(8202, "web-prod-02", "hv7", 8, "always-on;env-prod"));
        b.guest(qemu(8210, "app-01", "hv7", 16, ""));
        b.guest(qemu(8211, "app-02", "hv7", 16, "env-prod"));
        b.guest(qemu(8212, "app-03", "hv7", 12, ""));
        b.guest(qemu(8213, "cache-01", "hv7", 6, ""));
        b.guest(lxc(8400, "dns-ct-01", "hv7", 2, "always-on"));
        b.guest(lxc(8401, "proxy-ct-01", "hv7", 2, ""));
        b.guest(stoppedQemu(8500, "old-app", "hv7", 8, ""));
        b.guest(ha(qemu(8600, "ha-db-02", "hv7", 24, "always-on")));
        b.guest(qemu(8214, "queue-01", "hv7", 8, "Always-On MAINT-OK"));
        b.guest(qemu(8215, "monitor-01", "hv7", 4, "env-ops maint-ok"));
        b.guest(qemu(9100, "web-hv8", "hv8", 32, "env-prod"));
        b.guest(qemu(9101, "db-hv8", "hv8", 48, "always-on"));
        b.guest(qemu(9200, "web-hv9", "hv9", 32, "env-prod"));
        b.guest(qemu(9201, "db-hv9", "hv9", 40, ""));
        b.guest(qemu(9300, "build-hv10", "hv10", 64, "maint-ok"));
        return b;
    }

    public static final List<Integer> HV7_GUESTS = List.of(8200, 8201, 8202, 8210, 8211, 8212, 8213, 8214, 8215, 8300, 8301,
            8400, 8401, 8500, 8600);

    public static MaintenanceService.Builder service(SimulatedCluster cluster, MaintenanceStore store) {
        return service(cluster, cluster, store);
    }

    /** A service on {@code cluster}'s time that sees the cluster through {@code client} (a wrapper of it that injects faults or records calls). */
    public static MaintenanceService.Builder service(SimulatedCluster cluster, HypervisorClient client, MaintenanceStore store) {
        return MaintenanceService.builder(client, store).scheduler(cluster.scheduler()).planningRetryDelay(Duration.ofMillis(1))
                .ownerId("test-owner");
    }

    /** A fresh guide cluster, in-memory store and service in virtual time; the service is started. */
    public static final class Env {
        public final VirtualScheduler scheduler = new VirtualScheduler();
        public final SimulatedCluster cluster;
        public final InMemoryMaintenanceStore store = new InMemoryMaintenanceStore();
        public final MaintenanceService service;

        public Env() {
            this(c -> c, s -> s);
        }

        public Env(java.util.function.UnaryOperator<SimulatedCluster.Builder> cluster,
                   java.util.function.UnaryOperator<MaintenanceService.Builder> service) {
            this.cluster = cluster.apply(guideCluster(scheduler)).build();
            this.service = service.apply(service(this.cluster, store)).build();
            this.service.start();
        }

        public void runUntilIdle() {
            scheduler.runUntilIdle();
        }

        public String nodeOf(int vmid) {
            return cluster.currentSnapshot().guest(vmid).orElseThrow().node();
        }

        public Guest guest(int vmid) {
            return cluster.currentSnapshot().guest(vmid).orElseThrow();
        }
    }

    public static MigrationPreconditions passthrough(int vmid, String device) {
        return new MigrationPreconditions(vmid, Map.of(), List.of(), List.of(device), false);
    }
}
