package io.moxxie.examples.bench;

import io.moxxie.core.simulation.MigrationModel;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** Turns the outcomes into {@code bench-results.json}, {@code BENCHMARKS.md} and the verdict on issue 13's targets. */
final class Report {
    static final double TARGET_RATIO = 1.15;
    static final double TARGET_DOWNTIME_SECONDS = 1.0;
    /** The setting the README recommends, judged against every target. */
    static final String RECOMMENDED = "moxxie-auto";

    private final List<Outcome> outcomes;
    private final MigrationModel model;
    private final List<String> extraSections = new ArrayList<>();
    private final List<String> extraVerdicts = new ArrayList<>();

    Report(List<Outcome> outcomes, MigrationModel model) {
        this.outcomes = List.copyOf(outcomes);
        this.model = model;
    }

    /** Adds a section (planner timings, executor overhead, requests per guest) to the markdown report. */
    void section(String markdown) {
        extraSections.add(markdown);
    }

    /** Adds a verdict on a target outside the scenario table; {@code met} false makes the run fail. */
    void verdict(String text, boolean met) {
        extraVerdicts.add(text + (met ? "  target met" : "  target MISSED"));
    }

    String json() {
        StringBuilder sb = new StringBuilder("[\n");
        for (int i = 0; i < outcomes.size(); i++) {
            Outcome o = outcomes.get(i);
            sb.append(String.format(Locale.ROOT, "  {\"scenario\": \"%s\", \"mix\": \"%s\", \"strategy\": \"%s\", \"guests\": %d, \"nodes\": %d, "
                            + "\"maxConcurrent\": %s, \"makespanSeconds\": %.3f, \"lowerBoundSeconds\": %.3f, \"ratio\": %.4f, "
                            + "\"bytesSentRatio\": %.4f, \"maxDowntimeSeconds\": %.4f, \"throttleGuestSeconds\": %.2f, \"failed\": %d, "
                            + "\"maxTargetMemoryUtilization\": %.4f, \"moved\": %d, \"unconverged\": %d, \"hypervisorCalls\": %d}%s%n",
                    o.scenario(), o.mix(), o.strategy(), o.guests(), o.nodes(), o.maxConcurrent() == 0 ? "\"auto\"" : Integer.toString(o.maxConcurrent()),
                    o.makespanSeconds(), o.lowerBoundSeconds(), o.ratio(), o.bytesSentRatio(), o.physics().maxDowntime(),
                    o.physics().throttle(), o.failed(), o.maxTargetMemoryUtilization(), o.moved(), o.physics().unconverged(),
                    o.hypervisorCalls(), i + 1 < outcomes.size() ? "," : ""));
        }
        return sb.append("]\n").toString();
    }

    /** Per scenario × mix: the recommended setting against every target of issue 13; a miss says by how much. */
    List<String> verdictLines() {
        List<String> lines = new ArrayList<>();
        for (Map.Entry<String, List<Outcome>> e : byCase().entrySet()) {
            Outcome mine = find(e.getValue(), RECOMMENDED);
            if (mine == null) continue;
            Outcome fifo = find(e.getValue(), "fifo");
            List<String> misses = new ArrayList<>();
            if (mine.ratio() > TARGET_RATIO) {
                misses.add(String.format(Locale.ROOT, "ratio %.3f > %.2f (by %.1f %%)", mine.ratio(), TARGET_RATIO,
                        100 * (mine.ratio() / TARGET_RATIO - 1)));
            }
            for (Outcome b : e.getValue()) {
                if (b.strategy().startsWith("moxxie")) continue;
                if (worseThan(mine, b)) {
                    misses.add(String.format(Locale.ROOT, "slower than %s (%.1f s vs %.1f s, +%.1f %%)", b.strategy(), mine.makespanSeconds(),
                            b.makespanSeconds(), 100 * (mine.makespanSeconds() / b.makespanSeconds() - 1)));
                }
            }
            if (fifo != null && mine.physics().throttle() > fifo.physics().throttle() + 1e-6) {
                misses.add(String.format(Locale.ROOT, "throttle %.0f guest-s > fifo k=3's %.0f", mine.physics().throttle(), fifo.physics().throttle()));
            }
            if (mine.physics().unconverged() > 0) misses.add(mine.physics().unconverged() + " live move(s) did not converge in time");
            if (mine.physics().maxDowntime() > TARGET_DOWNTIME_SECONDS) {
                misses.add(String.format(Locale.ROOT, "worst downtime %.2f s > %.1f s", mine.physics().maxDowntime(), TARGET_DOWNTIME_SECONDS));
            }
            String head = String.format(Locale.ROOT, "%-22s %-8s %s ratio %.3f, throttle %.0f guest-s (fifo %.0f), worst downtime %.3f s",
                    e.getValue().get(0).scenario(), e.getValue().get(0).mix(), RECOMMENDED, mine.ratio(), mine.physics().throttle(),
                    fifo == null ? 0 : fifo.physics().throttle(), mine.physics().maxDowntime());
            lines.add(head + (misses.isEmpty() ? ": met" : ": MISSED " + String.join("; ", misses)));
        }
        lines.addAll(extraVerdicts);
        return lines;
    }

