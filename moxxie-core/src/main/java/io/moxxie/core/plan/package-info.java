/**
 * Planning, a pure function of a cluster snapshot: {@link io.moxxie.core.plan.DrainRequest} (the options of a drain,
 * validated when built), {@link io.moxxie.core.plan.DrainPlanner} and the {@link io.moxxie.core.plan.DrainPlan} it
 * returns (per guest: a move with its target, a skip or a block, with the reason). Nothing here talks to a hypervisor.
 */
package io.moxxie.core.plan;
