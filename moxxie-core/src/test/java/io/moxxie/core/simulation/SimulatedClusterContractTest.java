package io.moxxie.core.simulation;

import io.moxxie.core.spi.HypervisorClient;
import io.moxxie.core.spi.HypervisorClientContract;

/** The simulated cluster keeps the contract every hypervisor client keeps: tests and benchmarks on it hold for Proxmox. */
class SimulatedClusterContractTest extends HypervisorClientContract {
    @Override
    protected HypervisorClient client(SimulatedCluster cluster) {
        return cluster;
    }
}
