package io.moxxie.examples.server;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The server's log file, read as an operator would: a drain with a migration that fails and an always-on guest an
 * operator stopped, then the user guide's troubleshooting greps run by bash against the file, each finding what the
 * guide says it finds; the greps of this repository's {@code docs/user-guide.md} likewise; the MDC fields on the
 * drain's lines; DEBUG explaining the drain's decisions; and the log's times agreeing with the API's.
 */
class ServerLogTest {
    private static final Pattern STAMP = Pattern.compile("^(\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z) \\[(\\w+)] (.*)$");
    /** The user guide's log commands (Troubleshooting, Logs; and Support), as it writes them, on its file name. */
    private static final String GUIDE_FILE = "quarkus-dev.log";

    @TempDir
    Path dataDir;
    MoxxieServer server;

    @AfterEach
    void stop() {
        if (server != null) server.close();
    }

    /** Runs one shell command line (the guide's) against the log file; returns what it prints. */
    private static String sh(String command, Path log, String fileName) throws IOException, InterruptedException {
        String line = command.replace(fileName, "'" + log.toAbsolutePath() + "'");
        Process p = new ProcessBuilder("bash", "-c", line).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(30, TimeUnit.SECONDS)).isTrue();
        return out;
    }

    private JsonNode drainWithAFailureAndAStoppedAlwaysOnGuest(Api api) {
        // 8210 fails on every target it is tried on; 8200 (always-on) is stopped by the operator before the drain.
        server.demo().orElseThrow().cluster().failMigrations(8210, 10, "migration aborted (injected: storage unreachable)");
        Api.Result stopped = api.post("/api/v1/vms/8200/power/stop", "");
        assertThat(stopped.status()).as("%s", stopped).isEqualTo(202);
        assertThat(stopped.body().get("message").asText()).isEqualTo("Stop of VM 8200 (web-prod-01) requested on hv7");
        api.await("/api/v1/vms/8200", vm -> vm.get("status").asText().equals("stopped"), Duration.ofSeconds(30));
        Api.Result again = api.post("/api/v1/vms/8200/power/stop", "");
        assertThat(again.status()).isEqualTo(200);
        assertThat(again.body().get("message").asText()).contains("already stopped on hv7");
        assertThat(api.post("/api/v1/vms/99999/power/stop", "").status()).isEqualTo(404);

        assertThat(api.post("/api/v1/nodes/hv7/maintenance?reason=Disk%20replacement", "").status()).isEqualTo(200);
        Api.Result started = api.post("/api/v1/nodes/hv7/drain", "{\"drainMode\": \"hard\", \"maxConcurrent\": 3}");
        assertThat(started.status()).as("%s", started).isEqualTo(202);
        JsonNode done = api.awaitFinished("hv7", started.body().get("drainId").asText(), Duration.ofSeconds(60));
        assertThat(done.get("failedVMs").asInt()).as("%s", done).isEqualTo(1);
        assertThat(api.get("/api/v1/vms/8200").body().get("status").asText()).as("the drain started the always-on guest again")
                .isEqualTo("running");
        assertThat(api.delete("/api/v1/nodes/hv7/maintenance").status()).isEqualTo(200);
        return done;
    }

    @Test
    void theGuidesGrepsFindWhatTheGuideSaysInTheLogFile() throws Exception {
        server = TestServers.start(dataDir);
        Api api = new Api(server.uri());
        JsonNode done = drainWithAFailureAndAStoppedAlwaysOnGuest(api);
        String drainId = done.get("drainId").asText();
        Path log = dataDir.resolve("moxxie.log");
        assertThat(log).exists();

        Map<String, List<String>> expected = new LinkedHashMap<>();
        // "Check migration logs": the start and the end of each migration, and its failure.
        expected.put("tail -f quarkus-dev.log | grep \"Migration\"", List.of("Migrating VM 8200 (web-prod-01) from hv7 to ",
                "Migrated VM 8200 (web-prod-01) to ", "Failed to migrate VM 8210 (app-01) from hv7 to "));
        expected.put("grep \"Draining node\" quarkus-dev.log", List.of("Draining node hv7 (hard mode)"));
        expected.put("grep \"always-on\" quarkus-dev.log | grep -i \"warn\\|error\"",
                List.of("[WARN] Always-on VM 8200 (web-prod-01) is stopped after migration, starting it"));
        expected.put("grep \"Failed to migrate\" quarkus-dev.log", List.of("[ERROR] Failed to migrate VM 8210 (app-01) from hv7 to ",
                "injected: storage unreachable"));
        expected.put("grep \"starting it\" quarkus-dev.log", List.of("[WARN] Always-on VM 8200 (web-prod-01) is stopped after migration, starting it"));
        // Support: "Check logs"; here it finds the maintenance changes.
        expected.put("tail -f quarkus-dev.log | grep \"NodeMaintenance\"", List.of("Node hv7 is in maintenance: Disk replacement",
                "Node hv7 is out of maintenance"));
        for (Map.Entry<String, List<String>> e : expected.entrySet()) {
            // tail -f never ends: the test reads the file whole instead (tail -n +1).
            String out = sh(e.getKey().replace("tail -f", "tail -n +1"), log, GUIDE_FILE);
            for (String s : e.getValue()) assertThat(out).as("%s", e.getKey()).contains(s);
        }
        // The guide's two lines, as it prints them.
        String text = Files.readString(log);
        assertThat(text).contains("[WARN] Always-on VM 8200 (web-prod-01) is stopped after migration, starting it")
                .contains("[INFO] Successfully started always-on VM 8200");

        // Every line of the drain carries its MDC: the drain, the node, the guest.
        String start = line(text, "Migrating VM 8200 ");
        assertThat(start).contains("{drainId=" + drainId + " node=hv7 vmid=8200}");
        assertThat(line(text, "Draining node hv7")).contains("{drainId=" + drainId + " node=hv7}");
        assertThat(sh("grep \"vmid=8210\" quarkus-dev.log", log, GUIDE_FILE)).contains("Failed to migrate VM 8210").doesNotContain("VM 8200 ");

        // The greps of the repository's user guide, each expecting a hit.
        List<String> docGreps = docGreps();
        assertThat(docGreps).hasSizeGreaterThanOrEqualTo(6);
        for (String g : docGreps) {
            assertThat(sh(g, log, "moxxie-data/moxxie.log")).as("docs/user-guide.md: %s", g).isNotBlank();
        }
    }

    @Test
    void theLogsTimesAndTheApisTimesOfOneEventAreTheSameInstantInTheSpedUpDemo() throws Exception {
        // A demo that has run for hours: its clock (saved across restarts) is 3 h ahead of the wall clock.
        Map<String, String> slow = Map.of("MOXXIE_DEMO_SPEED", "2");
        TestServers.start(dataDir, slow).close();
        Path state = dataDir.resolve(io.moxxie.examples.demo.DemoCluster.STATE_FILE);
        com.fasterxml.jackson.databind.node.ObjectNode saved = (com.fasterxml.jackson.databind.node.ObjectNode) HttpApi.mapper().readTree(state.toFile());
        saved.put("simulatedTime", Instant.now().plus(Duration.ofHours(3)).toString());
        HttpApi.mapper().writeValue(state.toFile(), saved);
        server = TestServers.start(dataDir, slow);
        assertThat(Duration.between(Instant.now(), server.service().scheduler().now()).toMinutes()).as("the demo clock runs ahead")
                .isGreaterThan(170);
        Api api = new Api(server.uri());

        JsonNode maintenance = api.post("/api/v1/nodes/hv8/maintenance?reason=Firmware", "").body();
        Api.Result drain = api.post("/api/v1/nodes/hv9/drain", "{\"drainMode\": \"soft\"}");
        assertThat(drain.status()).as("%s", drain).isEqualTo(202);
        String text = Files.readString(dataDir.resolve("moxxie.log"));
        Map<String, Instant> fromApi = Map.of(
                "Node hv8 is in maintenance: Firmware", Instant.parse(maintenance.get("maintenanceStarted").asText()),
                "Draining node hv9 (soft mode)", Instant.parse(drain.body().get("startedAt").asText()));
        for (Map.Entry<String, Instant> e : fromApi.entrySet()) {
            Instant logged = stampOf(line(text, e.getKey()));
            // The API gives seconds, the log milliseconds a moment later (at 2x: 1 s of a busy machine is 2 s).
            assertThat(Duration.between(e.getValue(), logged).abs()).as("%s: log %s, API %s", e.getKey(), logged, e.getValue())
                    .isLessThan(Duration.ofSeconds(10));
        }
    }

    @Test
    void atDebugTheDrainExplainsItsDecisions() throws Exception {
        server = TestServers.start(dataDir, Map.of("MOXXIE_LOG_LEVEL", "debug", "MOXXIE_LOG_FILE", dataDir.resolve("logs/debug.log").toString()));
        Api api = new Api(server.uri());
        server.demo().orElseThrow().cluster().failMigrations(8211, 1, "migration aborted (injected)");
        Api.Result drain = api.post("/api/v1/nodes/hv7/drain", "{\"drainMode\": \"hard\", \"maxConcurrent\": 2}");
        api.awaitFinished("hv7", drain.body().get("drainId").asText(), Duration.ofSeconds(60));
        Path log = dataDir.resolve("logs/debug.log");
        String text = Files.readString(log);
        assertThat(text).as("target chosen and why").containsPattern("\\[DEBUG] Placing VM 8201 \\(db-prod-01, [\\d.]+ GiB, online\\) on hv\\d+: "
                + "lowest memory use after the move \\(hv\\d+ [\\d.]+%, hv\\d+ [\\d.]+%");
        assertThat(text).as("slot waits").containsPattern("\\[DEBUG] \\d+ guest\\(s\\) wait: 2 of 2 migration slots busy");
        assertThat(text).contains("[DEBUG] VM 8200 (web-prod-01) takes a migration slot: to hv");
        assertThat(text).as("the retry elsewhere").contains("[WARN] Failed to migrate VM 8211 (app-02)").contains("VM 8211 will be retried on");
        assertThat(dataDir.resolve("moxxie.log")).as("MOXXIE_LOG_FILE moves the file").doesNotExist();
        // DEBUG is Moxxie's: the libraries (Jetty's every request, HikariCP) stay at INFO, or they flood the file.
        assertThat(org.slf4j.LoggerFactory.getLogger("io.moxxie.core.execution.internal.DrainRun").isDebugEnabled()).isTrue();
        assertThat(org.slf4j.LoggerFactory.getLogger("org.eclipse.jetty.server.HttpChannel").isDebugEnabled()).isFalse();
        assertThat(org.slf4j.LoggerFactory.getLogger("org.eclipse.jetty.server.HttpChannel").isInfoEnabled()).isTrue();
    }

    @Test
    void theLogFileIsRotatedBySizeAndABoundedNumberIsKept() {
        server = TestServers.start(dataDir);
        ch.qos.logback.classic.Logger root = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        var file = (ch.qos.logback.core.rolling.RollingFileAppender<?>) root.getAppender("MOXXIE_FILE");
        assertThat(Path.of(file.getFile())).isEqualTo(dataDir.resolve("moxxie.log").toAbsolutePath().normalize());
        var rolling = (ch.qos.logback.core.rolling.FixedWindowRollingPolicy) file.getRollingPolicy();
        assertThat(rolling.getFileNamePattern()).endsWith("moxxie.log.%i");
        assertThat(rolling.getMaxIndex() - rolling.getMinIndex() + 1).isEqualTo(5);
        var trigger = (ch.qos.logback.core.rolling.SizeBasedTriggeringPolicy<?>) file.getTriggeringPolicy();
        assertThat(trigger.getMaxFileSize().getSize()).isEqualTo(10L * 1024 * 1024);
        server.close();
        server = null;
        assertThat(root.getAppender("MOXXIE_FILE")).as("closed with the server").isNull();
    }

    private static String line(String text, String containing) {
        return text.lines().filter(l -> l.contains(containing)).findFirst()
                .orElseThrow(() -> new AssertionError("no line with '" + containing + "' in:\n" + text));
    }

    private static Instant stampOf(String line) {
        Matcher m = STAMP.matcher(line);
        assertThat(m.matches()).as("line format: %s", line).isTrue();
        return Instant.parse(m.group(1));
    }

    /** The commands between {@code <!-- log-greps -->} and {@code <!-- /log-greps -->} in docs/user-guide.md. */
    static List<String> docGreps() throws IOException {
        List<String> out = new ArrayList<>();
        boolean in = false;
        for (String l : Files.readAllLines(RepoFiles.root().resolve("docs/user-guide.md"))) {
            if (l.contains("<!-- log-greps -->")) in = true;
            else if (l.contains("<!-- /log-greps -->")) in = false;
            else if (in && !l.isBlank() && !l.startsWith("#") && !l.startsWith("```")) out.add(l.trim());
        }
        return out;
    }
}
