package io.moxxie.core.plan;

import io.moxxie.core.model.MigrationType;

import io.moxxie.core.Checks;
import io.moxxie.core.model.Guest;

import java.util.Optional;

/**
 * What a plan does with one guest: move it ({@code targetNode}, {@code migrationType}), skip it (it
 * stays, {@code reason} says why) or block it (it should leave but cannot, {@code reason} says why).
 *
 * @param alwaysOn whether the tag policy counts the guest as {@code always-on} (it must be running at the end)
 * @param rule     the placement rule(s) that decided the target, or that block the guest, as their {@link
 *                 io.moxxie.core.model.PlacementRule#describe() descriptions} joined by {@code "; "}; {@code null} when
 *                 no rule did (the dry run shows it per guest)
 */
public record PlanEntry(Guest guest, Action action, MigrationType migrationType, String targetNode, String reason,
                        boolean alwaysOn, String rule) {

    public enum Action { MOVE, SKIP, BLOCK }

    public PlanEntry {
        Checks.notNull("guest", guest);
        Checks.notNull("action", action);
        if (action == Action.MOVE) {
            Checks.notNull("migrationType", migrationType);
            Checks.nodeName("targetNode", targetNode);
        } else {
            Checks.notNull("reason", reason);
        }
    }

    public static PlanEntry move(Guest guest, String target, MigrationType type, boolean alwaysOn, String note) {
        return new PlanEntry(guest, Action.MOVE, type, target, note, alwaysOn, null);
    }

    public static PlanEntry skip(Guest guest, String reason, boolean alwaysOn) {
        return new PlanEntry(guest, Action.SKIP, null, null, reason, alwaysOn, null);
    }

    public static PlanEntry block(Guest guest, MigrationType wanted, String reason, boolean alwaysOn) {
        return new PlanEntry(guest, Action.BLOCK, wanted, null, reason, alwaysOn, null);
    }

    /** This entry, naming the placement rule(s) that decided it ({@code null}: none). */
    public PlanEntry withRule(String newRule) {
        return new PlanEntry(guest, action, migrationType, targetNode, reason, alwaysOn, newRule);
    }

    public Optional<String> decidingRule() {
        return Optional.ofNullable(rule);
    }

    public int vmid() {
        return guest.vmid();
    }

    public Optional<String> target() {
        return Optional.ofNullable(targetNode);
    }
}
