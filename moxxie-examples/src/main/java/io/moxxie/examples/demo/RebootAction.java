package io.moxxie.examples.demo;

import io.moxxie.core.rollout.MaintenanceAction;
import io.moxxie.core.simulation.SimulatedCluster;

import java.time.Duration;

/**
 * The demo's {@code reboot} action: reboots the simulated node ({@link SimulatedCluster#reboot}), which goes offline
 * at once and comes back {@link #DOWN_FOR} later, so that a rollout in the demo shows a node going down and the
 * rollout waiting for it to be back. The action itself ends as soon as the reboot is under way, like
 * {@code ssh root@$MOXXIE_NODE reboot} does. Thread-safe.
 */
public final class RebootAction implements MaintenanceAction {
    public static final String NAME = "reboot";
    /** About what a Proxmox VE host with ECC memory and a RAID controller takes from {@code reboot} to pve-cluster up. */
    public static final Duration DOWN_FOR = Duration.ofSeconds(90);

    private final SimulatedCluster cluster;

    public RebootAction(SimulatedCluster cluster) {
        this.cluster = cluster;
    }

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public Run start(Context context) {
        cluster.reboot(context.node(), DOWN_FOR);
        Result done = Result.ok("rebooting " + context.node() + " (the demo's node is down for " + DOWN_FOR.toSeconds() + " s)");
        return Run.done(done);
    }
}
