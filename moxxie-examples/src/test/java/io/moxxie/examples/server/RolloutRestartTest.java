package io.moxxie.examples.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.moxxie.examples.server.ServerProcesses.Server;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A server process (demo cluster, H2 file store) killed with {@code kill -9} while a rollout waits for an operator's
 * continue, and started again on the same data directory: it takes the rollout back at once, and the rollout goes on
 * from where it stood to the end, every guest back where it was. On the way, a configured command shows what its
 * environment holds: the node, the rollout and the phase, and none of the server's secrets.
 */
class RolloutRestartTest {
    private static final String SPEED = "50";
    private static final String TOKEN = "rollout-restart-" + UUID.randomUUID();
    private static final Duration TIMEOUT = Duration.ofSeconds(120);

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
        return servers.start(logs.resolve(name + ".log"), Duration.ofSeconds(90),
                Map.of("MOXXIE_API_TOKEN", TOKEN, "MOXXIE_ROLLOUT_ACTION_SHOW_ENV", "env | sort"),
                "--MOXXIE_PORT=0", "--MOXXIE_DATA_DIR=" + dataDir, "--MOXXIE_DEMO_SPEED=" + SPEED);
    }

    private static Map<Integer, String> placement(Api api) {
        Map<Integer, String> m = new TreeMap<>();
        for (JsonNode g : api.get("/api/v1/vms").body()) m.put(g.get("vmid").asInt(), g.get("node").asText());
        return m;
    }

    @Test
    void aServerKilledWhileARolloutWaitsTakesItBackOnRestartAndTheRolloutEndsWithEveryGuestBack() throws Exception {
        Server first = startServer("first");
        assertThat(first.startLine()).contains("rollouts in the same store, actions continue, reboot, show-env");
        Api api = new Api(first.uri(), TOKEN);
        Map<Integer, String> before = placement(api);
        Api.Result started = api.post("/api/v1/rollouts", "{\"nodes\": [\"hv10\", \"hv8\"], \"beforeDrain\": \"show-env\"}");
        assertThat(started.status()).as("%s", started).isEqualTo(202);
        String id = started.body().get("rolloutId").asText();

        JsonNode waiting = api.await("/api/v1/rollouts/" + id, r -> "hv10".equals(r.get("awaitingContinue").asText(null)), TIMEOUT);
        // The beforeDrain command's environment: the node, the rollout and the phase; no MOXXIE_* setting of the server.
        String env = waiting.get("steps").get(0).get("action").get("output").asText();
        assertThat(env).contains("MOXXIE_NODE=hv10\n", "MOXXIE_ROLLOUT_ID=" + id + "\n", "MOXXIE_PHASE=before-drain\n", "PATH=");
        assertThat(env).doesNotContain(TOKEN, "MOXXIE_API_TOKEN", "MOXXIE_ROLLOUT_ACTION", "MOXXIE_DATA_DIR");
        assertThat(waiting.get("steps").get(0).get("action").get("exitStatus").asInt()).isZero();

        Process kill = new ProcessBuilder("kill", "-9", Long.toString(first.process().pid())).inheritIO().start();
        assertThat(kill.waitFor()).isZero();
        assertThat(first.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(first.process().exitValue()).isEqualTo(137);

        Instant restarting = Instant.now();
        Server second = startServer("second");
        Duration restart = Duration.between(restarting, Instant.now());
        assertThat(second.startLine()).contains("took back 1 unfinished rollout(s): " + id);
        Api again = new Api(second.uri(), TOKEN);
        JsonNode resumed = again.get("/api/v1/rollouts/" + id).body();
        assertThat(resumed.get("awaitingContinue").asText()).isEqualTo("hv10");
        assertThat(again.get("/api/v1/nodes/hv10/maintenance").body().get("inMaintenance").asBoolean()).isTrue();

        assertThat(again.post("/api/v1/rollouts/" + id + "/continue?node=hv10", null).status()).isEqualTo(200);
        again.await("/api/v1/rollouts/" + id, r -> "hv8".equals(r.get("awaitingContinue").asText(null)), TIMEOUT);
        assertThat(again.post("/api/v1/rollouts/" + id + "/continue?node=hv8", null).status()).isEqualTo(200);
        JsonNode done = again.await("/api/v1/rollouts/" + id, r -> !List.of("running", "waiting", "paused").contains(r.get("state").asText()), TIMEOUT);

        assertThat(done.get("state").asText()).as("%s", done).isEqualTo("succeeded");
        assertThat(done.get("owner").asText()).isEqualTo(resumed.get("owner").asText());
        for (JsonNode step : done.get("steps")) {
            assertThat(step.get("state").asText()).isEqualTo("succeeded");
            assertThat(again.get("/api/v1/nodes/" + step.get("node").asText() + "/maintenance").body().get("inMaintenance").asBoolean()).isFalse();
        }
        assertThat(placement(again)).as("every guest back where it was").isEqualTo(before);
        // One drain and one undrain per node, across both processes: nothing was started twice.
        for (String node : List.of("hv10", "hv8")) {
            assertThat(again.get("/api/v1/nodes/" + node + "/drains").body().findValuesAsText("operation"))
                    .containsExactly("undrain", "drain");
        }
        assertThat(Files.readString(second.log())).contains("Rollout " + id + " taken over by");
        System.out.println("rollout restart: second server answering " + restart.toMillis() + " ms after the kill, rollout taken back at its start");
    }
}
