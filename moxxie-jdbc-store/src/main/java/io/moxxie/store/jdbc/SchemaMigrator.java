package io.moxxie.store.jdbc;

import io.moxxie.core.spi.StoreException;
import org.jdbi.v3.core.Handle;
import org.jdbi.v3.core.Jdbi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.zip.CRC32;

/**
 * Applies the versioned scripts of {@code db/moxxie/<dialect>/} that {@code moxxie_schema_version} does not list yet,
 * under a database lock so that two processes starting at once do it once: PostgreSQL's transaction-scoped advisory
 * lock (and its transactional DDL: all or nothing), MariaDB's {@code GET_LOCK}. An H2 file database belongs to one
 * JVM (without AUTO_SERVER), where a lock per URL serializes; its scripts are idempotent ({@code IF NOT EXISTS}) as well.
 */
final class SchemaMigrator {
    /** Every script, in order. A new version adds a file to each dialect's folder and its name here. */
    static final List<String> SCRIPTS = List.of("V1__schema.sql", "V2__rollouts.sql");

    private static final Logger LOG = LoggerFactory.getLogger(SchemaMigrator.class);
    /** An arbitrary constant: "moxxie" in ASCII. */
    private static final long PG_ADVISORY_LOCK_KEY = 0x6d6f78786965L;
    private static final Map<String, ReentrantLock> H2_LOCKS = new ConcurrentHashMap<>();

    private final Jdbi jdbi;
    private final Dialect dialect;
    private final String location;
    private final Duration lockTimeout;

    SchemaMigrator(Jdbi jdbi, Dialect dialect, String location, Duration lockTimeout) {
        this.jdbi = jdbi;
        this.dialect = dialect;
        this.location = location;
        this.lockTimeout = lockTimeout;
    }

    /** @return the scripts applied now (empty when the schema was up to date) */
    List<String> migrate() {
        switch (dialect) {
            case POSTGRESQL:
                return jdbi.inTransaction(h -> {
                    h.execute("SET LOCAL lock_timeout = '" + lockTimeout.toMillis() + "ms'");
                    h.createQuery("SELECT pg_advisory_xact_lock(:key)").bind("key", PG_ADVISORY_LOCK_KEY)
                            .mapTo(String.class).one();
                    return applyMissing(h);
                });
            case MARIADB:
                return jdbi.withHandle(h -> {
                    String lockName = "LEFT(CONCAT('moxxie_schema.', COALESCE(DATABASE(), '')), 64)";
                    Integer got = h.createQuery("SELECT GET_LOCK(" + lockName + ", :seconds)")
                            .bind("seconds", Math.max(1, lockTimeout.toSeconds())).mapTo(Integer.class).one();
                    if (got == null || got != 1) {
                        throw new StoreException("Could not take the schema migration lock on " + location + " within "
                                + lockTimeout + " (another process is migrating?)");
                    }
                    try {
                        return applyMissing(h);
                    } finally {
                        h.createQuery("SELECT RELEASE_LOCK(" + lockName + ")").mapTo(Integer.class).findOne();
                    }
                });
            case H2:
                ReentrantLock lock = H2_LOCKS.computeIfAbsent(location, k -> new ReentrantLock());
                try {
                    if (!lock.tryLock(lockTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
                        throw new StoreException("Could not take the schema migration lock on " + location + " within " + lockTimeout);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new StoreException("Interrupted while waiting for the schema migration lock on " + location, e);
                }
                try {
                    return jdbi.withHandle(this::applyMissing);
                } finally {
                    lock.unlock();
                }
            default:
                throw new AssertionError(dialect);
        }
    }

    private List<String> applyMissing(Handle h) {
        h.execute(dialect.schemaVersionTableSql());
        Map<Integer, Long> applied = new HashMap<>();
        h.createQuery("SELECT version, checksum FROM moxxie_schema_version")
                .map((rs, ctx) -> Map.entry(rs.getInt("version"), rs.getLong("checksum")))
                .forEach(e -> applied.put(e.getKey(), e.getValue()));
        List<String> done = new ArrayList<>();
        for (String script : SCRIPTS) {
            int version = version(script);
            String text = load(script);
            long checksum = checksum(text);
            Long recorded = applied.get(version);
            if (recorded != null) {
                if (recorded != checksum) {
                    LOG.warn("Schema script {} on {} was applied with checksum {}, the jar has {}: was it edited after release?",
                            script, location, recorded, checksum);
                }
                continue;
            }
            for (String statement : statements(text)) {
                h.execute(statement);
            }
            String now = dialect == Dialect.MARIADB ? "UTC_TIMESTAMP(6)" : "CURRENT_TIMESTAMP";
            h.createUpdate("INSERT INTO moxxie_schema_version (version, description, script, checksum, installed_at)"
                            + " VALUES (:version, :description, :script, :checksum, " + now + ")")
                    .bind("version", version)
                    .bind("description", description(script))
                    .bind("script", dialect.migrationsLocation() + "/" + script)
                    .bind("checksum", checksum)
                    .execute();
            LOG.info("Applied schema script {}/{} on {}", dialect.migrationsLocation(), script, location);
            done.add(script);
        }
        return done;
    }

    private String load(String script) {
        String path = dialect.migrationsLocation() + "/" + script;
        try (InputStream in = SchemaMigrator.class.getClassLoader().getResourceAsStream(path)) {
            if (in == null) throw new StoreException("Schema script " + path + " is missing from the classpath");
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new StoreException("Cannot read schema script " + path, e);
        }
    }

    static int version(String script) {
        return Integer.parseInt(script.substring(1, script.indexOf("__")));
    }

    static String description(String script) {
        return script.substring(script.indexOf("__") + 2, script.lastIndexOf('.')).replace('_', ' ');
    }

    static long checksum(String text) {
        CRC32 crc = new CRC32();
        crc.update(text.replace("\r\n", "\n").getBytes(StandardCharsets.UTF_8));
        return crc.getValue();
    }

    /** The script's statements: {@code --} comment lines dropped, split at a {@code ;} that ends a line. */
    static List<String> statements(String text) {
        List<String> out = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        for (String line : text.split("\r?\n")) {
            String trimmed = line.trim();
            if (trimmed.isEmpty() || trimmed.startsWith("--")) continue;
            current.append(line).append('\n');
            if (trimmed.endsWith(";")) {
                String sql = current.toString().trim();
                out.add(sql.substring(0, sql.length() - 1));
                current.setLength(0);
            }
        }
        if (!current.toString().isBlank()) out.add(current.toString().trim());
        return out;
    }
}
