package io.moxxie.examples.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.moxxie.core.execution.ExecutorConfig;
import io.moxxie.core.simulation.SimulatedCluster;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/** Drain options beyond the guide's examples, through the REST API on the demo cluster. */
class DrainOptionsTest extends ServerTestBase {
    @Test
    void maxConcurrentAutoRunsTheExecutorsChoiceAtOnce() {
        SimulatedCluster cluster = server.demo().orElseThrow().cluster();
        Api.Result r = api.post("/api/v1/nodes/hv7/drain", "{\"drainMode\": \"hard\", \"maxConcurrent\": \"auto\"}");
        assertThat(r.status()).isEqualTo(202);
        JsonNode done = api.awaitFinished("hv7", r.body().get("drainId").asText(), Duration.ofSeconds(60));

        assertThat(done.get("status").asText()).isEqualTo("completed");
        assertThat(done.get("completedVMs").asInt()).isEqualTo(15);
        // "auto" limits the live moves (pre-copy streams); a move that copies no memory (a maint-ok guest moved offline)
        // takes a slot beside them, up to the per-source cap, whenever the demo's timing lets one overlap.
        assertThat(cluster.peakConcurrentLiveMigrations()).isEqualTo(ExecutorConfig.defaults().autoConcurrency());
        assertThat(cluster.peakConcurrentMigrations()).isBetween(ExecutorConfig.defaults().autoConcurrency(), ExecutorConfig.AUTO_MAX_PER_SOURCE);
        assertThat(cluster.peakMigrationsPerTarget().values()).allMatch(p -> p <= ExecutorConfig.defaults().perTargetLimit(6));
    }

    @Test
    void parallelFalseRunsOneMigrationAtATimeWhateverMaxConcurrentSays() {
        SimulatedCluster cluster = server.demo().orElseThrow().cluster();
        Api.Result r = api.post("/api/v1/nodes/hv8/drain", "{\"drainMode\": \"hard\", \"parallel\": false, \"maxConcurrent\": 5}");
        assertThat(r.status()).isEqualTo(202);
        JsonNode done = api.awaitFinished("hv8", r.body().get("drainId").asText(), Duration.ofSeconds(120));

        assertThat(done.get("status").asText()).isEqualTo("completed");
        assertThat(done.get("totalVMs").asInt()).isGreaterThan(1);
        assertThat(done.get("completedVMs").asInt()).isEqualTo(done.get("totalVMs").asInt());
        assertThat(cluster.peakConcurrentMigrations()).isEqualTo(1);
    }
}
