package io.moxxie.core.spi;

import io.moxxie.core.Checks;

import java.time.Instant;
import java.util.OptionalDouble;

/**
 * How far a running live migration has come, as the hypervisor last reported it: Proxmox writes a line a second in the
 * migrate task's log, {@code migration active, transferred X of Y VM-state, R/s} (PVE 7 and later) or {@code migration
 * status: active (transferred X, remaining Y), total Z)} (before 2021), plus a line when QEMU's auto-converge
 * throttles the guest.
 *
 * @param transferred bytes of guest state sent so far (all pre-copy passes together)
 * @param remaining   bytes still to send in the current pass, as reported; may grow again when the guest dirties memory
 * @param total       the guest's memory (VM-state) in bytes
 * @param rate        bytes per second the stream runs at now, when reported; empty otherwise
 * @param throttle    the guest's CPU throttle by auto-converge, 0..1, when logged; empty when never throttled
 * @param at          when the line was written (or the model evaluated)
 */
public record MigrationProgress(long transferred, long remaining, long total, OptionalDouble rate, OptionalDouble throttle,
                                Instant at) {
    public MigrationProgress {
        Checks.atLeast("transferred", transferred, 0);
        Checks.atLeast("remaining", remaining, 0);
        Checks.atLeast("total", total, 0);
        Checks.notNull("rate", rate);
        Checks.notNull("throttle", throttle);
        Checks.notNull("at", at);
    }
}
