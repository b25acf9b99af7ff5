package io.moxxie.proxmox;

import io.moxxie.core.model.Guest;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.model.PowerState;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.time.Scheduler;

import java.util.List;
import java.util.Map;

/** Small simulated clusters for the tests: three nodes, and on {@code pve1} one guest of each kind. */
final class TestClusters {
    static final long GIB = 1L << 30;

    static final int ALWAYS_ON_VM = 100;
    static final int LOCAL_DISK_VM = 101;
    static final int MAINT_OK_VM = 102;
    static final int STOPPED_VM = 103;
    static final int CONTAINER = 200;
    static final int ALWAYS_ON_CONTAINER = 201;
    static final int HA_VM = 300;
    static final int PLAIN_VM = 104;

    private TestClusters() {
    }

    static Guest vm(int vmid, String name, String node, PowerState status, List<String> tags, long memGiB, boolean ha) {
        return Guest.qemu(vmid, node).name(name).status(status).tags(tags).memory(memGiB * GIB)
                .memoryUsed(status == PowerState.RUNNING ? memGiB * GIB / 2 : 0).haManaged(ha).build();
    }

    static Guest ct(int vmid, String name, String node, PowerState status, List<String> tags, long memGiB) {
        return Guest.lxc(vmid, node).name(name).status(status).tags(tags).memory(memGiB * GIB).memoryUsed(memGiB * GIB / 4).build();
    }

    /** pve1 holds one guest of each kind; pve2 and pve3 are empty, 64 GiB each. */
    static SimulatedCluster.Builder mixed(Scheduler scheduler) {
        return SimulatedCluster.builder(scheduler)
                .node("pve1", 64 * GIB, 4 * GIB, 16)
                .node("pve2", 64 * GIB, 4 * GIB, 16)
                .node("pve3", 64 * GIB, 4 * GIB, 16)
                .guest(vm(ALWAYS_ON_VM, "web-prod-01", "pve1", PowerState.RUNNING, List.of("always-on", "prod"), 4, false))
                .guest(vm(LOCAL_DISK_VM, "db-local", "pve1", PowerState.RUNNING, List.of(), 8, false))
                .guest(vm(MAINT_OK_VM, "batch-01", "pve1", PowerState.RUNNING, List.of("maint-ok"), 2, false))
                .guest(vm(STOPPED_VM, "old-test", "pve1", PowerState.STOPPED, List.of(), 2, false))
                .guest(vm(PLAIN_VM, "app-02", "pve1", PowerState.RUNNING, List.of(), 4, false))
                .guest(ct(CONTAINER, "dns-ct", "pve1", PowerState.RUNNING, List.of(), 1))
                .guest(ct(ALWAYS_ON_CONTAINER, "proxy-ct", "pve1", PowerState.RUNNING, List.of("always-on"), 1))
                .guest(vm(HA_VM, "ha-web", "pve1", PowerState.RUNNING, List.of(), 4, true))
                .preconditions(new MigrationPreconditions(LOCAL_DISK_VM, Map.of(), List.of(), List.of(), true));
    }
}
