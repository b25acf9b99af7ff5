/**
 * A simulated Proxmox VE API in front of core's {@link io.moxxie.core.simulation.SimulatedCluster}, for tests, demos
 * and benchmarks of integrations that have no cluster at hand: {@link io.moxxie.proxmox.simulation.SimulatedProxmoxApi}
 * holds the semantics and answers {@link io.moxxie.proxmox.simulation.ApiRequest}s with
 * {@link io.moxxie.proxmox.simulation.ApiResponse}s, whatever carries them;
 * {@link io.moxxie.proxmox.simulation.SimulatedProxmoxServer} serves it over HTTP(S) with the JDK's own server, so
 * that the real {@link io.moxxie.proxmox.ProxmoxClient} can talk to it.
 */
package io.moxxie.proxmox.simulation;
