package io.moxxie.examples.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.moxxie.core.model.Guest;
import io.moxxie.core.simulation.SimulatedCluster;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The user guide's scripts (test resources {@code guide/*.sh}: its Examples 1–4, drain and tagging snippets and
 * troubleshooting commands, as printed there, minus ssh and {@code sleep 300}) run with bash, curl and jq against a
 * server on a free port. Their {@code sleep}s are scaled: the test's demo runs {@link TestServers#SPEED} times real
 * time, the default demo 10 times.
 */
class GuideScriptsTest extends ServerTestBase {
    private static final List<Integer> ALWAYS_ON = List.of(8200, 8201, 8202, 8214, 8400, 8600, 9101, 9202);
    private static final Duration SCRIPT_TIMEOUT = Duration.ofSeconds(90);

    @TempDir
    Path work;

    @BeforeAll
    static void requireTools() throws Exception {
        List<String> missing = new ArrayList<>();
        for (String tool : List.of("bash", "curl", "jq", "awk")) {
            Process p = new ProcessBuilder("sh", "-c", "command -v " + tool).redirectErrorStream(true).start();
            if (p.waitFor() != 0) missing.add(tool);
        }
        if (missing.isEmpty()) return;
        String message = "the guide's scripts need " + String.join(", ", missing) + " (apt-get install -y jq curl; .ci/run installs them)";
        if ("true".equals(System.getenv("CI"))) fail(message);
        assumeTrue(false, "SKIPPED: " + message);
    }

    record Run(int exit, String out, String err) {
    }

    Run run(String script, Map<String, String> extraEnv) throws IOException, InterruptedException, URISyntaxException {
        Run r = execute(script, extraEnv);
        assertThat(r.exit()).as("exit status of %s; output:%n%s%nstderr:%n%s", script, r.out(), r.err()).isZero();
        return r;
    }

    /** Runs the script and answers how it ended, whatever its exit status. */
    Run execute(String script, Map<String, String> extraEnv) throws IOException, InterruptedException, URISyntaxException {
        Path dir = Path.of(GuideScriptsTest.class.getResource("/guide/" + script).toURI()).getParent();
        ProcessBuilder pb = new ProcessBuilder("bash", dir.resolve(script).toString()).directory(work.toFile());
        Path out = work.resolve(script + ".out");
        Path err = work.resolve(script + ".err");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Map<String, String> env = pb.environment();
        env.put("BASH_ENV", dir.resolve("harness.bash").toString());
        env.put("MOXXIE_URL", server.uri().toString());
        env.put("MOXXIE_SLEEP_SCALE", Double.toString(ServerConfig.DEFAULT_DEMO_SPEED / TestServers.SPEED));
        env.putAll(extraEnv);
        Process p = pb.start();
        if (!p.waitFor(SCRIPT_TIMEOUT.toSeconds(), TimeUnit.SECONDS)) {
            p.destroyForcibly();
            fail(script + " did not finish within " + SCRIPT_TIMEOUT + "; output so far:\n" + Files.readString(out));
        }
        return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }

    Run run(String script) throws Exception {
        return run(script, Map.of());
    }

    private JsonNode guest(int vmid) {
        return api.get("/api/v1/vms/" + vmid).body();
    }

    private JsonNode lastDrain(String node) {
        return api.get("/api/v1/nodes/" + node + "/drains?limit=1").body().get(0);
    }

