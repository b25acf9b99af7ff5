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
                .isCloseTo(cluster.migrationProgress(io.moxxie.core.spi.TaskRef.of(upid, "pve1")).orElseThrow().transferred(), org.assertj.core.data.Percentage.withPercentage(40));

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
}
