/**
 * The service provider interfaces Moxxie runs against, and their own records: {@link
 * io.moxxie.core.spi.HypervisorClient} (read the cluster, check preconditions, migrate, follow tasks, start guests,
 * write tags) and {@link io.moxxie.core.spi.MaintenanceStore} (maintenance state, drains and per-guest progress,
 * owner and lease). Implement these to run Moxxie on another hypervisor or database; the contracts are in each
 * method's javadoc and in the contract tests of the core test jar.
 */
package io.moxxie.core.spi;
