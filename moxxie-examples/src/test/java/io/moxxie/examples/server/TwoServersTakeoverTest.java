package io.moxxie.examples.server;

import com.fasterxml.jackson.databind.JsonNode;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.PowerState;
import io.moxxie.core.simulation.MigrationModel;
import io.moxxie.examples.demo.ScaledScheduler;
import io.moxxie.examples.server.ServerProcesses.Server;
import io.moxxie.proxmox.simulation.SimulatedProxmoxApi;
import io.moxxie.proxmox.simulation.SimulatedProxmoxServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneId;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Two server processes on one PostgreSQL schema, both driving the same (simulated) Proxmox VE cluster over its HTTP
 * API: the one that owns a hard drain is killed with {@code kill -9} in the middle of it, and the other one, running
 * all along and never restarted, takes the drain over once its lease has expired and finishes it, every guest moved
 * exactly once. A fresh schema is made for the test and dropped after it.
 */
class TwoServersTakeoverTest {
    private static final String PG = System.getenv().getOrDefault("MOXXIE_TEST_PG_URL", "jdbc:postgresql://127.0.0.1:5432/test");
    private static final String PG_USER = System.getenv().getOrDefault("MOXXIE_TEST_PG_USER", "postgres");
    private static final String PG_PASSWORD = System.getenv().getOrDefault("MOXXIE_TEST_PG_PASSWORD", "");
    private static final String TOKEN_ID = "moxxie@pve!takeover";
    private static final String TOKEN_SECRET = UUID.randomUUID().toString();
    /** Lease of the servers: the survivor's heartbeat (a third of it) finds the dead owner's drain within lease + heartbeat. */
    private static final Duration LEASE = Duration.ofSeconds(6);
    private static final long MIB = 1L << 20;
    /** The guests of hv7 on the fake Proxmox: small, so that each move takes a second or two of real time. */
    private static final List<Integer> HV7 = List.of(701, 702, 703, 704, 705, 706, 707, 708, 709, 710);

    @TempDir
    Path work;
    final ServerProcesses servers = new ServerProcesses();
    String schema;
    ScaledScheduler pveTime;
    SimulatedCluster pve;
    SimulatedProxmoxServer pveServer;

    @BeforeEach
    void setUp() throws SQLException, IOException {
        try (Connection c = DriverManager.getConnection(PG, PG_USER, PG_PASSWORD)) {
            schema = "moxxie_takeover_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
            try (Statement s = c.createStatement()) {
                s.execute("CREATE SCHEMA " + schema);
            }
        } catch (SQLException e) {
            String message = "PostgreSQL at " + PG + " is not reachable (" + e.getMessage() + "); set MOXXIE_TEST_PG_URL";
            if ("true".equals(System.getenv("CI"))) fail(message);
            assumeTrue(false, "SKIPPED: " + message);
        }
        // In real time: the servers look at a move when they expect it to end, by their own clock.
        pveTime = ScaledScheduler.create(4, 1.0, null);
        SimulatedCluster.Builder b = SimulatedCluster.builder(pveTime).model(new MigrationModel(1.25e9, 0.6e9, Duration.ofMillis(500)));
        for (String n : List.of("hv7", "hv8", "hv9", "hv10")) b.node(n, 64 * MIB * 1024, MIB * 1024, 16);
        for (int vmid : HV7) {
            b.guest(new Guest(vmid, "guest-" + vmid, "hv7", GuestType.QEMU, PowerState.RUNNING, List.of(), 64 * MIB, 32 * MIB, false, false, null));
        }
        pve = b.build();
        SimulatedProxmoxApi api = SimulatedProxmoxApi.builder(pve).apiToken(TOKEN_ID, TOKEN_SECRET).build();
        pveServer = SimulatedProxmoxServer.start(api);
    }

    @AfterEach
    void tearDown() throws Exception {
        servers.stopAll();
        if (pveServer != null) pveServer.close();
        if (pveTime != null) pveTime.close();
        if (schema != null) {
            try (Connection c = DriverManager.getConnection(PG, PG_USER, PG_PASSWORD); Statement s = c.createStatement()) {
                s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
            }
        }
    }

