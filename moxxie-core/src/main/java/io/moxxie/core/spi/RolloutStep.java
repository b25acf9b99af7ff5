package io.moxxie.core.spi;

import io.moxxie.core.Checks;
import io.moxxie.core.model.GateVerdict;
import io.moxxie.core.model.RolloutPhase;
import io.moxxie.core.model.RolloutState;

import java.time.Instant;
import java.util.List;

/**
 * One node of a rollout, as persisted: where its maintenance is, and the record an operator reads afterwards.
 *
 * @param rolloutId      the rollout
 * @param index          its place in the order, from 0
 * @param node           the node
 * @param phase          where it is
 * @param state          its state; {@code WAITING} with the reason in {@code message}
 * @param startedAt      when its turn began ({@code null} before)
 * @param phaseStartedAt when the current phase began: the time limits count from it, also after a takeover
 * @param endedAt        when it ended ({@code null} before)
 * @param drainId        its drain ({@code null} before)
 * @param undrainId      its undrain ({@code null} before)
 * @param gates          the gates' last verdicts
 * @param actionExit     the maintenance action's exit status, when it has one
 * @param actionOutput   the tail of the action's output ({@code ""} when none)
 * @param message        what it does, waits for, or why it failed and what an operator should do
 * @param backSince      when the node was first seen back (online, quorate, healthy) after the action; the settle
 *                       time counts from it
 */
public record RolloutStep(String rolloutId, int index, String node, RolloutPhase phase, RolloutState state,
                          Instant startedAt, Instant phaseStartedAt, Instant endedAt, String drainId, String undrainId,
                          List<GateVerdict> gates, Integer actionExit, String actionOutput, String message,
                          Instant backSince) {
    public RolloutStep {
        Checks.notNull("rolloutId", rolloutId);
        Checks.atLeast("index", index, 0);
        Checks.nodeName("node", node);
        Checks.notNull("phase", phase);
        Checks.notNull("state", state);
        gates = gates == null ? List.of() : List.copyOf(gates);
        actionOutput = actionOutput == null ? "" : actionOutput;
        message = message == null ? "" : message;
    }

    /** A step whose turn has not come. */
    public static RolloutStep pending(String rolloutId, int index, String node) {
        return new RolloutStep(rolloutId, index, node, RolloutPhase.PENDING, RolloutState.PENDING, null, null, null, null,
                null, List.of(), null, "", "", null);
    }

    /** In {@code newPhase} from {@code at}, running, with {@code newMessage}. */
    public RolloutStep enter(RolloutPhase newPhase, Instant at, String newMessage) {
        return new RolloutStep(rolloutId, index, node, newPhase, RolloutState.RUNNING, startedAt == null ? at : startedAt, at,
                null, drainId, undrainId, gates, actionExit, actionOutput, newMessage, backSince);
    }

    public RolloutStep with(RolloutState newState, String newMessage) {
        return new RolloutStep(rolloutId, index, node, phase, newState, startedAt, phaseStartedAt, endedAt, drainId,
                undrainId, gates, actionExit, actionOutput, newMessage, backSince);
    }

    public RolloutStep ended(RolloutState newState, Instant at, String newMessage) {
        return new RolloutStep(rolloutId, index, node, phase, newState, startedAt, phaseStartedAt, at, drainId, undrainId,
                gates, actionExit, actionOutput, newMessage, backSince);
    }

    public RolloutStep withGates(List<GateVerdict> newGates) {
        return new RolloutStep(rolloutId, index, node, phase, state, startedAt, phaseStartedAt, endedAt, drainId,
                undrainId, newGates, actionExit, actionOutput, message, backSince);
    }

    public RolloutStep withDrain(String newDrainId) {
        return new RolloutStep(rolloutId, index, node, phase, state, startedAt, phaseStartedAt, endedAt, newDrainId,
                undrainId, gates, actionExit, actionOutput, message, backSince);
    }

    public RolloutStep withUndrain(String newUndrainId) {
        return new RolloutStep(rolloutId, index, node, phase, state, startedAt, phaseStartedAt, endedAt, drainId,
                newUndrainId, gates, actionExit, actionOutput, message, backSince);
    }

    public RolloutStep withAction(Integer exit, String output) {
        return new RolloutStep(rolloutId, index, node, phase, state, startedAt, phaseStartedAt, endedAt, drainId,
                undrainId, gates, exit, output, message, backSince);
    }

    public RolloutStep withBackSince(Instant at) {
        return new RolloutStep(rolloutId, index, node, phase, state, startedAt, phaseStartedAt, endedAt, drainId,
                undrainId, gates, actionExit, actionOutput, message, at);
    }
}
