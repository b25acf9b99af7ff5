package io.moxxie.proxmox.simulation;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moxxie.core.model.Guest;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.time.VirtualScheduler;
import io.moxxie.proxmox.internal.MigrationLog;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The simulated API without any transport: requests in, Proxmox's answers out. */
class SimulatedProxmoxApiTest {
    private static final long GIB = 1L << 30;
    private static final Map<String, String> TOKEN = Map.of("Authorization", "PVEAPIToken=moxxie@pve!drain=s3cret");
    private static final ObjectMapper JSON = new ObjectMapper();

    private final SimulatedCluster cluster = SimulatedCluster.builder(new VirtualScheduler())
            .node("pve1", 64 * GIB, 16).node("pve2", 64 * GIB, 16)
            .guest(Guest.qemu(100, "pve1").name("web").memory(4 * GIB).memoryUsed(2 * GIB).build())
            .build();
    private final SimulatedProxmoxApi api = SimulatedProxmoxApi.builder(cluster).apiToken("moxxie@pve!drain", "s3cret").build();

    private static JsonNode json(ApiResponse r) throws Exception {
        return JSON.readTree(r.body());
    }

    @Test
    void tokenRequestGetsTheClusterInTheEnvelope() throws Exception {
        ApiResponse r = api.handle(new ApiRequest("GET", "/cluster/resources", Map.of("type", "vm"), TOKEN));

        assertThat(r.status()).isEqualTo(200);
        assertThat(json(r).path("data")).hasSize(1);
        assertThat(json(r).path("data").get(0).path("id").asText()).isEqualTo("qemu/100");
        assertThat(api.calls()).extracting(SimulatedProxmoxApi.Call::toString).containsExactly("GET /cluster/resources {type=vm}");
    }

    @Test
    void requestWithoutCredentialsIsRefusedWithTheTextInReasonPhraseAndBody() throws Exception {
        ApiResponse r = api.handle(new ApiRequest("GET", "/cluster/resources", Map.of(), Map.of()));

        assertThat(r.status()).isEqualTo(401);
        assertThat(r.reasonPhrase()).isEqualTo("No ticket");
        assertThat(json(r).path("message").asText()).isEqualTo("No ticket\n");
    }

    @Test
    void wrongTokenSecretIsRefused() {
        ApiResponse r = api.handle(new ApiRequest("GET", "/cluster/resources", Map.of(),
                Map.of("authorization", "PVEAPIToken=moxxie@pve!drain=wrong")));

        assertThat(r.status()).isEqualTo(401);
        assertThat(r.reasonPhrase()).isEqualTo("invalid token value!");
    }

    @Test
    void trueForABooleanAndRootOnlyOptionsAreRefusedWithoutEffect() throws Exception {
        ApiResponse trueFalse = api.handle(new ApiRequest("POST", "/nodes/pve1/qemu/100/migrate", Map.of("target", "pve2", "online", "true"), TOKEN));
        ApiResponse rootOnly = api.handle(new ApiRequest("POST", "/nodes/pve1/qemu/100/migrate", Map.of("target", "pve2", "force", "1"), TOKEN));

        assertThat(trueFalse.status()).isEqualTo(400);
        assertThat(json(trueFalse).path("errors").path("online").asText()).isEqualTo("type check ('boolean') failed - got 'true'");
        assertThat(rootOnly.status()).isEqualTo(400);
        assertThat(json(rootOnly).path("errors").path("force").asText()).isEqualTo("Only root may use this option.");
        assertThat(cluster.migrations()).isEmpty();
    }

    @Test
    void migrateAnswersWithTheTaskOfTheCluster() throws Exception {
        ApiResponse r = api.handle(new ApiRequest("POST", "/nodes/pve1/qemu/100/migrate", Map.of("target", "pve2", "online", "1"), TOKEN));

        assertThat(r.successful()).isTrue();
        String upid = json(r).path("data").asText();
        assertThat(upid).startsWith("UPID:pve1:").contains(":qmigrate:100:");
        ApiResponse status = api.handle(new ApiRequest("GET", "/nodes/pve1/tasks/" + upid + "/status", Map.of(), TOKEN));
        assertThat(json(status).path("data").path("status").asText()).isEqualTo("running");
    }

