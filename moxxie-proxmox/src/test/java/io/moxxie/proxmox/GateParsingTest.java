package io.moxxie.proxmox;

import io.moxxie.core.model.CephHealth;
import io.moxxie.core.model.CephOsd;
import io.moxxie.core.model.HaManagerStatus;
import io.moxxie.core.model.Quorum;
import io.moxxie.proxmox.internal.ProxmoxParsers;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static io.moxxie.proxmox.FakeProxmoxApi.fixtureData;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The answers a rollout's gates read, parsed from JSON in Proxmox's format: the captures of {@code fixtures/} and the
 * answers of {@code fixtures/built/}, written from the Perl handlers (see SOURCES.md).
 */
class GateParsingTest {

    @Test
    void quorumOfACapturedClusterCountsOneVotePerMemberWhenTheVotesAreNotKnown() {
        Quorum q = ProxmoxParsers.parseQuorum(fixtureData("cluster_status.go-proxmox.json"), null);

        assertThat(q.quorate()).isTrue();
        assertThat(q.expectedVotes()).isEqualTo(4);
        assertThat(q.onlineNodes()).containsExactlyInAnyOrder("node1", "node2", "node3", "node4");
    }

    @Test
    void anOfflineMemberIsExpectedButNotOnlineAndWeightedVotesAreSummed() {
        Map<String, Integer> votes = ProxmoxParsers.parseQuorumVotes(fixtureData("built/cluster_config_nodes.weighted-votes.json"));
        assertThat(votes).containsExactlyInAnyOrderEntriesOf(Map.of("pve1", 2, "pve2", 1, "pve3", 1, "pve4", 1));
        assertThat(ProxmoxParsers.parseClusterEntry(fixtureData("built/cluster_status.offline-node.json")))
                .isEqualTo(new ProxmoxParsers.ClusterEntry(true, 4, 7));

        Quorum q = ProxmoxParsers.parseQuorum(fixtureData("built/cluster_status.offline-node.json"), votes);

        assertThat(q.quorate()).isTrue();
        assertThat(q.expectedVotes()).isEqualTo(5);
        assertThat(q.onlineNodes()).containsExactlyInAnyOrder("pve1", "pve2", "pve3");
        assertThat(q.quorateWithout("pve1")).as("pve2 and pve3 hold 2 of 5 votes").isFalse();
        assertThat(ProxmoxParsers.parseQuorum(fixtureData("built/cluster_status.offline-node.json"), null).expectedVotes())
                .as("without the votes: the cluster entry's member count").isEqualTo(4);
    }

    @Test
    void aStandaloneNodeIsQuorateByItself() {
        Quorum q = ProxmoxParsers.parseQuorum(fixtureData("built/cluster_status.standalone.json"), null);

        assertThat(q).isEqualTo(new Quorum(true, 1, java.util.Set.of("pve-solo")));
        assertThat(ProxmoxParsers.parseClusterEntry(fixtureData("built/cluster_status.standalone.json"))).isNull();
    }

    @Test
    void cephHealthHasEveryUnmutedCheckWithItsSummaryAndTheFlagsSet() {
        CephHealth h = ProxmoxParsers.parseCephHealth(fixtureData("built/cluster_ceph_status.host-down-noout.json"),
                fixtureData("built/cluster_ceph_flags.noout.json"));

        assertThat(h.status()).isEqualTo(CephHealth.WARN);
        assertThat(h.checks()).containsOnlyKeys("MON_DOWN", "OSDMAP_FLAGS", "OSD_DOWN", "OSD_HOST_DOWN", "PG_DEGRADED");
        assertThat(h.checks().get("PG_DEGRADED")).isEqualTo(new CephHealth.Check(CephHealth.WARN,
                "Degraded data redundancy: 1532/4596 objects degraded (33.333%), 43 pgs degraded, 43 pgs undersized"));
        assertThat(h.checks().get("OSDMAP_FLAGS").summary()).isEqualTo("noout flag(s) set");
        assertThat(h.flags()).containsExactly("noout");
    }

    @Test
    void theOsdsOfAHostAreFoundWhereverItSitsInTheCrushTree() {
        var tree = fixtureData("built/nodes_node_ceph_osd.host-down.json");

        assertThat(ProxmoxParsers.parseCephOsds("pve2", tree)).containsExactly(new CephOsd(2, "pve2", false), new CephOsd(3, "pve2", false));
        assertThat(ProxmoxParsers.parseCephOsds("pve1", tree)).containsExactly(new CephOsd(0, "pve1", true), new CephOsd(1, "pve1", true));
        assertThat(ProxmoxParsers.parseCephOsds("pve3", tree)).as("under a rack").containsExactly(new CephOsd(4, "pve3", true), new CephOsd(5, "pve3", true));
        assertThat(ProxmoxParsers.parseCephOsds("pve4", tree)).as("a host bucket without OSDs").isEmpty();
        assertThat(ProxmoxParsers.parseCephOsds("pve9", tree)).as("not in the tree").isEmpty();
    }

    @Test
    void cmdSafetyGivesCephsVerdictAndWords() {
        CephOsd.Safety unsafe = ProxmoxParsers.parseCephSafety(fixtureData("built/nodes_node_ceph_cmd-safety.unsafe.json"));
        assertThat(unsafe.safe()).isFalse();
        assertThat(unsafe.message()).startsWith("43 PGs are already too degraded");

        CephOsd.Safety safe = ProxmoxParsers.parseCephSafety(fixtureData("built/nodes_node_ceph_cmd-safety.safe.json"));
        assertThat(safe.safe()).isTrue();
        assertThat(safe.message()).contains("are ok to stop");
    }

    @Test
    void onlyTheTextsOfANodeWithoutCephMeanNoCeph() {
        assertThat(ProxmoxParsers.noCeph("binary not installed: /usr/bin/ceph-mon")).isTrue();
        assertThat(ProxmoxParsers.noCeph("pveceph configuration not initialized - missing '/etc/pve/ceph.conf', missing '/etc/pve/ceph'")).isTrue();
        assertThat(ProxmoxParsers.noCeph("rados_connect failed - No such file or directory")).as("Ceph there but unreachable").isFalse();
        assertThat(ProxmoxParsers.noCeph("got timeout")).isFalse();
        assertThat(ProxmoxParsers.noCeph(null)).isFalse();
    }

    @Test
    void theHaManagerOfACapturedPve9ClusterHasItsMasterAndTwoNodesInMaintenance() {
        HaManagerStatus ha = ProxmoxParsers.parseHaManagerStatus(
                fixtureData("cluster_ha_status_manager_status.pegaprox-pve9-maintenance.json")).orElseThrow();

        assertThat(ha.masterNode()).isEqualTo("pve-node-b1");
        assertThat(ha.nodeStatus()).hasSize(6).containsEntry("pve-node-c1", "maintenance").containsEntry("pve-node-a1", "online");
        assertThat(ha.lrmModes()).containsEntry("pve-node-c2", "maintenance").containsEntry("pve-node-b2", "active");
        assertThat(ha.inMaintenance("pve-node-c1")).isTrue();
        assertThat(ha.inMaintenance("pve-node-a2")).isFalse();
    }

    @Test
    void aClusterThatNeverRanHaHasNoHaManager() {
        assertThat(ProxmoxParsers.parseHaManagerStatus(fixtureData("built/cluster_ha_status_manager_status.no-ha.json"))).isEmpty();
    }
}
