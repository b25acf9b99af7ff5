package io.moxxie.examples.bench;

import io.moxxie.core.model.Concurrency;

import io.moxxie.core.model.DrainState;
import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.model.Guest;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.plan.PlacementConfig;
import io.moxxie.core.service.MaintenanceService;
import io.moxxie.core.simulation.MigrationModel;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.time.VirtualScheduler;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryPoolMXBean;
import java.lang.management.MemoryType;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The executor's own cost: a drain of 10,000 guests whose migrations take no time, planning included, measured in a
 * child JVM limited to 256 MiB of heap ({@code -Xmx256m}): the median wall time of five such drains after warm-up, and
 * the peak heap use its collector saw.
 */
final class ExecutorOverhead {
    static final int GUESTS = 10_000;
    static final int TARGETS = 40;
    static final String HEAP = "256m";
    static final int RUNS = 5;

    /** {@code wallSeconds}: the median of {@link #RUNS} drains; {@code minSeconds}, {@code maxSeconds}: the spread. */
    record Result(int guests, double wallSeconds, double peakHeapMiB, String status, boolean ranInLimit, double minSeconds,
                  double maxSeconds) {
    }

    private ExecutorOverhead() {
    }

    /** Runs {@link #main} in a child JVM with {@code -Xmx256m} and reads its one-line answer. */
    static Result measure() throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-Xmx" + HEAP, "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
                ExecutorOverhead.class.getName()).redirectErrorStream(true).start();
        String answer = null;
        StringBuilder all = new StringBuilder();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                all.append(line).append('\n');
                if (line.startsWith("RESULT ")) answer = line;
            }
        }
        int exit = p.waitFor();
        if (answer == null) {
            return new Result(GUESTS, Double.NaN, Double.NaN, "child JVM exited " + exit + ": " + tail(all), false, Double.NaN, Double.NaN);
        }
        String[] f = answer.split(" ");
        return new Result(Integer.parseInt(f[1]), Double.parseDouble(f[2]), Double.parseDouble(f[3]), f[4], exit == 0,
                Double.parseDouble(f[5]), Double.parseDouble(f[6]));
    }

    private static String tail(StringBuilder s) {
        return s.length() > 300 ? s.substring(s.length() - 300) : s.toString();
    }

    /** In the child: warm up on two smaller drains, then drain 10,000 zero-duration migrations. */
    public static void main(String[] args) {
        // Warm-up: the JIT compiles the hot paths on two smaller drains first, as in any steady-state measurement.
        run(2_000);
        run(2_000);
        System.gc();
        resetPeaks();
        // Five timed drains: the median is the figure (a 2-core machine shared with other work is noisy), min and max beside it.
        double[] walls = new double[RUNS];
        Timed done = null;
        for (int i = 0; i < RUNS; i++) {
            done = run(GUESTS);
            walls[i] = done.planSeconds + done.runSeconds;
        }
        double[] sorted = walls.clone();
        java.util.Arrays.sort(sorted);
        System.out.printf(java.util.Locale.ROOT, "RESULT %d %.3f %.1f %s %.3f %.3f%n", done.status.totalVMs(), sorted[RUNS / 2],
                peakHeapMiB(), done.status.status().wireName(), sorted[0], sorted[RUNS - 1]);
        System.exit(done.status.status() == DrainState.COMPLETED ? 0 : 1);
    }

    /** The drain's outcome, the time {@code drain()} took (reading the cluster and planning) and the time to run it. */
    private record Timed(DrainStatus status, double planSeconds, double runSeconds) {
    }

    /** Builds the cluster (not timed), then times the drain: planning, then every migration to the end. */
    private static Timed run(int guests) {
        VirtualScheduler scheduler = new VirtualScheduler();
        SimulatedCluster.Builder b = SimulatedCluster.builder(scheduler).model(MigrationModel.INSTANT);
        b.node("src", 64L * guests << 30, 256);
        for (int t = 0; t < TARGETS; t++) b.node("t" + t, 64L * guests << 30, 256);
        for (int i = 0; i < guests; i++) {
            b.guest(Guest.qemu(100_000 + i, "src").name("g" + i).memory(1L << 30).memoryUsed(1L << 29).build());
        }
        SimulatedCluster cluster = b.build();
        try (MaintenanceService service = MaintenanceService.builder(cluster, new InMemoryMaintenanceStore()).scheduler(scheduler)
                .placement(new PlacementConfig(0)).planningRetryDelay(Duration.ofMillis(1)).ownerId("overhead").build()) {
            service.start();
            long t0 = System.nanoTime();
            DrainStatus started = service.drain(DrainRequest.builder("src").concurrency(Concurrency.fixed(Concurrency.MAX_FIXED)).build()).status();
            long t1 = System.nanoTime();
            scheduler.runUntilIdle();
            long t2 = System.nanoTime();
            if (Boolean.getBoolean("bench.debug")) System.err.println(cluster.calls() + " tasks run: " + scheduler.pending());
            return new Timed(service.status("src", started.drainId()), (t1 - t0) / 1e9, (t2 - t1) / 1e9);
        }
    }

    private static void resetPeaks() {
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) pool.resetPeakUsage();
    }

    private static double peakHeapMiB() {
        long peak = 0;
        for (MemoryPoolMXBean pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == MemoryType.HEAP) peak += pool.getPeakUsage().getUsed();
        }
        return peak / (1024.0 * 1024.0);
    }
}
