package io.moxxie.store.jdbc;

import io.moxxie.core.model.Concurrency;
import io.moxxie.core.model.Operation;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.spi.DrainRecord;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.NodeMaintenance;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.spi.MaintenanceStore;
import io.moxxie.core.spi.StoreException;
import io.moxxie.core.store.MaintenanceStoreContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.tuple;

/**
 * The contract plus what only a database store has to do: the guide's SQL, the schema scripts, bad rows and bad
 * values, and a status-write measurement. One subclass per database. Each class gets a namespace of its own; each
 * test starts from empty tables.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class JdbcMaintenanceStoreTestBase extends MaintenanceStoreContract {
    /** The user guide's three queries ("Database Schema"), verbatim but for psql's closing semicolon. */
    static final String GUIDE_CURRENT_MAINTENANCE = """
            SELECT node_name, in_maintenance, reason, maintenance_started
            FROM node_maintenance
            WHERE in_maintenance = true""";
    static final String GUIDE_DRAIN_HISTORY = """
            SELECT node_name, drain_status, last_drain_id, updated_at
            FROM node_maintenance
            ORDER BY updated_at DESC
            LIMIT 10""";
    static final String GUIDE_VMS_BEFORE_DRAIN = """
            SELECT node_name, vm_list
            FROM node_maintenance
            WHERE node_name = 'hv7'
            ORDER BY updated_at DESC
            LIMIT 1""";

    protected TestDatabase db;
    private DataSource primary;
    private DataSource secondary;

    protected abstract TestDatabase openDatabase();

    @BeforeAll
    void openTheDatabase() {
        db = openDatabase();
        primary = db.dataSource();
        secondary = db.dataSource();
    }

    @AfterAll
    void closeTheDatabase() {
        if (db != null) db.close();
    }

    @Override
    protected MaintenanceStore createStore() {
        JdbcMaintenanceStore s = JdbcMaintenanceStore.builder(primary).applyMigrations(true).build();
        db.truncate();
        return s;
    }

    /** A second store on its own connection pool, as another process would have. */
    @Override
    protected MaintenanceStore anotherInstance(MaintenanceStore store) {
        return JdbcMaintenanceStore.builder(secondary).build();
    }

    JdbcMaintenanceStore jdbcStore() {
        return (JdbcMaintenanceStore) store;
    }

    // ------------------------------------------------------------------ dialect, schema

    @Test
    void theDialectIsDetectedFromTheConnection() {
        assertThat(jdbcStore().dialect()).isEqualTo(db.dialect());
    }

    @Test
    void theSchemaScriptsAreRecordedOnceAndNotAppliedAgain() {
        JdbcMaintenanceStore.builder(primary).applyMigrations(true).build();
        JdbcMaintenanceStore.builder(secondary).applyMigrations(true).build();

        List<Map<String, Object>> rows = query("SELECT version, script FROM moxxie_schema_version ORDER BY version");
        assertThat(rows).extracting(r -> r.get("script").toString()).containsExactly(
                db.dialect().migrationsLocation() + "/V1__schema.sql", db.dialect().migrationsLocation() + "/V2__rollouts.sql");
    }

    @Test
    @Timeout(120)
    void twoProcessesStartingAtOnceOnAnEmptyDatabaseBothGetTheSchemaOnce() throws Exception {
        String url = db.newNamespaceUrl();
        DataSource a = db.pool(url);
        DataSource b = db.pool(url);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<JdbcMaintenanceStore> fa = pool.submit(() -> JdbcMaintenanceStore.builder(a).applyMigrations(true).build());
            Future<JdbcMaintenanceStore> fb = pool.submit(() -> JdbcMaintenanceStore.builder(b).applyMigrations(true).build());
            JdbcMaintenanceStore sa = fa.get(90, TimeUnit.SECONDS);
            JdbcMaintenanceStore sb = fb.get(90, TimeUnit.SECONDS);

            sa.saveMaintenance(NodeMaintenance.none("hv7", T0));
            assertThat(sb.maintenance("hv7")).isPresent();
            try (Connection c = a.getConnection(); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("SELECT COUNT(*) FROM moxxie_schema_version")) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(SchemaMigrator.SCRIPTS.size());
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void withoutMigrationsAnEmptyDatabaseIsReportedWithTheWayOut() {
        DataSource empty = db.emptyDataSource();

        assertThatThrownBy(() -> JdbcMaintenanceStore.builder(empty).build())
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("node_maintenance")
                .hasMessageContaining("applyMigrations(true)")
                .hasMessageContaining(db.dialect().migrationsLocation());
    }

    @Test
    void everyDialectShipsEveryScript() {
        for (Dialect d : Dialect.values()) {
            for (String script : SchemaMigrator.SCRIPTS) {
                assertThat(getClass().getClassLoader().getResource(d.migrationsLocation() + "/" + script))
                        .as(d + " " + script).isNotNull();
            }
        }
    }

    // ------------------------------------------------------------------ the guide's SQL

    @Test
    void theGuidesThreeQueriesReturnWhatTheyPromiseAfterADrain() throws SQLException {
        // hv8: drained yesterday, maintenance over. hv7: in maintenance, drained. hv9: in maintenance, its drain failed.
        runDrain("d-8", "hv8", List.of(8100), DrainState.COMPLETED, 0);
        store.saveMaintenance(store.maintenance("hv8").orElseThrow().enabled("Kernel update", at(1)).disabled(at(50)));
        store.saveMaintenance(NodeMaintenance.none("hv7", at(60)).enabled("Security updates", at(60)));
        runDrain("d-7", "hv7", List.of(8200, 8201, 8300), DrainState.COMPLETED, 100);
        store.saveMaintenance(NodeMaintenance.none("hv9", at(150)).enabled("Hardware failure", at(150)));
        runDrain("d-9", "hv9", List.of(9100, 9101), DrainState.FAILED, 200);

        List<Map<String, Object>> current = query(GUIDE_CURRENT_MAINTENANCE);
        assertThat(current).extracting(r -> r.get("node_name"), r -> r.get("reason"), r -> r.get("maintenance_started"))
                .containsExactlyInAnyOrder(tuple("hv7", "Security updates", at(60)), tuple("hv9", "Hardware failure", at(150)));

        List<Map<String, Object>> history = query(GUIDE_DRAIN_HISTORY);
        assertThat(history).extracting(r -> r.get("node_name"), r -> r.get("drain_status"), r -> r.get("last_drain_id"))
                .containsExactly(tuple("hv9", "failed", "d-9"), tuple("hv7", "completed", "d-7"), tuple("hv8", "completed", "d-8"));
        assertThat(history.get(0).get("updated_at")).isEqualTo(at(210));

        List<Map<String, Object>> vms = query(GUIDE_VMS_BEFORE_DRAIN);
        assertThat(vms).hasSize(1);
        assertThat(vms.get(0).get("node_name")).isEqualTo("hv7");
        assertThat(vms.get(0).get("vm_list")).isEqualTo("[8200,8201,8300]");
    }

    /** What a service does for a drain, in store calls: record, move every guest, finish, note it on the node. */
    private void runDrain(String drainId, String node, List<Integer> vmids, DrainState end, long start) {
        DrainRecord d = drain(drainId, node, "svc").withOwner("svc", at(start + 30));
        d = new DrainRecord(d.drainId(), d.node(), d.operation(), d.request(), d.status(), d.message(), at(start), null,
                "svc", at(start + 30), false, null);
        store.createDrain(d, guests(drainId, node, vmids.stream().mapToInt(Integer::intValue).toArray()));
        NodeMaintenance before = store.maintenance(node).orElse(NodeMaintenance.none(node, at(start)));
        store.saveMaintenance(before.withDrain(drainId, DrainState.IN_PROGRESS, vmids, at(start)));
        int i = 0;
        for (GuestProgress g : store.guests(drainId)) {
            GuestProgress started = g.started("hv1", MigrationType.ONLINE, 1, at(start + 1));
            store.updateGuest(started, "svc");
            boolean fail = end == DrainState.FAILED && i++ == 0;
            store.updateGuest(fail ? started.failed("migration aborted", at(start + 5)) : started.completed("hv1", at(start + 5)), "svc");
        }
        store.updateDrain(d.withStatus(end, "Progress: done", at(start + 10)));
        store.saveMaintenance(store.maintenance(node).orElseThrow().withDrainStatus(end, at(start + 10)));
    }

    private List<Map<String, Object>> query(String sql) {
        List<Map<String, Object>> out = new ArrayList<>();
        try (Connection c = primary.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            int columns = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                Map<String, Object> row = new java.util.LinkedHashMap<>();
                for (int i = 1; i <= columns; i++) {
                    String name = rs.getMetaData().getColumnLabel(i).toLowerCase(java.util.Locale.ROOT);
                    Object value = name.endsWith("_started") || name.endsWith("_at")
                            ? db.dialect().getInstant(rs, rs.getMetaData().getColumnLabel(i)) : rs.getObject(i);
                    if (value instanceof Number n && name.equals("version")) value = n.intValue();
                    row.put(name, value);
                }
                out.add(row);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
        return out;
    }

    @Test
    void inMaintenanceReadsAsABooleanAndTimesAreStoredInUtc() throws SQLException {
        store.saveMaintenance(NodeMaintenance.none("hv7", at(0)).enabled("x", at(5)));

        try (Connection c = primary.getConnection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("SELECT in_maintenance, maintenance_started FROM node_maintenance")) {
            rs.next();
            assertThat(rs.getBoolean("in_maintenance")).isTrue();
            Object raw = rs.getObject("maintenance_started");
            // DATETIME on MariaDB holds the UTC wall time; the others hold an offset-aware value.
            assertThat(raw.toString()).satisfiesAnyOf(
                    t -> assertThat(t).contains("2025-01-15").contains("10:00:05"),
                    t -> assertThat(db.dialect().getInstant(rs, "maintenance_started")).isEqualTo(at(5)));
            assertThat(db.dialect().getInstant(rs, "maintenance_started")).isEqualTo(at(5));
        }
    }

    // ------------------------------------------------------------------ bad input

    @Test
    void aValueTooLongForItsColumnIsRefusedNamingTableAndColumnAndNothingWrittenIsLost() {
        NodeMaintenance saved = NodeMaintenance.none("hv7", at(0)).enabled("Security updates", at(1));
        store.saveMaintenance(saved);
        store.createDrain(drain("d-1", "hv7", "a"), guests("d-1", "hv7", 100));
        GuestProgress before = store.guests("d-1").get(0);

        assertThatThrownBy(() -> store.saveMaintenance(saved.enabled("x".repeat(1001), at(2))))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("node_maintenance.reason")
                .hasMessageContaining("1001")
                .hasMessageContaining("1000");
        assertThatThrownBy(() -> store.updateGuest(before.failed("e".repeat(5000), at(3)), "a"))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("drain_guest.error")
                .hasMessageContaining("vmid 100");
        String longNode = "n".repeat(65);
        assertThatThrownBy(() -> store.createDrain(drain("d-2", longNode, "a"), guests("d-2", longNode, 1)))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("drain.node_name");

        assertThat(store.maintenance("hv7")).contains(saved);
        assertThat(store.guests("d-1")).containsExactly(before);
        assertThat(store.drain("d-2")).isEmpty();
        assertThat(store.drains(longNode, 10)).isEmpty();
    }

    @Test
    void anUnknownStatusInAHandEditedGuestRowIsReportedWithTableColumnAndRow() {
        store.createDrain(drain("d-1", "hv7", "a"), guests("d-1", "hv7", 100, 101));
        List<GuestProgress> before = store.guests("d-1");
        db.execute("UPDATE drain_guest SET status = 'migrating' WHERE vmid = 101");

        assertThatThrownBy(() -> store.guests("d-1"))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("drain_guest")
                .hasMessageContaining("column status")
                .hasMessageContaining("vmid=101")
                .hasMessageContaining("'migrating'");

        db.execute("UPDATE drain_guest SET status = 'pending' WHERE vmid = 101");
        assertThat(store.guests("d-1")).isEqualTo(before);
    }

    /** Schema V1 keeps its two columns: rows earlier versions wrote read back the same, and they can read ours. */
    @Test
    void concurrencyIsStoredInTheColumnsEarlierVersionsWroteAndRead() {
        for (String c : List.of("serial", "4", "auto")) {
            DrainRequest request = DrainRequest.builder("hv7").concurrency(Concurrency.parse(c)).build();
            store.createDrain(new DrainRecord("d-" + c, "hv7", Operation.DRAIN, request, DrainState.COMPLETED, null, at(0), at(1),
                    "a", at(30), false, null), List.of());
        }
        assertThat(query("SELECT drain_id, run_parallel, max_concurrent FROM drain ORDER BY drain_id"))
                .extracting(r -> r.get("drain_id"), r -> List.of("true", "1").contains(String.valueOf(r.get("run_parallel"))),
                        r -> ((Number) r.get("max_concurrent")).intValue())
                .containsExactly(tuple("d-4", true, 4), tuple("d-auto", true, 0), tuple("d-serial", false, 1));

        // An earlier version wrote the guide's fields as given: parallel false with maxConcurrent 5 ran one at a time.
        db.execute("UPDATE drain SET max_concurrent = 5 WHERE drain_id = 'd-serial'");
        assertThat(store.drain("d-serial").orElseThrow().request().concurrency()).isEqualTo(Concurrency.serial());
        assertThat(store.drain("d-auto").orElseThrow().request().concurrency()).isEqualTo(Concurrency.auto());
        assertThat(store.drain("d-4").orElseThrow().request().concurrency()).isEqualTo(Concurrency.fixed(4));
    }

    @Test
    void unknownValuesInHandEditedDrainAndNodeRowsAreReportedWithTableAndColumn() {
        DrainRecord d = drain("d-1", "hv7", "a");
        store.createDrain(d, List.of());
        NodeMaintenance m = NodeMaintenance.none("hv7", at(0)).withDrain("d-1", DrainState.IN_PROGRESS, List.of(1, 2), at(1));
        store.saveMaintenance(m);

        db.execute("UPDATE drain SET operation = 'evacuate'");
        assertThatThrownBy(() -> store.drain("d-1")).isInstanceOf(StoreException.class)
                .hasMessageContaining("table drain, column operation").hasMessageContaining("drain_id=d-1")
                .hasMessageContaining("'evacuate'");
        assertThatThrownBy(() -> store.unfinishedDrains()).isInstanceOf(StoreException.class)
                .hasMessageContaining("column operation");
        db.execute("UPDATE drain SET operation = 'drain', drain_mode = 'gentle'");
        assertThatThrownBy(() -> store.drain("d-1")).isInstanceOf(StoreException.class)
                .hasMessageContaining("column drain_mode").hasMessageContaining("'gentle'");
        db.execute("UPDATE drain SET drain_mode = 'soft', max_concurrent = 65");
        assertThatThrownBy(() -> store.drain("d-1")).isInstanceOf(StoreException.class)
                .hasMessageContaining("column max_concurrent");
        db.execute("UPDATE drain SET max_concurrent = 3");
        assertThat(store.drain("d-1")).contains(d);

        db.execute("UPDATE node_maintenance SET drain_status = 'paused'");
        assertThatThrownBy(() -> store.maintenance("hv7")).isInstanceOf(StoreException.class)
                .hasMessageContaining("table node_maintenance, column drain_status").hasMessageContaining("'paused'");
        db.execute("UPDATE node_maintenance SET drain_status = 'in_progress', vm_list = '[1,two]'");
        assertThatThrownBy(() -> store.maintenanceStates()).isInstanceOf(StoreException.class)
                .hasMessageContaining("column vm_list").hasMessageContaining("[1,two]");
        db.execute("UPDATE node_maintenance SET vm_list = '[1,2]'");
        assertThat(store.maintenance("hv7")).contains(m);
    }

    // ------------------------------------------------------------------ speed

    /**
     * Measures {@code updateGuest} (the hot path: one UPDATE of one row) in writes per second, one writer and four.
     * Printed, not asserted: the figure depends on the machine. The README quotes it.
     */
    @Test
    @Timeout(180)
    void measuresStatusWritesPerSecond() throws Exception {
        int guests = 64;
        store.createDrain(drain("bench", "hv7", "a"), guests("bench", "hv7", IntStream.range(1000, 1000 + guests).toArray()));
        List<GuestProgress> all = store.guests("bench");
        for (int i = 0; i < 200; i++) store.updateGuest(all.get(i % guests).withTask("warm-" + i), "a");

        double single = writesPerSecond(1, all, 2_000);
        double four = writesPerSecond(4, all, 2_000);

        String line = String.format(java.util.Locale.ROOT, "updateGuest on %s: %.0f writes/s with 1 writer, %.0f writes/s with 4 writers",
                db.dialect(), single, four);
        System.out.println("[moxxie-bench] " + line);
        java.nio.file.Files.writeString(java.nio.file.Path.of("target", "status-writes-" + db.dialect().name().toLowerCase(java.util.Locale.ROOT) + ".txt"), line + "\n");
        assertThat(store.guests("bench")).allSatisfy(g -> assertThat(g.taskId()).startsWith("t"));
    }

    private double writesPerSecond(int threads, List<GuestProgress> all, long millis) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Long>> futures = new ArrayList<>();
            long end = System.nanoTime() + millis * 1_000_000;
            long start = System.nanoTime();
            for (int t = 0; t < threads; t++) {
                int offset = t;
                futures.add(pool.submit(() -> {
                    long n = 0;
                    while (System.nanoTime() < end) {
                        // Each writer owns its own guests, as an executor's workers do.
                        GuestProgress g = all.get((int) ((offset + n * threads) % all.size()));
                        store.updateGuest(g.withTask("t" + n).withStatus(n % 2 == 0 ? GuestState.IN_PROGRESS : GuestState.PENDING), "a");
                        n++;
                    }
                    return n;
                }));
            }
            long total = 0;
            for (Future<Long> f : futures) total += f.get(60, TimeUnit.SECONDS);
            return total / ((System.nanoTime() - start) / 1e9);
        } finally {
            pool.shutdownNow();
        }
    }
}