    @Test
    void example1RollingSoftDrainPatchesEveryNodeAndLeavesMaintOkGuestsInPlace() throws Exception {
        Run r = run("example1-monthly-patching.sh");

        for (String node : List.of("hv7", "hv8", "hv9", "hv10")) {
            assertThat(r.out()).contains("=== Patching " + node + " ===", node + " patched successfully!");
            JsonNode drain = lastDrain(node);
            assertThat(drain.get("status").asText()).as("drain of %s", node).isEqualTo("completed");
            assertThat(drain.get("failedVMs").asInt()).isZero();
            // the guide's counting: moved guests are completed, those the tag policy keeps are skipped
            assertThat(drain.get("completedVMs").asInt() + drain.get("skippedVMs").asInt()).isEqualTo(drain.get("totalVMs").asInt());
            assertThat(drain.get("drainMode").asText()).isEqualTo("soft");
            JsonNode m = api.get("/api/v1/nodes/" + node + "/maintenance").body();
            assertThat(m.get("inMaintenance").asBoolean()).isFalse();
            assertThat(m.get("reason").asText()).isEqualTo("Security patching");
            assertThat(m.get("maintenanceEnded").isNull()).isFalse();
        }
        // hv7's soft drain moves 12 of its 15 guests: 8215, 8300 and 8301 are maint-ok and stay
        assertThat(r.out()).contains("Progress: 12/15 (completed)", "All nodes patched!").doesNotContain("Drain started: null");
        assertThat(r.out()).contains("\"inMaintenance\": true", "\"inMaintenance\": false");
        for (int vmid : List.of(8215, 8300, 8301)) assertThat(guest(vmid).get("node").asText()).isEqualTo("hv7");
        for (int vmid : List.of(9300, 9301, 9302)) assertThat(guest(vmid).get("node").asText()).isEqualTo("hv10");
        for (int vmid : ALWAYS_ON) assertThat(guest(vmid).get("status").asText()).as("VM %d", vmid).isEqualTo("running");
        for (JsonNode n : api.get("/api/v1/nodes").body()) assertThat(n.get("status").asText()).isEqualTo("online");
    }

    @Test
    void example1WithTheRolloutEndpointPatchesEachNodeWhenTheRolloutWaitsForItAndEndsWithEveryGuestBack() throws Exception {
        Map<Integer, String> before = placement();

        Run r = run("example1-rollout.sh");

        assertThat(r.out()).contains("Rollout started: ", "All nodes patched!").doesNotContain("null");
        List<Integer> patched = new ArrayList<>();
        for (String node : List.of("hv7", "hv8", "hv9", "hv10")) {
            assertThat(r.out()).contains("=== Patching " + node + " ===", node + " patched; Moxxie waits for it to be back");
            patched.add(r.out().indexOf("=== Patching " + node + " ==="));
            JsonNode m = api.get("/api/v1/nodes/" + node + "/maintenance").body();
            assertThat(m.get("inMaintenance").asBoolean()).isFalse();
            assertThat(lastDrain(node).get("operation").asText()).isEqualTo("undrain");
            assertThat(lastDrain(node).get("status").asText()).isEqualTo("completed");
        }
        assertThat(patched).as("in the order given").isSorted();
        assertThat(r.out()).contains("[4/4] succeeded: 4 node(s) done in ");
        JsonNode rollout = api.get("/api/v1/rollouts").body().get(0);
        assertThat(rollout.get("state").asText()).isEqualTo("succeeded");
        assertThat(placement()).as("every guest back where it was").isEqualTo(before);
    }

    @Test
    void example1WithTheRolloutEndpointStopsWithTheServersMessageWhenTheRolloutIsRefusedOrFails() throws Exception {
        SimulatedCluster cluster = server.demo().orElseThrow().cluster();
        cluster.setNodeOnline("hv9", false);
        Run refused = execute("example1-rollout.sh", Map.of());
        assertThat(refused.exit()).isEqualTo(1);
        assertThat(refused.err()).contains("Rollout refused (HTTP 400): node hv9 is offline: it cannot be drained");
        assertThat(refused.out()).doesNotContain("null");
        assertThat(api.get("/api/v1/rollouts").body()).isEmpty();

        cluster.setNodeOnline("hv9", true);
        cluster.failMigrations(8210, 10, "migration aborted: simulated network failure");
        Run failed = execute("example1-rollout.sh", Map.of());
        assertThat(failed.exit()).as("%s", failed).isEqualTo(1);
        assertThat(failed.err()).contains("Rollout failed: hv7 failed at draining: the drain of hv7 ended failed",
                "hv7 stays in maintenance with its guests where they are", "Not started: hv8, hv9, hv10",
                "  hv7 at draining: ");
        assertThat(failed.out()).doesNotContain("null", "=== Patching");
        assertThat(api.get("/api/v1/nodes/hv7/maintenance").body().get("inMaintenance").asBoolean()).isTrue();
        for (String node : List.of("hv8", "hv9", "hv10")) assertThat(api.get("/api/v1/nodes/" + node + "/drains").body()).isEmpty();
    }

