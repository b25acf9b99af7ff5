package io.moxxie.examples.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.moxxie.examples.demo.DemoCluster;
import io.moxxie.examples.server.ServerProcesses.Server;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The server is a real process: killed with {@code kill -9} in the middle of a hard drain and started again on the
 * same data directory, it takes the drain back at once and finishes it, and every guest has moved exactly once.
 */
class RestartTest {
    private static final String SPEED = "50";
    private static final List<Integer> HV7 = List.of(8200, 8201, 8202, 8210, 8211, 8212, 8213, 8214, 8215, 8300, 8301, 8400, 8401, 8500, 8600);

    @TempDir
    Path dataDir;
    @TempDir
    Path logs;
    final ServerProcesses servers = new ServerProcesses();

    @AfterEach
    void stopAll() throws InterruptedException {
        servers.stopAll();
    }

    private Server startServer(String name) throws IOException, InterruptedException {
        return servers.start(logs.resolve(name + ".log"), Duration.ofSeconds(90), Map.of(),
                "--MOXXIE_PORT=0", "--MOXXIE_DATA_DIR=" + dataDir, "--MOXXIE_DEMO_SPEED=" + SPEED);
    }

    @Test
    void aServerKilledDuringAHardDrainFinishesItAfterARestartMovingEveryGuestOnce() throws Exception {
        Server first = startServer("first");
        Api api = new Api(first.uri());
        Api.Result started = api.post("/api/v1/nodes/hv7/drain", "{\"drainMode\": \"hard\", \"parallel\": true, \"maxConcurrent\": 3}");
        assertThat(started.status()).isEqualTo(202);
        String drainId = started.body().get("drainId").asText();

        JsonNode midway = api.await("/api/v1/nodes/hv7/drain/" + drainId + "/status",
                s -> s.get("completedVMs").asInt() >= 3 && s.get("vmStatus").findValuesAsText("status").contains("in_progress"),
                Duration.ofSeconds(60));
        assertThat(midway.get("status").asText()).isEqualTo("in_progress");
        Process kill = new ProcessBuilder("kill", "-9", Long.toString(first.process().pid())).inheritIO().start();
        assertThat(kill.waitFor()).isZero();
        assertThat(first.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(first.process().exitValue()).isEqualTo(137);

        Server second = startServer("second");
        assertThat(second.startLine()).contains("took back 1 unfinished drain(s): " + drainId);
        Api again = new Api(second.uri());
        JsonNode done = again.awaitFinished("hv7", drainId, Duration.ofSeconds(60));
        assertThat(done.get("status").asText()).as("%s", done).isEqualTo("completed");
        assertThat(done.get("completedVMs").asInt()).isEqualTo(15);
        assertThat(done.get("failedVMs").asInt()).isZero();
        assertThat(again.get("/api/v1/vms?node=hv7").body()).isEmpty();
        for (JsonNode vm : done.get("vmStatus")) {
            assertThat(again.get("/api/v1/vms/" + vm.get("vmid").asInt()).body().get("node").asText()).isEqualTo(vm.get("targetNode").asText());
        }

        // A graceful stop saves the demo cluster with its migration log, across both processes.
        second.process().destroy();
        assertThat(second.process().waitFor(20, TimeUnit.SECONDS)).isTrue();
        JsonNode saved = new ObjectMapper().readTree(dataDir.resolve(DemoCluster.STATE_FILE).toFile());
        Map<Integer, Integer> moves = new HashMap<>();
        for (JsonNode m : saved.get("migrations")) {
            if (m.get("successful").asBoolean() && m.get("source").asText().equals("hv7")) moves.merge(m.get("vmid").asInt(), 1, Integer::sum);
        }
        Map<Integer, Integer> once = new HashMap<>();
        HV7.forEach(v -> once.put(v, 1));
        assertThat(moves).as("successful migrations off hv7 per guest").isEqualTo(once);
        assertThat(Files.readString(first.log())).contains("Draining node hv7 (hard mode)");
        assertThat(Files.readString(second.log())).contains("Recovering drain " + drainId);
    }

    @Test
    void onSigtermTheServerLogsThatItStopsAndWhichDrainsItLeavesForTheNextStart() throws Exception {
        Server first = startServer("first");
        Api api = new Api(first.uri());
        String drainId = api.post("/api/v1/nodes/hv7/drain", "{\"drainMode\": \"hard\", \"maxConcurrent\": 2}").body().get("drainId").asText();
        api.await("/api/v1/nodes/hv7/drain/" + drainId + "/status", s -> s.get("completedVMs").asInt() >= 1, Duration.ofSeconds(60));

        first.process().destroy(); // SIGTERM
        assertThat(first.process().waitFor(20, TimeUnit.SECONDS)).isTrue();
        assertThat(first.process().exitValue()).isEqualTo(143);
        String log = Files.readString(dataDir.resolve("moxxie.log"));
        assertThat(log).containsPattern("\\[INFO] Moxxie server stopping: leaves 1 running drain\\(s\\) in progress, taken over on restart .*: "
                + drainId + " \\(drain of hv7, \\d+/15 completed, 0 failed\\)");
        assertThat(log).contains("[INFO] Moxxie server stopped");
        assertThat(Files.readString(first.log())).as("the console says it too").contains("Moxxie server stopping: leaves 1 running drain(s)");

        Server second = startServer("second");
        assertThat(second.startLine()).contains("took back 1 unfinished drain(s): " + drainId);
        assertThat(new Api(second.uri()).awaitFinished("hv7", drainId, Duration.ofSeconds(60)).get("status").asText()).isEqualTo("completed");
    }
}