    private Server startServer(String name) throws IOException, InterruptedException {
        Map<String, String> env = new HashMap<>();
        env.put("MOXXIE_PORT", "0");
        env.put("MOXXIE_DATA_DIR", work.resolve(name).toString());
        env.put("MOXXIE_JDBC_URL", PG + (PG.contains("?") ? "&" : "?") + "currentSchema=" + schema);
        env.put("MOXXIE_JDBC_USER", PG_USER);
        env.put("MOXXIE_JDBC_PASSWORD", PG_PASSWORD);
        env.put("MOXXIE_PVE_URL", pveServer.baseUrl());
        env.put("MOXXIE_PVE_TOKEN", TOKEN_ID + "=" + TOKEN_SECRET);
        env.put("MOXXIE_PVE_ALLOW_PLAIN_HTTP", "true"); // the fake Proxmox speaks plain HTTP on loopback
        env.put("MOXXIE_LEASE", Long.toString(LEASE.toSeconds()));
        // A loaded CI machine can take a minute to start a JVM.
        return servers.start(work.resolve(name + ".log"), Duration.ofSeconds(180), env);
    }

    @Test
    void whenTheOwnerOfADrainIsKilledTheOtherServerFinishesItMovingEveryGuestOnce() throws Exception {
        Server owner = startServer("owner");
        Server survivor = startServer("survivor");
        assertThat(Files.readString(owner.log())).contains("[WARN]", "MOXXIE_PVE_ALLOW_PLAIN_HTTP", "clear text");
        Api first = new Api(owner.uri());
        Api.Result started = first.post("/api/v1/nodes/hv7/drain", "{\"drainMode\": \"hard\", \"maxConcurrent\": 2}");
        assertThat(started.status()).as("%s", started).isEqualTo(202);
        String drainId = started.body().get("drainId").asText();
        first.await("/api/v1/nodes/hv7/drain/" + drainId + "/status",
                s -> s.get("completedVMs").asInt() >= 2 && s.get("vmStatus").findValuesAsText("status").contains("in_progress"),
                Duration.ofSeconds(90));

        Process kill = new ProcessBuilder("kill", "-9", Long.toString(owner.process().pid())).inheritIO().start();
        assertThat(kill.waitFor()).isZero();
        assertThat(owner.process().waitFor(10, TimeUnit.SECONDS)).isTrue();
        Instant killed = Instant.now();

        Api second = new Api(survivor.uri());
        // The survivor sees the drain as running until the lease expires; then it takes it over and finishes it.
        JsonNode done = second.awaitFinished("hv7", drainId, Duration.ofSeconds(120));
        assertThat(done.get("status").asText()).as("%s", done).isEqualTo("completed");
        assertThat(done.get("completedVMs").asInt()).isEqualTo(HV7.size());
        assertThat(done.get("failedVMs").asInt()).isZero();
        String survivorLog = Files.readString(survivor.log());
        assertThat(survivorLog).contains("Recovering drain " + drainId);
        // The takeover comes within lease + heartbeat of the kill (the owner's last renewal was at most a heartbeat
        // before it, the survivor looks every heartbeat); 10 s more for two JVMs on a busy machine.
        Instant recovered = survivorLog.lines().filter(l -> l.contains("Recovering drain " + drainId)).findFirst()
                .map(l -> logInstant(l.substring(0, l.indexOf(' ')))).orElseThrow();
        Duration heartbeat = LEASE.dividedBy(3);
        assertThat(Duration.between(killed, recovered)).as("from the kill to the takeover")
                .isLessThanOrEqualTo(LEASE.plus(heartbeat).plusSeconds(10));
        assertThat(second.get("/api/v1/vms?node=hv7").body()).isEmpty();

        Map<Integer, Long> moves = new TreeMap<>();
        for (SimulatedCluster.MigrationRecord m : pve.migrations()) {
            if (m.source().equals("hv7") && m.successful()) moves.merge(m.vmid(), 1L, Long::sum);
        }
        assertThat(moves.keySet()).containsExactlyElementsOf(HV7);
        assertThat(moves.values()).as("successful migrations off hv7 per guest: %s", moves).containsOnly(1L);
        for (JsonNode vm : done.get("vmStatus")) {
            assertThat(second.get("/api/v1/vms/" + vm.get("vmid").asInt()).body().get("node").asText()).isEqualTo(vm.get("targetNode").asText());
        }
        // A new drain of the node is no longer refused as "running".
        assertThat(second.post("/api/v1/nodes/hv7/undrain", null).status()).isEqualTo(202);
        System.out.println("takeover: " + Duration.between(killed, recovered).toMillis() + " ms after the kill, drain finished "
                + Duration.between(killed, Instant.now()).toMillis() + " ms after it (lease " + LEASE.toSeconds() + " s)");
    }

    /** A log line's time: an instant ({@code …Z}, the server's log file format) or a local date-time. */
    private static Instant logInstant(String stamp) {
        return stamp.endsWith("Z") ? Instant.parse(stamp) : LocalDateTime.parse(stamp).atZone(ZoneId.systemDefault()).toInstant();
    }
}