    private String liveMigration() throws Exception {
        return json(api.handle(new ApiRequest("POST", "/nodes/pve1/qemu/100/migrate", Map.of("target", "pve2", "online", "1"), TOKEN)))
                .path("data").asText();
    }

    private JsonNode log(String upid, Map<String, String> params) throws Exception {
        return json(api.handle(new ApiRequest("GET", "/nodes/pve1/tasks/" + upid + "/log", params, TOKEN)));
    }

    private static List<String> texts(JsonNode log) {
        List<String> out = new ArrayList<>();
        log.path("data").forEach(l -> out.add(l.path("t").asText()));
        return out;
    }

    @Test
    void aLiveMigrationsLogHasQemuServersProgressLineEverySecondWhileItCopies() throws Exception {
        String upid = liveMigration();
        VirtualScheduler scheduler = (VirtualScheduler) cluster.scheduler();
        scheduler.runFor(Duration.ofSeconds(9));

        JsonNode running = log(upid, Map.of("start", "0", "limit", "0"));
        List<String> lines = texts(running);
        assertThat(running.path("total").asInt()).isEqualTo(lines.size());
        List<String> progress = lines.stream().filter(l -> l.contains(" migration active, ")).toList();
        assertThat(progress).hasSizeGreaterThanOrEqualTo(2).allMatch(l -> l.matches(
                "\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d migration active, transferred \\d+\\.\\d (B|KiB|MiB|GiB) of 4\\.0 GiB VM-state, \\d+\\.\\d (B|KiB|MiB|GiB)/s"));
        DateTimeFormatter time = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");
        for (int i = 1; i < progress.size(); i++) {
            assertThat(Duration.between(LocalDateTime.parse(progress.get(i - 1).substring(0, 19), time),
                    LocalDateTime.parse(progress.get(i).substring(0, 19), time))).as("one line a second").isEqualTo(Duration.ofSeconds(1));
        }
        MigrationLog.Cursor parsed = new MigrationLog.Cursor();
        parsed.take(running.path("data"), running.path("total").asLong());
        assertThat(parsed.progress(scheduler.now()).orElseThrow().transferred())
                .isCloseTo(cluster.migrationProgress(api.clusterTask(upid, "pve1")).orElseThrow().transferred(), org.assertj.core.data.Percentage.withPercentage(40));

        scheduler.runUntilIdle();
        List<String> ended = texts(log(upid, Map.of("limit", "0")));
        assertThat(ended.subList(0, lines.size())).as("the lines keep their numbers").isEqualTo(lines);
        assertThat(ended.get(ended.size() - 3)).endsWith(" migration status: completed");
        assertThat(ended.get(ended.size() - 2)).matches(".* migration finished successfully \\(duration 00:00:\\d\\d\\)");
        assertThat(ended.get(ended.size() - 1)).isEqualTo("TASK OK");
    }

    @Test
    void taskLogParametersAreCheckedAsProxmoxChecksThem() throws Exception {
        String upid = liveMigration();

        assertThat(log(upid, Map.of("lines", "5")).path("errors").path("lines").asText())
                .isEqualTo("property is not defined in schema and the schema does not allow additional properties");
        assertThat(log(upid, Map.of("start", "-1")).path("errors").path("start").asText()).isEqualTo("value must have a minimum value of 0");
        assertThat(log(upid, Map.of("limit", "ten")).path("errors").path("limit").asText()).isEqualTo("type check ('integer') failed - got 'ten'");
        JsonNode page = log(upid, Map.of("start", "1", "limit", "1"));
        assertThat(page.path("data")).singleElement().satisfies(l -> assertThat(l.path("n").asInt()).isEqualTo(2));
        assertThat(page.path("total").asInt()).isGreaterThan(2);
    }

