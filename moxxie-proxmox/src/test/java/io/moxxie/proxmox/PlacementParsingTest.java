package io.moxxie.proxmox;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moxxie.core.model.PlacementRule.GuestAffinity;
import io.moxxie.core.model.PlacementRule.NodeAffinity;
import io.moxxie.core.model.PlacementRule.Origin;
import io.moxxie.proxmox.internal.ProxmoxParsers;
import io.moxxie.proxmox.internal.ProxmoxParsers.HaRules;
import io.moxxie.proxmox.internal.ProxmoxParsers.TaskEntry;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * HA rules, HA groups, datacenter options, permissions, task users and configured memory, read from answers in
 * Proxmox's real format (hand-built from the Perl sources, see {@code fixtures/SOURCES.md}).
 */
class PlacementParsingTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode json(String s) throws Exception {
        return JSON.readTree(s);
    }

    @Test
    void pve9RulesBecomePlacementRulesLeavingOutDisabledAndInfeasibleOnes() {
        HaRules r = ProxmoxParsers.parseHaRules(FakeProxmoxApi.fixtureData("cluster_ha_rules.handbuilt-pve9.json"));

        assertThat(r.rules()).containsExactly(
                new NodeAffinity("db-nodes", Origin.HA_RULE, java.util.Set.of(100, 101), Map.of("pve1", 2, "pve2", 1, "pve3", 0), true),
                new GuestAffinity("app-stack", Origin.HA_RULE, java.util.Set.of(200, 201), true),
                new GuestAffinity("db-apart", Origin.HA_RULE, java.util.Set.of(100, 101), false),
                new NodeAffinity("ha-group-web", Origin.HA_RULE, java.util.Set.of(400, 401), Map.of("pve2", 0), false));
        assertThat(r.ignored()).containsExactly("HA rule 'old-pin' is disabled",
                "HA rule 'lonely' is not applied by the HA manager: resources: rule is ineffective as there are less than two resources");
    }

    @Test
    void aRuleWithDisableSetAtAllIsLeftOutAsTheHaManagerDoes() throws Exception {
        // PVE::HA::Rules::foreach_rule tests exists($rule->{disable}), not its value.
        HaRules r = ProxmoxParsers.parseHaRules(json("""
                [{"rule":"r","type":"node-affinity","resources":"vm:1","nodes":"pve1","disable":0}]"""));

        assertThat(r.rules()).isEmpty();
    }

    @Test
    void unknownRuleTypesAndAffinitiesAreLeftOutSayingSo() throws Exception {
        HaRules r = ProxmoxParsers.parseHaRules(json("""
                [{"rule":"a","type":"node-anti-affinity","resources":"vm:1"},
                 {"rule":"b","type":"resource-affinity","resources":"vm:1,vm:2","affinity":"neutral"}]"""));

        assertThat(r.rules()).isEmpty();
        assertThat(r.ignored()).hasSize(2).allSatisfy(why -> assertThat(why).containsAnyOf("'a'", "'b'"));
    }

    @Test
    void pve8GroupsWithTheirMembersBecomeNodeAffinityStrictWhenRestricted() {
        HaRules r = ProxmoxParsers.parseHaGroups(FakeProxmoxApi.fixtureData("cluster_ha_groups.handbuilt-pve8.json"),
                FakeProxmoxApi.fixtureData("cluster_ha_resources.handbuilt-pve8.json"));

        assertThat(r.rules()).containsExactly(
                new NodeAffinity("licence", Origin.HA_GROUP, java.util.Set.of(321), Map.of("pve3", 2, "pve4", 0), true),
                new NodeAffinity("web", Origin.HA_GROUP, java.util.Set.of(402), Map.of("pve2", 0), false));
        assertThat(r.ignored()).containsExactly("HA group 'unused' has no HA resources");
    }

    @Test
    void haAutoRebalanceIsReadFromTheCrsObjectOrItsPropertyString() throws Exception {
        assertThat(ProxmoxParsers.parseHaAutoRebalance(FakeProxmoxApi.fixtureData("cluster_options.handbuilt-pve9.json"))).isTrue();
        assertThat(ProxmoxParsers.parseHaAutoRebalance(json("{\"crs\":{\"ha\":\"static\",\"ha-rebalance-on-start\":1}}"))).isFalse();
        assertThat(ProxmoxParsers.parseHaAutoRebalance(json("{\"crs\":\"ha=static,ha-auto-rebalance=1\"}"))).isTrue();
        assertThat(ProxmoxParsers.parseHaAutoRebalance(json("{\"crs\":{\"ha-auto-rebalance\":0}}"))).isFalse();
        assertThat(ProxmoxParsers.parseHaAutoRebalance(json("{\"console\":\"xtermjs\",\"allowed-tags\":[]}")))
                .as("without Sys.Audit on / Proxmox leaves crs out").isFalse();
    }

    @Test
    void permissionsAreReadAsPathPrivilegeAndPropagate() {
        Map<String, Map<String, Boolean>> p = ProxmoxParsers.parsePermissions(FakeProxmoxApi.fixtureData("access_permissions.handbuilt-token.json"));

        assertThat(p.get("/")).containsEntry("Sys.Audit", true).containsEntry("Sys.Console", false);
        assertThat(p.get("/vms")).containsEntry("VM.Migrate", true);
    }

    @Test
    void aFinishedTasksUserIsJoinedWithItsTokenIdAsTheActiveOnesIs() {
        List<TaskEntry> tasks = ProxmoxParsers.parseTaskList(FakeProxmoxApi.fixtureData("nodes_node_tasks.handbuilt-token.json"));

        assertThat(tasks).extracting(TaskEntry::user).containsExactly("moxxie@pve!drain", "moxxie@pve!drain");
        assertThat(tasks).extracting(TaskEntry::running).containsExactly(true, false);
    }

    @Test
    void configuredMemoryIsReadInMibWithProxmoxsDefault() throws Exception {
        assertThat(ProxmoxParsers.parseConfiguredMemory(json("{\"memory\":\"current=4096\"}"))).isEqualTo(4096L << 20);
        assertThat(ProxmoxParsers.parseConfiguredMemory(json("{\"memory\":\"2048\"}"))).isEqualTo(2048L << 20);
        assertThat(ProxmoxParsers.parseConfiguredMemory(json("{\"memory\":1024,\"swap\":512}"))).as("lxc").isEqualTo(1024L << 20);
        assertThat(ProxmoxParsers.parseConfiguredMemory(json("{\"name\":\"no-memory-line\"}"))).as("qemu-server's default").isEqualTo(512L << 20);
    }

    @Test
    void aGuestWithoutMaxmemIsMarkedAsOfUnknownMemory() throws Exception {
        ProxmoxParsers.Resources r = ProxmoxParsers.parseResources(json("""
                [{"id":"qemu/110","type":"qemu","vmid":110,"node":"pve2","status":"unknown","name":"new-vm"},
                 {"id":"qemu/111","type":"qemu","vmid":111,"node":"pve2","status":"running","maxmem":4294967296,"mem":1073741824}]"""));

        assertThat(r.guests()).extracting(ProxmoxParsers.GuestResource::memoryKnown).containsExactly(false, true);
    }
}
