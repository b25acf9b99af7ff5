package io.moxxie.examples.bench;

import io.moxxie.core.model.DrainMode;
import io.moxxie.core.plan.PlacementConfig;
import io.moxxie.core.simulation.MigrationModel;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.time.Scheduler;

import java.util.List;
import java.util.function.Function;

/**
 * One benchmark case: a seeded cluster, the node(s) to drain and how.
 *
 * @param name          e.g. {@code S2 mixed soft}
 * @param cluster       builds the cluster on a scheduler (the same input for every strategy)
 * @param nodes         the nodes drained, in order; more than one for the rolling scenario (each drained then undrained)
 * @param rolling       drain then undrain each node in turn (the guide's Pattern 1) and report the total
 * @param mode          soft or hard
 * @param maxConcurrent the fixed concurrency of the run ({@code 0}: Moxxie's auto concurrency)
 * @param placement     the planner's headroom
 */
record Scenario(String name, Function<Scheduler, SimulatedCluster.Builder> cluster, List<String> nodes, boolean rolling,
                DrainMode mode, int maxConcurrent, PlacementConfig placement, MigrationModel model) {

    Scenario withConcurrency(int k) {
        return new Scenario(name, cluster, nodes, rolling, mode, k, placement, model);
    }
}
