package io.moxxie.core.rollout;

import io.moxxie.core.plan.RolloutRequest;

import java.util.Optional;

/** The {@code continue} action: done when an operator says so. Stateless, so it survives a takeover as it is. */
final class WaitForContinue implements MaintenanceAction {
    static final WaitForContinue INSTANCE = new WaitForContinue();

    @Override
    public String name() {
        return RolloutRequest.CONTINUE_ACTION;
    }

    @Override
    public Run start(Context context) {
        return new Run() {
            @Override
            public Optional<Result> poll() {
                return context.continueRequested().getAsBoolean()
                        ? Optional.of(Result.ok("an operator said continue for " + context.node()))
                        : Optional.empty();
            }

            @Override
            public void cancel() {
            }
        };
    }
}
