/**
 * A simulated Proxmox cluster ({@link io.moxxie.core.simulation.SimulatedCluster}), a {@link
 * io.moxxie.core.spi.HypervisorClient} with a migration model, fault injection and an injectable scheduler: the
 * ground truth of the tests, the demo server and the benchmarks.
 */
package io.moxxie.core.simulation;
