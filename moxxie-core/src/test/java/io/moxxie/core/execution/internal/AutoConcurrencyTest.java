package io.moxxie.core.execution.internal;

import io.moxxie.core.execution.ExecutorConfig;
import io.moxxie.core.spi.MigrationProgress;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import static org.assertj.core.api.Assertions.assertThat;

class AutoConcurrencyTest {
    private static final long GIB = 1L << 30;
    private final Set<Integer> knownBusy = ConcurrentHashMap.newKeySet();
    /** The executor's defaults: a 1.1 GB/s link, 0.5 GB/s per stream, so C = 3 streams fill it. */
    private final AutoConcurrency auto = new AutoConcurrency(ExecutorConfig.defaults(), knownBusy);

    private static MigrationProgress copying(long transferred, long memory, double rate) {
        return new MigrationProgress(transferred, Math.max(0, memory - transferred), memory, OptionalDouble.of(rate), OptionalDouble.empty(),
                Instant.EPOCH);
    }

    /** The live moves started through {@link #start} and not ended through {@link #end}, as a drain holds their slots. */
    private final Set<Integer> inFlight = new java.util.TreeSet<>();

    private void start(int vmid) {
        auto.started(vmid, 8 * GIB);
        inFlight.add(vmid);
    }

    private void end(int vmid) {
        auto.ended(vmid);
        inFlight.remove(vmid);
    }

    /** How many live moves the controller lets run at once, starting guests {@code from}, {@code from + 1}, ... */
    private int admitted(int from) {
        for (int vmid = from; inFlight.size() <= 64 && auto.admits(vmid, inFlight.size()); vmid++) start(vmid);
        return inFlight.size();
    }

    @Test
    void idleGuestsRunAsManyStreamsAsFillTheLinkUntilThatManyEndedIdleThenTwiceAsMany() {
        assertThat(admitted(1)).as("C = ceil(1.1 / 0.5)").isEqualTo(3);
        for (int vmid = 1; vmid <= 3; vmid++) end(vmid);
        assertThat(admitted(10)).as("2 C: C copy while C set up").isEqualTo(6);
    }

    @Test
    void whileABusyStreamIsInFlightOnlyAsManyRunAsKeepTheStreamCapEach() {
        for (int vmid = 1; vmid <= 3; vmid++) auto.started(vmid, 8 * GIB);
        // Three streams share a 1.25 GB/s link; guest 1 has sent 10.5 GiB of its 8: its pass 1 re-sends its working set.
        Map<Integer, MigrationProgress> round = new HashMap<>();
        round.put(1, copying((long) (10.5 * GIB), 8 * GIB, 0.6e9));
        round.put(2, copying(2 * GIB, 8 * GIB, 0.325e9));
        round.put(3, copying(2 * GIB, 8 * GIB, 0.325e9));
        auto.observe(round, round.size());
        assertThat(knownBusy).containsExactly(1);
        assertThat(auto.busyCeiling()).as("floor(1.25 / 0.6)").isEqualTo(2);
        assertThat(auto.admits(4, 3)).isFalse();
        auto.ended(2);
        auto.ended(3);
        assertThat(auto.admits(4, 1)).isTrue();
        assertThat(auto.admits(4, 2)).isFalse();
        auto.ended(1);
        // Its next move (the undrain bringing it back) counts as busy from its start, and while it runs no third starts.
        assertThat(auto.admits(1, 2)).isFalse();
        assertThat(auto.admits(1, 1)).isTrue();
        auto.started(1, 8 * GIB);
        assertThat(auto.admits(5, 1)).isTrue();
        auto.started(5, 8 * GIB);
        assertThat(auto.admits(6, 2)).as("a known-busy guest in flight keeps the busy ceiling").isFalse();
    }

    @Test
    void aThrottledStreamIsBusy() {
        auto.started(1, 8 * GIB);
        auto.started(2, 8 * GIB);
        auto.observe(Map.of(1, new MigrationProgress(4 * GIB, 4 * GIB, 8 * GIB, OptionalDouble.of(0.6e9), OptionalDouble.of(0.2), Instant.EPOCH)), 2);
        assertThat(knownBusy).containsExactly(1);
        assertThat(auto.admits(3, 2)).isFalse();
    }

    @Test
    void streamsAllAtTheirCapShowAWiderLinkAndTheCeilingGrowsToTenAtMost() {
        for (int vmid = 1; vmid <= 3; vmid++) start(vmid);
        for (int step = 0; step < 10; step++) {
            Map<Integer, MigrationProgress> round = new HashMap<>();
            for (int vmid : inFlight) round.put(vmid, copying(GIB, 8 * GIB, 0.6e9)); // 25 GbE: every stream at 0.6
            auto.observe(round, round.size());
            int next = 100 + 10 * step;
            while (auto.admits(next, inFlight.size())) start(next++);
            for (int vmid : Set.copyOf(inFlight)) {
                if (vmid < 100 + 10 * step) end(vmid); // earlier moves end idle
            }
        }
        assertThat(auto.idleCeiling()).isEqualTo(AutoConcurrency.MAX_PER_SOURCE).isEqualTo(10);
    }

