package io.moxxie.core.rollout;

import io.moxxie.core.model.GateVerdict;
import io.moxxie.core.plan.DrainPlan;
import io.moxxie.core.plan.RolloutRequest;

import java.time.Duration;
import java.util.List;

/**
 * A rollout's dry run: what it would do, node by node, before anything moves.
 *
 * @param request   the request
 * @param nodes     the nodes in the order they would go, each with its drain plan, the gates' verdicts now and an
 *                  estimate
 * @param order     why this order ({@code as given}, or how Moxxie chose it and which nodes it left out)
 * @param estimate  the sum of the nodes' estimates: migrations and settle time, not the maintenance actions' own time
 */
public record RolloutPlan(RolloutRequest request, List<NodePlan> nodes, String order, Duration estimate) {
    public RolloutPlan {
        nodes = List.copyOf(nodes);
    }

    /**
     * One node of the plan.
     *
     * @param node             the node
     * @param drain            its drain's plan, on the cluster as it is now (each node's guests are back on it before the
     *                         next node goes, so the next plan starts from the same cluster)
     * @param gates            the gates' verdicts now, before the node would go out
     * @param guestsToMove     the guests the drain would move
     * @param memoryToMove     their memory, bytes
     * @param migrationTime    the drain's and the undrain's migrations: a lower-bound estimate from the executor's
     *                         expected migration rate, link bandwidth and overhead
     * @param settleTime       the settle time after the node is back
     */
    public record NodePlan(String node, DrainPlan drain, List<GateVerdict> gates, int guestsToMove, long memoryToMove,
                           Duration migrationTime, Duration settleTime) {
        public NodePlan {
            gates = List.copyOf(gates);
        }

        public Duration estimate() {
            return migrationTime.plus(settleTime);
        }

        /** Whether every gate passes now. */
        public boolean gatesPass() {
            return gates.stream().allMatch(GateVerdict::pass);
        }
    }
}
