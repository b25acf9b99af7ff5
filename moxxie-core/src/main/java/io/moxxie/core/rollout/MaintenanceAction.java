package io.moxxie.core.rollout;

import io.moxxie.core.Checks;
import io.moxxie.core.model.RolloutPhase;

import java.time.Instant;
import java.util.Optional;
import java.util.function.BooleanSupplier;

/**
 * What a rollout does with a node once it is empty (and, optionally, before its drain and after its undrain): the
 * operator's own work, by whatever means the embedding application has — wait for a person, run a command over SSH,
 * call a configuration-management API. Registered by name with {@link RolloutService.Builder#action}; a request names
 * the one it wants. {@link #waitForContinue()} ({@code continue}) is always there.
 *
 * <p>An action runs in the background: {@link #start} returns at once and the rollout {@link Run#poll() polls} it at
 * every tick, until it ends or the request's {@code actionTimeout} passes (then {@link Run#cancel()}). A run lives in
 * the process that started it: when that process dies, the instance that takes the rollout over cannot know how it
 * ended, so it waits for an operator's {@code continue} (except for {@code continue} itself, which it simply goes on
 * waiting for).
 *
 * <p>Implementations are thread-safe.
 */
public interface MaintenanceAction {

    /** Its name in requests: lower-case letters, digits, {@code -}, {@code _}. */
    String name();

    /** Starts the action for {@code context.node()}; must not block for long. */
    Run start(Context context);

    /**
     * What an action knows of the rollout.
     *
     * @param rolloutId         the rollout
     * @param node              the node
     * @param phase             {@code BEFORE_DRAIN}, {@code ACTION} or {@code AFTER_UNDRAIN}
     * @param startedAt         when the action started
     * @param continueRequested whether an operator said {@code continue} for this node
     */
    record Context(String rolloutId, String node, RolloutPhase phase, Instant startedAt, BooleanSupplier continueRequested) {
        public Context {
            Checks.notNull("rolloutId", rolloutId);
            Checks.nodeName("node", node);
            Checks.notNull("phase", phase);
            Checks.notNull("continueRequested", continueRequested);
        }
    }

    /** One run of an action. */
    interface Run {
        /** Its result once it ended; empty while it runs. */
        Optional<Result> poll();

        /** Stops it (its time limit passed, or the rollout was cancelled). Idempotent. */
        void cancel();

        /** A run that ended as it started, with {@code result} (an action that is done at once, or could not start). */
        static Run done(Result result) {
            Optional<Result> ended = Optional.of(result);
            return new Run() {
                @Override
                public Optional<Result> poll() {
                    return ended;
                }

                @Override
                public void cancel() {
                }
            };
        }
    }

    /**
     * How an action ended.
     *
     * @param success    whether the rollout may go on with the node
     * @param exitStatus a command's exit status, when there is one
     * @param output     the tail of its output ({@code ""} when none); kept in the step's record
     * @param message    in an operator's words
     */
    record Result(boolean success, Integer exitStatus, String output, String message) {
        public Result {
            output = output == null ? "" : output;
            message = message == null ? "" : message;
        }

        public static Result ok(String message) {
            return new Result(true, null, "", message);
        }

        public static Result failed(String message) {
            return new Result(false, null, "", message);
        }
    }

    /** {@code continue}: waits for an operator's {@code POST /api/v1/rollouts/{id}/continue} for this node. */
    static MaintenanceAction waitForContinue() {
        return WaitForContinue.INSTANCE;
    }
}