    @Test
    void onTenGigabitThreeStreamsNeverAllRunAtTheirCapAndTheCeilingStaysAtSix() {
        for (int round = 0; round < 5; round++) {
            for (int vmid = 1; vmid <= 3; vmid++) start(vmid + 3 * round);
            Map<Integer, MigrationProgress> r = new HashMap<>();
            for (int vmid : inFlight) r.put(vmid, copying(GIB, 8 * GIB, 1.25e9 / 3));
            auto.observe(r, r.size());
            for (int vmid : Set.copyOf(inFlight)) end(vmid);
        }
        assertThat(auto.idleCeiling()).isEqualTo(6);
        assertThat(auto.busyCeiling()).isEqualTo(2);
    }

    @Test
    void oneStreamReadAtItsCapWhileMoreShareTheLinkShowsTheLinkTheyTakeTogether() {
        // The watcher reads only the streams its look missed: one of four copying, at its cap on a 25 GbE link.
        for (int vmid = 1; vmid <= 4; vmid++) auto.started(vmid, 8 * GIB);
        assertThat(auto.busyCeiling()).as("floor(1.1 / 0.5) before any read").isEqualTo(2);
        auto.observe(Map.of(1, copying(GIB, 8 * GIB, 0.6e9)), 4);
        // Equal shares: each of the four gets at least 0.6 GB/s, so the link takes 2.4 GB/s; four streams at their cap.
        assertThat(auto.busyCeiling()).as("floor(2.4 / 0.6)").isEqualTo(4);
        assertThat(auto.idleCeiling()).as("the link may take one more than the four: C = ceil(3.0 / 0.6)").isEqualTo(5);
    }

    @Test
    void oneStreamReadBelowItsCapShowsItsShareOfTheLink() {
        for (int vmid = 1; vmid <= 3; vmid++) auto.started(vmid, 8 * GIB);
        auto.observe(Map.of(1, copying(GIB, 8 * GIB, 0.6e9)), 2);
        assertThat(auto.idleCeiling()).as("two at the cap: C = ceil(1.2 / 0.6)").isEqualTo(2);
        // Then three share 10 GbE: 0.42 each, under the cap: the link is split three ways, 1.25 GB/s.
        auto.observe(Map.of(2, copying(GIB, 8 * GIB, 1.25e9 / 3)), 3);
        assertThat(auto.busyCeiling()).as("floor(1.25 / 0.6)").isEqualTo(2);
        assertThat(auto.idleCeiling()).as("C = ceil(1.25 / 0.6), not doubled before C ended idle").isEqualTo(3);
    }

    @Test
    void aStreamSeenBusyIsNoLongerWorthAReadOfItsOwn() {
        auto.started(1, 8 * GIB);
        auto.started(2, 8 * GIB);
        assertThat(auto.unsure(1)).isTrue();
        auto.observe(Map.of(1, copying((long) (10.5 * GIB), 8 * GIB, 0.6e9)), 2);
        assertThat(auto.unsure(1)).isFalse();
        assertThat(auto.unsure(2)).isTrue();
        assertThat(auto.unsure(3)).as("not followed").isFalse();
    }

    private static MigrationProgress sent(long transferred, long total, double throttle) {
        return new MigrationProgress(transferred, 0, total, OptionalDouble.of(0.4e9), throttle > 0 ? OptionalDouble.of(throttle) : OptionalDouble.of(0),
                Instant.EPOCH);
    }

    @Test
    void aStreamIsBusyOnlyOnceItHasSentAQuarterMoreThanItsMemoryOrIsThrottled() {
        for (int vmid = 1; vmid <= 4; vmid++) auto.started(vmid, 8 * GIB);
        auto.observe(Map.of(1, sent(10 * GIB, 8 * GIB, 0), 2, sent(10 * GIB + 1, 8 * GIB, 0), 3, sent(10 * GIB, 10 * GIB, 0),
                4, sent(GIB, 8 * GIB, 0)), 4);
        assertThat(knownBusy).as("a quarter more, exactly, is not busy; the larger of its memory and the total counts").containsExactly(2);
        auto.observe(Map.of(3, sent(12 * GIB + 1, 12 * GIB, 0), 4, sent(GIB, 8 * GIB, 0.2)), 4);
        assertThat(knownBusy).containsExactlyInAnyOrder(2, 4);
    }

    @Test
    void aStreamThatEndedBusyIsNotCountedAsAnIdleEnd() {
        knownBusy.add(1);
        // The busy guest moves first, alone; then two idle ones. Three must end idle before the ceiling doubles.
        assertThat(auto.admits(1, 0)).isTrue();
        start(1);
        end(1);
        for (int vmid = 2; vmid <= 3; vmid++) {
            start(vmid);
            end(vmid);
        }
        assertThat(auto.idleCeiling()).isEqualTo(3);
        start(4);
        end(4);
        assertThat(auto.idleCeiling()).isEqualTo(6);
        auto.ended(99);
        assertThat(auto.unsure(99)).as("never followed").isFalse();
    }

