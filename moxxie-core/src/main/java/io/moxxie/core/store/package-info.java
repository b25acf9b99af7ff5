/**
 * An in-memory {@link io.moxxie.core.spi.MaintenanceStore} for tests, demos and single-process use where nothing must
 * survive a restart. The JDBC store is in the {@code moxxie-jdbc-store} module.
 */
package io.moxxie.core.store;
