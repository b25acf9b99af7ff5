package io.moxxie.store.jdbc;

import io.moxxie.core.Checks;
import io.moxxie.core.DrainConflictException;
import io.moxxie.core.spi.DrainRecord;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.Operation;
import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.NodeMaintenance;
import io.moxxie.core.ValidationException;
import io.moxxie.core.model.Concurrency;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.model.GateVerdict;
import io.moxxie.core.model.RolloutPhase;
import io.moxxie.core.model.RolloutState;
import io.moxxie.core.plan.RolloutRequest;
import io.moxxie.core.spi.MaintenanceStore;
import io.moxxie.core.spi.RolloutRecord;
import io.moxxie.core.spi.RolloutStep;
import io.moxxie.core.spi.RolloutStore;
import io.moxxie.core.spi.StoreException;
import io.moxxie.core.spi.StoreUnavailableException;
import io.moxxie.store.jdbc.internal.Columns;
import io.moxxie.store.jdbc.internal.DriverManagerDataSource;
import io.moxxie.store.jdbc.internal.Redaction;
import org.h2.jdbcx.JdbcConnectionPool;
import org.jdbi.v3.core.ConnectionException;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.HandleCallback;
import org.jdbi.v3.core.Jdbi;
import org.jdbi.v3.core.JdbiException;
import org.jdbi.v3.core.argument.Argument;
import org.jdbi.v3.core.statement.PreparedBatch;
import org.jdbi.v3.core.statement.SqlStatement;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.sql.DataSource;
import java.lang.reflect.Method;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * The {@link MaintenanceStore} and {@link RolloutStore} on a relational database, through Jdbi: H2 (the embedded
 * default, a file database), PostgreSQL 13+ and MariaDB 10.6+ / MySQL 8.0.16+.
 *
 * <pre>{@code
 * MaintenanceStore store = JdbcMaintenanceStore.builder(dataSource)   // a pooled DataSource, e.g. HikariCP
 *         .applyMigrations(true)
 *         .build();
 * }</pre>
 *
 * <h2>How it works</h2>
 * <ul>
 *   <li>Tables {@code node_maintenance} (the user guide's), {@code drain} and {@code drain_guest}, and for rollouts
 *       {@code rollout}, {@code rollout_node} and {@code rollout_step}; DDL in
 *       {@code db/moxxie/<dialect>/V<n>__*.sql} inside this jar, applied on {@link Builder#build()} when
 *       {@link Builder#applyMigrations(boolean)} asks for it and recorded in {@code moxxie_schema_version}.</li>
 *   <li>One unfinished drain per node: {@code drain.active_node} holds the node while the drain is in progress and is
 *       {@code NULL} after; its unique constraint makes a concurrent {@link #createDrain} of the same node fail in
 *       the database, whichever process it comes from.</li>
 *   <li>Ownership: {@code owner_id} and {@code lease_expires_at}. {@link #updateDrain} and {@link #renewLease} are
 *       conditional {@code UPDATE}s on the owner; {@link #takeOver} is one {@code UPDATE} conditional on the lease
 *       having expired (or the caller owning it), which the database evaluates on the row as it is when it locks it,
 *       then the row read back in the same transaction: of two racing callers one updates the row and the other none.
 *       Every change of a drain row still bumps its {@code version}, which earlier versions of this store compare in
 *       their takeover (they may share the database during a rolling upgrade).</li>
 *   <li>{@link #updateGuest} is one {@code UPDATE} of one {@code drain_guest} row.</li>
 *   <li>Rollouts are owned the same way, without a version: {@link #updateRollout}, {@link #updateStep} and
 *       {@link #renewRolloutLease} are {@code UPDATE}s conditional on the owner, and {@link #takeOverRollout} is
 *       {@link #takeOver}'s {@code UPDATE} on the rollout row. The operator's requests (pause, cancel, continue) are
 *       columns only the {@code requestRollout*} methods write.</li>
 *   <li>A rollout's nodes are rows of {@code rollout_node} (so that any node name, commas included, reads back as
 *       written); a step's gate verdicts are one text column, a verdict a line, {@code gate TAB pass|block TAB
 *       reason}, with backslash, newline, carriage return, tab and NUL escaped as {@code \\ \n \r \t \0}:
 *       one column keeps {@link #updateStep} a single fenced statement.</li>
 *   <li>Times are stored in UTC, truncated to microseconds (the precision all three databases keep).</li>
 *   <li>Text longer than its column is refused before anything is written, with a {@link StoreException} naming the
 *       table and column; a row the store cannot read (say an unknown status typed in by hand) gives one naming the
 *       table, column and row; an unreachable database one naming the URL, password masked.</li>
 * </ul>
 *
 * <p>Thread-safe. Every method takes a connection from the DataSource for its duration and gives it back.
 * {@link #close()} closes the connection pool only if the store created it (built from a URL).
 */
public final class JdbcMaintenanceStore implements MaintenanceStore, RolloutStore, AutoCloseable {
    /** Migrations are applied only when asked for: many teams run their own migration tool. */
    public static final boolean DEFAULT_APPLY_MIGRATIONS = false;
    /** How long {@link Builder#build()} waits for another process that is migrating the same database. */
    public static final Duration DEFAULT_MIGRATION_LOCK_TIMEOUT = Duration.ofSeconds(60);

    private static final Logger LOG = LoggerFactory.getLogger(JdbcMaintenanceStore.class);
    private static final String IN_PROGRESS = DrainState.IN_PROGRESS.wireName();
    /** A takeover's condition: the lease expired before {@code :now}, or there is none, or {@code :owner} holds it already. */
    private static final String LEASE_EXPIRED_OR_OWNED = "(lease_expires_at IS NULL OR lease_expires_at < :now OR owner_id = :owner)";
    /**
     * A drain's {@link Concurrency} is stored in the two columns of schema V1, unchanged, so that rows written by
     * earlier versions read back the same and instances of both versions can share a database during a rolling
     * upgrade: {@code run_parallel = false} is serial (whatever {@code max_concurrent} says; this version writes 1),
     * otherwise {@code max_concurrent} is the fixed limit, 1 to 64, or {@value #AUTO_CONCURRENCY} for auto.
     */
    private static final int AUTO_CONCURRENCY = 0;

    private static final String DRAIN_COLUMNS = "drain_id, node_name, operation, status, message, drain_mode, run_parallel,"
            + " max_concurrent, allow_offline, target_node, force_drain, dry_run, undrain_of, started_at, completed_at,"
            + " owner_id, lease_expires_at, cancel_requested";
    private static final String GUEST_COLUMNS = "drain_id, vmid, seq_no, guest_name, guest_type, source_node, target_node,"
            + " migration_type, status, always_on, ha_managed, was_running, memory_bytes, attempts, task_id, error, note,"
            + " started_at, completed_at";
    private static final String GUEST_VALUES = ":drainId, :vmid, :seqNo, :name, :type, :sourceNode, :targetNode,"
            + " :migrationType, :status, :alwaysOn, :haManaged, :wasRunning, :memory, :attempts, :taskId, :error, :note,"
            + " :startedAt, :completedAt";
    private static final String UPDATE_GUEST = "UPDATE drain_guest SET guest_name = :name, guest_type = :type,"
            + " source_node = :sourceNode, target_node = :targetNode, migration_type = :migrationType, status = :status,"
            + " always_on = :alwaysOn, ha_managed = :haManaged, was_running = :wasRunning, memory_bytes = :memory,"
            + " attempts = :attempts, task_id = :taskId, error = :error, note = :note, started_at = :startedAt,"
            + " completed_at = :completedAt WHERE drain_id = :drainId AND vmid = :vmid"
            + " AND EXISTS (SELECT 1 FROM drain d WHERE d.drain_id = :drainId AND d.owner_id = :owner)";
    private static final String UPDATE_DRAIN = "UPDATE drain SET status = :status, message = :message,"
            + " completed_at = :completedAt, cancel_requested = (cancel_requested OR :cancel),"
            + " active_node = CASE WHEN :inProgress THEN node_name ELSE NULL END, version = version + 1"
            + " WHERE drain_id = :drainId AND ";
    private static final String ROLLOUT_COLUMNS = "rollout_id, state, message, drain_mode, run_parallel, max_concurrent,"
            + " allow_offline, force_drain, action_name, before_drain, after_undrain, ceph_allowed_warnings, ceph_noout,"
            + " gate_timeout_ms, action_timeout_ms, node_back_timeout_ms, settle_time_ms, max_nodes_down, continue_on_failure,"
            + " dry_run, created_at, completed_at, owner_id, lease_expires_at, pause_requested, cancel_requested, continue_node";
    private static final String ROLLOUT_VALUES = ":rolloutId, :state, :message, :mode, :parallel, :maxConcurrent,"
            + " :allowOffline, :force, :action, :beforeDrain, :afterUndrain, :cephAllowedWarnings, :cephNoout,"
            + " :gateTimeout, :actionTimeout, :nodeBackTimeout, :settleTime, :maxNodesDown, :continueOnFailure,"
            + " :dryRun, :createdAt, :completedAt, :owner, :lease, :pause, :cancel, :continueNode";
    private static final String STEP_COLUMNS = "rollout_id, idx, node_name, phase, state, started_at, phase_started_at,"
            + " ended_at, drain_id, undrain_id, gates, action_exit, action_output, message, back_since";
    private static final String STEP_VALUES = ":rolloutId, :index, :node, :phase, :state, :startedAt, :phaseStartedAt,"
            + " :endedAt, :drainId, :undrainId, :gates, :actionExit, :actionOutput, :message, :backSince";
    /** Completed by the owner condition on {@code r.owner_id} and a closing parenthesis. */
    private static final String UPDATE_STEP = "UPDATE rollout_step SET node_name = :node, phase = :phase, state = :state,"
            + " started_at = :startedAt, phase_started_at = :phaseStartedAt, ended_at = :endedAt, drain_id = :drainId,"
            + " undrain_id = :undrainId, gates = :gates, action_exit = :actionExit, action_output = :actionOutput,"
            + " message = :message, back_since = :backSince WHERE rollout_id = :rolloutId AND idx = :index"
            + " AND EXISTS (SELECT 1 FROM rollout r WHERE r.rollout_id = :rolloutId AND ";
    /** A rollout that has not ended, in SQL: its state is none of those {@link RolloutState#ended()} names. */
    private static final String ROLLOUT_NOT_ENDED = "state NOT IN (" + Arrays.stream(RolloutState.values())
            .filter(RolloutState::ended).map(s -> "'" + s.wireName() + "'").collect(Collectors.joining(", ")) + ")";
    /** Rollout ids per {@code IN (…)} when reading the nodes of listed rollouts: far below every driver's limit. */
    private static final int IN_LIST_CHUNK = 500;

    private final Jdbi jdbi;
    private final Dialect dialect;
    private final String location;
    private final String password;
    private final AutoCloseable ownedPool;

    private JdbcMaintenanceStore(Jdbi jdbi, Dialect dialect, String location, String password, AutoCloseable ownedPool) {
        this.jdbi = jdbi;
        this.dialect = dialect;
        this.location = location;
        this.password = password;
        this.ownedPool = ownedPool;
    }

    /** A store on {@code dataSource} (use a pooled one: every store call takes a connection). */
    public static Builder builder(DataSource dataSource) {
        Checks.notNull("dataSource", dataSource);
        return new Builder(dataSource, null, null, null);
    }

    /**
     * A store on a JDBC URL, e.g. {@code jdbc:h2:file:/var/lib/moxxie/store} (the embedded default) or
     * {@code jdbc:postgresql://db:5432/moxxie}. For H2 the store keeps a small connection pool of its own, closed by
     * {@link #close()}; for other databases it opens a connection per call, so pass a pooled {@link DataSource}
     * to {@link #builder(DataSource)} in production.
     *
     * @param user     may be {@code null} when the URL carries it
     * @param password may be {@code null}; never appears in a message
     */
    public static Builder builder(String url, String user, String password) {
        if (url == null || url.isBlank()) throw new ValidationException("url", url, "url cannot be null or empty");
        return new Builder(null, url, user, password);
    }

    /** The database this store runs on. */
    public Dialect dialect() {
        return dialect;
    }

    /** The database's URL with any password masked, as it appears in messages. */
    public String location() {
        return location;
    }

    /** Closes the connection pool if this store created it; a DataSource passed in is left to its owner. */
    @Override
    public void close() {
        if (ownedPool != null) {
            try {
                ownedPool.close();
            } catch (Exception e) {
                LOG.warn("Closing the connection pool of {} failed", location, e);
            }
        }
    }

    @Override
    public String toString() {
        return "JdbcMaintenanceStore[" + dialect + ", " + location + "]";
    }

    // ---------------------------------------------------------------- node_maintenance

    @Override
    public Optional<NodeMaintenance> maintenance(String node) {
        Checks.notNull("node", node);
        return call("read node_maintenance for node " + node, h -> h.createQuery(
                        "SELECT * FROM node_maintenance WHERE node_name = :node")
                .bind("node", node).map((rs, ctx) -> maintenanceRow(rs)).findOne());
    }

    @Override
    public List<NodeMaintenance> maintenanceStates() {
        List<NodeMaintenance> all = call("read node_maintenance", h -> h.createQuery(
                "SELECT * FROM node_maintenance ORDER BY node_name").map((rs, ctx) -> maintenanceRow(rs)).list());
        // Java's order, not the database collation's, so that every backend lists alike.
        List<NodeMaintenance> sorted = new ArrayList<>(all);
        sorted.sort(Comparator.comparing(NodeMaintenance::node));
        return List.copyOf(sorted);
    }

    @Override
    public void saveMaintenance(NodeMaintenance state) {
        Checks.notNull("state", state);
        String row = "node " + state.node();
        Columns.fit("node_maintenance", "node_name", Columns.NODE_NAME, state.node(), row);
        Columns.fit("node_maintenance", "reason", Columns.REASON, state.reason(), row);
        Columns.fit("node_maintenance", "last_drain_id", Columns.DRAIN_ID, state.lastDrainId(), row);
        String vmList = encodeVmList(state.vmList());
        Columns.fit("node_maintenance", "vm_list", Columns.VM_LIST, vmList, row);
        call("write node_maintenance for node " + state.node(), h -> h.createUpdate(dialect.upsertMaintenanceSql())
                .bind("node", state.node())
                .bind("inMaintenance", state.inMaintenance())
                .bind("reason", state.reason())
                .bind("started", instant(state.maintenanceStarted()))
                .bind("ended", instant(state.maintenanceEnded()))
                .bind("drainStatus", state.drainStatus() == null ? null : state.drainStatus().wireName())
                .bind("lastDrainId", state.lastDrainId())
                .bind("vmList", vmList)
                .bind("updatedAt", instant(state.updatedAt()))
                .execute());
    }

    /** One {@code UPDATE} of the maintenance columns; an {@code INSERT} when the node has no record yet. */
    @Override
    public void saveMaintenanceMode(String node, boolean inMaintenance, String reason, Instant started, Instant ended, Instant at) {
        Checks.notNull("node", node);
        Checks.notNull("at", at);
        String row = "node " + node;
        Columns.fit("node_maintenance", "node_name", Columns.NODE_NAME, node, row);
        Columns.fit("node_maintenance", "reason", Columns.REASON, reason, row);
        updateOrInsertMaintenance("write the maintenance mode of node " + node,
                h -> h.createUpdate("UPDATE node_maintenance SET in_maintenance = :inMaintenance, reason = :reason,"
                                + " maintenance_started = :started, maintenance_ended = :ended, updated_at = :updatedAt WHERE node_name = :node")
                        .bind("node", node).bind("inMaintenance", inMaintenance).bind("reason", reason)
                        .bind("started", instant(started)).bind("ended", instant(ended)).bind("updatedAt", instant(at)).execute(),
                new NodeMaintenance(node, inMaintenance, reason, started, ended, null, null, List.of(), at));
    }

    /** One {@code UPDATE} of the drain columns; an {@code INSERT} when the node has no record yet. */
    @Override
    public void recordDrainStarted(String node, String drainId, List<Integer> vmList, Instant at) {
        Checks.notNull("node", node);
        Checks.notNull("drainId", drainId);
        String row = "node " + node;
        Columns.fit("node_maintenance", "last_drain_id", Columns.DRAIN_ID, drainId, row);
        String encoded = vmList == null ? null : encodeVmList(vmList);
        if (encoded != null) Columns.fit("node_maintenance", "vm_list", Columns.VM_LIST, encoded, row);
        String sql = "UPDATE node_maintenance SET last_drain_id = :drainId, drain_status = :status, updated_at = :updatedAt"
                + (encoded != null ? ", vm_list = :vmList" : "") + " WHERE node_name = :node";
        updateOrInsertMaintenance("record drain " + drainId + " on node " + node, h -> {
                    var u = h.createUpdate(sql).bind("node", node).bind("drainId", drainId)
                            .bind("status", DrainState.IN_PROGRESS.wireName()).bind("updatedAt", instant(at));
                    return (encoded != null ? u.bind("vmList", encoded) : u).execute();
                },
                new NodeMaintenance(node, false, null, null, null, DrainState.IN_PROGRESS, drainId, vmList == null ? List.of() : vmList, at));
    }

    /** One conditional {@code UPDATE}: only while {@code drainId} is the node's last drain. */
    @Override
    public void recordDrainFinished(String node, String drainId, DrainState state, Instant at) {
        Checks.notNull("node", node);
        Checks.notNull("drainId", drainId);
        Checks.notNull("state", state);
        call("record the end of drain " + drainId + " on node " + node, h -> h.createUpdate("UPDATE node_maintenance"
                        + " SET drain_status = :status, updated_at = :updatedAt WHERE node_name = :node AND last_drain_id = :drainId")
                .bind("status", state.wireName()).bind("updatedAt", instant(at)).bind("node", node).bind("drainId", drainId).execute());
    }

    /** Runs {@code update}; when it changed no row, inserts {@code initial} (and updates again if another process inserted first). */
    private void updateOrInsertMaintenance(String what, org.jdbi.v3.core.HandleCallback<Integer, RuntimeException> update,
                                           NodeMaintenance initial) {
        if (call(what, update) == 1) return;
        try {
            jdbi.useHandle(h -> h.createUpdate("INSERT INTO node_maintenance (node_name, in_maintenance, reason, maintenance_started,"
                            + " maintenance_ended, drain_status, last_drain_id, vm_list, updated_at)"
                            + " VALUES (:node, :inMaintenance, :reason, :started, :ended, :drainStatus, :lastDrainId, :vmList, :updatedAt)")
                    .bind("node", initial.node()).bind("inMaintenance", initial.inMaintenance()).bind("reason", initial.reason())
                    .bind("started", instant(initial.maintenanceStarted())).bind("ended", instant(initial.maintenanceEnded()))
                    .bind("drainStatus", initial.drainStatus() == null ? null : initial.drainStatus().wireName())
                    .bind("lastDrainId", initial.lastDrainId()).bind("vmList", encodeVmList(initial.vmList()))
                    .bind("updatedAt", instant(initial.updatedAt())).execute());
        } catch (JdbiException e) {
            if (!isUniqueViolation(e)) throw translate(what, e);
            call(what, update);
        }
    }

    // ---------------------------------------------------------------- drains

    @Override
    public void createDrain(DrainRecord drain, List<GuestProgress> guests) {
        Checks.notNull("drain", drain);
        Checks.notNull("guests", guests);
        checkDrainFits(drain);
        Set<Integer> vmids = new HashSet<>();
        for (GuestProgress g : guests) {
            if (!g.drainId().equals(drain.drainId())) {
                throw new IllegalArgumentException("guest " + g.vmid() + " belongs to drain " + g.drainId() + ", not " + drain.drainId());
            }
            if (!vmids.add(g.vmid())) throw new IllegalArgumentException("vmid " + g.vmid() + " appears twice in drain " + drain.drainId());
            checkGuestFits(g);
        }
        String what = "insert into drain and drain_guest (drain " + drain.drainId() + ", node " + drain.node() + ")";
        for (int attempt = 1; ; attempt++) {
            try {
                jdbi.useTransaction(h -> {
                    insertDrain(h, drain);
                    PreparedBatch batch = h.prepareBatch("INSERT INTO drain_guest (" + GUEST_COLUMNS + ") VALUES (" + GUEST_VALUES + ")");
                    int seq = 0;
                    for (GuestProgress g : guests) {
                        bindGuest(batch, g).bind("seqNo", seq++).add();
                    }
                    if (seq > 0) batch.execute();
                });
                return;
            } catch (JdbiException e) {
                if (!isUniqueViolation(e)) throw translate(what, e);
                if (drain(drain.drainId()).isPresent()) {
                    throw new IllegalArgumentException("drainId " + drain.drainId() + " exists already");
                }
                Optional<String> active = call("read drain", h -> h.createQuery(
                                "SELECT drain_id FROM drain WHERE active_node = :node")
                        .bind("node", drain.node()).mapTo(String.class).findOne());
                if (active.isPresent()) throw new DrainConflictException(drain.node(), active.get());
                // The drain that was in the way finished meanwhile: try again.
                if (attempt >= 3) throw translate(what, e);
            }
        }
    }

    private void insertDrain(Handle h, DrainRecord d) {
        DrainRequest r = d.request();
        boolean inProgress = d.status() == DrainState.IN_PROGRESS;
        h.createUpdate("INSERT INTO drain (drain_id, node_name, operation, status, active_node, message, drain_mode,"
                        + " run_parallel, max_concurrent, allow_offline, target_node, force_drain, dry_run, undrain_of, started_at,"
                        + " completed_at, owner_id, lease_expires_at, cancel_requested, version)"
                        + " VALUES (:drainId, :node, :operation, :status, :activeNode, :message, :mode, :parallel, :maxConcurrent,"
                        + " :allowOffline, :targetNode, :force, :dryRun, :undrainOf, :startedAt, :completedAt, :owner, :lease,"
                        + " :cancel, 0)")
                .bind("drainId", d.drainId())
                .bind("node", d.node())
                .bind("operation", d.operation().wireName())
                .bind("status", d.status().wireName())
                .bind("activeNode", inProgress ? d.node() : null)
                .bind("message", d.message())
                .bind("mode", r.mode().wireName())
                .bind("parallel", r.concurrency().kind() != Concurrency.Kind.SERIAL)
                .bind("maxConcurrent", r.concurrency().resolve(AUTO_CONCURRENCY))
                .bind("allowOffline", r.allowOffline())
                .bind("targetNode", r.targetNode().orElse(null))
                .bind("force", r.force())
                .bind("dryRun", r.dryRun())
                .bind("undrainOf", d.undrainOf())
                .bind("startedAt", instant(d.startedAt()))
                .bind("completedAt", instant(d.completedAt()))
                .bind("owner", d.owner())
                .bind("lease", instant(d.leaseExpiresAt()))
                .bind("cancel", d.cancelRequested())
                .execute();
    }

    @Override
    public boolean updateDrain(DrainRecord drain) {
        Checks.notNull("drain", drain);
        String row = "drain " + drain.drainId();
        Columns.fit("drain", "message", Columns.MESSAGE, drain.message(), row);
        String what = "update drain " + drain.drainId();
        try {
            return jdbi.withHandle(h -> bindOwner(h.createUpdate(UPDATE_DRAIN + (drain.owner() == null ? "owner_id IS NULL" : "owner_id = :owner")), drain.owner())
                    .bind("status", drain.status().wireName())
                    .bind("message", drain.message())
                    .bind("completedAt", instant(drain.completedAt()))
                    .bind("cancel", drain.cancelRequested())
                    .bind("inProgress", drain.status() == DrainState.IN_PROGRESS)
                    .bind("drainId", drain.drainId())
                    .execute()) == 1;
        } catch (JdbiException e) {
            if (isUniqueViolation(e)) {
                // Put back in progress while another drain of the node runs.
                String active = call("read drain", h -> h.createQuery("SELECT drain_id FROM drain WHERE active_node = :node")
                        .bind("node", drain.node()).mapTo(String.class).findOne()).orElse("?");
                throw new DrainConflictException(drain.node(), active);
            }
            throw translate(what, e);
        }
    }

    private static <S extends SqlStatement<S>> S bindOwner(S statement, String owner) {
        return owner == null ? statement : statement.bind("owner", owner);
    }

    @Override
    public boolean updateGuest(GuestProgress guest, String owner) {
        Checks.notNull("guest", guest);
        Checks.notNull("owner", owner);
        checkGuestFits(guest);
        String what = "update drain_guest (drain " + guest.drainId() + ", vmid " + guest.vmid() + ")";
        int updated = call(what, h -> bindGuest(h.createUpdate(UPDATE_GUEST), guest).bind("owner", owner).execute());
        if (updated == 1) return true;
        // Nothing changed: the drain is another process's now, or this guest has no row yet (rare; not the hot path).
        Optional<String> drainOwner = call("read drain " + guest.drainId(), h -> h.createQuery(
                        "SELECT COALESCE(owner_id, '') FROM drain WHERE drain_id = :drainId")
                .bind("drainId", guest.drainId()).mapTo(String.class).findOne());
        if (drainOwner.isEmpty()) throw new IllegalArgumentException("no drain " + guest.drainId());
        if (!drainOwner.get().equals(owner)) return false;
        // A guest the drain did not start with: append it (rare; not the hot path).
        for (int attempt = 1; ; attempt++) {
            try {
                jdbi.useTransaction(h -> {
                    Optional<Integer> next = h.createQuery("SELECT (SELECT COALESCE(MAX(seq_no), -1) + 1 FROM drain_guest"
                                    + " WHERE drain_id = :drainId) FROM drain WHERE drain_id = :drainId")
                            .bind("drainId", guest.drainId()).mapTo(Integer.class).findOne();
                    if (next.isEmpty()) throw new IllegalArgumentException("no drain " + guest.drainId());
                    bindGuest(h.createUpdate("INSERT INTO drain_guest (" + GUEST_COLUMNS + ") VALUES (" + GUEST_VALUES + ")"), guest)
                            .bind("seqNo", next.get()).execute();
                });
                return true;
            } catch (JdbiException e) {
                if (!isUniqueViolation(e) || attempt >= 3) throw translate(what, e);
                // Someone inserted the same guest meanwhile: an update does it now.
                if (call(what, h -> bindGuest(h.createUpdate(UPDATE_GUEST), guest).bind("owner", owner).execute()) == 1) return true;
            }
        }
    }

    private <S extends SqlStatement<S>> S bindGuest(S s, GuestProgress g) {
        return s.bind("drainId", g.drainId())
                .bind("vmid", g.vmid())
                .bind("name", g.name())
                .bind("type", g.type().wireName())
                .bind("sourceNode", g.sourceNode())
                .bind("targetNode", g.targetNode())
                .bind("migrationType", g.migrationType() == null ? null : g.migrationType().wireName())
                .bind("status", g.status().wireName())
                .bind("alwaysOn", g.alwaysOn())
                .bind("haManaged", g.haManaged())
                .bind("wasRunning", g.wasRunning())
                .bind("memory", g.memory())
                .bind("attempts", g.attempts())
                .bind("taskId", g.taskId())
                .bind("error", g.error())
                .bind("note", g.note())
                .bind("startedAt", instant(g.startedAt()))
                .bind("completedAt", instant(g.completedAt()));
    }

    @Override
    public Optional<DrainRecord> drain(String drainId) {
        Checks.notNull("drainId", drainId);
        return call("read drain " + drainId, h -> readDrain(h, drainId));
    }

    private Optional<DrainRecord> readDrain(Handle h, String drainId) {
        return h.createQuery("SELECT " + DRAIN_COLUMNS + " FROM drain WHERE drain_id = :drainId")
                .bind("drainId", drainId).map((rs, ctx) -> drainRow(rs)).findOne();
    }

    @Override
    public List<GuestProgress> guests(String drainId) {
        Checks.notNull("drainId", drainId);
        return call("read drain_guest of drain " + drainId, h -> h.createQuery(
                        "SELECT " + GUEST_COLUMNS + " FROM drain_guest WHERE drain_id = :drainId ORDER BY seq_no")
                .bind("drainId", drainId).map((rs, ctx) -> guestRow(rs)).list());
    }

    @Override
    public List<DrainRecord> drains(String node, int limit) {
        Checks.notNull("node", node);
        if (limit < 0) throw new IllegalArgumentException("limit must be >= 0, was " + limit);
        if (limit == 0) return List.of();
        return call("read drain of node " + node, h -> h.createQuery("SELECT " + DRAIN_COLUMNS + " FROM drain"
                        + " WHERE node_name = :node ORDER BY started_at DESC, created_seq DESC LIMIT :limit")
                .bind("node", node).bind("limit", limit).map((rs, ctx) -> drainRow(rs)).list());
    }

    @Override
    public List<DrainRecord> unfinishedDrains() {
        return call("read unfinished drains from drain", h -> h.createQuery("SELECT " + DRAIN_COLUMNS + " FROM drain"
                        + " WHERE status = :status ORDER BY created_seq")
                .bind("status", IN_PROGRESS).map((rs, ctx) -> drainRow(rs)).list());
    }

    @Override
    public boolean renewLease(String drainId, String owner, Instant leaseExpiresAt) {
        Checks.notNull("drainId", drainId);
        Checks.notNull("owner", owner);
        Checks.notNull("leaseExpiresAt", leaseExpiresAt);
        return call("renew the lease of drain " + drainId, h -> h.createUpdate("UPDATE drain SET lease_expires_at = :lease,"
                        + " version = version + 1 WHERE drain_id = :drainId AND owner_id = :owner AND status = :status")
                .bind("lease", instant(leaseExpiresAt))
                .bind("drainId", drainId)
                .bind("owner", owner)
                .bind("status", IN_PROGRESS)
                .execute()) == 1;
    }

    /** One {@code UPDATE} whose condition is the decision, as {@link #takeOverRollout}; it bumps the version as every write of the row does. */
    @Override
    public Optional<DrainRecord> takeOver(String drainId, String newOwner, Instant now, Instant leaseExpiresAt) {
        Checks.notNull("drainId", drainId);
        Checks.notNull("newOwner", newOwner);
        Checks.notNull("now", now);
        Checks.notNull("leaseExpiresAt", leaseExpiresAt);
        Columns.fit("drain", "owner_id", Columns.OWNER, newOwner, "drain " + drainId);
        return call("take over drain " + drainId, h -> h.inTransaction(tx -> {
            int updated = tx.createUpdate("UPDATE drain SET owner_id = :owner, lease_expires_at = :lease, version = version + 1"
                            + " WHERE drain_id = :drainId AND status = :status AND " + LEASE_EXPIRED_OR_OWNED)
                    .bind("owner", newOwner)
                    .bind("lease", instant(leaseExpiresAt))
                    .bind("drainId", drainId)
                    .bind("status", IN_PROGRESS)
                    .bind("now", instant(leaseCutoff(now)))
                    .execute();
            return updated == 1 ? readDrain(tx, drainId) : Optional.<DrainRecord>empty();
        }));
    }

    /**
     * {@code now} rounded up to the microsecond, the precision leases are stored in, so that {@code lease_expires_at <
     * :now} means "expired before now" as it does in memory.
     */
    private static Instant leaseCutoff(Instant now) {
        Instant micros = now.truncatedTo(ChronoUnit.MICROS);
        return micros.equals(now) ? now : micros.plus(1, ChronoUnit.MICROS);
    }

    @Override
    public void requestCancel(String drainId) {
        Checks.notNull("drainId", drainId);
        call("request cancel of drain " + drainId, h -> h.createUpdate("UPDATE drain SET cancel_requested = :cancel,"
                        + " version = version + 1 WHERE drain_id = :drainId AND status = :status")
                .bind("cancel", true).bind("drainId", drainId).bind("status", IN_PROGRESS).execute());
    }

    // ---------------------------------------------------------------- rollouts

    @Override
    public void createRollout(RolloutRecord rollout, List<RolloutStep> steps) {
        Checks.notNull("rollout", rollout);
        Checks.notNull("steps", steps);
        checkRolloutFits(rollout);
        Set<Integer> indexes = new HashSet<>();
        for (RolloutStep s : steps) {
            if (!s.rolloutId().equals(rollout.rolloutId())) {
                throw new IllegalArgumentException("step " + s.index() + " belongs to rollout " + s.rolloutId() + ", not " + rollout.rolloutId());
            }
            if (!indexes.add(s.index())) {
                throw new IllegalArgumentException("step " + s.index() + " appears twice in rollout " + rollout.rolloutId());
            }
            checkStepFits(s);
        }
        String id = rollout.rolloutId();
        try {
            jdbi.useTransaction(h -> {
                insertRollout(h, rollout);
                List<String> nodes = rollout.request().nodes();
                if (!nodes.isEmpty()) {
                    PreparedBatch batch = h.prepareBatch("INSERT INTO rollout_node (rollout_id, seq_no, node_name) VALUES (:rolloutId, :seqNo, :node)");
                    for (int i = 0; i < nodes.size(); i++) batch.bind("rolloutId", id).bind("seqNo", i).bind("node", nodes.get(i)).add();
                    batch.execute();
                }
                if (!steps.isEmpty()) {
                    PreparedBatch batch = h.prepareBatch("INSERT INTO rollout_step (" + STEP_COLUMNS + ") VALUES (" + STEP_VALUES + ")");
                    for (RolloutStep s : steps) bindStep(batch, s).add();
                    batch.execute();
                }
            });
        } catch (JdbiException e) {
            if (isUniqueViolation(e) && rollout(id).isPresent()) throw new IllegalArgumentException("rolloutId " + id + " exists already");
            throw translate("insert into rollout, rollout_node and rollout_step (rollout " + id + ")", e);
        }
    }

    private void insertRollout(Handle h, RolloutRecord rollout) {
        RolloutRequest r = rollout.request();
        h.createUpdate("INSERT INTO rollout (" + ROLLOUT_COLUMNS + ") VALUES (" + ROLLOUT_VALUES + ")")
                .bind("rolloutId", rollout.rolloutId())
                .bind("state", rollout.state().wireName())
                .bind("message", rollout.message())
                .bind("mode", r.mode().wireName())
                .bind("parallel", r.concurrency().kind() != Concurrency.Kind.SERIAL)
                .bind("maxConcurrent", r.concurrency().resolve(AUTO_CONCURRENCY))
                .bind("allowOffline", r.allowOffline())
                .bind("force", r.force())
                .bind("action", r.action())
                .bind("beforeDrain", r.beforeDrain())
                .bind("afterUndrain", r.afterUndrain())
                .bind("cephAllowedWarnings", encodeCephChecks(r.cephAllowedWarnings()))
                .bind("cephNoout", r.cephNoout())
                .bind("gateTimeout", r.gateTimeout().toMillis())
                .bind("actionTimeout", r.actionTimeout().toMillis())
                .bind("nodeBackTimeout", r.nodeBackTimeout().toMillis())
                .bind("settleTime", r.settleTime().toMillis())
                .bind("maxNodesDown", r.maxNodesDown())
                .bind("continueOnFailure", r.continueOnFailure())
                .bind("dryRun", r.dryRun())
                .bind("createdAt", instant(rollout.createdAt()))
                .bind("completedAt", instant(rollout.completedAt()))
                .bind("owner", rollout.owner())
                .bind("lease", instant(rollout.leaseExpiresAt()))
                .bind("pause", rollout.pauseRequested())
                .bind("cancel", rollout.cancelRequested())
                .bind("continueNode", rollout.continueNode())
                .execute();
    }

    /** One {@code UPDATE} of state, message and completion time, conditional on the owner. */
    @Override
    public boolean updateRollout(RolloutRecord rollout) {
        Checks.notNull("rollout", rollout);
        Columns.fit("rollout", "message", Columns.ROLLOUT_MESSAGE, rollout.message(), "rollout " + rollout.rolloutId());
        return call("update rollout " + rollout.rolloutId(), h -> bindOwner(h.createUpdate("UPDATE rollout SET state = :state,"
                        + " message = :message, completed_at = :completedAt WHERE rollout_id = :rolloutId AND "
                        + ownerIs("owner_id", rollout.owner())), rollout.owner())
                .bind("state", rollout.state().wireName())
                .bind("message", rollout.message())
                .bind("completedAt", instant(rollout.completedAt()))
                .bind("rolloutId", rollout.rolloutId())
                .execute()) == 1;
    }

    /**
     * One {@code UPDATE} of the step's row, conditional on the rollout's owner. Every step has its row from
     * {@link #createRollout} on (the rollout service creates them all up front), so a step is never inserted here.
     */
    @Override
    public boolean updateStep(RolloutStep step, String owner) {
        Checks.notNull("step", step);
        checkStepFits(step);
        String id = step.rolloutId();
        String what = "update rollout_step (rollout " + id + ", step " + step.index() + ")";
        String update = UPDATE_STEP + ownerIs("r.owner_id", owner) + ")";
        if (call(what, h -> bindOwner(bindStep(h.createUpdate(update), step), owner).execute()) == 1) return true;
        // Nothing changed: the rollout is another process's now, or there is no such rollout or step (a caller's bug).
        Optional<Optional<String>> current = call("read rollout " + id, h -> h.createQuery(
                        "SELECT owner_id FROM rollout WHERE rollout_id = :rolloutId")
                .bind("rolloutId", id).map((rs, ctx) -> Optional.ofNullable(rs.getString("owner_id"))).findOne());
        if (current.isEmpty()) throw new IllegalArgumentException("no rollout " + id);
        if (!Objects.equals(current.get().orElse(null), owner)) return false;
        throw new IllegalArgumentException("no step " + step.index() + " in rollout " + id);
    }

    private static String ownerIs(String column, String owner) {
        return owner == null ? column + " IS NULL" : column + " = :owner";
    }

    private <S extends SqlStatement<S>> S bindStep(S s, RolloutStep step) {
        return s.bind("rolloutId", step.rolloutId())
                .bind("index", step.index())
                .bind("node", step.node())
                .bind("phase", step.phase().wireName())
                .bind("state", step.state().wireName())
                .bind("startedAt", instant(step.startedAt()))
                .bind("phaseStartedAt", instant(step.phaseStartedAt()))
                .bind("endedAt", instant(step.endedAt()))
                .bind("drainId", step.drainId())
                .bind("undrainId", step.undrainId())
                .bind("gates", encodeGates(step.gates()))
                .bind("actionExit", step.actionExit())
                .bind("actionOutput", step.actionOutput())
                .bind("message", step.message())
                .bind("backSince", instant(step.backSince()));
    }

    @Override
    public Optional<RolloutRecord> rollout(String rolloutId) {
        Checks.notNull("rolloutId", rolloutId);
        return call("read rollout " + rolloutId, h -> readRollout(h, rolloutId));
    }

    private Optional<RolloutRecord> readRollout(Handle h, String rolloutId) {
        return withNodes(h, h.createQuery("SELECT " + ROLLOUT_COLUMNS + " FROM rollout WHERE rollout_id = :rolloutId")
                .bind("rolloutId", rolloutId).map((rs, ctx) -> rolloutRow(rs)).list()).stream().findFirst();
    }

    @Override
    public List<RolloutStep> steps(String rolloutId) {
        Checks.notNull("rolloutId", rolloutId);
        return call("read rollout_step of rollout " + rolloutId, h -> h.createQuery(
                        "SELECT " + STEP_COLUMNS + " FROM rollout_step WHERE rollout_id = :rolloutId ORDER BY idx")
                .bind("rolloutId", rolloutId).map((rs, ctx) -> stepRow(rs)).list());
    }

    @Override
    public List<RolloutRecord> rollouts(int limit) {
        if (limit < 0) throw new IllegalArgumentException("limit must be >= 0, was " + limit);
        if (limit == 0) return List.of();
        return call("read rollout", h -> withNodes(h, h.createQuery("SELECT " + ROLLOUT_COLUMNS + " FROM rollout"
                        + " ORDER BY created_at DESC, created_seq DESC LIMIT :limit")
                .bind("limit", limit).map((rs, ctx) -> rolloutRow(rs)).list()));
    }

    @Override
    public List<RolloutRecord> unfinishedRollouts() {
        return call("read unfinished rollouts from rollout", h -> withNodes(h, h.createQuery("SELECT " + ROLLOUT_COLUMNS
                + " FROM rollout WHERE " + ROLLOUT_NOT_ENDED + " ORDER BY created_seq").map((rs, ctx) -> rolloutRow(rs)).list()));
    }

    /**
     * The rollouts read with their requests' nodes, from {@code rollout_node}. Read after the rollouts: a rollout's
     * nodes are committed with it and never change, so every rollout read has all of them.
     */
    private List<RolloutRecord> withNodes(Handle h, List<RolloutRecord> rows) {
        if (rows.isEmpty()) return List.of();
        Map<String, List<String>> nodes = new HashMap<>();
        List<String> ids = rows.stream().map(RolloutRecord::rolloutId).toList();
        for (int from = 0; from < ids.size(); from += IN_LIST_CHUNK) {
            h.createQuery("SELECT rollout_id, node_name FROM rollout_node WHERE rollout_id IN (<ids>) ORDER BY rollout_id, seq_no")
                    .bindList("ids", ids.subList(from, Math.min(ids.size(), from + IN_LIST_CHUNK)))
                    .map((rs, ctx) -> Map.entry(rs.getString("rollout_id"), rs.getString("node_name")))
                    .forEach(e -> nodes.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(e.getValue()));
        }
        List<RolloutRecord> out = new ArrayList<>(rows.size());
        for (RolloutRecord r : rows) {
            List<String> named = nodes.get(r.rolloutId());
            out.add(named == null ? r : rowValue("rollout_node", "rollout_id=" + r.rolloutId(), () -> new RolloutRecord(r.rolloutId(),
                    r.request().toBuilder().nodes(named).build(), r.state(), r.message(), r.createdAt(), r.completedAt(), r.owner(),
                    r.leaseExpiresAt(), r.pauseRequested(), r.cancelRequested(), r.continueNode())));
        }
        return List.copyOf(out);
    }

    @Override
    public boolean renewRolloutLease(String rolloutId, String owner, Instant leaseExpiresAt) {
        Checks.notNull("rolloutId", rolloutId);
        Checks.notNull("owner", owner);
        Checks.notNull("leaseExpiresAt", leaseExpiresAt);
        return call("renew the lease of rollout " + rolloutId, h -> h.createUpdate("UPDATE rollout SET lease_expires_at = :lease"
                        + " WHERE rollout_id = :rolloutId AND owner_id = :owner AND " + ROLLOUT_NOT_ENDED)
                .bind("lease", instant(leaseExpiresAt))
                .bind("rolloutId", rolloutId)
                .bind("owner", owner)
                .execute()) == 1;
    }

    /**
     * One {@code UPDATE} whose condition is the decision (not ended; lease expired before {@code now}, absent, or
     * {@code newOwner}'s already), then the row read back in the same transaction. {@code now} is rounded up to the
     * microsecond, the precision leases are stored in, so that "expired before now" means what it means in memory.
     */
    @Override
    public Optional<RolloutRecord> takeOverRollout(String rolloutId, String newOwner, Instant now, Instant leaseExpiresAt) {
        Checks.notNull("rolloutId", rolloutId);
        Checks.notNull("newOwner", newOwner);
        Checks.notNull("now", now);
        Checks.notNull("leaseExpiresAt", leaseExpiresAt);
        Columns.fit("rollout", "owner_id", Columns.OWNER, newOwner, "rollout " + rolloutId);
        return call("take over rollout " + rolloutId, h -> h.inTransaction(tx -> {
            int updated = tx.createUpdate("UPDATE rollout SET owner_id = :owner, lease_expires_at = :lease"
                            + " WHERE rollout_id = :rolloutId AND " + ROLLOUT_NOT_ENDED + " AND " + LEASE_EXPIRED_OR_OWNED)
                    .bind("owner", newOwner)
                    .bind("lease", instant(leaseExpiresAt))
                    .bind("rolloutId", rolloutId)
                    .bind("now", instant(leaseCutoff(now)))
                    .execute();
            return updated == 1 ? readRollout(tx, rolloutId) : Optional.<RolloutRecord>empty();
        }));
    }

    @Override
    public void requestRolloutPause(String rolloutId, boolean paused) {
        Checks.notNull("rolloutId", rolloutId);
        call("request " + (paused ? "pause" : "resume") + " of rollout " + rolloutId, h -> h.createUpdate(
                        "UPDATE rollout SET pause_requested = :paused WHERE rollout_id = :rolloutId AND " + ROLLOUT_NOT_ENDED)
                .bind("paused", paused).bind("rolloutId", rolloutId).execute());
    }

    @Override
    public void requestRolloutCancel(String rolloutId) {
        Checks.notNull("rolloutId", rolloutId);
        call("request cancel of rollout " + rolloutId, h -> h.createUpdate(
                        "UPDATE rollout SET cancel_requested = :cancel WHERE rollout_id = :rolloutId AND " + ROLLOUT_NOT_ENDED)
                .bind("cancel", true).bind("rolloutId", rolloutId).execute());
    }

    @Override
    public void requestRolloutContinue(String rolloutId, String node) {
        Checks.notNull("rolloutId", rolloutId);
        Columns.fit("rollout", "continue_node", Columns.NODE_NAME, node, "rollout " + rolloutId);
        call("request continue of rollout " + rolloutId, h -> h.createUpdate(
                        "UPDATE rollout SET continue_node = :node WHERE rollout_id = :rolloutId AND " + ROLLOUT_NOT_ENDED)
                .bind("node", node).bind("rolloutId", rolloutId).execute());
    }

    // ---------------------------------------------------------------- rows

    private NodeMaintenance maintenanceRow(ResultSet rs) throws SQLException {
        String node = rs.getString("node_name");
        String row = "node_name=" + node;
        String status = rs.getString("drain_status");
        return readRow("node_maintenance", row, () -> new NodeMaintenance(node,
                rs.getBoolean("in_maintenance"),
                rs.getString("reason"),
                dialect.getInstant(rs, "maintenance_started"),
                dialect.getInstant(rs, "maintenance_ended"),
                status == null ? null : parse("node_maintenance", "drain_status", row, status, DrainState::parse),
                rs.getString("last_drain_id"),
                decodeVmList(rs.getString("vm_list"), row),
                dialect.getInstant(rs, "updated_at")));
    }

    private DrainRecord drainRow(ResultSet rs) throws SQLException {
        String id = rs.getString("drain_id");
        String row = "drain_id=" + id;
        return readRow("drain", row, () -> {
            String node = rs.getString("node_name");
            DrainRequest request = DrainRequest.builder(node)
                    .mode(parse("drain", "drain_mode", row, rs.getString("drain_mode"), DrainMode::parse))
                    .concurrency(concurrency(rs.getBoolean("run_parallel"), rs.getInt("max_concurrent")))
                    .allowOffline(rs.getBoolean("allow_offline"))
                    .targetNode(rs.getString("target_node"))
                    .force(rs.getBoolean("force_drain"))
                    .dryRun(rs.getBoolean("dry_run"))
                    .build();
            return new DrainRecord(id, node,
                    parse("drain", "operation", row, rs.getString("operation"), Operation::parse),
                    request,
                    parse("drain", "status", row, rs.getString("status"), DrainState::parse),
                    rs.getString("message"),
                    dialect.getInstant(rs, "started_at"),
                    dialect.getInstant(rs, "completed_at"),
                    rs.getString("owner_id"),
                    dialect.getInstant(rs, "lease_expires_at"),
                    rs.getBoolean("cancel_requested"),
                    rs.getString("undrain_of"));
        });
    }

    private GuestProgress guestRow(ResultSet rs) throws SQLException {
        String row = "drain_id=" + rs.getString("drain_id") + ", vmid=" + rs.getInt("vmid");
        return readRow("drain_guest", row, () -> {
            String migrationType = rs.getString("migration_type");
            return GuestProgress.builder(rs.getString("drain_id"), rs.getInt("vmid"))
                    .name(rs.getString("guest_name"))
                    .type(parse("drain_guest", "guest_type", row, rs.getString("guest_type"), GuestType::parse))
                    .sourceNode(rs.getString("source_node"))
                    .targetNode(rs.getString("target_node"))
                    .migrationType(migrationType == null ? null : parse("drain_guest", "migration_type", row, migrationType, MigrationType::parse))
                    .status(parse("drain_guest", "status", row, rs.getString("status"), GuestState::parse))
                    .alwaysOn(rs.getBoolean("always_on"))
                    .haManaged(rs.getBoolean("ha_managed"))
                    .wasRunning(rs.getBoolean("was_running"))
                    .memory(rs.getLong("memory_bytes"))
                    .attempts(rs.getInt("attempts"))
                    .taskId(rs.getString("task_id"))
                    .error(rs.getString("error"))
                    .note(rs.getString("note"))
                    .startedAt(dialect.getInstant(rs, "started_at"))
                    .completedAt(dialect.getInstant(rs, "completed_at"))
                    .build();
        });
    }

    /** A rollout row, its request without nodes: {@link #withNodes} adds them. */
    private RolloutRecord rolloutRow(ResultSet rs) throws SQLException {
        String id = rs.getString("rollout_id");
        String row = "rollout_id=" + id;
        return readRow("rollout", row, () -> {
            RolloutRequest request = RolloutRequest.builder()
                    .mode(parse("rollout", "drain_mode", row, rs.getString("drain_mode"), DrainMode::parse))
                    .concurrency(concurrency(rs.getBoolean("run_parallel"), rs.getInt("max_concurrent")))
                    .allowOffline(rs.getBoolean("allow_offline"))
                    .force(rs.getBoolean("force_drain"))
                    .action(rs.getString("action_name"))
                    .beforeDrain(rs.getString("before_drain"))
                    .afterUndrain(rs.getString("after_undrain"))
                    .cephAllowedWarnings(decodeCephChecks(rs.getString("ceph_allowed_warnings")))
                    .cephNoout(rs.getBoolean("ceph_noout"))
                    .gateTimeout(Duration.ofMillis(rs.getLong("gate_timeout_ms")))
                    .actionTimeout(Duration.ofMillis(rs.getLong("action_timeout_ms")))
                    .nodeBackTimeout(Duration.ofMillis(rs.getLong("node_back_timeout_ms")))
                    .settleTime(Duration.ofMillis(rs.getLong("settle_time_ms")))
                    .maxNodesDown(rs.getInt("max_nodes_down"))
                    .continueOnFailure(rs.getBoolean("continue_on_failure"))
                    .dryRun(rs.getBoolean("dry_run"))
                    .build();
            return new RolloutRecord(id, request,
                    parse("rollout", "state", row, rs.getString("state"), v -> fromWire(RolloutState.values(), RolloutState::wireName, v)),
                    rs.getString("message"),
                    dialect.getInstant(rs, "created_at"),
                    dialect.getInstant(rs, "completed_at"),
                    rs.getString("owner_id"),
                    dialect.getInstant(rs, "lease_expires_at"),
                    rs.getBoolean("pause_requested"),
                    rs.getBoolean("cancel_requested"),
                    rs.getString("continue_node"));
        });
    }

    private RolloutStep stepRow(ResultSet rs) throws SQLException {
        String row = "rollout_id=" + rs.getString("rollout_id") + ", idx=" + rs.getInt("idx");
        return readRow("rollout_step", row, () -> {
            int exit = rs.getInt("action_exit");
            Integer actionExit = rs.wasNull() ? null : exit;
            return new RolloutStep(rs.getString("rollout_id"), rs.getInt("idx"), rs.getString("node_name"),
                    parse("rollout_step", "phase", row, rs.getString("phase"), v -> fromWire(RolloutPhase.values(), RolloutPhase::wireName, v)),
                    parse("rollout_step", "state", row, rs.getString("state"), v -> fromWire(RolloutState.values(), RolloutState::wireName, v)),
                    dialect.getInstant(rs, "started_at"),
                    dialect.getInstant(rs, "phase_started_at"),
                    dialect.getInstant(rs, "ended_at"),
                    rs.getString("drain_id"),
                    rs.getString("undrain_id"),
                    decodeGates(rs.getString("gates"), row),
                    actionExit,
                    rs.getString("action_output"),
                    rs.getString("message"),
                    dialect.getInstant(rs, "back_since"));
        });
    }

    /** The constant whose wire name is {@code value}. @throws IllegalArgumentException naming the value and the choices */
    private static <E extends Enum<E>> E fromWire(E[] values, Function<E, String> wireName, String value) {
        for (E e : values) {
            if (wireName.apply(e).equals(value)) return e;
        }
        throw new IllegalArgumentException("expected one of " + Arrays.stream(values).map(wireName).collect(Collectors.joining(", "))
                + ", was '" + value + "'");
    }

    private interface RowReader<T> {
        T read() throws SQLException;
    }

    /** Model constructors check their arguments; a hand-edited row that fails them names the column it came from. */
    private static final Map<String, String> FIELD_COLUMNS = Map.ofEntries(
            Map.entry("node", "node_name"), Map.entry("sourceNode", "source_node"), Map.entry("targetNode", "target_node"),
            Map.entry("maxConcurrent", "max_concurrent"), Map.entry("drainMode", "drain_mode"), Map.entry("drainId", "drain_id"),
            Map.entry("startedAt", "started_at"), Map.entry("status", "status"), Map.entry("type", "guest_type"),
            Map.entry("operation", "operation"),
            // rollout, rollout_node, rollout_step
            Map.entry("rolloutId", "rollout_id"), Map.entry("nodes", "node_name"), Map.entry("action", "action_name"),
            Map.entry("beforeDrain", "before_drain"), Map.entry("afterUndrain", "after_undrain"),
            Map.entry("cephAllowedWarnings", "ceph_allowed_warnings"), Map.entry("gateTimeout", "gate_timeout_ms"),
            Map.entry("actionTimeout", "action_timeout_ms"), Map.entry("nodeBackTimeout", "node_back_timeout_ms"),
            Map.entry("settleTime", "settle_time_ms"), Map.entry("maxNodesDown", "max_nodes_down"),
            Map.entry("createdAt", "created_at"), Map.entry("index", "idx"), Map.entry("gate", "gates"));

    /** See {@link #AUTO_CONCURRENCY}. @throws io.moxxie.core.ValidationException a fixed limit out of range */
    private static Concurrency concurrency(boolean runParallel, int maxConcurrent) {
        if (!runParallel) return Concurrency.serial();
        return maxConcurrent == AUTO_CONCURRENCY ? Concurrency.auto() : Concurrency.fixed(maxConcurrent);
    }

    private static <T> T readRow(String table, String row, RowReader<T> reader) throws SQLException {
        try {
            return reader.read();
        } catch (IllegalArgumentException e) {
            throw unreadableRow(table, row, e);
        }
    }

    /** {@link #readRow} for what is made of values read before. */
    private static <T> T rowValue(String table, String row, Supplier<T> reader) {
        try {
            return reader.get();
        } catch (IllegalArgumentException e) {
            throw unreadableRow(table, row, e);
        }
    }

    private static StoreException unreadableRow(String table, String row, IllegalArgumentException e) {
        String message = String.valueOf(e.getMessage());
        String column = e instanceof ValidationException v ? FIELD_COLUMNS.get(v.field()) : null;
        return new StoreException("Unreadable row in table " + table + (column == null ? "" : ", column " + column)
                + " (" + row + "): " + message, e);
    }

    private static <T> T parse(String table, String column, String row, String value, Function<String, T> parser) {
        try {
            return parser.apply(value);
        } catch (IllegalArgumentException e) {
            throw new StoreException("Unreadable value in table " + table + ", column " + column + " (" + row + "): "
                    + e.getMessage(), e);
        }
    }

    /** {@code [8200,8201]}: a JSON array, readable as such by PostgreSQL's and MariaDB's JSON functions. */
    static String encodeVmList(List<Integer> vms) {
        StringBuilder b = new StringBuilder("[");
        for (int i = 0; i < vms.size(); i++) {
            if (i > 0) b.append(',');
            b.append(vms.get(i));
        }
        return b.append(']').toString();
    }

    static List<Integer> decodeVmList(String text, String row) {
        if (text == null) return List.of();
        String body = text.trim();
        if (body.startsWith("[") && body.endsWith("]")) body = body.substring(1, body.length() - 1);
        List<Integer> out = new ArrayList<>();
        for (String part : body.split("[,;\\s]+")) {
            if (part.isEmpty()) continue;
            try {
                out.add(Integer.parseInt(part));
            } catch (NumberFormatException e) {
                throw new StoreException("Unreadable value in table node_maintenance, column vm_list (" + row
                        + "): expected a list of vmids like [8200,8201], was '" + text + "'", e);
            }
        }
        return out;
    }

    /** {@code CEPH_CHECK_A,CEPH_CHECK_B}, sorted: Ceph health check codes are {@code [A-Z0-9_]}, never a comma. */
    static String encodeCephChecks(Set<String> codes) {
        return codes.stream().sorted().collect(Collectors.joining(","));
    }

    static Set<String> decodeCephChecks(String text) {
        if (text == null || text.isBlank()) return Set.of();
        Set<String> out = new HashSet<>();
        for (String code : text.split(",")) {
            if (!code.isBlank()) out.add(code.trim());
        }
        return out;
    }

    /**
     * The gates' verdicts, one a line: {@code gate TAB pass|block TAB reason}, with backslash, newline, carriage return,
     * tab and NUL escaped ({@code \\ \n \r \t \0}) so that any gate name and reason reads back as written, and a
     * person reading the column sees the verdicts as they are; PostgreSQL's text cannot hold NUL at all. No verdicts:
     * the empty string.
     */
    static String encodeGates(List<GateVerdict> gates) {
        StringBuilder b = new StringBuilder();
        for (GateVerdict g : gates) {
            if (!b.isEmpty()) b.append('\n');
            escape(b, g.gate()).append('\t').append(g.pass() ? "pass" : "block").append('\t');
            escape(b, g.reason());
        }
        return b.toString();
    }

    private static StringBuilder escape(StringBuilder b, String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            switch (c) {
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '\0' -> b.append("\\0");
                default -> b.append(c);
            }
        }
        return b;
    }

    static List<GateVerdict> decodeGates(String text, String row) {
        if (text == null || text.isEmpty()) return List.of();
        List<GateVerdict> out = new ArrayList<>();
        for (String line : text.split("\n", -1)) {
            String[] parts = line.split("\t", -1);
            if (parts.length != 3 || !(parts[1].equals("pass") || parts[1].equals("block"))) throw unreadableGates(line, row, null);
            try {
                out.add(new GateVerdict(unescape(parts[0]), parts[1].equals("pass"), unescape(parts[2])));
            } catch (IllegalArgumentException e) {
                throw unreadableGates(line, row, e);
            }
        }
        return List.copyOf(out);
    }

    private static String unescape(String text) {
        StringBuilder b = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c != '\\') {
                b.append(c);
                continue;
            }
            char next = ++i < text.length() ? text.charAt(i) : ' ';
            switch (next) {
                case '\\' -> b.append('\\');
                case 'n' -> b.append('\n');
                case 'r' -> b.append('\r');
                case 't' -> b.append('\t');
                case '0' -> b.append('\0');
                default -> throw new IllegalArgumentException("unknown escape '\\" + next + "'");
            }
        }
        return b.toString();
    }

    private static StoreException unreadableGates(String line, String row, IllegalArgumentException cause) {
        return new StoreException("Unreadable value in table rollout_step, column gates (" + row + "): expected lines of"
                + " gate<TAB>pass|block<TAB>reason" + (cause == null ? "" : " (" + cause.getMessage() + ")") + ", was '"
                + line + "'", cause);
    }

    // ---------------------------------------------------------------- checks, binding, errors

    private static void checkDrainFits(DrainRecord d) {
        String row = "drain " + d.drainId();
        Columns.fit("drain", "drain_id", Columns.DRAIN_ID, d.drainId(), row);
        Columns.fit("drain", "node_name", Columns.NODE_NAME, d.node(), row);
        Columns.fit("drain", "message", Columns.MESSAGE, d.message(), row);
        Columns.fit("drain", "target_node", Columns.NODE_NAME, d.request().targetNode().orElse(null), row);
        Columns.fit("drain", "undrain_of", Columns.DRAIN_ID, d.undrainOf(), row);
        Columns.fit("drain", "owner_id", Columns.OWNER, d.owner(), row);
    }

    private static void checkGuestFits(GuestProgress g) {
        String row = "drain " + g.drainId() + ", vmid " + g.vmid();
        Columns.fit("drain_guest", "drain_id", Columns.DRAIN_ID, g.drainId(), row);
        Columns.fit("drain_guest", "guest_name", Columns.GUEST_NAME, g.name(), row);
        Columns.fit("drain_guest", "source_node", Columns.NODE_NAME, g.sourceNode(), row);
        Columns.fit("drain_guest", "target_node", Columns.NODE_NAME, g.targetNode(), row);
        Columns.fit("drain_guest", "task_id", Columns.TASK_ID, g.taskId(), row);
        Columns.fit("drain_guest", "error", Columns.ERROR, g.error(), row);
        Columns.fit("drain_guest", "note", Columns.NOTE, g.note(), row);
    }

    private static void checkRolloutFits(RolloutRecord r) {
        String row = "rollout " + r.rolloutId();
        RolloutRequest q = r.request();
        Columns.fit("rollout", "rollout_id", Columns.ROLLOUT_ID, r.rolloutId(), row);
        Columns.fit("rollout", "message", Columns.ROLLOUT_MESSAGE, r.message(), row);
        Columns.fit("rollout", "action_name", Columns.ACTION_NAME, q.action(), row);
        Columns.fit("rollout", "before_drain", Columns.ACTION_NAME, q.beforeDrain(), row);
        Columns.fit("rollout", "after_undrain", Columns.ACTION_NAME, q.afterUndrain(), row);
        Columns.fit("rollout", "ceph_allowed_warnings", Columns.CEPH_CHECKS, encodeCephChecks(q.cephAllowedWarnings()), row);
        Columns.fit("rollout", "owner_id", Columns.OWNER, r.owner(), row);
        Columns.fit("rollout", "continue_node", Columns.NODE_NAME, r.continueNode(), row);
        for (String node : q.nodes()) Columns.fit("rollout_node", "node_name", Columns.NODE_NAME, node, row);
        wholeMillis("gate_timeout_ms", q.gateTimeout(), row);
        wholeMillis("action_timeout_ms", q.actionTimeout(), row);
        wholeMillis("node_back_timeout_ms", q.nodeBackTimeout(), row);
        wholeMillis("settle_time_ms", q.settleTime(), row);
    }

    /** Durations are stored in whole milliseconds: a finer one would not read back as given (0.5 ms would read as 0). */
    private static void wholeMillis(String column, Duration d, String row) {
        if (d.getNano() % 1_000_000 != 0) {
            throw new StoreException("Value too precise for column rollout." + column + " (" + row + "): " + d
                    + " has a part below a millisecond, the column holds whole milliseconds; nothing was written");
        }
    }

    private static void checkStepFits(RolloutStep s) {
        String row = "rollout " + s.rolloutId() + ", step " + s.index();
        Columns.fit("rollout_step", "rollout_id", Columns.ROLLOUT_ID, s.rolloutId(), row);
        Columns.fit("rollout_step", "node_name", Columns.NODE_NAME, s.node(), row);
        Columns.fit("rollout_step", "drain_id", Columns.DRAIN_ID, s.drainId(), row);
        Columns.fit("rollout_step", "undrain_id", Columns.DRAIN_ID, s.undrainId(), row);
        Columns.fit("rollout_step", "gates", Columns.GATES, encodeGates(s.gates()), row);
        Columns.fit("rollout_step", "action_output", Columns.ACTION_OUTPUT, s.actionOutput(), row);
        Columns.fit("rollout_step", "message", Columns.ROLLOUT_MESSAGE, s.message(), row);
    }

    private Argument instant(Instant value) {
        return (position, statement, ctx) -> dialect.setInstant(statement, position, value);
    }

    private <T> T call(String what, HandleCallback<T, RuntimeException> callback) {
        try {
            return jdbi.withHandle(callback);
        } catch (JdbiException e) {
            throw translate(what, e);
        }
    }

    private RuntimeException translate(String what, JdbiException e) {
        SQLException sql = sqlCause(e);
        String detail = Redaction.scrub(sql != null ? sql.getMessage() : e.getMessage(), password);
        if (e instanceof ConnectionException || unreachable(sql)) {
            return new StoreUnavailableException("Cannot reach the database at " + location + " to " + what + ": " + detail, e);
        }
        return new StoreException("Could not " + what + " on " + location + ": " + detail, e);
    }

    /**
     * Whether the database is away rather than refusing the statement: connection errors (SQLSTATE class 08), and
     * PostgreSQL's "terminating connection due to administrator command" / "the database system is starting up or
     * shutting down" (57P01-57P03, what a failover looks like) and "database is not currently accepting connections" (55000
     * with that text).
     */
    static boolean unreachable(SQLException sql) {
        for (SQLException s = sql; s != null; s = s.getNextException()) {
            String state = s.getSQLState();
            if (state == null) continue;
            if (state.startsWith("08") || state.startsWith("57P")) return true;
            if (state.equals("55000") && String.valueOf(s.getMessage()).contains("not currently accepting connections")) return true;
        }
        return false;
    }

    private static SQLException sqlCause(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException s) return s;
        }
        return null;
    }

    private static boolean isUniqueViolation(JdbiException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SQLException s) {
                if ("23505".equals(s.getSQLState()) || s.getErrorCode() == 1062) return true;
                for (SQLException next = s.getNextException(); next != null; next = next.getNextException()) {
                    if ("23505".equals(next.getSQLState()) || next.getErrorCode() == 1062) return true;
                }
            }
        }
        return false;
    }

    // ---------------------------------------------------------------- builder

    /**
     * Configures a {@link JdbcMaintenanceStore}. Not thread-safe; setters validate at once, {@link #build()} connects,
     * detects the dialect, applies migrations if asked, and checks that the tables are there.
     */
    public static final class Builder {
        private final DataSource dataSource;
        private final String url;
        private final String user;
        private final String password;
        private Dialect dialect;
        private boolean applyMigrations = DEFAULT_APPLY_MIGRATIONS;
        private Duration migrationLockTimeout = DEFAULT_MIGRATION_LOCK_TIMEOUT;

        private Builder(DataSource dataSource, String url, String user, String password) {
            this.dataSource = dataSource;
            this.url = url;
            this.user = user;
            this.password = password;
        }

        /** Forces the dialect instead of detecting it from the connection (e.g. for a MySQL-compatible server). */
        public Builder dialect(Dialect dialect) {
            Checks.notNull("dialect", dialect);
            this.dialect = dialect;
            return this;
        }

        /** Apply the schema scripts the database does not have yet when building. Default {@link #DEFAULT_APPLY_MIGRATIONS}. */
        public Builder applyMigrations(boolean applyMigrations) {
            this.applyMigrations = applyMigrations;
            return this;
        }

        /** How long to wait for another process migrating the same database. Default {@link #DEFAULT_MIGRATION_LOCK_TIMEOUT}. */
        public Builder migrationLockTimeout(Duration timeout) {
            if (timeout == null || timeout.isNegative() || timeout.isZero()) {
                throw new ValidationException("migrationLockTimeout", timeout, "migrationLockTimeout must be > 0, was " + timeout);
            }
            this.migrationLockTimeout = timeout;
            return this;
        }

        /**
         * @throws StoreException when the database cannot be reached (naming its URL, password masked), is not one
         *                        Moxxie supports, or lacks the tables and migrations were not asked for
         */
        public JdbcMaintenanceStore build() {
            AutoCloseable ownedPool = null;
            DataSource ds = dataSource;
            String location = url != null ? Redaction.maskUrl(url) : describe(dataSource);
            if (ds == null) {
                if (Dialect.fromUrl(url).orElse(null) == Dialect.H2) {
                    JdbcConnectionPool pool = JdbcConnectionPool.create(url, user == null ? "" : user, password == null ? "" : password);
                    ds = pool;
                    ownedPool = pool::dispose;
                } else {
                    ds = new DriverManagerDataSource(url, user, password);
                }
            }
            try {
                Jdbi jdbi = Jdbi.create(ds);
                String product;
                try (Connection c = ds.getConnection()) {
                    DatabaseMetaData md = c.getMetaData();
                    product = md.getDatabaseProductName() + " " + md.getDatabaseProductVersion();
                    if (url == null && md.getURL() != null) location = Redaction.maskUrl(md.getURL());
                } catch (SQLException e) {
                    throw new StoreUnavailableException("Cannot reach the database at " + location + ": "
                            + Redaction.scrub(e.getMessage(), password), e);
                }
                Dialect effective = dialect != null ? dialect : Dialect.fromProductName(product).orElseThrow(() ->
                        new StoreException("Unsupported database " + product + " at " + Redaction.maskUrl(url)
                                + "; Moxxie supports H2, PostgreSQL and MariaDB/MySQL (set dialect(...) to force one)"));
                JdbcMaintenanceStore store = new JdbcMaintenanceStore(jdbi, effective, location, password, ownedPool);
                List<String> applied = List.of();
                if (applyMigrations) {
                    try {
                        applied = new SchemaMigrator(jdbi, effective, location, migrationLockTimeout).migrate();
                    } catch (JdbiException e) {
                        throw store.translate("apply the schema scripts of " + effective.migrationsLocation(), e);
                    }
                }
                store.checkTables();
                LOG.info("Moxxie JDBC store on {} ({}, dialect {}): migrations {}", location, product, effective,
                        applyMigrations ? (applied.isEmpty() ? "up to date" : "applied " + applied) : "not managed by Moxxie");
                return store;
            } catch (RuntimeException e) {
                if (ownedPool != null) {
                    try {
                        ownedPool.close();
                    } catch (Exception suppressed) {
                        e.addSuppressed(suppressed);
                    }
                }
                throw e;
            }
        }

        private static String describe(DataSource ds) {
            for (String getter : List.of("getJdbcUrl", "getUrl", "getURL")) {
                try {
                    Method m = ds.getClass().getMethod(getter);
                    Object value = m.invoke(ds);
                    if (value instanceof String s && !s.isBlank()) return Redaction.maskUrl(s);
                } catch (ReflectiveOperationException | RuntimeException ignored) {
                    // Not that kind of DataSource: try the next getter.
                }
            }
            return "DataSource " + ds.getClass().getName();
        }
    }

    private void checkTables() {
        for (String table : List.of("node_maintenance", "drain", "drain_guest", "rollout", "rollout_node", "rollout_step")) {
            try {
                jdbi.useHandle(h -> h.createQuery("SELECT COUNT(*) FROM " + table + " WHERE 1 = 0").mapTo(Long.class).one());
            } catch (JdbiException e) {
                throw new StoreException("Table " + table + " is not usable on " + location + " (" + Redaction.scrub(
                        Objects.requireNonNullElse(sqlCause(e), e).getMessage(), password) + "); build the store with"
                        + " applyMigrations(true), or apply the scripts in " + dialect.migrationsLocation() + " yourself", e);
            }
        }
    }
}
