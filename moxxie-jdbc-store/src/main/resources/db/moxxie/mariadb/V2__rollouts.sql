-- Moxxie schema, version 2, for MariaDB 10.6+ and MySQL 8.0.16+: rollouts (rolling maintenance of a cluster, one
-- node after another). Applied by JdbcMaintenanceStore when built with applyMigrations(true), or by your own
-- migration tool. Every timestamp is a DATETIME(6) holding UTC; durations are whole milliseconds.

-- Every rollout: the operator's request (fixed at creation), its state, the process running it and what operators
-- asked of it since (pause_requested, cancel_requested, continue_node: written only by requests, never by the owner's
-- updates). run_parallel / max_concurrent encode each drain's concurrency as the drain table does;
-- ceph_allowed_warnings is a comma-separated list of Ceph health check codes (which are [A-Z0-9_]).
CREATE TABLE IF NOT EXISTS rollout (
    rollout_id            VARCHAR(64)   NOT NULL,
    created_seq           BIGINT        NOT NULL AUTO_INCREMENT,
    state                 VARCHAR(16)   NOT NULL,
    message               VARCHAR(4000),
    drain_mode            VARCHAR(16)   NOT NULL,
    run_parallel          BOOLEAN       NOT NULL,
    max_concurrent        INTEGER       NOT NULL,
    allow_offline         BOOLEAN       NOT NULL,
    force_drain           BOOLEAN       NOT NULL,
    action_name           VARCHAR(64)   NOT NULL,
    before_drain          VARCHAR(64),
    after_undrain         VARCHAR(64),
    ceph_allowed_warnings VARCHAR(4000) NOT NULL,
    ceph_noout            BOOLEAN       NOT NULL,
    gate_timeout_ms       BIGINT        NOT NULL,
    action_timeout_ms     BIGINT        NOT NULL,
    node_back_timeout_ms  BIGINT        NOT NULL,
    settle_time_ms        BIGINT        NOT NULL,
    max_nodes_down        INTEGER       NOT NULL,
    continue_on_failure   BOOLEAN       NOT NULL,
    dry_run               BOOLEAN       NOT NULL,
    created_at            DATETIME(6)   NOT NULL,
    completed_at          DATETIME(6),
    owner_id              VARCHAR(255),
    lease_expires_at      DATETIME(6),
    pause_requested       BOOLEAN       NOT NULL DEFAULT FALSE,
    cancel_requested      BOOLEAN       NOT NULL DEFAULT FALSE,
    continue_node         VARCHAR(64),
    CONSTRAINT rollout_pk PRIMARY KEY (rollout_id),
    CONSTRAINT rollout_created_seq_uk UNIQUE (created_seq),
    INDEX rollout_created_at_idx (created_at),
    INDEX rollout_state_idx (state)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- The nodes the request names, in the order asked (none: every node of the cluster). A row per node, so that any
-- node name reads back as written (names may hold ',', '.', quotes).
CREATE TABLE IF NOT EXISTS rollout_node (
    rollout_id VARCHAR(64) NOT NULL,
    seq_no     INTEGER     NOT NULL,
    node_name  VARCHAR(64) NOT NULL,
    CONSTRAINT rollout_node_pk PRIMARY KEY (rollout_id, seq_no),
    CONSTRAINT rollout_node_rollout_fk FOREIGN KEY (rollout_id) REFERENCES rollout (rollout_id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Each node's step, in the order they run, written as it progresses. gates holds the gates' last verdicts, one a
-- line: gate TAB pass|block TAB reason, with backslash, newline, carriage return, tab and NUL escaped as \\ \n \r \t \0.
-- gates and action_output are TEXT (65,535 bytes): the store refuses more than 16,000 characters, which fit in it.
CREATE TABLE IF NOT EXISTS rollout_step (
    rollout_id       VARCHAR(64)    NOT NULL,
    idx              INTEGER        NOT NULL,
    node_name        VARCHAR(64)    NOT NULL,
    phase            VARCHAR(16)    NOT NULL,
    state            VARCHAR(16)    NOT NULL,
    started_at       DATETIME(6),
    phase_started_at DATETIME(6),
    ended_at         DATETIME(6),
    drain_id         VARCHAR(64),
    undrain_id       VARCHAR(64),
    gates            TEXT           NOT NULL,
    action_exit      INTEGER,
    action_output    TEXT           NOT NULL,
    message          VARCHAR(4000),
    back_since       DATETIME(6),
    CONSTRAINT rollout_step_pk PRIMARY KEY (rollout_id, idx),
    CONSTRAINT rollout_step_rollout_fk FOREIGN KEY (rollout_id) REFERENCES rollout (rollout_id) ON DELETE CASCADE
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
