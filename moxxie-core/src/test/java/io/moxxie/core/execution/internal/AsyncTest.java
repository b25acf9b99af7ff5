package io.moxxie.core.execution.internal;

import io.moxxie.core.spi.HypervisorUnavailableException;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/** Async's wait through a hypervisor outage, in virtual time. */
class AsyncTest {
    private final VirtualScheduler scheduler = new VirtualScheduler(Instant.parse("2026-01-05T10:00:00Z"));
    private final Async async = new Async(scheduler, 6, Duration.ofSeconds(1), Duration.ofSeconds(30), Duration.ofHours(12));

    @Test
    void aCallWaitsOutALongOutageAndThenReturnsTheAnswer() {
        // Eleven hours down: 1,320 tries 30 s apart, then the answer. A chain of one future per try overflowed the stack.
        Instant back = scheduler.now().plus(Duration.ofHours(11));
        AtomicInteger tries = new AtomicInteger();
        CompletableFuture<String> answer = async.call(() -> {
            tries.incrementAndGet();
            if (scheduler.now().isBefore(back)) throw new HypervisorUnavailableException("Proxmox VE is unreachable", null, null);
            return "answered";
        });
        assertThat(scheduler.runUntil(answer::isDone, Duration.ofHours(12))).isTrue();
        assertThat(answer.join()).isEqualTo("answered");
        assertThat(tries.get()).isEqualTo(1321);
        assertThat(scheduler.now()).isEqualTo(back);
    }

    @Test
    void aCallGivesUpWithTheOutageOnceItsWaitHasPassed() {
        AtomicInteger tries = new AtomicInteger();
        CompletableFuture<String> answer = async.call(() -> {
            tries.incrementAndGet();
            throw new HypervisorUnavailableException("Proxmox VE is unreachable", null, null);
        });
        assertThat(scheduler.runUntil(answer::isDone, Duration.ofHours(13))).isTrue();
        assertThat(answer).isCompletedExceptionally();
        assertThat(answer.handle((v, e) -> e).join()).isInstanceOf(HypervisorUnavailableException.class);
        assertThat(tries.get()).isEqualTo(12 * 120 + 1);
    }
}
