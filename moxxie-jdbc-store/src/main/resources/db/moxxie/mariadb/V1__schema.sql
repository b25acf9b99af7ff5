-- Moxxie schema, version 1, for MariaDB 10.6+ and MySQL 8.0.16+ (InnoDB, utf8mb4).
-- Applied by JdbcMaintenanceStore when built with applyMigrations(true), or by your own migration tool.
-- Every timestamp is a DATETIME(6) holding UTC (DATETIME is not converted by the session time zone).

-- The user guide's table: one row per node that was ever put in maintenance or drained.
CREATE TABLE IF NOT EXISTS node_maintenance (
    node_name           VARCHAR(64)   NOT NULL,
    in_maintenance      BOOLEAN       NOT NULL DEFAULT FALSE,
    reason              VARCHAR(1000),
    maintenance_started DATETIME(6),
    maintenance_ended   DATETIME(6),
    drain_status        VARCHAR(16),
    last_drain_id       VARCHAR(64),
    vm_list             MEDIUMTEXT    NOT NULL,
    updated_at          DATETIME(6),
    CONSTRAINT node_maintenance_pk PRIMARY KEY (node_name),
    INDEX node_maintenance_updated_at_idx (updated_at)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Every drain and undrain. active_node equals node_name while the drain is in progress and is NULL once it
-- finished: its unique key is what refuses a second unfinished drain of a node, across processes.
-- owner_id / lease_expires_at / version: the running process, its heartbeat, and the optimistic-lock counter.
CREATE TABLE IF NOT EXISTS drain (
    drain_id         VARCHAR(64)   NOT NULL,
    created_seq      BIGINT        NOT NULL AUTO_INCREMENT,
    node_name        VARCHAR(64)   NOT NULL,
    operation        VARCHAR(16)   NOT NULL,
    status           VARCHAR(16)   NOT NULL,
    active_node      VARCHAR(64),
    message          VARCHAR(1000),
    drain_mode       VARCHAR(16)   NOT NULL,
    run_parallel     BOOLEAN       NOT NULL,
    max_concurrent   INTEGER       NOT NULL,
    allow_offline    BOOLEAN       NOT NULL,
    target_node      VARCHAR(64),
    force_drain      BOOLEAN       NOT NULL,
    dry_run          BOOLEAN       NOT NULL,
    undrain_of       VARCHAR(64),
    started_at       DATETIME(6)   NOT NULL,
    completed_at     DATETIME(6),
    owner_id         VARCHAR(255),
    lease_expires_at DATETIME(6),
    cancel_requested BOOLEAN       NOT NULL DEFAULT FALSE,
    version          BIGINT        NOT NULL DEFAULT 0,
    CONSTRAINT drain_pk PRIMARY KEY (drain_id),
    CONSTRAINT drain_created_seq_uk UNIQUE (created_seq),
    CONSTRAINT drain_one_active_per_node_uk UNIQUE (active_node),
    CONSTRAINT drain_active_node_ck CHECK (active_node IS NULL OR active_node = node_name),
    INDEX drain_node_started_idx (node_name, started_at),
    INDEX drain_status_idx (status)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Each guest of a drain, written as its move progresses.
CREATE TABLE IF NOT EXISTS drain_guest (
    drain_id       VARCHAR(64)    NOT NULL,
    vmid           INTEGER        NOT NULL,
    seq_no         INTEGER        NOT NULL,
    guest_name     VARCHAR(255)   NOT NULL,
    guest_type     VARCHAR(8)     NOT NULL,
    source_node    VARCHAR(64)    NOT NULL,
    target_node    VARCHAR(64),
    migration_type VARCHAR(16),
    status         VARCHAR(16)    NOT NULL,
    always_on      BOOLEAN        NOT NULL,
    ha_managed     BOOLEAN        NOT NULL,
    was_running    BOOLEAN        NOT NULL,
    memory_bytes   BIGINT         NOT NULL,
    attempts       INTEGER        NOT NULL DEFAULT 0,
    task_id        VARCHAR(255),
    error          VARCHAR(4000),
    note           VARCHAR(1000),
    started_at     DATETIME(6),
    completed_at   DATETIME(6),
    CONSTRAINT drain_guest_pk PRIMARY KEY (drain_id, vmid),
    CONSTRAINT drain_guest_drain_fk FOREIGN KEY (drain_id) REFERENCES drain (drain_id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
