package io.moxxie.proxmox;

import io.moxxie.core.model.CephHealth;
import io.moxxie.core.model.CephOsd;
import io.moxxie.core.model.HaManagerStatus;
import io.moxxie.core.model.Quorum;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.time.VirtualScheduler;
import io.moxxie.proxmox.simulation.SimulatedProxmoxApi;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static io.moxxie.proxmox.TestClusters.GIB;
import static io.moxxie.proxmox.TestClusters.mixed;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * A rollout's gate reads (and the {@code noout} write) from the Proxmox client to the simulated Proxmox API over HTTP:
 * what the operator's gates would see, and what each check costs in requests.
 */
class GateReadsTest {
    private static final String TOKEN_ID = "moxxie@pve!rollout";
    private static final String TOKEN_SECRET = "0b7e4c1d-9a2f-4d38-b6e5-1f0c3a7d9e42";

    private final VirtualScheduler scheduler = new VirtualScheduler();
    private SimulatedProxmoxApi api;
    private final SimulatedHttp http = new SimulatedHttp(scheduler, TOKEN_ID, TOKEN_SECRET);
    private ProxmoxClient client;

    private ProxmoxClient connect(SimulatedCluster cluster) {
        api = SimulatedProxmoxApi.builder(cluster).apiToken(TOKEN_ID, TOKEN_SECRET).build();
        client = http.client(api);
        return client;
    }

    @AfterEach
    void tearDown() throws Exception {
        http.close();
    }

    private List<String> requests() {
        List<String> out = api.calls().stream().map(SimulatedProxmoxApi.Call::toString).toList();
        api.clearCalls();
        return out;
    }

    @Test
    void aGateCheckOfACephAndHaClusterTakesOneRequestPerReadAndTwoForCeph() {
        SimulatedCluster cluster = mixed(scheduler).build().withCeph(2).withHa();
        connect(cluster);

        Quorum q = client.quorum();
        assertThat(requests()).as("the votes are read once").containsExactly("GET /cluster/status", "GET /cluster/config/nodes");
        assertThat(q.quorateWithout("pve1")).isTrue();
        client.quorum();
        assertThat(requests()).as("corosync.conf unchanged: votes known").containsExactly("GET /cluster/status");

        assertThat(client.ceph()).map(CephHealth::status).contains(CephHealth.OK);
        assertThat(requests()).containsExactly("GET /cluster/ceph/status", "GET /cluster/ceph/flags");

        List<CephOsd> osds = client.cephOsds("pve1");
        assertThat(osds).extracting(CephOsd::id).containsExactly(0, 1);
        for (CephOsd o : osds) assertThat(client.cephOkToStop("pve1", o.id()).safe()).isTrue();
        assertThat(requests()).containsExactly("GET /nodes/localhost/ceph/osd",
                "GET /nodes/localhost/ceph/cmd-safety {service=osd, id=0, action=stop}",
                "GET /nodes/localhost/ceph/cmd-safety {service=osd, id=1, action=stop}");

        HaManagerStatus ha = client.haManagerStatus().orElseThrow();
        assertThat(ha.inMaintenance("pve1")).isFalse();
        assertThat(requests()).containsExactly("GET /cluster/ha/status/manager_status");
    }

    @Test
    void aRebootUnderNooutTakesTheOsdsDownAndHealthClearsOnlyAfterRecovery() {
        SimulatedCluster cluster = mixed(scheduler).build().withCeph(2);
        connect(cluster);

        client.setCephFlag("noout", true);
        assertThat(requests()).containsExactly("PUT /cluster/ceph/flags/noout {value=1}");
        assertThat(cluster.cephFlags()).containsExactly("noout");
        cluster.reboot("pve2", Duration.ofMinutes(4));

        assertThat(client.cephOsds("pve2")).as("read through the node answering while pve2 is down")
                .containsExactly(new CephOsd(2, "pve2", false), new CephOsd(3, "pve2", false));
        CephHealth down = client.ceph().orElseThrow();
        assertThat(down.checks()).containsOnlyKeys("OSD_DOWN", "PG_DEGRADED", "OSDMAP_FLAGS");
        assertThat(down.flags()).containsExactly("noout");
        CephOsd.Safety other = client.cephOkToStop("pve3", 4);
        assertThat(other.safe()).isFalse();
        assertThat(other.message()).contains("osd.2 is already down");
        assertThat(client.quorum().onlineNodes()).containsExactlyInAnyOrder("pve1", "pve3");

        scheduler.runFor(Duration.ofMinutes(4).plusSeconds(5));
        assertThat(client.cephOsds("pve2")).extracting(CephOsd::up).containsExactly(true, true);
        assertThat(client.ceph().orElseThrow().checks()).containsOnlyKeys("PG_DEGRADED", "OSDMAP_FLAGS");

        scheduler.runFor(Duration.ofMinutes(1));
        requests();
        client.setCephFlag("noout", false);
        assertThat(requests()).containsExactly("PUT /cluster/ceph/flags/noout {value=0}");
        assertThat(client.ceph()).contains(CephHealth.ok(java.util.Set.of()));
    }

    @Test
    void aLostQuorumIsReportedAsSuch() {
        SimulatedCluster cluster = mixed(scheduler).build();
        connect(cluster);
        cluster.quorumLost(true);

        Quorum q = client.quorum();

        assertThat(q.quorate()).isFalse();
        assertThat(q.quorateWithout("pve3")).isFalse();
        assertThat(q.onlineNodes()).hasSize(3);
    }

    @Test
    void aStandaloneNodeIsQuorateByItselfWithoutReadingCorosyncsNodelist() {
        connect(SimulatedCluster.builder(scheduler).node("solo", 64 * GIB, 16).build());

        assertThat(client.quorum()).isEqualTo(new Quorum(true, 1, java.util.Set.of("solo")));
        assertThat(requests()).containsExactly("GET /cluster/status");
    }

    @Test
    void noCephIsOneRefusedRequestRememberedForFiveMinutesThenAskedAgain() {
        SimulatedCluster cluster = mixed(scheduler).build();
        connect(cluster);

        assertThat(client.ceph()).isEmpty();
        assertThat(requests()).as("the refusal is not retried").containsExactly("GET /cluster/ceph/status");
        assertThat(client.ceph()).isEmpty();
        assertThat(client.cephOsds("pve1")).isEmpty();
        assertThat(requests()).as("remembered").isEmpty();

        cluster.withCeph(1);
        scheduler.runFor(Duration.ofMinutes(ProxmoxClient.NO_CEPH_RECHECK_MINUTES));
        assertThat(client.cephOsds("pve1")).containsExactly(new CephOsd(0, "pve1", true));
        assertThat(client.ceph()).isPresent();
    }

    @Test
    void aClusterThatNeverRanHaHasNoHaManagerAndOneWithHaGuestsShowsNodesInMaintenance() throws Exception {
        connect(SimulatedCluster.builder(scheduler).node("pve1", 64 * GIB, 16).node("pve2", 64 * GIB, 16).build());
        assertThat(client.haManagerStatus()).isEmpty();
        tearDown();

        connect(mixed(scheduler).build());
        api.haMaintenance("pve3", true);
        HaManagerStatus ha = client.haManagerStatus().orElseThrow();
        assertThat(ha.masterNode()).isEqualTo("pve1");
        assertThat(ha.nodeStatus()).isEqualTo(Map.of("pve1", "online", "pve2", "online", "pve3", "maintenance"));
        assertThat(ha.lrmModes()).containsEntry("pve3", "maintenance").containsEntry("pve1", "active");
    }
}
