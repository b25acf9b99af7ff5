package io.moxxie.examples.bench;

/**
 * What one strategy achieved on one scenario in one mix, in the simulator's virtual time.
 *
 * @param makespanSeconds            from the first request to the last guest done
 * @param lowerBoundSeconds          the lower bound of docs/architecture.md ("Migration model") for the guests that moved, with the run's concurrency
 * @param maxTargetMemoryUtilization the highest memory use any node reached during the run, as a fraction of its memory
 * @param moved                      guests moved
 * @param failed                     guests whose move failed (blocked by the plan, or refused by the cluster)
 * @param hypervisorCalls            calls made to the cluster, planning included
 * @param physics                    bytes sent, downtime, throttle, convergence of the run's live moves
 */
record Outcome(String scenario, String mix, String strategy, int guests, int nodes, int maxConcurrent, double makespanSeconds,
               double lowerBoundSeconds, double maxTargetMemoryUtilization, int moved, int failed, long hypervisorCalls,
               Measure.Physics physics) {

    double ratio() {
        return lowerBoundSeconds == 0 ? 1.0 : makespanSeconds / lowerBoundSeconds;
    }

    /** Bytes the live moves sent over the memory of the guests moved live (1 for idle guests; more for busy ones). */
    double bytesSentRatio() {
        return physics.liveMemory() == 0 ? 0 : physics.bytesSent() / physics.liveMemory();
    }

    String key() {
        return scenario + " / " + mix;
    }
}
