/**
 * {@link io.moxxie.store.jdbc.JdbcMaintenanceStore}: the {@link io.moxxie.core.spi.MaintenanceStore} on Jdbi for H2,
 * PostgreSQL and MariaDB, with versioned DDL applied at start and an owner and lease per running drain.
 */
package io.moxxie.store.jdbc;