    @Test
    void httpRequestOutsideTheApiIsNotARequestToIt() {
        assertThat(ApiRequest.fromHttp("GET", "/api2/extjs/version", null, null, Map.of())).isEmpty();
        assertThat(ApiRequest.fromHttp("POST", "/api2/json/nodes/pve1/qemu/100/migrate", "target=pve3", "target=pve2&online=1",
                Map.of("Authorization", List.of("PVEAPIToken=x!y=z")))).hasValueSatisfying(r -> {
                    assertThat(r.path()).isEqualTo("/nodes/pve1/qemu/100/migrate");
                    assertThat(r.params()).containsExactlyInAnyOrderEntriesOf(Map.of("target", "pve2", "online", "1"));
                    assertThat(r.header("authorization")).isEqualTo("PVEAPIToken=x!y=z");
                });
    }

    @Test
    void anApiWithoutCredentialsCannotBeBuilt() {
        assertThatThrownBy(() -> SimulatedProxmoxApi.builder(cluster).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("API token");
        assertThatThrownBy(() -> SimulatedProxmoxApi.builder(cluster).pveMajorVersion(6))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("major must be 7, 8 or 9, was 6");
    }

    @Test
    void proxmox9RefusesTheGroupsListOnceGroupsAreRulesAndEarlierVersionsHaveNoRules() throws Exception {
        SimulatedProxmoxApi pve8 = SimulatedProxmoxApi.builder(cluster).apiToken("moxxie@pve!drain", "s3cret").pveMajorVersion(8).build();

        ApiResponse groups9 = api.handle(new ApiRequest("GET", "/cluster/ha/groups", Map.of(), TOKEN));
        ApiResponse rules8 = pve8.handle(new ApiRequest("GET", "/cluster/ha/rules", Map.of(), TOKEN));

        assertThat(groups9.status()).isEqualTo(500);
        assertThat(json(groups9).path("message").asText()).isEqualTo("cannot index groups: ha groups have been migrated to rules\n");
        assertThat(rules8.status()).isEqualTo(501);
        assertThat(pve8.handle(new ApiRequest("GET", "/cluster/ha/groups", Map.of(), TOKEN)).status()).isEqualTo(200);
    }

    @Test
    void anUnknownParameterOfTheRulesOptionsOrTaskListIsA400NamingIt() throws Exception {
        ApiResponse rules = api.handle(new ApiRequest("GET", "/cluster/ha/rules", Map.of("state", "enabled"), TOKEN));
        ApiResponse options = api.handle(new ApiRequest("GET", "/cluster/options", Map.of("crs", "1"), TOKEN));
        ApiResponse tasks = api.handle(new ApiRequest("GET", "/nodes/pve1/tasks", Map.of("user", "moxxie@pve"), TOKEN));

        assertThat(List.of(rules, options, tasks)).allSatisfy(r -> assertThat(r.status()).isEqualTo(400));
        assertThat(json(rules).path("errors").path("state").asText()).contains("property is not defined in schema");
        assertThat(json(tasks).path("errors").path("user").asText()).contains("property is not defined in schema");
        assertThat(api.handle(new ApiRequest("GET", "/cluster/ha/rules", Map.of("type", "node-affinity"), TOKEN)).status()).isEqualTo(200);
        ApiResponse badType = api.handle(new ApiRequest("GET", "/cluster/ha/rules", Map.of("type", "location"), TOKEN));
        assertThat(badType.status()).isEqualTo(400);
        assertThat(json(badType).path("errors").path("type").asText())
                .isEqualTo("value 'location' does not have a value in the enumeration 'node-affinity, resource-affinity'");
    }

    @Test
    void aGuestOfUnknownStatusHasNoMemoryFiguresButItsConfigurationHasItsMemory() throws Exception {
        SimulatedCluster c = SimulatedCluster.builder(new VirtualScheduler()).node("pve1", 64 * GIB, 16)
                .guest(Guest.qemu(100, "pve1").status(io.moxxie.core.model.PowerState.UNKNOWN).memory(4 * GIB).build()).build();
        SimulatedProxmoxApi a = SimulatedProxmoxApi.builder(c).apiToken("moxxie@pve!drain", "s3cret").build();

        JsonNode entry = json(a.handle(new ApiRequest("GET", "/cluster/resources", Map.of("type", "vm"), TOKEN))).path("data").get(0);
        JsonNode config = json(a.handle(new ApiRequest("GET", "/nodes/pve1/qemu/100/config", Map.of(), TOKEN))).path("data");

        assertThat(entry.path("status").asText()).isEqualTo("unknown");
        assertThat(entry.has("maxmem")).isFalse();
        assertThat(config.path("memory").asText()).isEqualTo("4096");
    }

    // ------------------------------------------------------------------ a rollout's gates

    private ApiResponse get(String path, Map<String, String> params) {
        return api.handle(new ApiRequest("GET", path, params, TOKEN));
    }

    @Test
    void settingACephFlagIsCheckedAgainstTheSchemaBeforeAnythingHappens() throws Exception {
        cluster.withCeph(1);

        ApiResponse missing = api.handle(new ApiRequest("PUT", "/cluster/ceph/flags/noout", Map.of(), TOKEN));
        ApiResponse notBoolean = api.handle(new ApiRequest("PUT", "/cluster/ceph/flags/noout", Map.of("value", "true"), TOKEN));
        ApiResponse unknownFlag = api.handle(new ApiRequest("PUT", "/cluster/ceph/flags/nosuch", Map.of("value", "1"), TOKEN));
        ApiResponse unknownParam = api.handle(new ApiRequest("PUT", "/cluster/ceph/flags/noout", Map.of("value", "1", "force", "1"), TOKEN));

        assertThat(List.of(missing, notBoolean, unknownFlag, unknownParam)).allMatch(r -> r.status() == 400);
        assertThat(json(missing).path("errors").path("value").asText()).isEqualTo("property is missing and it is not optional");
        assertThat(json(notBoolean).path("errors").path("value").asText()).isEqualTo("type check ('boolean') failed - got 'true'");
        assertThat(json(unknownFlag).path("errors").path("flag").asText()).isEqualTo("value 'nosuch' does not have a value in the "
                + "enumeration 'nobackfill, nodeep-scrub, nodown, noin, noout, norebalance, norecover, noscrub, notieragent, noup, pause'");
        assertThat(json(unknownParam).path("errors").path("force").asText()).isEqualTo("Only root may use this option.");
        assertThat(cluster.cephFlags()).isEmpty();

        ApiResponse set = api.handle(new ApiRequest("PUT", "/cluster/ceph/flags/noout", Map.of("value", "1"), TOKEN));
        assertThat(set.status()).isEqualTo(200);
        assertThat(json(set).path("data").isNull()).isTrue();
        assertThat(cluster.cephFlags()).containsExactly("noout");
        JsonNode flags = json(get("/cluster/ceph/flags", Map.of())).path("data");
        assertThat(flags).hasSize(11);
        assertThat(flags.findValuesAsText("name")).contains("noout", "pause", "nodeep-scrub");
        assertThat(flags.findValues("value").stream().mapToInt(JsonNode::asInt).sum()).isEqualTo(1);
    }

    @Test
    void cmdSafetyNeedsItsThreeParametersWithinTheirEnumerationsAndNothingElse() throws Exception {
        cluster.withCeph(1);

        ApiResponse wrong = get("/nodes/pve1/ceph/cmd-safety", Map.of("service", "rgw", "id", "0", "action", "restart", "verbose", "1"));
        ApiResponse missing = get("/nodes/pve1/ceph/cmd-safety", Map.of("service", "osd"));

        assertThat(wrong.status()).isEqualTo(400);
        assertThat(json(wrong).path("errors").path("service").asText()).isEqualTo("value 'rgw' does not have a value in the enumeration 'osd, mon, mds'");
        assertThat(json(wrong).path("errors").path("action").asText()).isEqualTo("value 'restart' does not have a value in the enumeration 'stop, destroy'");
        assertThat(json(wrong).path("errors").path("verbose").asText()).startsWith("property is not defined in schema");
        assertThat(missing.status()).isEqualTo(400);
        assertThat(json(missing).path("errors").fieldNames()).toIterable().containsExactlyInAnyOrder("id", "action");

        JsonNode ok = json(get("/nodes/pve1/ceph/cmd-safety", Map.of("service", "osd", "id", "1", "action", "stop"))).path("data");
        assertThat(ok.path("safe").isBoolean()).as("a JSON boolean, as PVE gives it").isTrue();
        assertThat(ok.path("safe").asBoolean()).isTrue();
        JsonNode none = json(get("/nodes/pve1/ceph/cmd-safety", Map.of("service", "osd", "id", "7", "action", "stop"))).path("data");
        assertThat(none.path("safe").asBoolean()).isFalse();
        assertThat(none.path("status").asText()).isEqualTo("osd.7 does not exist");
    }

    @Test
    void withoutCephEveryCephCallIsRefusedAsOnANodeWithoutTheBinaries() throws Exception {
        for (ApiResponse r : List.of(get("/cluster/ceph/status", Map.of()), get("/cluster/ceph/flags", Map.of()),
                get("/nodes/localhost/ceph/osd", Map.of()), get("/nodes/pve1/ceph/cmd-safety", Map.of("service", "osd", "id", "0", "action", "stop")),
                api.handle(new ApiRequest("PUT", "/cluster/ceph/flags/noout", Map.of("value", "1"), TOKEN)))) {
            assertThat(r.status()).isEqualTo(500);
            assertThat(json(r).path("message").asText()).isEqualTo("binary not installed: /usr/bin/ceph-mon\n");
        }
    }

    @Test
    void theOsdTreeOfAnOfflineNodeIsOnlyReachableThroughTheNodeAnswering() throws Exception {
        cluster.withCeph(2).setNodeOnline("pve2", false);

        ApiResponse direct = get("/nodes/pve2/ceph/osd", Map.of());
        JsonNode tree = json(get("/nodes/localhost/ceph/osd", Map.of())).path("data");

        assertThat(direct.status()).isEqualTo(595);
        assertThat(tree.path("root").path("children").get(0).path("name").asText()).isEqualTo("default");
        assertThat(tree.path("flags").asText()).isEqualTo("sortbitwise,recovery_deletes,purged_snapdirs,pglog_hardlimit");
        assertThat(get("/nodes/pve9/ceph/osd", Map.of()).status()).isEqualTo(500);
    }

    @Test
    void clusterStatusHasTheClusterEntryAndEveryNodeAndAStandaloneNodeOnlyItself() throws Exception {
        cluster.setNodeOnline("pve2", false);
        JsonNode status = json(get("/cluster/status", Map.of())).path("data");
        assertThat(status).hasSize(3);
        assertThat(status.get(0).path("type").asText()).isEqualTo("cluster");
        assertThat(status.get(0).path("nodes").asInt()).isEqualTo(2);
        assertThat(status.get(2).path("online").asInt()).isZero();
        assertThat(get("/cluster/status", Map.of("full", "1")).status()).isEqualTo(400);
        assertThat(json(get("/cluster/config/nodes", Map.of())).path("data").get(0).path("quorum_votes").asText()).isEqualTo("1");

        SimulatedCluster solo = SimulatedCluster.builder(new VirtualScheduler()).node("solo", 64 * GIB, 16).build();
        SimulatedProxmoxApi soloApi = SimulatedProxmoxApi.builder(solo).apiToken("moxxie@pve!drain", "s3cret").build();
        JsonNode one = json(soloApi.handle(new ApiRequest("GET", "/cluster/status", Map.of(), TOKEN))).path("data");
        assertThat(one).hasSize(1);
        assertThat(one.get(0).path("type").asText()).isEqualTo("node");
        assertThat(one.get(0).path("nodeid").asInt()).isZero();
    }

    @Test
    void theHaManagerStatusOfAClusterThatNeverRanHaIsEmpty() throws Exception {
        JsonNode d = json(get("/cluster/ha/status/manager_status", Map.of())).path("data");

        assertThat(d.path("manager_status").isObject()).isTrue();
        assertThat(d.path("manager_status").size()).isZero();
        assertThat(d.has("lrm_status")).isFalse();
        assertThat(d.path("quorum").path("quorate").asText()).isEqualTo("1");
    }
}
