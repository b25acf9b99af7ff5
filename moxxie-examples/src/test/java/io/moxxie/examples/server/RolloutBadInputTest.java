package io.moxxie.examples.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every bad input the rollout endpoints refuse: status, field, the error naming the value, and nothing changed (no
 * rollout, no maintenance, no drain). A request body can name an action but never give a command.
 */
class RolloutBadInputTest extends ServerTestBase {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Override
    Map<String, String> settings() {
        return Map.of("MOXXIE_ROLLOUT_ACTION_PATCH", "exit 0");
    }

    private JsonNode state() {
        ObjectNode o = JSON.createObjectNode();
        o.set("rollouts", api.get("/api/v1/rollouts").body());
        o.set("nodes", api.get("/api/v1/nodes").body());
        o.set("vms", api.get("/api/v1/vms").body());
        for (String n : RolloutApiTest.NODES) o.set(n, api.get("/api/v1/nodes/" + n + "/drains").body());
        return o;
    }

    private Api.Result assertRefused(String method, String path, String body, int status, String field, String errorContains) {
        JsonNode before = state();
        Api.Result r = api.call(method, path, body);
        assertThat(r.status()).as("%s %s %s -> %s", method, path, body, r).isEqualTo(status);
        assertThat(r.field()).as("field of %s", r).isEqualTo(field);
        assertThat(r.error()).as("error of %s", r).contains(errorContains);
        assertThat(state()).as("state after %s %s %s", method, path, body).isEqualTo(before);
        return r;
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
            "{}                                                  | 400 | nodes                  | nodes is required",
            "{\"nodes\": []}                                     | 400 | nodes                  | nodes must name at least one node",
            "{\"nodes\": \"hv7\"}                                | 400 | nodes                  | nodes must be an array of node names or \"all\", was \"hv7\"",
            "{\"nodes\": {\"hv7\": 1}}                           | 400 | nodes                  | nodes must be an array",
            "{\"nodes\": [7]}                                    | 400 | nodes                  | nodes must hold node names (strings), was 7",
            "{\"nodes\": [\"hv7\", \"hv7\"]}                     | 400 | nodes                  | nodes names 'hv7' twice",
            "{\"nodes\": [\"hv 7\"]}                             | 400 | nodes                  | hv 7",
            "{\"nodes\": [\"hv7\", \"hv99\"]}                    | 404 | nodes                  | hv99",
            "{\"nodes\": \"all\", \"drainMode\": \"medium\"}     | 400 | drainMode              | medium",
            "{\"nodes\": \"all\", \"parallel\": \"yes\"}         | 400 | parallel               | parallel must be true or false, was \"yes\"",
            "{\"nodes\": \"all\", \"maxConcurrent\": 0}          | 400 | maxConcurrent          | 0",
            "{\"nodes\": \"all\", \"maxConcurrent\": \"lots\"}   | 400 | maxConcurrent          | maxConcurrent must be a whole number or \"auto\", was \"lots\"",
            "{\"nodes\": \"all\", \"allowOffline\": 1}           | 400 | allowOffline           | allowOffline must be true or false, was 1",
            "{\"nodes\": \"all\", \"force\": \"true\"}           | 400 | force                  | force must be true or false",
            "{\"nodes\": \"all\", \"action\": \"upgrade\"}       | 400 | action                 | unknown action 'upgrade'; this server has: [continue, patch, reboot]",
            "{\"nodes\": \"all\", \"action\": \"apt-get -y dist-upgrade\"} | 400 | action   | action must be an action name",
            "{\"nodes\": \"all\", \"action\": 5}                 | 400 | action                 | action must be a string, was 5",
            "{\"nodes\": \"all\", \"beforeDrain\": \"continue\"} | 400 | beforeDrain            | beforeDrain cannot be 'continue'",
            "{\"nodes\": \"all\", \"beforeDrain\": \"rm -rf /\"} | 400 | beforeDrain            | beforeDrain must be an action name",
            "{\"nodes\": \"all\", \"afterUndrain\": \"nope\"}    | 400 | afterUndrain           | unknown action 'nope' for afterUndrain",
            "{\"nodes\": \"all\", \"cephAllowedWarnings\": \"OSD_DOWN\"} | 400 | cephAllowedWarnings | cephAllowedWarnings must be an array",
            "{\"nodes\": \"all\", \"cephAllowedWarnings\": [\"osd down\"]} | 400 | cephAllowedWarnings | 'osd down'",
            "{\"nodes\": \"all\", \"cephAllowedWarnings\": [1]}  | 400 | cephAllowedWarnings    | cephAllowedWarnings must hold strings, was 1",
            "{\"nodes\": \"all\", \"cephNoout\": \"no\"}         | 400 | cephNoout              | cephNoout must be true or false",
            "{\"nodes\": \"all\", \"gateTimeoutSeconds\": 0}     | 400 | gateTimeoutSeconds     | gateTimeoutSeconds must be a whole number of seconds between 1 and 604800, was 0",
            "{\"nodes\": \"all\", \"gateTimeoutSeconds\": 1.5}   | 400 | gateTimeoutSeconds     | was 1.5",
            "{\"nodes\": \"all\", \"actionTimeoutSeconds\": 604801} | 400 | actionTimeoutSeconds | was 604801",
            "{\"nodes\": \"all\", \"nodeBackTimeoutSeconds\": \"600\"} | 400 | nodeBackTimeoutSeconds | was \"600\"",
            "{\"nodes\": \"all\", \"settleTimeSeconds\": -1}     | 400 | settleTimeSeconds      | between 0 and 86400, was -1",
            "{\"nodes\": \"all\", \"maxNodesDown\": 0}           | 400 | maxNodesDown           | maxNodesDown must be between 1 and 1000, was 0",
            "{\"nodes\": \"all\", \"maxNodesDown\": \"2\"}       | 400 | maxNodesDown           | maxNodesDown must be a whole number",
            "{\"nodes\": \"all\", \"continueOnFailure\": \"x\"}  | 400 | continueOnFailure      | continueOnFailure must be true or false",
            "{\"nodes\": \"all\", \"dryRun\": \"x\"}             | 400 | dryRun                 | dryRun must be true or false",
            "{\"nodes\": \"all\", \"command\": \"reboot\"}       | 400 | command                | unknown field 'command'",
            "{\"nodes\": \"all\", \"drainmode\": \"hard\"}       | 400 | drainmode              | unknown field 'drainmode'",
    })
    void aBadRolloutBodyIsRefusedNamingTheFieldAndStartsNothing(String body, int status, String field, String error) {
        assertRefused("POST", "/api/v1/rollouts", body, status, field, error);
    }

    @Test
    void malformedJsonABadQueryAndUnknownRolloutsAreRefused() {
        assertRefused("POST", "/api/v1/rollouts", "{\"nodes\": \"all\"", 400, null, "malformed JSON");
        assertRefused("POST", "/api/v1/rollouts?dryRun=maybe", "{\"nodes\": \"all\"}", 400, "dryRun", "dryRun must be true or false, was 'maybe'");
        assertRefused("POST", "/api/v1/rollouts?force=true", "{\"nodes\": \"all\"}", 400, "force", "force");
        assertRefused("GET", "/api/v1/rollouts?limit=0", null, 400, "limit", "limit must be a whole number between 1 and 500, was '0'");
        for (String path : List.of("/api/v1/rollouts/4c3e2b1a-0000-4000-8000-000000000000", "/api/v1/rollouts/no-such-rollout")) {
            assertRefused("GET", path, null, 404, "rolloutId", "not found");
            for (String op : List.of("pause", "resume", "cancel", "continue")) {
                assertRefused("POST", path + "/" + op, null, 404, "rolloutId", "not found");
            }
        }
        assertRefused("POST", "/api/v1/rollouts/x/pause", "{\"now\": true}", 400, "now", "unknown field 'now'");
        assertRefused("DELETE", "/api/v1/rollouts", null, 405, null, "method DELETE not allowed on /api/v1/rollouts (allowed: GET, POST)");
    }
}
