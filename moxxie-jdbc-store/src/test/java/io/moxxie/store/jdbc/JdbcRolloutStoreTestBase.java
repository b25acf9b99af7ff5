package io.moxxie.store.jdbc;

import io.moxxie.core.model.GateVerdict;
import io.moxxie.core.model.NodeMaintenance;
import io.moxxie.core.model.RolloutPhase;
import io.moxxie.core.model.RolloutState;
import io.moxxie.core.plan.RolloutRequest;
import io.moxxie.core.spi.RolloutRecord;
import io.moxxie.core.spi.RolloutStep;
import io.moxxie.core.spi.RolloutStore;
import io.moxxie.core.spi.StoreException;
import io.moxxie.core.store.RolloutStoreContract;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import javax.sql.DataSource;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The rollout contract plus what only a database store has to do: the rollout tables as SQL sees them, values too
 * long, hand-edited rows, and the upgrade of a database that has schema version 1 only. One subclass per database; each
 * class gets a namespace of its own, each test starts from empty tables.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class JdbcRolloutStoreTestBase extends RolloutStoreContract {
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
    protected RolloutStore createStore() {
        JdbcMaintenanceStore s = JdbcMaintenanceStore.builder(primary).applyMigrations(true).build();
        db.truncate();
        return s;
    }

    /** A second store on its own connection pool, as another process would have. */
    @Override
    protected RolloutStore anotherInstance(RolloutStore store) {
        return JdbcMaintenanceStore.builder(secondary).build();
    }

    // ------------------------------------------------------------------ the tables as SQL sees them

    @Test
    void theRequestIsInTypedColumnsTheNodesInRowsAndTheGatesOneALine() throws SQLException {
        RolloutRequest request = RolloutRequest.builder().nodes("hv,7", "hv8").cephAllowedWarnings(Set.of("POOL_NO_REDUNDANCY",
                "PG_NOT_DEEP_SCRUBBED")).gateTimeout(Duration.ofMinutes(5)).settleTime(Duration.ofSeconds(90)).build();
        store.createRollout(new RolloutRecord("r-1", request, RolloutState.RUNNING, "", at(0), null, "a", at(30), false, false, null),
                List.of(RolloutStep.pending("r-1", 0, "hv,7").withGates(List.of(GateVerdict.pass("quorum", "4 of 4 votes"),
                        GateVerdict.block("ceph", "HEALTH_WARN\nOSD_DOWN\t1 osd down \\o/")))));

        assertThat(query("SELECT node_name FROM rollout_node WHERE rollout_id = 'r-1' ORDER BY seq_no"))
                .containsExactly(List.of("hv,7"), List.of("hv8"));
        assertThat(query("SELECT drain_mode, action_name, ceph_allowed_warnings, gate_timeout_ms, settle_time_ms, max_nodes_down,"
                + " state FROM rollout")).singleElement().satisfies(r -> {
                    assertThat(r.subList(0, 3)).containsExactly("soft", "continue", "PG_NOT_DEEP_SCRUBBED,POOL_NO_REDUNDANCY");
                    assertThat(r.subList(3, 6)).extracting(v -> ((Number) v).longValue()).containsExactly(300_000L, 90_000L, 1L);
                    assertThat(r.get(6)).isEqualTo("running");
                });
        assertThat(query("SELECT phase, state, gates FROM rollout_step")).containsExactly(List.of("pending", "pending",
                "quorum\tpass\t4 of 4 votes\nceph\tblock\tHEALTH_WARN\\nOSD_DOWN\\t1 osd down \\\\o/"));
    }

    @Test
    void aValueTooLongForItsColumnIsRefusedNamingTableAndColumnAndNothingIsWritten() {
        RolloutRecord r = created("r-1", "a");
        List<RolloutStep> before = store.steps("r-1");

        assertThatThrownBy(() -> store.updateRollout(r.withState(RolloutState.FAILED, "m".repeat(4001), at(1))))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("rollout.message").hasMessageContaining("4001").hasMessageContaining("4000");
        assertThatThrownBy(() -> store.updateStep(before.get(0).withAction(1, "o".repeat(16_001)), "a"))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("rollout_step.action_output").hasMessageContaining("step 0");
        assertThatThrownBy(() -> store.updateStep(before.get(1).withGates(List.of(GateVerdict.block("ceph", "\n".repeat(8_000)))), "a"))
                .as("the escaped length counts").isInstanceOf(StoreException.class).hasMessageContaining("rollout_step.gates");
        String longNode = "n".repeat(65);
        assertThatThrownBy(() -> store.createRollout(rollout("r-2", "a", "hv7", longNode), pending("r-2", "hv7", longNode)))
                .isInstanceOf(StoreException.class)
                .hasMessageContaining("rollout_node.node_name");

        RolloutRequest subMillisecond = RolloutRequest.builder().nodes("hv7").settleTime(Duration.ofNanos(500_000)).build();
        assertThatThrownBy(() -> store.createRollout(new RolloutRecord("r-2", subMillisecond, RolloutState.RUNNING, "", at(0), null,
                "a", at(30), false, false, null), List.of()))
                .as("0.5 ms would read back as 0").isInstanceOf(StoreException.class).hasMessageContaining("rollout.settle_time_ms");

        assertThat(store.rollout("r-1")).contains(r);
        assertThat(store.steps("r-1")).isEqualTo(before);
        assertThat(store.rollout("r-2")).isEmpty();
        assertThat(store.steps("r-2")).isEmpty();
    }

    @Test
    void unknownValuesInHandEditedRowsAreReportedWithTableColumnAndRow() {
        RolloutRecord r = created("r-1", "a");
        RolloutStep step = RolloutStep.pending("r-1", 1, "hv8").enter(RolloutPhase.GATES, at(1), "")
                .withGates(List.of(GateVerdict.pass("quorum", "ok")));
        store.updateStep(step, "a");

        db.execute("UPDATE rollout SET state = 'sleeping'");
        assertThatThrownBy(() -> store.rollout("r-1")).isInstanceOf(StoreException.class)
                .hasMessageContaining("table rollout, column state").hasMessageContaining("rollout_id=r-1")
                .hasMessageContaining("'sleeping'");
        db.execute("UPDATE rollout SET state = 'running', action_name = 'Reboot!'");
        assertThatThrownBy(() -> store.unfinishedRollouts()).isInstanceOf(StoreException.class)
                .hasMessageContaining("table rollout, column action_name").hasMessageContaining("Reboot!");
        db.execute("UPDATE rollout SET action_name = 'continue', settle_time_ms = -1");
        assertThatThrownBy(() -> store.rollouts(5)).isInstanceOf(StoreException.class)
                .hasMessageContaining("column settle_time_ms");
        db.execute("UPDATE rollout SET settle_time_ms = 120000");
        db.execute("UPDATE rollout_node SET node_name = 'hv 8' WHERE seq_no = 1");
        assertThatThrownBy(() -> store.rollout("r-1")).isInstanceOf(StoreException.class)
                .hasMessageContaining("table rollout_node, column node_name").hasMessageContaining("'hv 8'");
        db.execute("UPDATE rollout_node SET node_name = 'hv8' WHERE seq_no = 1");
        assertThat(store.rollout("r-1")).contains(r);

        db.execute("UPDATE rollout_step SET phase = 'rebooting' WHERE idx = 1");
        assertThatThrownBy(() -> store.steps("r-1")).isInstanceOf(StoreException.class)
                .hasMessageContaining("table rollout_step, column phase").hasMessageContaining("rollout_id=r-1, idx=1")
                .hasMessageContaining("'rebooting'");
        db.execute("UPDATE rollout_step SET phase = 'gates', gates = 'quorum pass ok' WHERE idx = 1");
        assertThatThrownBy(() -> store.steps("r-1")).isInstanceOf(StoreException.class)
                .hasMessageContaining("table rollout_step, column gates").hasMessageContaining("'quorum pass ok'");
        db.execute("UPDATE rollout_step SET gates = 'quorum\tpass\tok' WHERE idx = 1");
        assertThat(store.steps("r-1").get(1)).isEqualTo(step);
    }

    // ------------------------------------------------------------------ schema version 2

    /** An installation from before rollouts: its drains stay, the rollout tables come with the next start. */
    @Test
    void aDatabaseWithSchemaVersion1OnlyGetsTheRolloutTablesAndKeepsItsData() throws SQLException {
        DataSource old = db.pool(db.newNamespaceUrl());
        JdbcMaintenanceStore.builder(old).applyMigrations(true).build()
                .saveMaintenance(NodeMaintenance.none("hv7", at(0)).enabled("Security updates", at(1)));
        try (Connection c = old.getConnection(); Statement s = c.createStatement()) {
            for (String sql : List.of("DROP TABLE rollout_step", "DROP TABLE rollout_node", "DROP TABLE rollout",
                    "DELETE FROM moxxie_schema_version WHERE version = 2")) {
                s.execute(sql);
            }
        }

        assertThatThrownBy(() -> JdbcMaintenanceStore.builder(old).build()).isInstanceOf(StoreException.class)
                .hasMessageContaining("Table rollout").hasMessageContaining("applyMigrations(true)");
        JdbcMaintenanceStore upgraded = JdbcMaintenanceStore.builder(old).applyMigrations(true).build();

        assertThat(upgraded.maintenance("hv7").orElseThrow().reason()).isEqualTo("Security updates");
        RolloutRecord r = rollout("r-1", "a", "hv7");
        upgraded.createRollout(r, pending("r-1", "hv7"));
        assertThat(upgraded.rollout("r-1")).contains(r);
    }

    private List<List<Object>> query(String sql) {
        List<List<Object>> out = new ArrayList<>();
        try (Connection c = primary.getConnection(); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            int columns = rs.getMetaData().getColumnCount();
            while (rs.next()) {
                List<Object> row = new ArrayList<>();
                for (int i = 1; i <= columns; i++) row.add(rs.getObject(i));
                out.add(row);
            }
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
        return out;
    }
}
