package io.moxxie.examples.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Rollouts through the REST API on the demo cluster (sped up {@link TestServers#SPEED} times): a rollout of every node
 * with the {@code continue} action driven the way an operator's script does, the dry run, an operator's pause, resume,
 * cancel and continue and what each refuses once the rollout has ended, and the configured command actions.
 */
class RolloutApiTest extends ServerTestBase {
    static final ObjectMapper JSON = new ObjectMapper();
    static final List<String> NODES = List.of("hv7", "hv8", "hv9", "hv10");
    static final Duration ROLLOUT_TIMEOUT = Duration.ofSeconds(120);

    @Override
    Map<String, String> settings() {
        return Map.of(
                "MOXXIE_ROLLOUT_ACTION_PATCH", "echo \"patched $MOXXIE_NODE ($MOXXIE_PHASE of $MOXXIE_ROLLOUT_ID)\"; exit 0",
                "MOXXIE_ROLLOUT_ACTION_BROKEN_UPGRADE", "echo 'E: Could not get lock /var/lib/dpkg/lock-frontend'; "
                        + "i=0; while [ $i -lt 600 ]; do i=$((i+1)); echo \"dpkg: error processing package $i\"; done; exit 3",
                "MOXXIE_ROLLOUT_ACTION_HANG", "sleep 600 & echo $! > '" + dataDir.resolve("hang.child") + "'; wait");
    }

    /** Where every guest is: vmid → node. */
    private Map<Integer, String> placement() {
        Map<Integer, String> m = new TreeMap<>();
        for (JsonNode g : api.get("/api/v1/vms").body()) m.put(g.get("vmid").asInt(), g.get("node").asText());
        return m;
    }

    private Api.Result start(String body) {
        return api.post("/api/v1/rollouts", body);
    }

    private String started(String body) {
        Api.Result r = start(body);
        assertThat(r.status()).as("%s", r).isEqualTo(202);
        String id = r.body().get("rolloutId").asText();
        assertThat(r.raw().headers().firstValue("Location")).hasValue("/api/v1/rollouts/" + id);
        return id;
    }

    /**
     * Polls the rollout as a script does until it ends, answering each node's wait for {@code continue} with a
     * {@code POST …/continue?node=}; returns the ended rollout and the nodes continued, in order.
     */
    record Ended(JsonNode rollout, List<String> continued) {
    }

    Ended runToEnd(String id, boolean continueEach) {
        List<String> continued = new ArrayList<>();
        Instant end = Instant.now().plus(ROLLOUT_TIMEOUT);
        JsonNode last = null;
        while (Instant.now().isBefore(end)) {
            last = api.get("/api/v1/rollouts/" + id).body();
            if (List.of("succeeded", "failed", "cancelled").contains(last.get("state").asText())) return new Ended(last, continued);
            String waiting = last.get("awaitingContinue").asText(null);
            if (continueEach && waiting != null && !continued.contains(waiting)) {
                Api.Result c = api.post("/api/v1/rollouts/" + id + "/continue?node=" + waiting, null);
                assertThat(c.status()).as("%s", c).isEqualTo(200);
                continued.add(waiting);
            }
            pause();
        }
        throw new AssertionError("rollout " + id + " did not end within " + ROLLOUT_TIMEOUT + "; last: " + last);
    }

    static void pause() {
        try {
            Thread.sleep(50);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    JsonNode awaitRollout(String id, java.util.function.Predicate<JsonNode> done) {
        return api.await("/api/v1/rollouts/" + id, done, ROLLOUT_TIMEOUT);
    }

    // ------------------------------------------------------------------ the demo cluster, every node

    @Test
    void aRolloutOfEveryNodeWithContinueTakesEachOutInTurnAndEndsWithEveryGuestBackWhereItWas() {
        Map<Integer, String> before = placement();

        String id = started("{\"nodes\": \"all\", \"action\": \"continue\"}");
        Ended ended = runToEnd(id, true);

        JsonNode r = ended.rollout();
        assertThat(r.get("state").asText()).as("%s", r).isEqualTo("succeeded");
        assertThat(r.get("message").asText()).startsWith("4 node(s) done in ");
        assertThat(r.get("completedNodes").asInt()).isEqualTo(4);
        assertThat(r.get("failedNodes").asInt()).isZero();
        assertThat(r.get("completedAt").isNull()).isFalse();
        assertThat(r.get("request").get("nodes").asText()).isEqualTo("all");
        List<String> order = r.get("steps").findValuesAsText("node");
        assertThat(order).containsExactlyInAnyOrderElementsOf(NODES);
        assertThat(ended.continued()).as("every node waited for its continue, in the rollout's order").isEqualTo(order);
        Instant previousEnd = Instant.EPOCH;
        for (JsonNode step : r.get("steps")) {
            String node = step.get("node").asText();
            assertThat(step.get("state").asText()).as("%s", step).isEqualTo("succeeded");
            assertThat(step.get("phase").asText()).isEqualTo("done");
            assertThat(step.get("drainId").asText()).isNotBlank();
            assertThat(step.get("undrainId").asText()).isNotBlank();
            assertThat(step.get("gates").findValuesAsText("gate")).contains("nodes-down", "quorum", "capacity");
            assertThat(step.get("gates").findValues("pass")).allMatch(JsonNode::asBoolean);
            // One node at a time: each starts after the one before it ended.
            Instant started = Instant.parse(step.get("startedAt").asText());
            assertThat(started).as("start of %s", node).isAfterOrEqualTo(previousEnd);
            previousEnd = Instant.parse(step.get("endedAt").asText());
            assertThat(api.get("/api/v1/nodes/" + node + "/drain/" + step.get("drainId").asText() + "/status").body()
                    .get("status").asText()).isEqualTo("completed");
            assertThat(api.get("/api/v1/nodes/" + node + "/drain/" + step.get("undrainId").asText() + "/status").body()
                    .get("status").asText()).isEqualTo("completed");
            assertThat(api.get("/api/v1/nodes/" + node + "/maintenance").body().get("inMaintenance").asBoolean()).isFalse();
        }
        assertThat(placement()).as("every guest back on its node").isEqualTo(before);
        for (JsonNode n : api.get("/api/v1/nodes").body()) assertThat(n.get("status").asText()).isEqualTo("online");
        assertThat(api.get("/api/v1/rollouts").body().get(0).get("rolloutId").asText()).isEqualTo(id);
    }

    // ------------------------------------------------------------------ dry run

    @Test
    void aDryRunAnswersTheOrderEachNodesDrainPlanTheGatesAndEstimatesAndChangesNothing() {
        Map<Integer, String> before = placement();

        Api.Result r = start("{\"nodes\": \"all\", \"drainMode\": \"hard\", \"dryRun\": true}");

        assertThat(r.status()).as("%s", r).isEqualTo(200);
        JsonNode plan = r.body();
        assertThat(plan.get("dryRun").asBoolean()).isTrue();
        List<String> order = new ArrayList<>();
        plan.get("order").forEach(n -> order.add(n.asText()));
        assertThat(order).containsExactlyInAnyOrderElementsOf(NODES);
        assertThat(plan.get("orderReason").asText()).startsWith("least memory to move live first");
        assertThat(plan.get("request").get("drainMode").asText()).isEqualTo("hard");
        assertThat(plan.get("estimateSeconds").asLong()).isPositive();
        assertThat(plan.get("message").asText()).endsWith("1 node(s) blocked by a gate now (a rollout waits for it, up to gateTimeoutSeconds)");
        for (JsonNode n : plan.get("nodes")) {
            // A hard drain cannot move hv10's guest with a PCI device: the capacity gate says so before anything moves.
            boolean hv10 = n.get("node").asText().equals("hv10");
            assertThat(n.get("gatesPass").asBoolean()).as("%s", n.get("gates")).isEqualTo(!hv10);
            assertThat(n.get("gates").findValuesAsText("gate")).contains("nodes-down", "quorum", "capacity");
            if (hv10) {
                assertThat(n.get("gates").get(4).get("gate").asText()).isEqualTo("capacity");
                assertThat(n.get("gates").get(4).get("reason").asText()).contains("9301", "hostpci0");
            }
            JsonNode drain = n.get("drain");
            assertThat(drain.get("node").asText()).isEqualTo(n.get("node").asText());
            assertThat(drain.get("drainMode").asText()).isEqualTo("hard");
            assertThat(n.get("guestsToMove").asInt()).isEqualTo(drain.get("moveVMs").asInt());
            assertThat(n.get("estimateSeconds").asLong()).isEqualTo(n.get("migrationSeconds").asLong() + n.get("settleTimeSeconds").asLong());
        }
        JsonNode hv7 = plan.get("nodes").get(order.indexOf("hv7"));
        assertThat(hv7.get("drain").get("totalVMs").asInt()).isEqualTo(15);
        // Nothing changed: no rollout, no maintenance, no drain, every guest where it was.
        assertThat(api.get("/api/v1/rollouts").body()).isEmpty();
        assertThat(placement()).isEqualTo(before);
        for (String node : NODES) {
            assertThat(api.get("/api/v1/nodes/" + node + "/drains").body()).isEmpty();
            assertThat(api.get("/api/v1/nodes/" + node + "/maintenance").body().get("inMaintenance").asBoolean()).isFalse();
        }
    }

    // ------------------------------------------------------------------ an operator's requests

    @Test
    void pauseResumeCancelAndContinueAnswerTheRolloutAndAreRefusedWith409WhenTheyCannotApply() {
        String id = started("{\"nodes\": [\"hv7\", \"hv8\"]}");
        // hv7's drain takes a while: nothing waits for continue yet.
        Api.Result early = api.post("/api/v1/rollouts/" + id + "/continue", null);
        assertThat(early.status()).as("%s", early).isEqualTo(409);
        assertThat(early.error()).contains("nothing waits for continue in rollout " + id);
        assertThat(early.body().get("rolloutId").asText()).isEqualTo(id);

        Api.Result paused = api.post("/api/v1/rollouts/" + id + "/pause", null);
        assertThat(paused.status()).isEqualTo(200);
        assertThat(paused.body().get("pauseRequested").asBoolean()).isTrue();
        Api.Result resumed = api.post("/api/v1/rollouts/" + id + "/resume", null);
        assertThat(resumed.status()).isEqualTo(200);
        assertThat(resumed.body().get("pauseRequested").asBoolean()).isFalse();

        // The step and then the rollout record are written: wait for both.
        JsonNode waiting = awaitRollout(id, r -> "hv7".equals(r.get("awaitingContinue").asText(null)) && r.get("state").asText().equals("waiting"));
        assertThat(waiting.get("currentNode").asText()).isEqualTo("hv7");
        assertThat(waiting.get("currentPhase").asText()).isEqualTo("action");
        assertThat(waiting.get("message").asText()).contains("POST continue");
        Api.Result wrongNode = api.post("/api/v1/rollouts/" + id + "/continue?node=hv8", null);
        assertThat(wrongNode.status()).as("%s", wrongNode).isEqualTo(409);
        assertThat(wrongNode.field()).isEqualTo("node");
        assertThat(wrongNode.error()).contains("node hv8 does not wait for continue", "hv7 is at action");

        // A drain by hand beside the rollout counts against its maxNodesDown (1, hv7 is out): refused, nothing changed.
        for (String path : List.of("/api/v1/nodes/hv9/drain", "/api/v1/nodes/hv9/maintenance?drain=true")) {
            Api.Result byHand = api.post(path, null);
            assertThat(byHand.status()).as("%s: %s", path, byHand).isEqualTo(409);
            assertThat(byHand.error()).contains("rollout " + id + " is running with maxNodesDown 1", "hv7");
            assertThat(byHand.body().get("rolloutId").asText()).isEqualTo(id);
        }
        assertThat(api.get("/api/v1/nodes/hv9/drains").body()).isEmpty();
        assertThat(api.get("/api/v1/nodes/hv9/maintenance").body().get("inMaintenance").asBoolean()).isFalse();

        Api.Result cancelled = api.post("/api/v1/rollouts/" + id + "/cancel", null);
        assertThat(cancelled.status()).isEqualTo(200);
        assertThat(cancelled.body().get("cancelRequested").asBoolean()).isTrue();
        JsonNode ended = awaitRollout(id, r -> r.get("state").asText().equals("cancelled"));
        assertThat(ended.get("message").asText()).contains("Cancelled at hv7 (action)", "hv7 stays in maintenance");
        JsonNode hv7 = ended.get("steps").get(0);
        assertThat(hv7.get("state").asText()).isEqualTo("cancelled");
        assertThat(ended.get("steps").get(1).get("state").asText()).isEqualTo("skipped");
        assertThat(ended.get("skippedNodes").asInt()).isEqualTo(1);
        // The node under way stays as it was: in maintenance, empty but for what the tag policy keeps.
        assertThat(api.get("/api/v1/nodes/hv7/maintenance").body().get("inMaintenance").asBoolean()).isTrue();
        assertThat(api.get("/api/v1/nodes/hv8/drains").body()).isEmpty();

        for (String op : List.of("pause", "resume", "cancel", "continue")) {
            Api.Result r = api.post("/api/v1/rollouts/" + id + "/" + op, null);
            assertThat(r.status()).as("%s after the end: %s", op, r).isEqualTo(409);
            assertThat(r.error()).contains("rollout " + id + " has ended (cancelled)");
            assertThat(r.body().get("rolloutId").asText()).isEqualTo(id);
        }
        assertThat(api.get("/api/v1/rollouts/" + id).body()).isEqualTo(api.get("/api/v1/rollouts/" + id).body());
    }

    // ------------------------------------------------------------------ command actions

    @Test
    void aCommandActionRunsWithTheNodeInItsEnvironmentAndItsOutputIsKeptInTheStep() {
        String id = started("{\"nodes\": [\"hv10\"], \"action\": \"patch\", \"settleTimeSeconds\": 0}");
        JsonNode r = runToEnd(id, false).rollout();

        assertThat(r.get("state").asText()).as("%s", r).isEqualTo("succeeded");
        JsonNode action = r.get("steps").get(0).get("action");
        assertThat(action.get("exitStatus").asInt()).isZero();
        assertThat(action.get("output").asText()).isEqualTo("patched hv10 (action of " + id + ")\n");
    }

    @Test
    void aCommandExitingWith3FailsTheRolloutLeavesTheNodeInMaintenanceAndKeepsTheTailOfItsOutput() {
        Map<Integer, String> before = placement();
        String id = started("{\"nodes\": [\"hv9\", \"hv10\"], \"action\": \"broken-upgrade\"}");
        JsonNode r = runToEnd(id, false).rollout();

        assertThat(r.get("state").asText()).as("%s", r).isEqualTo("failed");
        assertThat(r.get("message").asText()).contains("hv9 failed at action: the action broken-upgrade failed (exit status 3)",
                "hv9 stays in maintenance with its guests where they are", "Not started: hv10");
        JsonNode hv9 = r.get("steps").get(0);
        assertThat(hv9.get("state").asText()).isEqualTo("failed");
        assertThat(hv9.get("phase").asText()).isEqualTo("action");
        assertThat(hv9.get("action").get("exitStatus").asInt()).isEqualTo(3);
        String output = hv9.get("action").get("output").asText();
        assertThat(output).as("the tail, at most %d characters", 4096).hasSizeLessThanOrEqualTo(4096)
                .startsWith("…").endsWith("dpkg: error processing package 600\n").doesNotContain("Could not get lock");
        assertThat(r.get("steps").get(1).get("state").asText()).isEqualTo("skipped");
        assertThat(api.get("/api/v1/nodes/hv9/maintenance").body().get("inMaintenance").asBoolean()).isTrue();
        assertThat(api.get("/api/v1/vms?node=hv9").body().findValuesAsText("tags")).allMatch(t -> t.contains("maint-ok"));
        assertThat(api.get("/api/v1/nodes/hv10/drains").body()).isEmpty();
        before.entrySet().removeIf(e -> e.getValue().equals("hv9"));
        Map<Integer, String> others = placement();
        others.keySet().retainAll(before.keySet());
        assertThat(others).as("guests of the other nodes untouched").isEqualTo(before);
    }

    @Test
    void aCommandThatOutlivesItsActionTimeoutIsKilledWithTheProcessesItStartedAndTheStepFails() throws Exception {
        String id = started("{\"nodes\": [\"hv10\"], \"action\": \"hang\", \"actionTimeoutSeconds\": 60}");
        JsonNode r = runToEnd(id, false).rollout();

        assertThat(r.get("state").asText()).as("%s", r).isEqualTo("failed");
        assertThat(r.get("message").asText()).contains("the action hang did not end within 1 min (actionTimeout)");
        long child = Long.parseLong(java.nio.file.Files.readString(dataDir.resolve("hang.child")).trim());
        api.await("/api/v1/rollouts/" + id, x -> ProcessHandle.of(child).map(p -> !p.isAlive()).orElse(true), Duration.ofSeconds(30));
        assertThat(ProcessHandle.of(child).filter(ProcessHandle::isAlive)).as("the command's child sleep 600").isEmpty();
    }

    @Test
    void aRunningCommandRefusesContinueAndACancelStopsItWithTheProcessesItStarted() throws Exception {
        String id = started("{\"nodes\": [\"hv10\", \"hv9\"], \"action\": \"hang\"}");
        awaitRollout(id, r -> "action".equals(r.get("currentPhase").asText(null)) && r.get("state").asText().equals("running"));
        java.nio.file.Path pidFile = dataDir.resolve("hang.child");
        api.await("/api/v1/rollouts/" + id, r -> java.nio.file.Files.exists(pidFile), ROLLOUT_TIMEOUT);

        Api.Result early = api.post("/api/v1/rollouts/" + id + "/continue?node=hv10", null);
        assertThat(early.status()).as("%s", early).isEqualTo(409);
        assertThat(early.error()).contains("the action hang is running on hv10", "cancel stops a command");

        assertThat(api.post("/api/v1/rollouts/" + id + "/cancel", null).status()).isEqualTo(200);
        JsonNode r = awaitRollout(id, x -> x.get("state").asText().equals("cancelled"));
        assertThat(r.get("message").asText()).contains("Cancelled at hv10 (action)", "hv10 stays in maintenance");
        assertThat(r.get("steps").get(1).get("state").asText()).isEqualTo("skipped");
        long child = Long.parseLong(java.nio.file.Files.readString(pidFile).trim());
        api.await("/api/v1/rollouts/" + id, x -> ProcessHandle.of(child).map(p -> !p.isAlive()).orElse(true), Duration.ofSeconds(30));
        assertThat(ProcessHandle.of(child).filter(ProcessHandle::isAlive)).as("the command's child sleep 600").isEmpty();
    }

    @Test
    void theDemosRebootActionTakesTheNodeDownAndTheRolloutWaitsForItToBeBack() {
        String id = started("{\"nodes\": [\"hv10\"], \"action\": \"reboot\", \"settleTimeSeconds\": 30}");
        JsonNode down = awaitRollout(id, r -> "wait-back".equals(r.get("currentPhase").asText(null))
                && r.get("state").asText().equals("waiting") && r.get("message").asText().contains("offline"));
        assertThat(down.get("message").asText()).startsWith("hv10: ");
        assertThat(down.get("steps").get(0).get("message").asText()).contains("waiting for hv10 to be back", "offline");
        assertThat(api.get("/api/v1/nodes").body().findParents("node").stream().filter(n -> n.get("node").asText().equals("hv10"))
                .findFirst().orElseThrow().get("online").asBoolean()).as("hv10 rebooting").isFalse();

        JsonNode r = runToEnd(id, false).rollout();
        assertThat(r.get("state").asText()).as("%s", r).isEqualTo("succeeded");
        JsonNode step = r.get("steps").get(0);
        assertThat(Instant.parse(step.get("backSince").asText())).as("back after the reboot's 90 s")
                .isAfterOrEqualTo(Instant.parse(down.get("steps").get(0).get("phaseStartedAt").asText()).plusSeconds(90));
        for (JsonNode n : api.get("/api/v1/nodes").body()) assertThat(n.get("status").asText()).isEqualTo("online");
    }
}
