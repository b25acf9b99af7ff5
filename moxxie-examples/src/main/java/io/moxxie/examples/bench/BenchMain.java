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
 * {@code moxxie-server.jar bench [--quick] [--out DIR]}: runs every scenario with Moxxie's executor and the
 * baselines, prints a table, and writes {@code BENCHMARKS.md} and {@code bench-results.json} to {@code DIR}
 * (default: the working directory, the repository root when run as the README says).
 */
public final class BenchMain {
    private BenchMain() {
    }

    public static int run(String[] args, Consumer<SimulatedCluster.Builder> demoCluster) throws IOException {
        boolean quick = false;
        Path out = Path.of("");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--quick" -> quick = true;
                case "--out" -> {
                    if (i + 1 >= args.length) throw new IllegalArgumentException("--out needs a folder");
                    out = Path.of(args[++i]);
                }
                default -> throw new IllegalArgumentException("bench: unknown option '" + args[i] + "' (options: --quick, --out DIR)");
            }
        }
        List<Strategy> strategies = List.of(new MoxxieStrategy(false), new MoxxieStrategy(true),
                new BaselineStrategy(BaselineStrategy.Kind.WAVES), new BaselineStrategy(BaselineStrategy.Kind.FIFO),
                new BaselineStrategy(BaselineStrategy.Kind.SINGLE_TARGET));
        List<Outcome> outcomes = new ArrayList<>();
        System.out.println(header());
        for (Scenario s : Scenarios.all(demoCluster)) {
            for (Strategy strategy : strategies) {
                Outcome o = strategy.run(s);
                outcomes.add(o);
                System.out.println(row(o));
            }
        }
        Report report = new Report(outcomes, MigrationModel.DEFAULT);
        Files.writeString(out.resolve("bench-results.json"), report.json());
        Files.writeString(out.resolve("BENCHMARKS.md"), report.markdown());
        System.out.println();
        System.out.println(report.verdicts());
        System.out.println("Wrote " + out.toAbsolutePath().resolve("BENCHMARKS.md") + " and bench-results.json");
        return report.allTargetsMet() ? 0 : 1;
    }

    static String header() {
        return String.format(Locale.ROOT, "%-20s %-14s %6s %5s %4s %10s %10s %7s %7s %7s", "scenario", "strategy", "guests", "nodes",
                "k", "makespan s", "bound s", "ratio", "maxMem", "failed");
    }

    static String row(Outcome o) {
        return String.format(Locale.ROOT, "%-20s %-14s %6d %5d %4s %10.1f %10.1f %7.3f %7.3f %7d", o.scenario(), o.strategy(), o.guests(),
                o.nodes(), o.maxConcurrent() == 0 ? "auto" : Integer.toString(o.maxConcurrent()), o.makespanSeconds(),
                o.lowerBoundSeconds(), o.ratio(), o.maxTargetMemoryUtilization(), o.failed());
    }
}
