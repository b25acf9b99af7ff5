package io.moxxie.examples.bench;

import io.moxxie.core.simulation.MigrationModel;
import io.moxxie.core.simulation.SimulatedCluster;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * {@code moxxie-server.jar bench [--quick] [--out DIR]} (and, while working on it, {@code --only scenarios}, {@code
 * --scenario PREFIX}, {@code --strategy NAME}, {@code --seed N} for another draw of the scenarios): runs every scenario with Moxxie's executor and the
 * baselines, prints a table, and writes {@code BENCHMARKS.md} and {@code bench-results.json} to {@code DIR}
 * (default: the working directory, the repository root when run as the README says).
 */
public final class BenchMain {
    private BenchMain() {
    }

    public static int run(String[] args, Consumer<SimulatedCluster.Builder> demoCluster) throws IOException {
        // Thousands of simulated drains: their INFO lines would bury the table.
        io.moxxie.examples.logging.ServerLogging.level("WARN");
        boolean quick = false;
        String only = null;
        String scenarioPrefix = "";
        String strategyName = null;
        Path out = Path.of("");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> quick = true;
                case "--only" -> {
                    if (i + 1 >= args.length || !List.of("scenarios", "requests", "executor", "planner").contains(args[i + 1])) {
                        throw new IllegalArgumentException("--only needs one of scenarios, requests, executor, planner");
                    }
                    only = args[++i];
                }
                case "--scenario" -> {
                    if (i + 1 >= args.length) throw new IllegalArgumentException("--scenario needs a name prefix, e.g. 'S2 mixed'");
                    scenarioPrefix = args[++i];
                }
                case "--strategy" -> {
                    if (i + 1 >= args.length) throw new IllegalArgumentException("--strategy needs a strategy name, e.g. moxxie-auto");
                    strategyName = args[++i];
                }
                case "--seed" -> {
                    if (i + 1 >= args.length) throw new IllegalArgumentException("--seed needs a number (0: the published draw)");
                    Scenarios.seedOffset = Long.parseLong(args[++i]);
                }
                case "--out" -> {
                    if (i + 1 >= args.length) throw new IllegalArgumentException("--out needs a folder");
                    out = Path.of(args[++i]);
                }
                default -> throw new IllegalArgumentException("bench: unknown option '" + args[i]
                        + "' (options: --quick, --out DIR, --only scenarios|requests|executor|planner, --scenario PREFIX, --strategy NAME, --seed N)");
            }
        }
        List<Strategy> strategies = List.of(new MoxxieStrategy(false), new MoxxieStrategy(true),
                new BaselineStrategy(BaselineStrategy.Kind.WAVES), new BaselineStrategy(BaselineStrategy.Kind.FIFO),
                new BaselineStrategy(BaselineStrategy.Kind.SINGLE_TARGET), new BaselineStrategy(BaselineStrategy.Kind.ORIGINAL_MOXXIE),
                new BaselineStrategy(BaselineStrategy.Kind.KUBEVIRT), new BaselineStrategy(BaselineStrategy.Kind.MIGRATEALL));
        List<Outcome> outcomes = new ArrayList<>();
        long began = System.nanoTime();
        if (only == null || only.equals("scenarios")) System.out.println(header());
        for (Scenario s : only == null || only.equals("scenarios") ? Scenarios.all(demoCluster) : List.<Scenario>of()) {
            if (!s.name().startsWith(scenarioPrefix)) continue;
            for (Strategy strategy : strategies) {
                if (strategyName != null && !strategy.name().equals(strategyName)) continue;
                Outcome o = strategy.run(s);
                outcomes.add(o);
                System.out.println(row(o));
            }
        }
        Report report = new Report(outcomes, MigrationModel.DEFAULT);
        tight(report, outcomes);
        if (!quick && (only == null || only.equals("scenarios"))) concurrencySweep(report, demoCluster);
        if (only == null || only.equals("scenarios")) {
            System.out.printf(Locale.ROOT, "scenarios: %.1f s of wall time%n", (System.nanoTime() - began) / 1e9);
        }
        if (only == null || only.equals("requests")) requestsPerGuest(report, demoCluster);
        if (only == null || only.equals("executor")) executorOverhead(report);
        if (only == null || only.equals("planner")) planner(report, quick);
        if (only != null || Scenarios.seedOffset != 0) { // a part, or another draw: not the published figures
            System.out.println(report.verdicts());
            return report.allTargetsMet() ? 0 : 1;
        }
        Files.writeString(out.resolve("bench-results.json"), report.json());
        Files.writeString(out.resolve("BENCHMARKS.md"), report.markdown());
        System.out.println();
        System.out.println(report.verdicts());
        System.out.println("Wrote " + out.toAbsolutePath().resolve("BENCHMARKS.md") + " and bench-results.json");
        return report.allTargetsMet() ? 0 : 1;
    }

    /** S5: no node over its memory at any moment, and every guest moved or failed with its reason. */
    private static void tight(Report report, List<Outcome> outcomes) {
        for (Outcome o : outcomes) {
            if (!o.scenario().startsWith("S5") || !o.strategy().startsWith("moxxie")) continue;
            boolean ok = o.maxTargetMemoryUtilization() <= 1.0 && o.moved() + o.failed() == o.guests();
            report.verdict(String.format(Locale.ROOT, "S5 tight %s, %s: peak memory of any node %.3f of its total, %d moved + %d failed of %d",
                    o.mix(), o.strategy(), o.maxTargetMemoryUtilization(), o.moved(), o.failed(), o.guests()), ok);
        }
    }

    /** Moxxie at fixed concurrencies and auto on every scenario, idle and busy-15: the evidence for what to recommend. */
    private static void concurrencySweep(Report report, Consumer<SimulatedCluster.Builder> demoCluster) {
        int[] ks = {2, 3, 4, 6, 10};
        StringBuilder md = new StringBuilder("## Concurrency sweep\n\n")
                .append("Moxxie's executor at fixed maxConcurrent k (per-target limit: half of k, at least 2) and auto: makespan / bound, ")
                .append("and throttle guest-seconds.\n\n| scenario | mix |");
        for (int k : ks) md.append(" k=").append(k).append(" |");
        md.append(" auto |\n|---|---|");
        for (int ignored : ks) md.append("---|");
        md.append("---|\n");
        for (Mix mix : new Mix[]{Mix.IDLE, Mix.BUSY_15}) {
            for (Scenario base : Scenarios.base(demoCluster)) {
                Scenario s = base.withMix(mix);
                md.append("| ").append(s.name()).append(" | ").append(mix.label).append(" |");
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "sweep %-20s %-8s", s.name(), mix.label));
                for (int k : ks) {
                    Outcome o = new MoxxieStrategy(false, k).run(s);
                    md.append(String.format(Locale.ROOT, " %.3f / %.0f |", o.ratio(), o.physics().throttle()));
                    line.append(String.format(Locale.ROOT, " k=%d %.3f/%.0f", k, o.ratio(), o.physics().throttle()));
                }
                Outcome auto = new MoxxieStrategy(true).run(s);
                md.append(String.format(Locale.ROOT, " %.3f / %.0f |", auto.ratio(), auto.physics().throttle()));
                line.append(String.format(Locale.ROOT, " auto %.3f/%.0f", auto.ratio(), auto.physics().throttle()));
                md.append('\n');
                System.out.println(line);
            }
        }
        report.section(md.toString());
    }

    private static void requestsPerGuest(Report report, Consumer<SimulatedCluster.Builder> demoCluster) {
        StringBuilder md = new StringBuilder("## HTTP requests per migrated guest\n\n")
                .append("Through the real `ProxmoxClient` against `SimulatedProxmoxServer` (the simulated Proxmox API on the JDK's ")
                .append("HTTP server, loopback), every migration taking 60 s, planning included (the cluster's HA rules, read once for the ")
                .append("plan, included; the client's start check — `GET /access/permissions`, `GET /cluster/options`, once per client — not).\n\n")
                .append("| drain | migrated | requests | per guest | by endpoint |\n|---|---|---|---|---|\n");
        for (int run = 0; run < 3; run++) {
            RequestsPerGuest.Result r = RequestsPerGuest.measure(demoCluster, run == 1, run == 2);
            System.out.printf(Locale.ROOT, "requests per guest, %s: %d requests / %d migrated = %.2f %s%n", r.drain(), r.requests(),
                    r.migrated(), r.perGuest(), r.byEndpoint());
            md.append(String.format(Locale.ROOT, "| %s | %d | %d | %.2f | %s |%n", r.drain(), r.migrated(), r.requests(), r.perGuest(),
                    r.byEndpoint().toString().replace("|", "\\|")));
            report.verdict(String.format(Locale.ROOT, "requests per migrated guest, %s: %.2f (target <= 4)", r.drain(), r.perGuest()),
                    r.perGuest() <= 4.0);
        }
        report.section(md.toString());
    }

    private static void executorOverhead(Report report) throws IOException {
        ExecutorOverhead.Result r;
        try {
            r = ExecutorOverhead.measure();
        } catch (Exception e) {
            throw new IOException("executor overhead: could not run the child JVM: " + e, e);
        }
        System.out.printf(Locale.ROOT, "executor overhead: %d zero-duration migrations in %.3f s wall (median of %d; %.3f-%.3f), peak heap %.1f MiB (-Xmx%s), %s%n",
                r.guests(), r.wallSeconds(), ExecutorOverhead.RUNS, r.minSeconds(), r.maxSeconds(), r.peakHeapMiB(), ExecutorOverhead.HEAP, r.status());
        report.section(String.format(Locale.ROOT, "## Executor overhead%n%n%d migrations that take no time (the simulator's `INSTANT` model), "
                        + "one drain with maxConcurrent %d to %d targets, planning included, in a child JVM with `-Xmx%s` after two warm-up "
                        + "drains of 2,000: **%.3f s** of wall time (median of %d drains; %.3f–%.3f s), peak heap **%.1f MiB**, drain %s.%n",
                r.guests(), 64, ExecutorOverhead.TARGETS, ExecutorOverhead.HEAP, r.wallSeconds(), ExecutorOverhead.RUNS, r.minSeconds(),
                r.maxSeconds(), r.peakHeapMiB(), r.status()));
        report.verdict(String.format(Locale.ROOT, "executor: %d zero-duration migrations in %.3f s (target < 1 s), peak heap %.1f MiB (target < 256)",
                r.guests(), r.wallSeconds(), r.peakHeapMiB()), r.ranInLimit() && r.wallSeconds() < 1.0 && r.peakHeapMiB() < 256);
    }

    private static void planner(Report report, boolean quick) throws IOException {
        org.openjdk.jmh.runner.options.Options options = new org.openjdk.jmh.runner.options.OptionsBuilder()
                .include(PlannerBenchmark.class.getName())
                .forks(quick ? 0 : 1)
                .warmupIterations(quick ? 2 : 5).warmupTime(org.openjdk.jmh.runner.options.TimeValue.seconds(1))
                .measurementIterations(quick ? 3 : 10).measurementTime(org.openjdk.jmh.runner.options.TimeValue.seconds(1))
                .jvmArgsAppend("-Xmx2g")
                .build();
        java.util.Collection<org.openjdk.jmh.results.RunResult> results;
        try {
            results = new org.openjdk.jmh.runner.Runner(options).run();
        } catch (org.openjdk.jmh.runner.RunnerException e) {
            throw new IOException("JMH failed: " + e.getMessage(), e);
        }
        String mode = quick ? "quick: no fork, 2 x 1 s warm-up, 3 x 1 s measurement" : "1 fork, 5 x 1 s warm-up, 10 x 1 s measurement";
        StringBuilder md = new StringBuilder(String.format(Locale.ROOT, "## Planner%n%nJMH (`PlannerBenchmark`, sample time, %s), a hard "
                + "drain of one node in a snapshot of %,d nodes and %,d guests:%n%n| node holds | median ms | mean ms (99.9%% CI) | p99 ms | samples |%n"
                + "|---|---|---|---|---|%n", mode, PlannerBenchmark.NODES, PlannerBenchmark.GUESTS));
        for (org.openjdk.jmh.results.RunResult result : results) {
            String method = result.getParams().getBenchmark();
            boolean crowded = method.endsWith("planNodeOf5000Guests");
            var stats = result.getPrimaryResult().getStatistics();
            double median = stats.getPercentile(50);
            System.out.printf(Locale.ROOT, "planner %s: median %.2f ms, mean %.2f +- %.2f ms (99.9%%), p99 %.2f ms, %d samples%n",
                    crowded ? "5,000 guests" : "100 guests", median, stats.getMean(), result.getPrimaryResult().getScoreError(),
                    stats.getPercentile(99), stats.getN());
            md.append(String.format(Locale.ROOT, "| %s | **%.2f** | %.2f ± %.2f | %.2f | %d |%n", crowded ? "5,000 guests" : "100 guests",
                    median, stats.getMean(), result.getPrimaryResult().getScoreError(), stats.getPercentile(99), stats.getN()));
            report.verdict(String.format(Locale.ROOT, "planner: median %.2f ms for a node of %s in 1,000 nodes / 100,000 guests (target < 50 ms)",
                    median, crowded ? "5,000 guests" : "100 guests"), median < 50);
        }
        PlannerBenchmark.rollingMaintenanceSeconds(); // warm-up: the JIT compiles the planner and the snapshot's paths
        double[] wall = new double[3];
        double[] cpu = new double[3];
        for (int i = 0; i < wall.length; i++) {
            double[] run = PlannerBenchmark.rollingMaintenanceSeconds();
            wall[i] = run[0];
            cpu[i] = run[1];
        }
        java.util.Arrays.sort(wall);
        java.util.Arrays.sort(cpu);
        double load = java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
        int cores = Runtime.getRuntime().availableProcessors();
        System.out.printf(Locale.ROOT, "planner: rolling maintenance of 1,000 nodes planned in %.2f s of CPU, %.2f s of wall time (medians of 3; "
                + "load average %.1f on %d cores)%n", cpu[1], wall[1], load, cores);
        md.append(String.format(Locale.ROOT, "%nRolling maintenance: a hard drain of each of the 1,000 nodes in turn, each planned on the "
                + "cluster as the previous plan left it (`ClusterSnapshot.withMoves`, a new snapshot each time): **%.2f s** of the "
                + "planning thread's CPU time for all 1,000, %.2f s of wall time (medians of 3 runs after a warm-up run; CPU "
                + "%.2f–%.2f s, wall %.2f–%.2f s; load average %.1f on %d cores while it ran — the wall time is the CPU time plus "
                + "waiting for a core). The planner indexes the snapshot's guests by node and the candidate targets by memory "
                + "committed, so a plan costs O(guests moved × node sizes × log nodes), not O(guests × nodes).%n",
                cpu[1], wall[1], cpu[0], cpu[2], wall[0], wall[2], load, cores));
        report.verdict(String.format(Locale.ROOT, "planner: rolling maintenance of 1,000 nodes in %.2f s of CPU (%.2f s wall at load %.1f) "
                + "(target < 5 s)", cpu[1], wall[1], load), cpu[1] < 5);
        report.section(md.toString());
    }

    static String header() {
        return String.format(Locale.ROOT, "%-20s %-8s %-15s %4s %9s %9s %6s %6s %7s %8s %5s %6s", "scenario", "mix", "strategy",
                "k", "makespan", "bound", "ratio", "bytes", "maxDown", "throttle", "fail", "maxMem");
    }

    static String row(Outcome o) {
        return String.format(Locale.ROOT, "%-20s %-8s %-15s %4s %9.1f %9.1f %6.3f %6.3f %7.3f %8.1f %5d %6.3f", o.scenario(), o.mix(),
                o.strategy(), o.maxConcurrent() == 0 ? "auto" : Integer.toString(o.maxConcurrent()), o.makespanSeconds(),
                o.lowerBoundSeconds(), o.ratio(), o.bytesSentRatio(), o.physics().maxDowntime(), o.physics().throttle(), o.failed(),
                o.maxTargetMemoryUtilization());
    }
}
