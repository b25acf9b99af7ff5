package io.moxxie.core.service;

import io.moxxie.core.model.Concurrency;
import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.execution.VmStatus;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.simulation.SimulatedCluster.MigrationRecord;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.testing.TestClusters.Env;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What an operator reads in a drain's status — its counts, its progress line, its closing message — agrees with its
 * guests' entries at every moment, through a failed guest, a guest retried on another target and a cancel; and what the
 * store holds (what another process would show, or take over) is what the live status shows.
 */
class DrainCountsTest {
    private static final Pattern PROGRESS = Pattern.compile("Progress: (\\d+)/(\\d+) completed(?:, (\\d+) failed)?");
    private static final Pattern CANCELLED = Pattern.compile(
            "Drain of hv7 cancelled: (\\d+) migrated, (\\d+) skipped, (\\d+) failed, (\\d+) not started");

    /** 8200 fails on every target (tried twice, then failed); 8201 fails once and moves on its second target. */
    private static Env faultyCluster() {
        Env env = new Env();
        env.cluster.failMigrations(8200, 10, "can't migrate VM which uses local devices: hostpci0");
        env.cluster.failMigrations(8201, 1, "migration aborted");
        return env;
    }

    @Test
    void theProgressLineAndTheStoreAgreeWithTheGuestsAfterEveryStepOfADrainWithAFailureAndARetryElsewhere() {
        Env env = faultyCluster();
        DrainStatus s = env.service.drain(DrainRequest.builder("hv7").mode(DrainMode.HARD).concurrency(Concurrency.fixed(3)).build()).status();
        List<String> progressLines = new ArrayList<>();
        env.scheduler.runUntil(() -> {
            DrainStatus now = env.service.status("hv7", s.drainId());
            checkAgreement(env, now, progressLines);
            return false;
        }, Duration.ofHours(2));
        DrainStatus done = env.service.status("hv7", s.drainId());
        assertThat(env.service.activeDrains()).as("the drain ran to its end within the limit").isEmpty();
        assertThat(done.status()).isEqualTo(DrainState.FAILED);
        assertThat(done.totalVMs()).isEqualTo(15);
        assertThat(done.completedVMs()).isEqualTo(14);
        assertThat(done.failedVMs()).isEqualTo(1);
        assertThat(done.skippedVMs()).isZero();
        // Each guest's end moves the progress line on; a failure, once counted, stays counted.
        List<Integer> ended = progressLines.stream().map(l -> {
            Matcher m = PROGRESS.matcher(l);
            assertThat(m.matches()).isTrue();
            return Integer.parseInt(m.group(1)) + (m.group(3) == null ? 0 : Integer.parseInt(m.group(3)));
        }).toList();
        assertThat(ended).isSorted().doesNotHaveDuplicates();
        assertThat(progressLines).hasSizeGreaterThan(5);
        assertThat(progressLines.subList(progressLines.indexOf(progressLines.stream().filter(l -> l.endsWith("1 failed"))
                .findFirst().orElseThrow()), progressLines.size())).allMatch(l -> l.endsWith(", 1 failed"));
        assertThat(done.message()).isEqualTo("Drain of hv7 failed: 14 migrated, 0 skipped, 1 failed "
                + "(8200: can't migrate VM which uses local devices: hostpci0)");

        VmStatus retried = done.vm(8201);
        assertThat(retried.status()).isEqualTo(GuestState.COMPLETED);
        assertThat(retried.attempts()).isEqualTo(2);
        assertThat(retried.error()).isNull();
        List<MigrationRecord> moves = env.cluster.migrations().stream().filter(m -> m.vmid() == 8201).toList();
        assertThat(moves).extracting(MigrationRecord::successful).containsExactly(false, true);
        assertThat(retried.targetNode()).isEqualTo(moves.get(1).target()).isNotEqualTo(moves.get(0).target())
                .isEqualTo(env.nodeOf(8201));

        VmStatus failed = done.vm(8200);
        assertThat(failed.attempts()).isEqualTo(2);
        assertThat(env.nodeOf(8200)).isEqualTo("hv7");
    }

