package io.moxxie.examples.bench;

/**
 * What one strategy achieved on one scenario, in the simulator's virtual time.
 *
 * @param makespanSeconds            from the first request to the last guest done
 * @param lowerBoundSeconds          the lower bound of docs/architecture.md ("Migration model") for the guests that moved, with the run's concurrency
 * @param maxTargetMemoryUtilization the highest memory use any node reached during the run, as a fraction of its memory
 * @param moved                      guests moved
 * @param failed                     guests whose move failed (blocked by the plan, or refused by the cluster)
 * @param hypervisorCalls            calls made to the cluster, planning included
 * @param sparseCopySeconds          of the makespan, the time at most one migration was copying (see {@link Measure#sparseCopySeconds})
 */
record Outcome(String scenario, String strategy, int guests, int nodes, int maxConcurrent, double makespanSeconds,
               double lowerBoundSeconds, double maxTargetMemoryUtilization, int moved, int failed, long hypervisorCalls,
               double sparseCopySeconds) {

    double ratio() {
        return lowerBoundSeconds == 0 ? 1.0 : makespanSeconds / lowerBoundSeconds;
    }
}