    String verdicts() {
        return String.join("\n", verdictLines());
    }

    boolean allTargetsMet() {
        return verdictLines().stream().noneMatch(l -> l.contains("MISSED"));
    }

    /**
     * Moxxie is worse than a baseline when the baseline moved at least as many guests and finished sooner. A baseline
     * that moved fewer (e.g. single-target overfilling its target) is not faster at the same job.
     */
    static boolean worseThan(Outcome mine, Outcome baseline) {
        return baseline.moved() >= mine.moved() && baseline.makespanSeconds() < mine.makespanSeconds() - 1e-6;
    }

    String markdown() {
        StringBuilder md = new StringBuilder();
        md.append("# Moxxie benchmarks\n\n");
        md.append("Generated by `java -jar moxxie-examples/target/moxxie-server.jar bench`. Makespans are measured in the simulator's ")
                .append("virtual time (core's `SimulatedCluster`), so they are exact and the same on every machine.\n\n");
        md.append("## The migration model\n\n");
        md.append(String.format(Locale.ROOT, "([docs/architecture.md](docs/architecture.md#migration-model), `MigrationModel`'s javadoc for the sources.) "
                        + "Link B = %.2f GB/s per node (10 GbE; one case on 25 GbE, 3.125 GB/s), shared equally by the memory copies touching it; "
                        + "one QEMU stream at most s = %.2f GB/s; a live move's set-up o = %d s. A live move then runs QEMU's pre-copy: pass 0 "
                        + "sends the memory m, each later pass what the guest dirtied meanwhile, min(W, d_eff × the previous pass's duration); "
                        + "the switchover comes when what is left fits in rate × downtime limit (0.1 s, qemu-server's `migrate_downtime`, "
                        + "doubled after %d passes whose remainder did not shrink). Auto-converge throttles the guest's CPU 20 %% when a pass "
                        + "dirties more than half of what it sent, +10 %% per such pass up to 99 %% (QEMU's defaults), and d_eff = d × (1 − throttle). "
                        + "A move that copies no memory (a stopped guest, a container restart) takes %d s plus, for a container, its shutdown "
                        + "and start, and uses no link. A migration that starts while %d others from its source are in their set-up is dropped "
                        + "(OpenSSH `MaxStartups 10:30:100`).%n%n",
                model.linkBandwidth() / 1e9, model.streamCap() / 1e9, model.overhead().toSeconds(), MigrationModel.DOWNTIME_PATIENCE_PASSES,
                model.offlineOverhead().toSeconds(), model.maxStartups()));
        md.append("Mixes: `idle` — every guest d 0–100 MB/s, W 2–10 % of its memory; `busy-15` — 15 % of the guests d 200–500 MB/s, ")
                .append("W 25–50 %, the rest idle; `busy-30` — 30 %. Drawn per guest, seeded.\n\n");
        md.append("## The bound\n\n```\nLB = max( max_i (o_i + V_i/s),  sum_i (o_i + V_i/s) / k,  o + sum_i V_i / B )\n")
                .append("V_i = m_i + min(W_i, d_i·m_i/s) for a live move, 0 for a move that copies no memory (o_i = its fixed time)\n```\n\n")
                .append("Why no schedule beats it: a live move cannot send less than V_i — its memory, and what the guest dirties during a pass 0 ")
                .append("at the fastest rate a stream ever gets (s; any slower pass 0 lasts longer and dirties more, and any later pass sends ")
                .append("at least that again unless it is the switchover) — and no stream sends faster than s, so each move takes at least ")
                .append("o_i + V_i/s (first term) and k slots hold at most k moves at once (second term); every byte leaves through the drained ")
                .append("node's link at B at most, and none leaves before the first set-up ends (third term). `moxxie-auto`'s k is the number ")
                .append("of guests it moved (the second term drops to its weakest), so its ratio is not flattered. Guests left in place ")
                .append("are not in the bound; the shutdown and start of guests moved offline by the executor are not either (they use no ")
                .append("link), so hard drains carry that time above it. The bound ignores auto-converge's throttle and the downtime limit: ")
                .append("it is reachable only by idle guests.\n\n");
        md.append("## Results\n\n");
        md.append("| scenario | mix | strategy | k | guests | makespan s | bound s | ratio | bytes sent / live memory | worst downtime s "
                + "| throttle guest-s | failed | peak target memory |\n");
        md.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (Outcome o : outcomes) {
            md.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %d | %.1f | %.1f | %.3f | %.3f | %.3f | %.1f | %d | %.3f |%n", o.scenario(),
                    o.mix(), o.strategy(), o.maxConcurrent() == 0 ? "auto" : Integer.toString(o.maxConcurrent()), o.guests(),
                    o.makespanSeconds(), o.lowerBoundSeconds(), o.ratio(), o.bytesSentRatio(), o.physics().maxDowntime(),
                    o.physics().throttle(), o.failed(), o.maxTargetMemoryUtilization()));
        }
        md.append("\n## Targets (").append(RECOMMENDED).append(", the setting the README recommends)\n\n");
        md.append("Per scenario × mix: makespan / bound ≤ ").append(TARGET_RATIO).append("; no slower than any baseline that moved as many ")
                .append("guests; throttle guest-seconds no more than `fifo` at k = 3; every live move converges within the executor's ")
                .append("migration time limit; worst downtime ≤ 1 s.\n\n");
        for (String l : verdictLines()) md.append("- ").append(l.trim()).append('\n');
        md.append("\nBaselines (`BaselineStrategy`): `waves` starts k moves and waits for all of them before the next k; `fifo` is a pool of ")
                .append("k workers taking guests in vmid order; `single-target` sends every guest to the node with the most free memory, k ")
                .append("workers; `original-moxxie` is the service Moxxie replaced: every guest at once on a pool of 7 workers, a random ")
                .append("online node not in maintenance as target, a 2 s sleep after each move; `kubevirt` runs KubeVirt's limits (2 ")
                .append("outbound per node, 5 per cluster); `migrateall` is Proxmox's own bulk migration: every guest of the node to one ")
                .append("target, `max-workers` 4, vmids in string order, a 1 s poll. All but `migrateall` move what Moxxie's tag policy ")
                .append("moves and poll each task (2 s; 1 s for `kubevirt`); they do an offline move as shutdown, migrate, start inside ")
                .append("their worker slot. \"Slower\" means a baseline moved at least as many guests in less time.\n");
        md.append(AUTO);
        md.append(SIMPLIFICATIONS);
        for (String s : extraSections) md.append('\n').append(s).append('\n');
        return md.toString();
    }

    static final String AUTO = """

            ## `maxConcurrent: "auto"`, and why it is the recommended setting

            `auto` is a controller (`AutoConcurrency`): it admits another live move only while every stream keeps enough
            rate to converge, from the progress the drain's watcher reads (`HypervisorClient.migrationProgress`; the
            watcher is the drain's one reader of it): a look that finds a live move past its set-up not done reads its
            task log, and a look that frees a slot first reads the moves running past the end their memory gives them.
            A stream that has sent more than 1.25 times its guest's memory, or whose guest is throttled, is busy (an idle
            guest — W at most 10 % of memory, dirtying under half its stream's rate — re-sends at most 20 %; a busy
            guest's pass 1 alone re-sends its working set, 25–50 %). While a busy stream is in flight (a guest seen busy
            in an earlier move is busy from its start), at most floor(B / s) live moves run (2 on 10 GbE), so each keeps
            the stream cap it needs (a guest dirtying 300 MB/s converges without throttle only above 600 MB/s).
            Otherwise C = ceil(B / s) streams fill the link (3 with the default beliefs) and 2C keep it full through the
            5 s set-ups; 2C only once C moves of the drain ended idle and none was busy (a guest never moved before shows
            how busy it is only when its pass 0 ends). B is learned from the rates read: the link is shared equally, so
            the slowest rate read times the streams copying is a lower bound of it; streams read at their cap show that
            the link may take one more. Hard caps: 10 live moves per source (OpenSSH `MaxStartups`), half the idle
            ceiling into one target. Moves that copy no memory are not limited by it.

            The results above show why it is recommended over a fixed k: on idle guests it comes within 3–7 % of the bound
            on 10 GbE, where k = 3 takes 15–36 % over it; on busy mixes it falls back to 2–3 streams and throttles guests
            about as much as `fifo` at k = 3 (from 40 % less to 40 % more), where a fixed 6 or 10 (see the sweep),
            or the original service's 7 workers, throttle them many times longer. It is not better than k = 3
            everywhere, and the targets above say where it is behind and by how much. The REST API's default stays 3
            (the guide).

            Where the targets are missed, and why:
            - ratio above 1.15 on every busy run: every strategy sends 1.2–1.5 times the memory it moves there (column
              "bytes sent / live memory") and its busy guests take several passes and throttle steps to converge, none of
              which the bound counts (it charges each live move its pass 0 at the stream cap only): no k of the sweep
              comes within 1.15 of it on a busy mix either;
            - 25 GbE, idle: the controller learns the wider link only from reads, and a read comes when a look misses a
              move; on a link wider than believed the moves end before the watcher's picture expects, so looks rarely
              miss and the controller stays near 2C of the default belief for long (a fixed 10 takes 1.147 of the bound there);
            - throttle above `fifo`'s on eight busy runs, by 1–14 guest-seconds: a guest never moved before
              shows it is busy only when its pass 0 ends and a look reads it; until then it shares the link with up to 2C
              streams where `fifo` runs 3;
            - slower than a baseline on four runs, by 1–3 %: the original service's 7 workers on S2 soft idle (every
              guest started at once keeps 7 streams in flight to the end), `fifo` on three busy-30 runs.
            """;

    static final String SIMPLIFICATIONS = """

            ## What the figures rest on

            - Equal shares: a link is split equally among the copies touching it, and a stream capped below its share leaves the
              rest unused (TCP would hand it on). This makes extra streams cost the others more than on a real network.
            - Passes, not pages: each pass is one block sent at the stream's current rate; what a guest dirties is a rate within a
              working set, the same all the move long. Real dirtying is bursty, and QEMU's xbzrle cache (Proxmox sets it to 10 %
              of memory) shrinks later passes, which the model does not credit.
            - The throttle scales the dirty rate linearly and is stepped at every second pass over the threshold, as QEMU's
              `migration_trigger_throttle` does at its bitmap syncs (once per pass).
            - The downtime limit doubles after 5 passes whose remainder did not shrink; qemu-server counts its one-second status
              polls instead (PVE/QemuMigrate.pm), which doubles it sooner on long passes.
            - The SSH limit is counted per source (issue 13's rule); the sshd that drops connections is the target's.
            - Moves that copy no memory take a fixed 3 s; shared storage is assumed (no scenario has local disks).
            - Guests' dirty rates are drawn, not measured; the mixes are the issue's.
            """;

    private Map<String, List<Outcome>> byCase() {
        Map<String, List<Outcome>> out = new LinkedHashMap<>();
        for (Outcome o : outcomes) out.computeIfAbsent(o.key(), k -> new ArrayList<>()).add(o);
        return out;
    }

    private static Outcome find(List<Outcome> list, String strategy) {
        return list.stream().filter(o -> o.strategy().equals(strategy)).findFirst().orElse(null);
    }
}
