package io.moxxie.core.rollout;

import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.plan.RolloutRequest;
import io.moxxie.core.service.MaintenanceService;
import io.moxxie.core.spi.HypervisorClient;

import java.util.Set;

/**
 * What a {@link Gate} may look at.
 *
 * @param rolloutId   the rollout asking
 * @param node        the node about to go out (or come back)
 * @param request     the rollout's request (its gate options)
 * @param snapshot    the cluster, read for this check
 * @param client      the hypervisor, for further reads
 * @param service     the maintenance service (plans, maintenance records)
 * @param flagsWeSet  the Ceph flags this rollout set itself (they do not count as a warning)
 */
public record GateContext(String rolloutId, String node, RolloutRequest request, ClusterSnapshot snapshot,
                          HypervisorClient client, MaintenanceService service, Set<String> flagsWeSet) {
}
