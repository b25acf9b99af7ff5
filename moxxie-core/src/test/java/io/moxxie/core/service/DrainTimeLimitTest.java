package io.moxxie.core.service;

import io.moxxie.core.execution.DrainListener;
import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.execution.ExecutorConfig;
import io.moxxie.core.execution.VmStatus;
import io.moxxie.core.model.Concurrency;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.PowerState;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.testing.TestClusters.Env;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import static io.moxxie.core.testing.TestClusters.HV7_GUESTS;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * When a drain's time limit ({@code drainTimeout}) passes, nothing new starts: every guest still waiting fails saying
 * why (and the listeners hear of each), a guest already shut down for its offline move but not moved yet runs again
 * where it was, the moves in flight end, and the drain ends {@code failed}.
 */
class DrainTimeLimitTest {
    /** Only maint-ok guests: a hard drain moves them offline, shut down ahead of their turn. */
    private static final Set<Integer> MAINT_OK_ONLY = Set.of(8300, 8301, 8215);

    private static DrainRequest serialHardDrain() {
        return DrainRequest.builder("hv7").mode(DrainMode.HARD).concurrency(Concurrency.serial()).build();
    }

    /** Down on hv7 for its offline move, entry in progress, not migrating yet (no migrate lock). */
    private static List<Integer> waitingDown(Env env, String drainId) {
        DrainStatus now = env.service.status("hv7", drainId);
        return MAINT_OK_ONLY.stream().filter(v -> now.vm(v).status() == GuestState.IN_PROGRESS && env.nodeOf(v).equals("hv7")
                && env.guest(v).status() == PowerState.STOPPED && env.guest(v).lock() == null).sorted().toList();
    }

    /** How long after its start the serial hard drain of the guide's cluster has a guest down, waiting for the slot. */
    private static Duration firstGuestDownWaiting() {
        Env probe = new Env();
        Instant start = probe.scheduler.now();
        String id = probe.service.drain(serialHardDrain()).drainId();
        assertThat(probe.scheduler.runUntil(() -> !waitingDown(probe, id).isEmpty(), Duration.ofHours(1))).isTrue();
        // Found stopped on its source with no migrate lock: its shutdown is over and it waits for the slot, down.
        return Duration.between(start, probe.scheduler.now());
    }

    @Test
    void atTheDrainsTimeLimitWaitingGuestsFailSayingWhyAndAGuestShutDownAheadRunsAgainWhereItWas() {
        Duration limit = Duration.ofSeconds(firstGuestDownWaiting().toSeconds() + 1);
        List<GuestProgress> failedEvents = new ArrayList<>();
        Env env = new Env(c -> c, s -> s.executorConfig(ExecutorConfig.builder().drainTimeout(limit).build())
                .listener(new DrainListener() {
                    @Override
                    public void guestFailed(String drainId, GuestProgress guest) {
                        failedEvents.add(guest);
                    }
                }));
        Set<Integer> runningBefore = HV7_GUESTS.stream().filter(v -> env.guest(v).running()).collect(Collectors.toSet());
        Instant start = env.scheduler.now();
        String id = env.service.drain(serialHardDrain()).drainId();
        env.scheduler.runUntil(() -> !env.scheduler.now().isBefore(start.plus(limit)), Duration.ofHours(1));
        List<Integer> down = waitingDown(env, id);
        assertThat(down).as("guests down for their move when the time limit passes").isNotEmpty();
        env.runUntilIdle();

        DrainStatus done = env.service.status("hv7", id);
        assertThat(done.status()).isEqualTo(DrainState.FAILED);
        assertThat(done.vmStatus()).noneMatch(v -> v.status() == GuestState.IN_PROGRESS);
        assertThat(env.cluster.migrations()).as("moves started after the time limit")
                .allSatisfy(m -> assertThat(m.startedAt()).isBefore(start.plus(limit)));
        for (int vmid : down) {
            VmStatus v = done.vm(vmid);
            assertThat(env.nodeOf(vmid)).isEqualTo("hv7");
            assertThat(env.guest(vmid).status()).as("VM %s, down for its move at the limit", vmid).isEqualTo(PowerState.RUNNING);
            assertThat(v.note()).as("%s", v).contains("started again on hv7");
        }
        for (int vmid : runningBefore) {
            if (env.nodeOf(vmid).equals("hv7")) assertThat(env.guest(vmid).status()).as("VM %s left on hv7", vmid).isEqualTo(PowerState.RUNNING);
        }
        // The move in flight at the limit runs into it too (a move's own limit ends with the drain's); those still
        // waiting never start.
        List<VmStatus> failed = done.vmStatus().stream().filter(v -> v.status() == GuestState.FAILED).toList();
        List<VmStatus> neverStarted = failed.stream().filter(v -> v.attempts() == 0).toList();
        assertThat(neverStarted).as("guests still waiting at the limit").isNotEmpty().allSatisfy(v -> {
            assertThat(v.error()).isEqualTo("drain time limit of " + limit.toSeconds() + "s (drainTimeout) reached before this guest was started");
            assertThat(env.nodeOf(v.vmid())).isEqualTo("hv7");
        });
        assertThat(failedEvents).as("listeners told of each failure").extracting(GuestProgress::vmid)
                .containsExactlyInAnyOrderElementsOf(failed.stream().map(VmStatus::vmid).toList());
        assertThat(done.failedVMs()).isEqualTo(failed.size());
    }
}
