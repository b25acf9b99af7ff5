package io.moxxie.examples.bench;

import io.moxxie.core.model.DrainMode;
import io.moxxie.core.plan.PlacementConfig;
import io.moxxie.core.simulation.MigrationModel;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.time.Scheduler;

import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * One benchmark case: a seeded cluster, the node(s) to drain and how, and how busy the guests are.
 *
 * @param name          e.g. {@code S2 mixed soft}
 * @param cluster       builds the cluster on a scheduler (the same input for every strategy)
 * @param nodes         the nodes drained, in order; more than one for the rolling scenario (each drained then undrained)
 * @param rolling       drain then undrain each node in turn (the guide's Pattern 1) and report the total
 * @param mode          soft or hard
 * @param maxConcurrent the fixed concurrency of the run ({@code 0}: Moxxie's auto concurrency)
 * @param placement     the planner's headroom
 * @param model         the migration model the cluster is built with
 * @param mix           the guests' dirty rates and working sets
 */
record Scenario(String name, Function<Scheduler, SimulatedCluster.Builder> cluster, List<String> nodes, boolean rolling,
                DrainMode mode, int maxConcurrent, PlacementConfig placement, MigrationModel model, Mix mix) {

    Scenario withConcurrency(int k) {
        return new Scenario(name, cluster, nodes, rolling, mode, k, placement, model, mix);
    }

    Scenario withMix(Mix m) {
        return new Scenario(name, cluster, nodes, rolling, mode, maxConcurrent, placement, model, m);
    }

    /** The cluster of this case, its guests' d and W drawn from the mix (seeded by the scenario's name and {@link Scenarios#seedOffset}). */
    Built build(Scheduler scheduler) {
        SimulatedCluster c = cluster.apply(scheduler).model(model).build();
        return new Built(c, mix.apply(c, name.hashCode() + Scenarios.seedOffset));
    }

    /** A cluster built for a run, and each guest's {d, W} by vmid. */
    record Built(SimulatedCluster cluster, Map<Integer, double[]> dirty) {
    }
}
