package io.moxxie.core.execution.internal;

import io.moxxie.core.execution.ExecutorConfig;
import io.moxxie.core.spi.MigrationProgress;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * {@code maxConcurrent: "auto"} as a controller: which live migration a drain may start now, from what the streams in
 * flight report ({@link io.moxxie.core.spi.HypervisorClient#migrationProgress}) and from what earlier moves of the same
 * guests showed.
 *
 * <p><b>Why.</b> A live move is one QEMU pre-copy stream; the streams leaving one node share its link equally. A guest
 * that dirties memory faster than half its stream's rate makes every pass re-send what the last one sent, and QEMU's
 * auto-converge then throttles its vCPUs (20 %, +10 % at every second such pass, up to 99 %). So a stream needs
 * {@code rate >= 2 d}: with 10 GbE (B = 1.25 GB/s) and one stream at most s ≈ 0.6 GB/s, a guest dirtying 300 MB/s
 * needs the full stream cap, which only {@code floor(B / s) = 2} streams at once leave it; an idle guest (under
 * 100 MB/s) still converges at B / 6 = 0.21 GB/s. Streams that copy nothing for a while (the 5 s set-up of each move)
 * leave the link idle, so idle guests want more streams than fill the link.
 *
 * <p><b>The rule.</b> With B̂ the link and ŝ one stream's rate as measured (the executor's
 * {@link ExecutorConfig#expectedLinkBandwidth()} and {@link ExecutorConfig#expectedMigrationRate()} until progress
 * says more), and C = ceil(B̂ / ŝ) the streams that fill the link:
 * <ul>
 *   <li>a stream is <em>busy</em> when it has sent more than {@value #BUSY_RESEND} times its memory more than its memory
 *       (an idle guest — W at most 10 % of memory, d at most half its rate — re-sends at most 2W, 20 %; a busy one's
 *       pass 1 alone re-sends its working set, 25–50 %), or when auto-converge throttles it; a guest once seen busy is
 *       remembered by the executor, so its next move (the undrain that brings it back) is a busy stream from its start
 *       (its dirty rate is the guest's, not the move's), and the streams admitted after it leave it the cap;</li>
 *   <li>while a busy stream is in flight, or when the guest to start is known busy, at most {@code max(1, floor(B̂ / ŝ))}
 *       live moves run at once (2 on 10 GbE, 5 on 25 GbE): each keeps the whole stream cap;</li>
 *   <li>otherwise at most {@code 2 C} (6 with the defaults), within {@value #MAX_PER_SOURCE}: C copy while C more are in
 *       their set-up;</li>
 *   <li>B̂ is the most the streams were seen to take together: the slowest rate read in a round times the live moves
 *       past their set-up (the link is shared equally and no stream gets more than its share, so the link gives each
 *       of them at least as much — where TCP hands a capped stream's share on, this takes the streams not read to run
 *       as the slowest read), or the sum of the rates read in it if more. When every stream read runs at its cap (at least
 *       {@value #AT_CAP} of ŝ, the fastest rate seen) while C or more copy, the link may take one more: B̂ is raised to one stream more
 *       than they take, for the idle ceiling only (the busy ceiling uses what was seen). So a 25 GbE link is found
 *       within a few moves, where the default belief is 1.1 GB/s; on 10 GbE three streams never all run at the cap,
 *       and B̂ stays about 1.25 GB/s.</li>
 * </ul>
 * Moves that copy no memory (stopped guests, container restarts) take no stream and are not limited by this rule. The
 * hard caps stay: the drain's slots ({@value #MAX_PER_SOURCE} per source: OpenSSH's {@code MaxStartups} starts
 * dropping connections at 10 being set up) and the per-target lanes.
 *
 * <p>What it reads: the drain's {@link MoveWatcher} is the one reader of progress; a look of its that finds a live move
 * past its set-up not done reads the move's task log and tells the controller ({@link #observe}) before the moves the
 * same look found done free their slots; and a look that frees a slot first reads the live moves that run past the
 * end the watcher's picture gives their memory and are not known busy (at most every 3 s each). So a stream is read
 * when the picture says it should have ended (an idle guest's move mostly has: it costs no read) and again when its
 * reported progress says so: a busy guest, whose passes re-send what it dirtied, is the one found not done and read,
 * and read before another stream is admitted beside it. (Reading every stream every 3 s cost the guide's soft drain
 * 165 requests for 12 guests, 126 of them log reads; now 44.)
 *
 * <p>What it cannot know: a guest never moved before shows how busy it is only when its pass 0 ends (QEMU counts dirty
 * pages at the end of each pass). Until then it is taken as idle.
 *
 * <p>Threading: not thread-safe; one drain's, used under its lock.
 */
final class AutoConcurrency {
    /** Re-sent share of memory above which a stream is busy. */
    static final double BUSY_RESEND = 0.25;
    /** A stream at this share of the fastest stream rate seen runs at its cap. */
    static final double AT_CAP = 0.9;
    /** Live moves per source at most: OpenSSH's default {@code MaxStartups 10:30:100} drops connections beyond 10 in set-up. */
    static final int MAX_PER_SOURCE = ExecutorConfig.AUTO_MAX_PER_SOURCE;

    private final Set<Integer> knownBusy;
    /** The link as assumed for idle streams (seen, or probed one stream wider), and as seen taken by the streams. */
    private double link;
    private double linkSeen;
    private double stream;
    private int fill;
    /** Live moves of this drain that ended seen idle, and whether any stream of it was seen busy. */
    private int idleEnded;
    private boolean seenBusy;
    private final Map<Integer, Stream> streams = new HashMap<>();

    private static final class Stream {
        final long memory;
        boolean busy;

        Stream(long memory) {
            this.memory = memory;
        }
    }

    /** @param knownBusy the guests the executor saw busy in earlier moves; added to as streams turn out busy (thread-safe set) */
    AutoConcurrency(ExecutorConfig config, Set<Integer> knownBusy) {
        this.knownBusy = knownBusy;
        this.link = config.expectedLinkBandwidth();
        this.linkSeen = link;
        this.stream = config.expectedMigrationRate();
        this.fill = streamsFillingLink();
    }

    private int streamsFillingLink() {
        return Math.max(1, (int) Math.ceil(link / stream - 1e-9));
    }

    /** Whether a live move of {@code vmid} may start while {@code liveInFlight} live moves hold slots. */
    boolean admits(int vmid, int liveInFlight) {
        if (liveInFlight == 0) return true;
        boolean known = knownBusy.contains(vmid);
        if (known) seenBusy = true;
        return liveInFlight + 1 <= (known || anyBusy() ? busyCeiling() : idleCeiling());
    }

    /**
     * Live moves at once while no busy stream is in flight: {@code 2 C} once C moves of the drain ended idle and none was
     * busy; C before that (the first moves show what the guests are like) and once a busy one was seen (a guest not
     * known yet may be busy too, and shows it only after its pass 0: with more than C streams it would copy that pass
     * at less than the stream cap and start its later passes behind).
     */
    int idleCeiling() {
        return Math.min(MAX_PER_SOURCE, seenBusy || idleEnded < fill ? fill : 2 * fill);
    }

    /** Live moves at once while a busy stream is in flight: each keeps the stream cap. */
    int busyCeiling() {
        return Math.max(1, Math.min(MAX_PER_SOURCE, (int) Math.floor(linkSeen / stream + 1e-9)));
    }

    private boolean anyBusy() {
        for (Stream s : streams.values()) if (s.busy) return true;
        return false;
    }

    /** A live move of {@code memory} bytes started. */
    void started(int vmid, long memory) {
        Stream s = new Stream(memory);
        // A guest seen busy in an earlier move is busy from its start: the streams started after it leave it the cap.
        s.busy = knownBusy.contains(vmid);
        streams.put(vmid, s);
    }

    /** The live move is no longer in flight. */
    void ended(int vmid) {
        Stream s = streams.remove(vmid);
        // Ended without being seen busy (or before the first look at it: it converged fast): an idle guest.
        if (s != null && !s.busy) idleEnded++;
    }

    /** Whether the live move of {@code vmid} is followed and not seen busy yet (a read of it may still change the rule's answer). */
    boolean unsure(int vmid) {
        Stream s = streams.get(vmid);
        return s != null && !s.busy;
    }

    /**
     * Takes one round of progress reports, read together, of live moves in flight (the watcher's looks: those it found
     * not done past their set-up), while {@code copying} live moves past their expected set-up share the source's link;
     * true when the rule's answer may have changed (a slot may open).
     */
    boolean observe(Map<Integer, MigrationProgress> round, int copying) {
        double streamBefore = stream;
        for (Map.Entry<Integer, MigrationProgress> e : round.entrySet()) {
            Stream s = streams.get(e.getKey());
            if (s == null) continue;
            MigrationProgress p = e.getValue();
            boolean busy = p.throttle().orElse(0) > 0 || p.transferred() > (1 + BUSY_RESEND) * Math.max(s.memory, p.total());
            if (busy && !s.busy) {
                s.busy = true;
                seenBusy = true;
                knownBusy.add(e.getKey());
            }
            if (p.rate().isPresent()) stream = Math.max(stream, p.rate().getAsDouble());
        }
        double sum = 0;
        double slowest = Double.MAX_VALUE;
        int withRate = 0;
        for (MigrationProgress p : round.values()) {
            if (p.rate().isEmpty()) continue;
            double r = p.rate().getAsDouble();
            sum += r;
            slowest = Math.min(slowest, r);
            withRate++;
        }
        int before = fill;
        double linkBefore = link;
        if (withRate > 0) {
            boolean allAtCap = slowest >= AT_CAP * stream;
            // The link is shared equally: no stream gets more than its share, so it gives each of the streams sharing
            // it at least the slowest rate read (and it takes at least what those read take together).
            int sharing = Math.max(withRate, copying);
            linkSeen = Math.max(linkSeen, Math.max(sum, sharing * slowest));
            link = Math.max(link, linkSeen);
            // All at their cap with C or more copying: the link may take one more.
            if (allAtCap && sharing >= fill) link = Math.max(link, (sharing + 1) * stream);
        }
        fill = streamsFillingLink();
        return stream != streamBefore || fill != before || link != linkBefore;
    }
}