    @Test
    void aCancelledDrainCountsWhatMovedWhatFailedAndWhatNeverStartedAndSaysSo() {
        Env env = faultyCluster();
        DrainStatus s = env.service.drain(DrainRequest.builder("hv7").mode(DrainMode.SOFT).concurrency(Concurrency.fixed(2)).build()).status();
        // Cancel once 8200 has failed for good and 8201 has moved on its second target, with guests still waiting.
        env.scheduler.runUntil(() -> {
            DrainStatus now = env.service.status("hv7", s.drainId());
            return now.vm(8200).status() == GuestState.FAILED && now.vm(8201).status() == GuestState.COMPLETED;
        }, Duration.ofHours(1));
        DrainStatus before = env.service.status("hv7", s.drainId());
        List<Integer> waiting = before.vmStatus().stream().filter(v -> v.status() == GuestState.PENDING).map(VmStatus::vmid).toList();
        assertThat(waiting).as("guests not started yet").isNotEmpty();

        DrainStatus answer = env.service.cancel("hv7", s.drainId());
        assertThat(answer.vmStatus()).filteredOn(v -> waiting.contains(v.vmid()))
                .allSatisfy(v -> assertThat(v.note()).isEqualTo("not started: drain cancelled"));
        List<String> progressLines = new ArrayList<>();
        env.scheduler.runUntil(() -> {
            checkAgreement(env, env.service.status("hv7", s.drainId()), progressLines);
            return false;
        }, Duration.ofHours(1));

        DrainStatus done = env.service.status("hv7", s.drainId());
        assertThat(done.status()).isEqualTo(DrainState.CANCELLED);
        Map<GuestState, Long> byState = done.vmStatus().stream().collect(Collectors.groupingBy(VmStatus::status, Collectors.counting()));
        assertThat(byState).doesNotContainKey(GuestState.IN_PROGRESS);
        assertThat(byState.get(GuestState.PENDING)).isEqualTo(waiting.size());
        // completedVMs counts moved guests only (main's DrainStatus); those the tag policy left are skippedVMs.
        assertThat(done.completedVMs()).isEqualTo(byState.get(GuestState.COMPLETED).intValue());
        assertThat(byState.get(GuestState.SKIPPED)).isEqualTo(3L);
        assertThat(done.skippedVMs()).isEqualTo(3);
        assertThat(done.failedVMs()).isEqualTo(1);
        assertThat(done.totalVMs()).isEqualTo(15);

        Matcher m = CANCELLED.matcher(done.message());
        assertThat(m.matches()).as(done.message()).isTrue();
        assertThat(Long.parseLong(m.group(1))).isEqualTo(byState.get(GuestState.COMPLETED));
        assertThat(Long.parseLong(m.group(2))).isEqualTo(3);
        assertThat(Long.parseLong(m.group(3))).isEqualTo(1);
        assertThat(Long.parseLong(m.group(4))).isEqualTo(waiting.size());
        // Read back from the store once the drain is over: the guests that never started say why.
        assertThat(done.vmStatus()).filteredOn(v -> waiting.contains(v.vmid())).allSatisfy(v -> {
            assertThat(v.status()).isEqualTo(GuestState.PENDING);
            assertThat(v.note()).isEqualTo("not started: drain cancelled");
            assertThat(v.attempts()).isZero();
            assertThat(env.nodeOf(v.vmid())).isEqualTo("hv7");
        });
        assertThat(env.store.drain(s.drainId()).orElseThrow().message()).isEqualTo(done.message());
    }

    /**
     * A guest whose move failed and that waits for its turn on another target is stored with that target at once: a
     * process that took the drain over now would move it there, not where it failed.
     */
    @Test
    void aGuestRetriedElsewhereIsStoredWithItsNewTargetWhileItWaitsForItsTurn() {
        Env env = new Env();
        env.cluster.failMigrations(8213, 1, "migration aborted");
        DrainStatus s = env.service.drain(DrainRequest.builder("hv7").mode(DrainMode.SOFT).concurrency(Concurrency.serial()).build()).status();
        String first = s.vm(8213).targetNode();
        boolean[] waitedElsewhere = {false};
        env.scheduler.runUntil(() -> {
            VmStatus v = env.service.status("hv7", s.drainId()).vm(8213);
            GuestProgress stored = env.store.guests(s.drainId()).stream().filter(g -> g.vmid() == 8213).findFirst().orElseThrow();
            assertThat(stored.targetNode()).as("stored target of 8213 at %s", env.scheduler.now()).isEqualTo(v.targetNode());
            if (v.status() == GuestState.PENDING && v.attempts() == 1) waitedElsewhere[0] = true;
            return false;
        }, Duration.ofHours(2));
        assertThat(waitedElsewhere[0]).as("8213 waited for its second turn").isTrue();
        VmStatus done = env.service.status("hv7", s.drainId()).vm(8213);
        assertThat(done.status()).isEqualTo(GuestState.COMPLETED);
        assertThat(done.targetNode()).isNotEqualTo(first).isEqualTo(env.nodeOf(8213));
    }