    private Map<Integer, String> placement() {
        Map<Integer, String> m = new java.util.TreeMap<>();
        for (JsonNode g : api.get("/api/v1/vms").body()) m.put(g.get("vmid").asInt(), g.get("node").asText());
        return m;
    }

    @Test
    void example2HardDrainEvacuatesEveryGuestAndKeepsAlwaysOnGuestsRunning() throws Exception {
        Run r = run("example2-hardware-failure.sh");

        assertThat(r.out()).contains("=== EMERGENCY: Evacuating hv7 ===", "Progress: 15/15 completed, 0 failed (completed)",
                "Verifying always-on VMs...", "Evacuation complete. Node hv7 is now empty.");
        assertThat(r.out()).containsPattern("8200: completed -> hv(8|9|10)\n").containsPattern("8300: completed -> hv(8|9|10)\n");
        for (int vmid : ALWAYS_ON) {
            JsonNode g = guest(vmid);
            assertThat(r.out()).contains(vmid + ": " + g.get("name").asText() + " on " + g.get("node").asText() + " - running");
        }
        assertThat(api.get("/api/v1/vms?node=hv7").body()).isEmpty();
        JsonNode m = api.get("/api/v1/nodes/hv7/maintenance").body();
        assertThat(m.get("inMaintenance").asBoolean()).isTrue();
        assertThat(m.get("reason").asText()).isEqualTo("Hardware failure");
        assertThat(m.get("vmsOnNode").asInt()).isZero();
        assertThat(m.get("drainStatus").asText()).isEqualTo("completed");
        JsonNode nodes = api.get("/api/v1/nodes").body();
        assertThat(nodes.get(0).get("node").asText()).isEqualTo("hv7");
        assertThat(nodes.get(0).get("status").asText()).isEqualTo("maintenance");
    }

    @Test
    void example3MaintenanceWindowDrainsThenUndrainsTheGuestsBack() throws Exception {
        List<String> before = api.get("/api/v1/vms?node=hv7").body().findValuesAsText("vmid");

        Run r = run("example3-maintenance-window.sh");

        assertThat(r.out()).contains("=== Maintenance Window for hv7 ===", "\"inMaintenance\": true", "\"reason\": \"Planned maintenance\"",
                "\"drainStatus\": \"in_progress\"", "\"inMaintenance\": false", "Maintenance complete. VMs migrating back to hv7.");
        JsonNode undrain = lastDrain("hv7");
        assertThat(undrain.get("operation").asText()).isEqualTo("undrain");
        JsonNode done = api.awaitFinished("hv7", undrain.get("drainId").asText(), Duration.ofSeconds(30));
        assertThat(done.get("status").asText()).isEqualTo("completed");
        assertThat(done.get("undrainOf").asText()).isNotBlank();
        assertThat(api.get("/api/v1/vms?node=hv7").body().findValuesAsText("vmid")).containsExactlyInAnyOrderElementsOf(before);
        assertThat(api.get("/api/v1/nodes/hv7/maintenance").body().get("inMaintenance").asBoolean()).isFalse();
    }

    @Test
    void example4ReportsEveryAlwaysOnGuestAndAlertsOnAStoppedOne() throws Exception {
        Run healthy = run("example4-always-on-check.sh");
        assertThat(healthy.out()).contains("=== Checking Always-On VMs ===").doesNotContain("\u274c");
        assertThat(healthy.out().lines().filter(l -> l.startsWith("\u2705"))).hasSize(ALWAYS_ON.size());
        assertThat(healthy.out()).contains("\u2705 8200: web-prod-01 on hv7 - RUNNING");

        stop(8200);
        Run alert = run("example4-always-on-check.sh");
        assertThat(alert.out()).contains("\u274c 8200: web-prod-01 on hv7 - stopped \u26a0\ufe0f  ALERT!");
        assertThat(alert.out().lines().filter(l -> l.startsWith("\u2705"))).hasSize(ALWAYS_ON.size() - 1);
    }

