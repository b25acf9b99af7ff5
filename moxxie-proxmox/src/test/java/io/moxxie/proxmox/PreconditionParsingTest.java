package io.moxxie.proxmox;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.proxmox.internal.ProxmoxParsers;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The migrate precondition answer judged as the reference says (shapes from qemu-server's {@code migrate_vm_precondition}). */
class PreconditionParsingTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static MigrationPreconditions qemu(String json) throws Exception {
        return ProxmoxParsers.parseQemuPreconditions(100, JSON.readTree(json));
    }

    @Test
    void allowedNodesListedWithAnEmptyObjectAreAllowed() throws Exception {
        MigrationPreconditions p = qemu("""
                {"running":1,"allowed_nodes":["pve2"],"not_allowed_nodes":{"pve2":{},"pve3":{"unavailable_storages":["local-zfs"]}},
                 "local_disks":[],"local_resources":[],"mapped-resources":[],"mapped-resource-info":{}}""");
        assertThat(p.allows("pve2")).isTrue();
        assertThat(p.allows("pve3")).isFalse();
        assertThat(p.notAllowed().get("pve3")).contains("local-zfs");
        assertThat(p.canMoveLive()).isTrue();
        assertThat(p.localDisks()).isFalse();
    }

    @Test
    void passthroughBlocksAnyMoveAndNonLiveMappingBlocksOnlyLive() throws Exception {
        MigrationPreconditions p = qemu("""
                {"running":"1","allowed_nodes":["pve2"],"not_allowed_nodes":{},
                 "local_disks":[{"volid":"local-lvm:vm-100-disk-0","size":1,"cdrom":0,"is_unused":0}],
                 "local_resources":["hostpci0","hostpci1","usb0"],
                 "mapped-resources":["hostpci1"],
                 "mapped-resource-info":{"hostpci1":{"name":"gpu","live-migration":0}}}""");
        assertThat(p.blockers()).containsExactly("hostpci0", "usb0");
        assertThat(p.liveBlockers()).containsExactly("hostpci1 (mapped device 'gpu', not live-migratable)");
        assertThat(p.localDisks()).isTrue();
        assertThat(p.canMove()).isFalse();
    }

    @Test
    void liveMigratableMappingDoesNotBlock() throws Exception {
        MigrationPreconditions p = qemu("""
                {"running":1,"local_disks":[],"local_resources":["hostpci0"],"mapped-resources":["hostpci0"],
                 "mapped-resource-info":{"hostpci0":{"name":"nic-vf","live-migration":true}},"not_allowed_nodes":{}}""");
        assertThat(p.canMoveLive()).isTrue();
    }

    @Test
    void mappedDeviceMissingOnATargetAndHaAffinityMakeThatNodeNotAllowed() throws Exception {
        MigrationPreconditions p = qemu("""
                {"running":1,"local_disks":[],"local_resources":[],"mapped-resource-info":{},
                 "not_allowed_nodes":{"pve2":{"unavailable-resources":["hostpci0"]},
                                      "pve3":{"blocking-ha-resources":[{"sid":"vm:101","cause":"resource-affinity"}]}}}""");
        assertThat(p.notAllowed().get("pve2")).contains("hostpci0");
        assertThat(p.notAllowed().get("pve3")).contains("vm:101").contains("resource-affinity");
    }

    @Test
    void localIsoInACdDriveBlocksButACloudInitDriveIsALocalDisk() throws Exception {
        MigrationPreconditions p = qemu("""
                {"running":1,"local_resources":[],"not_allowed_nodes":{},
                 "local_disks":[{"volid":"local:iso/debian.iso","cdrom":1},{"volid":"local-lvm:vm-100-cloudinit","cdrom":1,"is_cloudinit":1}]}""");
        assertThat(p.blockers()).singleElement().asString().contains("local:iso/debian.iso");
        assertThat(p.localDisks()).isTrue();
    }

    @Test
    void containerCheckOfPve9UsesDashSpelling() throws Exception {
        MigrationPreconditions p = ProxmoxParsers.parseLxcPreconditions(200, JSON.readTree("""
                {"running":1,"allowed-nodes":["pve2"],"not-allowed-nodes":{"pve3":{"blocking-ha-resources":[{"sid":"ct:201","cause":"node-affinity"}]}}}"""));
        assertThat(p.allows("pve2")).isTrue();
        assertThat(p.notAllowed().get("pve3")).contains("ct:201");
    }
}
