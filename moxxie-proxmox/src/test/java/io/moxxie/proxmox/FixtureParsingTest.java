package io.moxxie.proxmox;

import com.fasterxml.jackson.databind.JsonNode;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.Node;
import io.moxxie.core.model.PowerState;
import io.moxxie.proxmox.internal.ProxmoxParsers;
import io.moxxie.proxmox.internal.Upid;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static io.moxxie.proxmox.FakeProxmoxApi.fixtureData;
import static org.assertj.core.api.Assertions.assertThat;

/** Every captured answer in {@code ../shared/pve-api/fixtures} (Apache-2.0 ones copied to the test resources, the others read from shared/ at test time) parses into core's model. */
class FixtureParsingTest {

    @Test
    void clusterResourcesOfPve7GiveNodesAndGuestsAndIgnoreStorage() {
        ClusterSnapshot s = ProxmoxParsers.parseResources(fixtureData("cluster_resources.go-proxmox-pve7.json")).snapshot(Instant.EPOCH);

        assertThat(s.nodes()).extracting(Node::name).containsExactly("node1", "node2", "node3", "node4");
        Node node2 = s.node("node2").orElseThrow();
        assertThat(node2.online()).isTrue();
        assertThat(node2.memoryTotal()).isEqualTo(33567911936L);
        assertThat(node2.memoryUsed()).isEqualTo(8127873024L);
        assertThat(node2.cpus()).isEqualTo(12);

        assertThat(s.guests()).extracting(Guest::vmid).containsExactly(100, 101, 102, 200);
        Guest server1 = s.guest(100).orElseThrow();
        assertThat(server1.name()).isEqualTo("server1");
        assertThat(server1.node()).isEqualTo("node2");
        assertThat(server1.type()).isEqualTo(GuestType.QEMU);
        assertThat(server1.status()).isEqualTo(PowerState.RUNNING);
        assertThat(server1.memory()).isEqualTo(1073741824L);
        assertThat(server1.haManaged()).isFalse();
        assertThat(server1.lock()).isNull();
        assertThat(s.guest(101).orElseThrow().template()).isTrue();
        assertThat(s.guest(102).orElseThrow().tags()).containsExactly("go-proxmox+cloud-init");
        assertThat(s.guest(200).orElseThrow().tags()).isEmpty();
    }

    @Test
    void clusterStatusGivesQuorumAndOnlineNodes() {
        ProxmoxParsers.ClusterStatus cs = ProxmoxParsers.parseClusterStatus(fixtureData("cluster_status.go-proxmox.json"));
        assertThat(cs.quorate()).isTrue();
        assertThat(cs.name()).isEqualTo("clustername");
        assertThat(cs.nodesOnline()).containsOnlyKeys("node1", "node2", "node3", "node4").doesNotContainValue(false);
    }

    @Test
    void nodesListGivesNodes() {
        List<Node> nodes = ProxmoxParsers.parseNodes(fixtureData("nodes.go-proxmox-pve7.json"));
        assertThat(nodes).extracting(Node::name).containsExactly("node1", "node2", "node3", "node4");
        assertThat(nodes.get(3).memoryTotal()).isEqualTo(65919561728L);
        assertThat(nodes.get(3).cpus()).isEqualTo(8);
        assertThat(nodes).allMatch(Node::online);
    }

    @Test
    void nodeStatusOfPve74GivesMemoryAndCpus() {
        Node n = ProxmoxParsers.parseNodeStatus("node1", fixtureData("nodes_node_status.go-proxmox-pve7.4.json"));
        assertThat(n.memoryTotal()).isEqualTo(65919459328L);
        assertThat(n.memoryUsed()).isEqualTo(8095399936L);
        assertThat(n.cpus()).isEqualTo(8);
    }

    @Test
    void containerListWithVmidAsStringParses() {
        List<Guest> cts = ProxmoxParsers.parseGuestList("node1", GuestType.LXC, fixtureData("nodes_node_lxc.go-proxmox-pve7.json"));
        assertThat(cts).extracting(Guest::vmid).containsExactly(106, 105, 101);
        assertThat(cts).allMatch(g -> g.type() == GuestType.LXC && g.node().equals("node1"));
        assertThat(cts.get(0).status()).isEqualTo(PowerState.RUNNING);
        assertThat(cts.get(2).template()).isTrue();
        assertThat(cts.get(2).status()).isEqualTo(PowerState.STOPPED);
    }

    @Test
    void qemuStatusCurrentGivesGuestWithHaFlag() {
        Guest g = ProxmoxParsers.parseGuestStatus("node1", GuestType.QEMU, fixtureData("nodes_node_qemu_vmid_status_current.go-proxmox-pve7.json"));
        assertThat(g.vmid()).isEqualTo(101);
        assertThat(g.name()).isEqualTo("matt");
        assertThat(g.status()).isEqualTo(PowerState.RUNNING);
        assertThat(g.haManaged()).isFalse();
        assertThat(g.memory()).isEqualTo(2097152000L);
    }

    @Test
    void taskListOfPve64GivesStatesWithTheErrorText() {
        List<ProxmoxParsers.TaskEntry> tasks = ProxmoxParsers.parseTaskList(fixtureData("nodes_node_tasks.ansible-pve6.4.json"));
        assertThat(tasks).hasSize(3);
        assertThat(tasks.get(0).state().successful()).isTrue();
        assertThat(tasks.get(1).state().finished()).isTrue();
        assertThat(tasks.get(1).state().successful()).isFalse();
        assertThat(tasks.get(1).state().message()).isEqualTo("command 'ifreload -a' failed: exit code 1");
        Upid u = Upid.parse(tasks.get(1).upid()).orElseThrow();
        assertThat(u.node()).isEqualTo("iaclab-01-01");
        assertThat(u.type()).isEqualTo("srvreload");
        assertThat(u.id()).isEqualTo("networking");
        assertThat(u.startTime()).isEqualTo(1627975784L);
        assertThat(u.pid()).isEqualTo(10717L);
    }

    @Test
    void ticketAnswerGivesTicketAndCsrfTokenButNeverPrintsThem() {
        ProxmoxParsers.Ticket t = ProxmoxParsers.parseTicket(fixtureData("access_ticket.POST.go-proxmox-pve7.json"));
        assertThat(t.username()).isEqualTo("root@pam");
        assertThat(t.ticket()).startsWith("PVE:root@pam:64E10CBA::");
        assertThat(t.csrfToken()).startsWith("64E10CBA:");
        assertThat(t.needsTfa()).isFalse();
        assertThat(t.toString()).doesNotContain("64E10CBA");
    }

    @Test
    void haManagerStatusOfPve9GivesNodesInMaintenanceWithQuorumAsString() {
        JsonNode data = fixtureData("cluster_ha_status_manager_status.pegaprox-pve9-maintenance.json");
        assertThat(ProxmoxParsers.parseHaMaintenanceNodes(data)).containsExactlyInAnyOrder("pve-node-c1", "pve-node-c2");
        assertThat(io.moxxie.proxmox.internal.Json.bool(data.path("quorum"), "quorate")).isTrue();
    }

    @Test
    void haStatusCurrentOfPve9GivesNodesInMaintenanceFromTheLrmText() {
        assertThat(ProxmoxParsers.parseHaMaintenanceNodesFromCurrent(fixtureData("cluster_ha_status_current.pegaprox-pve9-maintenance.json")))
                .containsExactlyInAnyOrder("pve-node-c1", "pve-node-c2");
    }
}