    @Test
    void troubleshootingCommandsShowTheFailedGuestStartAStoppedOneAndFixMaintenanceAndTags() throws Exception {
        SimulatedCluster cluster = server.demo().orElseThrow().cluster();
        cluster.failMigrations(8210, 10, "migration aborted: simulated network failure");
        JsonNode started = api.post("/api/v1/nodes/hv7/drain", "{\"drainMode\": \"hard\", \"maxConcurrent\": 5}").body();
        String drainId = started.get("drainId").asText();
        assertThat(api.awaitFinished("hv7", drainId, Duration.ofSeconds(30)).get("status").asText()).isEqualTo("failed");
        assertThat(api.post("/api/v1/nodes/hv8/maintenance?reason=disk%20swap", null).status()).isEqualTo(200);
        stop(8200);
        api.put("/api/v1/vms/8300/config", "{\"tags\": \"env-dev\"}");

        Map<String, String> env = new HashMap<>();
        env.put("DRAIN_ID", drainId);
        Run r = run("troubleshooting.sh", env);

        assertThat(r.out()).contains("\"drainId\": \"" + drainId + "\"", "\"status\": \"failed\"", "\"vmid\": 8210",
                "simulated network failure", "\"stopped\"", "Start of VM 8200 (web-prod-01) requested", "\"node\": \"hv8\"",
                "\"status\": \"maintenance\"", "\"env-dev\"");
        assertThat(api.await("/api/v1/vms/8200", g -> g.get("status").asText().equals("running"), Duration.ofSeconds(10))).isNotNull();
        assertThat(api.get("/api/v1/nodes/hv8/maintenance").body().get("inMaintenance").asBoolean()).isFalse();
        assertThat(guest(8300).get("tags").asText()).isEqualTo("maint-ok,env-dev");
    }

    @Test
    void drainModeAndTaggingSnippetsRunAsPrinted() throws Exception {
        Run tags = run("tagging.sh");
        assertThat(tags.out()).contains("\"tags\": \"always-on,env-prod,client-acme\"", "\"tags\": \"maint-ok,env-dev,client-acme\"");

        Run soft = run("drain-soft.sh");
        assertThat(soft.out()).contains("\"status\": \"in_progress\"", "\"message\": \"Draining node hv7 (soft mode)\"", "\"totalVMs\": 15");
        String softId = api.get("/api/v1/nodes/hv7/drains").body().get(0).get("drainId").asText();
        JsonNode softDone = api.awaitFinished("hv7", softId, Duration.ofSeconds(30));
        assertThat(softDone.get("status").asText()).isEqualTo("completed");
        assertThat(softDone.get("skippedVMs").asInt()).isEqualTo(3);

        Run hard = run("drain-hard.sh");
        assertThat(hard.out()).contains("\"message\": \"Draining node hv7 (hard mode)\"", "\"totalVMs\": 3");
        String hardId = api.get("/api/v1/nodes/hv7/drains").body().get(0).get("drainId").asText();
        assertThat(api.awaitFinished("hv7", hardId, Duration.ofSeconds(30)).get("status").asText()).isEqualTo("completed");
        assertThat(api.get("/api/v1/vms?node=hv7").body()).isEmpty();
    }

    private void stop(int vmid) {
        SimulatedCluster cluster = server.demo().orElseThrow().cluster();
        Guest g = cluster.currentSnapshot().guest(vmid).orElseThrow();
        cluster.stop(g);
        api.await("/api/v1/vms/" + vmid, j -> j.get("status").asText().equals("stopped"), Duration.ofSeconds(10));
    }
}