    @Test
    void aGuestKnownBusyAskedToStartBesideOthersKeepsTheIdleCeilingAtTheStreamsThatFillTheLink() {
        knownBusy.add(7);
        start(1);
        assertThat(auto.admits(7, 1)).as("two keep the cap each").isTrue();
        assertThat(auto.admits(7, 2)).isFalse();
        end(1);
        for (int vmid = 2; vmid <= 4; vmid++) {
            start(vmid);
            end(vmid);
        }
        assertThat(auto.idleCeiling()).as("a busy guest was seen in this drain").isEqualTo(3);
    }

    @Test
    void aRoundTellsWhetherTheAnswerMayHaveChanged() {
        auto.started(1, 8 * GIB);
        auto.started(2, 8 * GIB);
        assertThat(auto.observe(Map.of(1, copying(GIB, 8 * GIB, 0.45e9)), 2)).as("nothing new: 0.45 each, two sharing").isFalse();
        assertThat(auto.observe(Map.of(1, new MigrationProgress(GIB, GIB, 8 * GIB, OptionalDouble.empty(), OptionalDouble.empty(), Instant.EPOCH)), 2))
                .as("no rate reported").isFalse();
        assertThat(auto.observe(Map.of(1, copying(GIB, 8 * GIB, 0.6e9)), 2)).as("a faster stream").isTrue();
        assertThat(auto.observe(Map.of(1, copying(GIB, 8 * GIB, 0.6e9)), 2)).as("two at their cap now fill the link: it may take one more").isTrue();
        assertThat(auto.observe(Map.of(1, copying(GIB, 8 * GIB, 0.6e9)), 2)).as("the same again").isFalse();
        assertThat(auto.observe(Map.of(1, copying(GIB, 8 * GIB, 0.6e9)), 3)).as("three sharing: a wider link").isTrue();
        assertThat(auto.observe(Map.of(3, copying(GIB, 8 * GIB, 0.1e9)), 3)).as("a stream not followed still shows the link").isFalse();
    }

    @Test
    void streamsAtNineTenthsOfTheirCapCountAsAtTheirCap() {
        for (int vmid = 1; vmid <= 3; vmid++) auto.started(vmid, 8 * GIB);
        // Three copying (C = 3) at 0.45 GB/s, nine tenths of 0.5: the link may take a fourth.
        auto.observe(Map.of(1, copying(GIB, 8 * GIB, 0.45e9), 2, copying(GIB, 8 * GIB, 0.45e9), 3, copying(GIB, 8 * GIB, 0.45e9)), 3);
        assertThat(auto.idleCeiling()).as("C = ceil(4 x 0.5 / 0.5)").isEqualTo(4);
        assertThat(auto.busyCeiling()).as("floor(1.35 / 0.5): what was seen").isEqualTo(2);

        AutoConcurrency below = new AutoConcurrency(ExecutorConfig.defaults(), knownBusy);
        for (int vmid = 1; vmid <= 3; vmid++) below.started(vmid, 8 * GIB);
        below.observe(Map.of(1, copying(GIB, 8 * GIB, 0.449e9), 2, copying(GIB, 8 * GIB, 0.449e9), 3, copying(GIB, 8 * GIB, 0.449e9)), 3);
        assertThat(below.idleCeiling()).isEqualTo(3);
    }

    @Test
    void fewerStreamsThanFillTheLinkAtTheirCapShowNoWiderLink() {
        auto.started(1, 8 * GIB);
        auto.started(2, 8 * GIB);
        auto.observe(Map.of(1, copying(GIB, 8 * GIB, 0.5e9), 2, copying(GIB, 8 * GIB, 0.5e9)), 2);
        assertThat(auto.idleCeiling()).as("two of C = 3 at their cap: 1.1 GB/s is still what is known").isEqualTo(3);
    }

    @Test
    void theCeilingsStayWithinOneStreamAndTheSshLimit() {
        ExecutorConfig narrow = ExecutorConfig.builder().expectedLinkBandwidth(0.4e9).expectedMigrationRate(0.5e9).build();
        AutoConcurrency one = new AutoConcurrency(narrow, knownBusy);
        assertThat(one.busyCeiling()).isEqualTo(1);
        assertThat(one.idleCeiling()).isEqualTo(1);
        ExecutorConfig wide = ExecutorConfig.builder().expectedLinkBandwidth(12.5e9).expectedMigrationRate(0.5e9).build();
        AutoConcurrency many = new AutoConcurrency(wide, knownBusy);
        assertThat(many.busyCeiling()).isEqualTo(AutoConcurrency.MAX_PER_SOURCE);
        assertThat(many.idleCeiling()).isEqualTo(AutoConcurrency.MAX_PER_SOURCE);
        ExecutorConfig exact = ExecutorConfig.builder().expectedLinkBandwidth(1.5e9).expectedMigrationRate(0.5e9).build();
        assertThat(new AutoConcurrency(exact, knownBusy).busyCeiling()).as("exactly three streams' worth").isEqualTo(3);
        assertThat(new AutoConcurrency(exact, knownBusy).idleCeiling()).isEqualTo(3);
    }
}
