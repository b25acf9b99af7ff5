/**
 * {@link io.moxxie.store.jdbc.JdbcMaintenanceStore}: the {@link io.moxxie.core.spi.MaintenanceStore} and
 * {@link io.moxxie.core.spi.RolloutStore} on Jdbi for H2, PostgreSQL and MariaDB, with versioned DDL applied at start
 * and an owner and lease per running drain and rollout.
 */
package io.moxxie.store.jdbc;
