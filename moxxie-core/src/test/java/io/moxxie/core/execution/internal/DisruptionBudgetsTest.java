package io.moxxie.core.execution.internal;

import io.moxxie.core.model.PlacementRule;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/** How many members of each group a drain has in flight, and whether one more may start. */
class DisruptionBudgetsTest {
    private static final PlacementRule.GuestAffinity WEB =
            new PlacementRule.GuestAffinity("plb_anti_affinity_web", PlacementRule.Origin.TAG, Set.of(101, 102, 103), false, 2);
    private final DisruptionBudgets budgets = DisruptionBudgets.of(List.of(WEB));

    @Test
    void aMemberCountsOnceHoweverOftenItIsListed() {
        // The drain lists its guests in flight and those shut down for their move; a guest between the two (just shut
        // down, on another thread) is in both lists for a moment, and must not take two of its group's places.
        Map<DisruptionBudgets.Group, Integer> busy = budgets.inFlight(List.of(101, 101, 999));
        assertThat(busy).containsExactly(Map.entry(new DisruptionBudgets.Group(WEB, 2), 1));
        assertThat(budgets.full(102, busy)).as("one of two places taken").isEmpty();

        budgets.count(102, busy);
        assertThat(budgets.full(103, busy)).map(DisruptionBudgets.Group::label).contains("anti-affinity group plb_anti_affinity_web");
        assertThat(budgets.full(999, busy)).as("in no group").isEmpty();
    }
}
