package io.moxxie.store.jdbc;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.Optional;

/**
 * The databases {@link JdbcMaintenanceStore} runs on. Detected from the connection's metadata unless set on the
 * builder. Each has its DDL in {@code db/moxxie/<folder>/} inside the jar.
 *
 * <p>Timestamps are stored in UTC with microsecond precision on every dialect: {@code TIMESTAMPTZ} on
 * PostgreSQL, {@code TIMESTAMP WITH TIME ZONE} on H2, and {@code DATETIME(6)} holding UTC on MariaDB / MySQL.
 */
public enum Dialect {
    /** H2 2.x, the embedded default (a file database). */
    H2("h2"),
    /** PostgreSQL 13 and later. */
    POSTGRESQL("postgresql"),
    /** MariaDB 10.6 and later, and MySQL 8.0.16 and later. */
    MARIADB("mariadb");

    private final String folder;

    Dialect(String folder) {
        this.folder = folder;
    }

    /** The folder of this dialect's migration scripts inside the jar, e.g. {@code db/moxxie/postgresql}. */
    public String migrationsLocation() {
        return "db/moxxie/" + folder;
    }

    /**
     * The dialect for a JDBC {@code DatabaseMetaData.getDatabaseProductName()}.
     *
     * @return empty for a database Moxxie does not support
     */
    public static Optional<Dialect> fromProductName(String productName) {
        if (productName == null) return Optional.empty();
        String p = productName.toLowerCase(Locale.ROOT);
        if (p.contains("h2")) return Optional.of(H2);
        if (p.contains("postgres")) return Optional.of(POSTGRESQL);
        if (p.contains("mariadb") || p.contains("mysql")) return Optional.of(MARIADB);
        return Optional.empty();
    }

    /** The dialect a JDBC URL names ({@code jdbc:h2:}, {@code jdbc:postgresql:}, {@code jdbc:mariadb:}, {@code jdbc:mysql:}). */
    public static Optional<Dialect> fromUrl(String url) {
        if (url == null) return Optional.empty();
        String u = url.toLowerCase(Locale.ROOT);
        if (u.startsWith("jdbc:h2:")) return Optional.of(H2);
        if (u.startsWith("jdbc:postgresql:")) return Optional.of(POSTGRESQL);
        if (u.startsWith("jdbc:mariadb:") || u.startsWith("jdbc:mysql:")) return Optional.of(MARIADB);
        return Optional.empty();
    }

    void setInstant(PreparedStatement st, int position, Instant value) throws SQLException {
        if (value == null) {
            st.setNull(position, this == MARIADB ? Types.TIMESTAMP : Types.TIMESTAMP_WITH_TIMEZONE);
            return;
        }
        Instant micros = value.truncatedTo(ChronoUnit.MICROS);
        if (this == MARIADB) {
            st.setObject(position, LocalDateTime.ofInstant(micros, ZoneOffset.UTC));
        } else {
            st.setObject(position, micros.atOffset(ZoneOffset.UTC));
        }
    }

    Instant getInstant(ResultSet rs, String column) throws SQLException {
        if (this == MARIADB) {
            LocalDateTime t = rs.getObject(column, LocalDateTime.class);
            return t == null ? null : t.toInstant(ZoneOffset.UTC);
        }
        OffsetDateTime t = rs.getObject(column, OffsetDateTime.class);
        return t == null ? null : t.toInstant();
    }

    /** Inserts or replaces a {@code node_maintenance} row, in one statement. */
    String upsertMaintenanceSql() {
        switch (this) {
            case H2:
                return "MERGE INTO node_maintenance (node_name, in_maintenance, reason, maintenance_started, maintenance_ended,"
                        + " drain_status, last_drain_id, vm_list, updated_at) KEY (node_name)"
                        + " VALUES (:node, :inMaintenance, :reason, :started, :ended, :drainStatus, :lastDrainId, :vmList, :updatedAt)";
            case POSTGRESQL:
                return "INSERT INTO node_maintenance (node_name, in_maintenance, reason, maintenance_started, maintenance_ended,"
                        + " drain_status, last_drain_id, vm_list, updated_at)"
                        + " VALUES (:node, :inMaintenance, :reason, :started, :ended, :drainStatus, :lastDrainId, :vmList, :updatedAt)"
                        + " ON CONFLICT (node_name) DO UPDATE SET in_maintenance = EXCLUDED.in_maintenance, reason = EXCLUDED.reason,"
                        + " maintenance_started = EXCLUDED.maintenance_started, maintenance_ended = EXCLUDED.maintenance_ended,"
                        + " drain_status = EXCLUDED.drain_status, last_drain_id = EXCLUDED.last_drain_id,"
                        + " vm_list = EXCLUDED.vm_list, updated_at = EXCLUDED.updated_at";
            case MARIADB:
                return "INSERT INTO node_maintenance (node_name, in_maintenance, reason, maintenance_started, maintenance_ended,"
                        + " drain_status, last_drain_id, vm_list, updated_at)"
                        + " VALUES (:node, :inMaintenance, :reason, :started, :ended, :drainStatus, :lastDrainId, :vmList, :updatedAt)"
                        + " ON DUPLICATE KEY UPDATE in_maintenance = VALUES(in_maintenance), reason = VALUES(reason),"
                        + " maintenance_started = VALUES(maintenance_started), maintenance_ended = VALUES(maintenance_ended),"
                        + " drain_status = VALUES(drain_status), last_drain_id = VALUES(last_drain_id),"
                        + " vm_list = VALUES(vm_list), updated_at = VALUES(updated_at)";
            default:
                throw new AssertionError(this);
        }
    }

    /** DDL of the table that records applied migration scripts. */
    String schemaVersionTableSql() {
        String ts = this == MARIADB ? "DATETIME(6)" : this == POSTGRESQL ? "TIMESTAMPTZ" : "TIMESTAMP(6) WITH TIME ZONE";
        return "CREATE TABLE IF NOT EXISTS moxxie_schema_version ("
                + " version INTEGER NOT NULL,"
                + " description VARCHAR(200) NOT NULL,"
                + " script VARCHAR(200) NOT NULL,"
                + " checksum BIGINT NOT NULL,"
                + " installed_at " + ts + " NOT NULL,"
                + " CONSTRAINT moxxie_schema_version_pk PRIMARY KEY (version))"
                + (this == MARIADB ? " ENGINE = InnoDB DEFAULT CHARSET = utf8mb4" : "");
    }
}
