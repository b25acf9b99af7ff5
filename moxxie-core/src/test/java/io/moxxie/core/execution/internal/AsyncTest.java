package io.moxxie.core.execution.internal;

import io.moxxie.core.spi.HypervisorException;
import io.moxxie.core.spi.HypervisorUnavailableException;
import io.moxxie.core.spi.TransientHypervisorException;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
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

    /** The tries of {@code call} until it ends, as seconds after the first. */
    private List<Long> triesOf(Async a, CompletableFuture<?>[] answer, java.util.function.Supplier<RuntimeException> failure, int failures) {
        Instant start = scheduler.now();
        List<Long> at = new ArrayList<>();
        answer[0] = a.call(() -> {
            at.add(Duration.between(start, scheduler.now()).toSeconds());
            if (at.size() <= failures) throw failure.get();
            return "answered";
        });
        assertThat(scheduler.runUntil(answer[0]::isDone, Duration.ofHours(1))).isTrue();
        return at;
    }

    @Test
    void aTransientFailureIsTriedAgainWithBackoffDoublingUpToTheLongestDelayAndTheAnswerComesBack() {
        Async a = new Async(scheduler, 6, Duration.ofSeconds(1), Duration.ofSeconds(5), Duration.ofHours(12));
        CompletableFuture<?>[] answer = new CompletableFuture<?>[1];
        List<Long> at = triesOf(a, answer, () -> new TransientHypervisorException("502 Bad Gateway"), 5);
        assertThat(at).containsExactly(0L, 1L, 3L, 7L, 12L, 17L);
        assertThat(answer[0].join()).isEqualTo("answered");
    }

    @Test
    void aTransientFailureGivesUpAfterMaxRetriesWithTheHypervisorsMessage() {
        Async a = new Async(scheduler, 2, Duration.ofSeconds(1), Duration.ofSeconds(30), Duration.ofHours(12));
        CompletableFuture<?>[] answer = new CompletableFuture<?>[1];
        List<Long> at = triesOf(a, answer, () -> new TransientHypervisorException("502 Bad Gateway"), 100);
        assertThat(at).as("the first try and two retries").containsExactly(0L, 1L, 3L);
        assertThat(answer[0].handle((v, e) -> e).join()).isInstanceOf(TransientHypervisorException.class).hasMessage("502 Bad Gateway");
    }

    @Test
    void aFailureThatIsNotTransientIsNotTriedAgain() {
        CompletableFuture<?>[] answer = new CompletableFuture<?>[1];
        List<Long> at = triesOf(async, answer, () -> new HypervisorException("VM 100 is locked (backup)"), 100);
        assertThat(at).containsExactly(0L);
        assertThat(answer[0].handle((v, e) -> e).join()).isInstanceOf(HypervisorException.class).hasMessage("VM 100 is locked (backup)");
    }

    @Test
    void anOutageIsNotCountedAgainstTheRetriesAndIsPolledAtTheLongestDelay() {
        Async a = new Async(scheduler, 1, Duration.ofSeconds(1), Duration.ofSeconds(20), Duration.ofMinutes(10));
        CompletableFuture<?>[] answer = new CompletableFuture<?>[1];
        List<Long> at = triesOf(a, answer, () -> new HypervisorUnavailableException("Proxmox VE is unreachable", null, null), 4);
        assertThat(at).containsExactly(0L, 20L, 40L, 60L, 80L);
        assertThat(answer[0].join()).isEqualTo("answered");
    }

    @Test
    void aLongestDelayNoLongerThanTheFirstPollsAnOutageJustAfterTheFirstDelay() {
        Async a = new Async(scheduler, 1, Duration.ofSeconds(10), Duration.ofSeconds(5), Duration.ofMinutes(10));
        Instant start = scheduler.now();
        List<Duration> at = new ArrayList<>();
        CompletableFuture<String> answer = a.call(() -> {
            at.add(Duration.between(start, scheduler.now()));
            if (at.size() < 3) throw new HypervisorUnavailableException("Proxmox VE is unreachable", null, null);
            return "answered";
        });
        assertThat(scheduler.runUntil(answer::isDone, Duration.ofHours(1))).isTrue();
        assertThat(at).containsExactly(Duration.ZERO, Duration.ofMillis(10_001), Duration.ofMillis(20_002));
    }

    @Test
    void aDelayEndsAfterExactlyItsSchedulerTime() {
        Instant start = scheduler.now();
        CompletableFuture<Void> d = async.delay(Duration.ofMinutes(3));
        scheduler.runFor(Duration.ofMinutes(3).minusMillis(1));
        assertThat(d).isNotDone();
        scheduler.runFor(Duration.ofMillis(1));
        assertThat(d).isCompleted();
        assertThat(scheduler.now()).isEqualTo(start.plus(Duration.ofMinutes(3)));
        assertThat(async.scheduler()).isSameAs(scheduler);
    }

    @Test
    void unwrapFindsTheCauseUnderEveryWrapper() {
        HypervisorException cause = new HypervisorException("no such VM");
        assertThat(Async.unwrap(new CompletionException(new ExecutionException(new CompletionException(cause))))).isSameAs(cause);
        assertThat(Async.unwrap(cause)).isSameAs(cause);
        CompletionException bare = new CompletionException("no cause", null);
        assertThat(Async.unwrap(bare)).isSameAs(bare);
    }
}
