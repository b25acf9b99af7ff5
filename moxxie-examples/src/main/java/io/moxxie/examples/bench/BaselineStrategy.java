package io.moxxie.examples.bench;

import io.moxxie.core.model.Concurrency;

import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.model.Node;
import io.moxxie.core.model.PowerState;
import io.moxxie.core.plan.DrainPlan;
import io.moxxie.core.plan.DrainPlanner;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.plan.PlanEntry;
import io.moxxie.core.plan.PlanningInput;
import io.moxxie.core.policy.TagPolicy;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.spi.MigrationCommand;
import io.moxxie.core.spi.TaskRef;
import io.moxxie.core.time.VirtualScheduler;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The baselines Moxxie is measured against, each a plain executor written the way such code usually is:
 * the same tag policy, a fixed 2 s poll of each task, an offline move done as shutdown, migrate, start
 * inside its worker slot.
 * <ul>
 *   <li>{@code waves}: starts {@code k} moves, waits for all of them, starts the next {@code k} (plan order).</li>
 *   <li>{@code fifo}: {@code k} workers take guests in vmid order (targets from Moxxie's planner).</li>
 *   <li>{@code single-target}: every guest to the one node with the most free memory, {@code k} workers in vmid
 *       order, as Proxmox's own migrate-all does; moves that do not fit fail.</li>
 * </ul>
 */
final class BaselineStrategy implements Strategy {
    enum Kind { WAVES, FIFO, SINGLE_TARGET }

    private static final Duration POLL = Duration.ofSeconds(2);
    private final Kind kind;

    BaselineStrategy(Kind kind) {
        this.kind = kind;
    }

    @Override
    public String name() {
        return kind.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    @Override
    public Outcome run(Scenario s) {
        VirtualScheduler scheduler = new VirtualScheduler();
        SimulatedCluster cluster = s.cluster().apply(scheduler).build();
        DrainPlanner planner = new DrainPlanner(TagPolicy.defaults(), s.placement());
        int k = Math.max(1, s.maxConcurrent());
        double makespan = 0, bound = 0, sparse = 0;
        int moved = 0, failed = 0, guests = 0;
        Map<String, List<Guest>> movedAway = new HashMap<>();
        for (String node : s.nodes()) {
            for (boolean back : s.rolling() ? new boolean[]{false, true} : new boolean[]{false}) {
                ClusterSnapshot snap = cluster.snapshot();
                DrainRequest request = DrainRequest.builder(node).mode(s.mode()).concurrency(Concurrency.fixed(k)).build();
                List<Guest> toPlan = back ? current(snap, movedAway.getOrDefault(node, List.of())) : snap.guestsOn(node);
                Map<Integer, MigrationPreconditions> pre = new HashMap<>();
                for (Guest g : toPlan) pre.put(g.vmid(), cluster.preconditions(g));
                PlanningInput in = back ? PlanningInput.undrain(snap, request, toPlan, Set.of(), pre)
                        : PlanningInput.drain(snap, request, Set.of(), pre);
                DrainPlan plan = planner.plan(in);
                List<Move> moves = new ArrayList<>();
                String single = back ? node : roomiest(snap, node);
                for (PlanEntry e : plan.entries()) {
                    if (e.action() == PlanEntry.Action.SKIP) continue;
                    if (kind == Kind.SINGLE_TARGET) {
                        MigrationType type = e.migrationType() != null ? e.migrationType() : MigrationType.ONLINE;
                        moves.add(new Move(e.guest(), single, type));
                    } else if (e.action() == PlanEntry.Action.MOVE) {
                        moves.add(new Move(e.guest(), e.targetNode(), e.migrationType()));
                    } else {
                        failed++;
                    }
                }
                if (kind != Kind.WAVES) moves.sort(Comparator.comparingInt(m -> m.guest.vmid()));
                if (!back) guests += plan.entries().size();
                Instant start = scheduler.now();
                Runner runner = new Runner(cluster, scheduler, moves, k, kind == Kind.WAVES);
                runner.start();
                scheduler.runUntilIdle();
                Instant end = runner.finishedAt == null ? start : runner.finishedAt;
                makespan += Duration.between(start, end).toNanos() / 1e9;
                sparse += Measure.sparseCopySeconds(cluster.migrations(), s.model().overhead(), start, end);
                bound += Measure.lowerBound(s.model(), runner.succeeded, k);
                moved += runner.succeeded.size();
                failed += runner.failures;
                if (!back) movedAway.put(node, runner.succeeded);
            }
        }
        Set<String> sources = new HashSet<>(s.rolling() ? List.of() : s.nodes());
        return new Outcome(s.name(), name(), guests, cluster.currentSnapshot().nodes().size(), k, makespan, bound,
                Measure.maxTargetUtilization(cluster, sources), moved, failed, cluster.totalCalls(), sparse);
    }

    private static List<Guest> current(ClusterSnapshot snap, List<Guest> guests) {
        List<Guest> out = new ArrayList<>();
        for (Guest g : guests) snap.guest(g.vmid()).ifPresent(out::add);
        return out;
    }

    private static String roomiest(ClusterSnapshot snap, String source) {
        return snap.nodes().stream().filter(n -> !n.name().equals(source) && n.online())
                .max(Comparator.comparingLong(Node::memoryFree).thenComparing(Node::name)).orElseThrow().name();
    }

    private record Move(Guest guest, String target, MigrationType type) {
    }

    /** k workers (or waves of k) over the moves; every wait is a fixed poll. */
    private static final class Runner {
        final SimulatedCluster cluster;
        final VirtualScheduler scheduler;
        final Deque<Move> queue;
        final int k;
        final boolean waves;
        final List<Guest> succeeded = new ArrayList<>();
        int failures;
        int running;
        Instant finishedAt;

        Runner(SimulatedCluster cluster, VirtualScheduler scheduler, List<Move> moves, int k, boolean waves) {
            this.cluster = cluster;
            this.scheduler = scheduler;
            this.queue = new ArrayDeque<>(moves);
            this.k = k;
            this.waves = waves;
        }

        void start() {
            if (queue.isEmpty()) finishedAt = scheduler.now();
            fill();
        }

        void fill() {
            if (waves && running > 0) return;
            while (running < k && !queue.isEmpty()) {
                Move m = queue.poll();
                running++;
                step(m, 0, null, false);
            }
        }

        /** phase 0: shut down if needed; 1: migrate; 2: wait for the task; 3: start again; 4: done. */
        void step(Move m, int phase, TaskRef task, boolean wasRunning) {
            Guest g = cluster.currentSnapshot().guest(m.guest.vmid()).orElse(null);
            if (g == null) {
                done(m, false);
                return;
            }
            switch (phase) {
                case 0 -> {
                    if (m.type == MigrationType.OFFLINE && g.running()) {
                        cluster.shutdown(g, Duration.ofMinutes(3));
                        waitFor(() -> cluster.currentSnapshot().guest(g.vmid()).map(x -> x.status() == PowerState.STOPPED).orElse(true),
                                () -> step(m, 1, null, true));
                    } else {
                        step(m, 1, null, false);
                    }
                }
                case 1 -> {
                    try {
                        TaskRef t = cluster.migrate(new MigrationCommand(g, m.target, g.running() ? m.type : MigrationType.OFFLINE, false,
                                Duration.ofMinutes(3)));
                        step(m, 2, t, wasRunning);
                    } catch (RuntimeException e) {
                        done(m, false);
                    }
                }
                case 2 -> waitFor(() -> task.tracked() ? cluster.task(task).finished()
                                : cluster.currentSnapshot().guest(g.vmid()).map(x -> x.node().equals(m.target) && x.lock() == null).orElse(true),
                        () -> {
                            Guest after = cluster.currentSnapshot().guest(g.vmid()).orElse(null);
                            boolean ok = after != null && after.node().equals(m.target);
                            if (!ok) done(m, false);
                            else if (wasRunning && !after.running()) {
                                cluster.start(after);
                                waitFor(() -> cluster.currentSnapshot().guest(g.vmid()).map(Guest::running).orElse(true), () -> done(m, true));
                            } else done(m, true);
                        });
                default -> throw new IllegalStateException();
            }
        }

        void waitFor(java.util.function.BooleanSupplier condition, Runnable then) {
            scheduler.schedule(POLL, () -> {
                if (condition.getAsBoolean()) then.run();
                else waitFor(condition, then);
            });
        }

        void done(Move m, boolean ok) {
            running--;
            if (ok) succeeded.add(m.guest);
            else failures++;
            if (queue.isEmpty() && running == 0) finishedAt = scheduler.now();
            fill();
        }
    }
}
