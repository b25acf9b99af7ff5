package io.moxxie.proxmox;

import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.execution.VmStatus;
import io.moxxie.core.model.Concurrency;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.model.PowerState;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.plan.PreflightException;
import io.moxxie.core.service.MaintenanceService;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.MigrationCommand;
import io.moxxie.core.spi.TaskRef;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.time.VirtualScheduler;
import io.moxxie.proxmox.simulation.SimulatedProxmoxApi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;

import static io.moxxie.proxmox.TestClusters.GIB;
import static io.moxxie.proxmox.TestClusters.vm;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * VMs with mapped PCI and USB devices (qemu-server's {@code check_local_resources}, {@code mapped-resource-info} from
 * 8.3.9): a live-migratable mapping moves live, to a node that has the mapping; the others stay, with the reason.
 */
class MappedDevicesThroughHttpTest {
    private static final String TOKEN_ID = "moxxie@pve!drain";
    private static final String TOKEN_SECRET = "1c3e5a7b-9d0f-4b2a-8c6e-4f2a0b9d7e31";
    /** A live-migration-capable vGPU mapping that pve1 and pve3 have (pve2, the emptiest node, has not). */
    private static final int VGPU_VM = 501;
    /** A GPU mapping (all nodes) that is not live-migratable. */
    private static final int GPU_VM = 502;
    /** A USB mapping (all nodes): never live. */
    private static final int USB_VM = 503;

    private final VirtualScheduler scheduler = new VirtualScheduler();
    private final SimulatedHttp http = new SimulatedHttp(scheduler, TOKEN_ID, TOKEN_SECRET);
    private SimulatedCluster cluster;
    private SimulatedProxmoxApi api;
    private ProxmoxClient client;

    @BeforeEach
    void setUp() {
        cluster = SimulatedCluster.builder(scheduler)
                .node("pve1", 64 * GIB, 4 * GIB, 16)
                .node("pve2", 64 * GIB, 2 * GIB, 16)
                .node("pve3", 64 * GIB, 20 * GIB, 16)
                .guest(vm(VGPU_VM, "render", "pve1", PowerState.RUNNING, List.of(), 8, false))
                .guest(vm(GPU_VM, "cuda", "pve1", PowerState.RUNNING, List.of(), 8, false))
                .guest(vm(USB_VM, "dongle", "pve1", PowerState.RUNNING, List.of("always-on"), 2, false))
                .build();
        api = SimulatedProxmoxApi.builder(cluster).apiToken(TOKEN_ID, TOKEN_SECRET)
                .mappedDevice(VGPU_VM, "hostpci0", "vgpu", true, "pve1", "pve3")
                .mappedDevice(GPU_VM, "hostpci0", "gpu", false, "pve1", "pve2", "pve3")
                .mappedDevice(USB_VM, "usb0", "licence-dongle", false, "pve1", "pve2", "pve3")
                .build();
        client = http.client(api);
    }

    @AfterEach
    void tearDown() throws Exception {
        http.close();
    }

    private Guest guest(int vmid) {
        return cluster.currentSnapshot().guest(vmid).orElseThrow();
    }

    @Test
    void aSoftDrainMovesTheLiveMigratableMappingLiveToANodeWithItAndBlocksTheOthersSayingWhy() {
        MaintenanceService service = http.closeLater(MaintenanceService.builder(client, new InMemoryMaintenanceStore()).scheduler(scheduler)
                .ownerId("mapped-devices-test").build());
        service.start();

        DrainRequest.Builder request = DrainRequest.builder("pve1").mode(DrainMode.SOFT).concurrency(Concurrency.fixed(3));
        assertThatThrownBy(() -> service.drain(request.build()))
                .isInstanceOf(PreflightException.class)
                .hasMessageContaining("502 (cuda): cannot live-migrate: uses hostpci0 (mapped device 'gpu', not live-migratable)")
                .hasMessageContaining("503 (dongle): cannot live-migrate: uses usb0 (mapped device 'licence-dongle', not live-migratable)")
                .hasMessageNotContaining("501");

        DrainStatus started = service.drain(request.force(true).build()).status();
        scheduler.runUntilIdle();
        DrainStatus done = service.status("pve1", started.drainId());

        assertThat(guest(VGPU_VM).node()).as("pve2 lacks the mapping").isEqualTo("pve3");
        assertThat(api.calls("POST", "/nodes/pve1/qemu/501/migrate")).singleElement()
                .satisfies(c -> assertThat(c.params()).containsEntry("target", "pve3").containsEntry("online", "1"));
        assertThat(done.vm(VGPU_VM).status()).isEqualTo(GuestState.COMPLETED);
        VmStatus gpu = done.vm(GPU_VM);
        VmStatus usb = done.vm(USB_VM);
        assertThat(guest(GPU_VM).node()).isEqualTo("pve1");
        assertThat(guest(USB_VM).node()).isEqualTo("pve1");
        assertThat(gpu.status()).isNotEqualTo(GuestState.COMPLETED);
        assertThat(String.valueOf(gpu.error()) + gpu.reason()).contains("hostpci0 (mapped device 'gpu', not live-migratable)");
        assertThat(String.valueOf(usb.error()) + usb.reason()).contains("usb0 (mapped device 'licence-dongle', not live-migratable)");
        assertThat(api.calls("POST", "/nodes/pve1/qemu/50[23]/migrate")).as("never tried").isEmpty();
    }

    @Test
    void theMigrateCheckSaysWhichNodesLackTheMappingAndThatItMovesLive() {
        var p = client.preconditions(guest(VGPU_VM));

        assertThat(p.canMoveLive()).isTrue();
        assertThat(p.allows("pve3")).isTrue();
        assertThat(p.notAllowed().get("pve2")).isEqualTo("mapped device hostpci0 not available");
    }

    @Test
    void aMigrationToANodeWithoutTheMappingFailsInItsTaskAsQemuServersDoes() {
        TaskRef ref = client.migrate(new MigrationCommand(guest(VGPU_VM), "pve2", MigrationType.ONLINE, false, Duration.ofMinutes(3)));
        scheduler.runFor(Duration.ofMinutes(5));

        var state = client.task(ref);
        assertThat(state.successful()).isFalse();
        assertThat(state.message()).contains("can't migrate to 'pve2': missing mapped devices hostpci0");
        assertThat(guest(VGPU_VM).node()).isEqualTo("pve1");
    }
}