    /**
     * When listeners hear of a guest's failure (or its move), the drain's record in the store already counts it: a
     * dashboard that reads the store on the event shows the count that goes with it.
     */
    @Test
    void whenListenersHearOfAnEndTheRecordedProgressAlreadyCountsIt() {
        List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.concurrent.atomic.AtomicReference<Env> ref = new java.util.concurrent.atomic.AtomicReference<>();
        Env env = new Env(c -> c, b -> b.listener(new io.moxxie.core.execution.DrainListener() {
            @Override
            public void guestFailed(String drainId, GuestProgress guest) {
                seen.add("failed " + guest.vmid() + ": " + ref.get().store.drain(drainId).orElseThrow().message());
            }

            @Override
            public void guestCompleted(String drainId, GuestProgress guest) {
                seen.add("completed " + guest.vmid() + ": " + ref.get().store.drain(drainId).orElseThrow().message());
            }
        }));
        ref.set(env);
        env.cluster.failMigrations(8200, 10, "can't migrate VM which uses local devices: hostpci0");
        env.service.drain(DrainRequest.builder("hv7").mode(DrainMode.HARD).concurrency(Concurrency.fixed(3)).build());
        env.runUntilIdle();

        assertThat(seen).hasSize(15);
        String failure = seen.stream().filter(e -> e.startsWith("failed 8200: ")).findFirst().orElseThrow();
        Matcher m = PROGRESS.matcher(failure.substring("failed 8200: ".length()));
        assertThat(m.matches()).as(failure).isTrue();
        assertThat(m.group(3)).as("the failure counted in the record when it is told: %s", failure).isEqualTo("1");
        for (int i = 0; i < seen.size(); i++) {
            Matcher p = PROGRESS.matcher(seen.get(i).substring(seen.get(i).indexOf(": ") + 2));
            assertThat(p.matches()).as(seen.get(i)).isTrue();
            int ended = Integer.parseInt(p.group(1)) + (p.group(3) == null ? 0 : Integer.parseInt(p.group(3)));
            assertThat(ended).as("%s, event %s", seen.get(i), i + 1).isEqualTo(i + 1);
        }
    }

    /**
     * The live status and the store agree on every guest, and a changed progress line agrees with the status it
     * appears in: {@code Progress: completed/total completed[, failed failed]}.
     */
    private static void checkAgreement(Env env, DrainStatus now, List<String> progressLines) {
        Map<Integer, GuestProgress> stored = env.store.guests(now.drainId()).stream()
                .collect(Collectors.toMap(GuestProgress::vmid, Function.identity()));
        assertThat(stored.keySet()).containsExactlyInAnyOrderElementsOf(now.vmStatus().stream().map(VmStatus::vmid).toList());
        for (VmStatus v : now.vmStatus()) {
            GuestProgress g = stored.get(v.vmid());
            assertThat(g.status()).as("stored state of %s at %s", v.vmid(), env.scheduler.now()).isEqualTo(v.status());
            assertThat(g.attempts()).as("stored attempts of %s", v.vmid()).isEqualTo(v.attempts());
            assertThat(g.targetNode()).as("stored target of %s", v.vmid()).isEqualTo(v.targetNode());
        }
        Matcher m = PROGRESS.matcher(now.message());
        if (!m.matches()) return;
        if (!progressLines.isEmpty() && progressLines.get(progressLines.size() - 1).equals(now.message())) return;
        progressLines.add(now.message());
        assertThat(Integer.parseInt(m.group(1))).as(now.message()).isEqualTo(now.completedVMs());
        assertThat(Integer.parseInt(m.group(2))).as(now.message()).isEqualTo(now.totalVMs());
        assertThat(m.group(3) == null ? 0 : Integer.parseInt(m.group(3))).as(now.message()).isEqualTo(now.failedVMs());
        assertThat(env.store.drain(now.drainId()).orElseThrow().message()).as("stored progress").isEqualTo(now.message());
    }
}
