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
import java.util.Random;
import java.util.Set;

/**
 * The baselines Moxxie is measured against, each a plain executor written the way such code usually is: an offline
 * move done as shutdown, migrate, start inside its worker slot; each task polled at a fixed interval.
 * <ul>
 *   <li>{@code waves}: starts {@code k} moves, waits for all of them, starts the next {@code k} (plan order), 2 s poll.</li>
 *   <li>{@code fifo}: {@code k} workers take guests in vmid order (targets from Moxxie's planner), 2 s poll.</li>
 *   <li>{@code single-target}: every guest to the one node with the most free memory, {@code k} workers in vmid
 *       order, 2 s poll; moves that do not fit fail.</li>
 *   <li>{@code original-moxxie}: the service Moxxie replaced: every guest handed at once to a pool of 7 workers, each
 *       move to a random online node not in maintenance (no memory check: a move that does not fit fails), 2 s poll,
 *       and a 2 s sleep after each move.</li>
 *   <li>{@code kubevirt}: KubeVirt's migration limits, {@code parallelOutboundMigrationsPerNode} 2 and
 *       {@code parallelMigrationsPerCluster} 5 (one node drained: 2 at once), targets from Moxxie's planner (as a
 *       scheduler would spread them), 1 s poll.</li>
 *   <li>{@code migrateall}: Proxmox's own {@code POST /nodes/{node}/migrateall} (pve-manager PVE/API2/Nodes.pm): every
 *       guest of the node, whatever its tags, to one target (the node with the most free memory), vmids in Perl's
 *       {@code sort keys} order (as strings), {@code max-workers} 4 (it has no default; 4 is a common datacenter.cfg
 *       {@code max_workers}), running containers with {@code restart}, a 1 s poll of its workers.</li>
 * </ul>
 * All but {@code migrateall} move the guests Moxxie's tag policy and planner choose to move.
 */
final class BaselineStrategy implements Strategy {
    enum Kind { WAVES, FIFO, SINGLE_TARGET, ORIGINAL_MOXXIE, KUBEVIRT, MIGRATEALL }

    private static final Duration POLL = Duration.ofSeconds(2);
    private final Kind kind;

    BaselineStrategy(Kind kind) {
        this.kind = kind;
    }

    @Override
    public String name() {
        return kind.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    /** The concurrency the baseline runs at in a scenario specified with {@code k}. */
    int concurrency(int k) {
        return switch (kind) {
            case ORIGINAL_MOXXIE -> 7;
            case KUBEVIRT -> 2;
            case MIGRATEALL -> 4;
            default -> Math.max(1, k);
        };
    }

    @Override
    public Outcome run(Scenario s) {
        VirtualScheduler scheduler = new VirtualScheduler();
        Scenario.Built built = s.build(scheduler);
        SimulatedCluster cluster = built.cluster();
        DrainPlanner planner = new DrainPlanner(TagPolicy.defaults(), s.placement());
        int k = concurrency(s.maxConcurrent());
        Random random = new Random(s.name().hashCode());
        Duration poll = kind == Kind.KUBEVIRT || kind == Kind.MIGRATEALL ? Duration.ofSeconds(1) : POLL;
        Duration sleepAfter = kind == Kind.ORIGINAL_MOXXIE ? Duration.ofSeconds(2) : Duration.ZERO;
        Duration timeLimit = io.moxxie.core.execution.ExecutorConfig.defaults().migrationTimeout();
        double makespan = 0;
        Measure.Physics physics = Measure.Physics.NONE;
        int moved = 0, failed = 0, guests = 0;
        Map<String, List<Guest>> movedAway = new HashMap<>();
        for (String node : s.nodes()) {
            for (boolean back : s.rolling() ? new boolean[]{false, true} : new boolean[]{false}) {
                ClusterSnapshot snap = cluster.snapshot();
                Map<Integer, Guest> before = Measure.byId(cluster);
                DrainRequest request = DrainRequest.builder(node).mode(s.mode()).concurrency(Concurrency.fixed(k)).build();
                List<Guest> toPlan = back ? current(snap, movedAway.getOrDefault(node, List.of())) : snap.guestsOn(node);
                Map<Integer, MigrationPreconditions> pre = new HashMap<>();
                for (Guest g : toPlan) pre.put(g.vmid(), cluster.preconditions(g));
                PlanningInput in = back ? PlanningInput.undrain(snap, request, toPlan, Set.of(), pre)
                        : PlanningInput.drain(snap, request, Set.of(), pre);
                DrainPlan plan = planner.plan(in);
                List<Move> moves = new ArrayList<>();
                String single = back ? node : roomiest(snap, node);
                if (kind == Kind.MIGRATEALL) {
                    // Every guest of the node, tags or not; running qemu live, running containers restarted, the rest offline.
                    for (Guest g : toPlan) moves.add(new Move(g, single, g.type() == io.moxxie.core.model.GuestType.LXC
                            ? (g.running() ? MigrationType.RESTART : MigrationType.OFFLINE) : (g.running() ? MigrationType.ONLINE : MigrationType.OFFLINE)));
                    moves.sort(Comparator.comparing(m -> Integer.toString(m.guest.vmid())));
                    if (!back) guests += toPlan.size();
                } else {
                    List<String> randomTargets = snap.nodes().stream().filter(n -> n.online() && !n.name().equals(node))
                            .map(Node::name).sorted().toList();
                    for (PlanEntry e : plan.entries()) {
                        if (e.action() == PlanEntry.Action.SKIP) continue;
                        if (kind == Kind.SINGLE_TARGET) {
                            MigrationType type = e.migrationType() != null ? e.migrationType() : MigrationType.ONLINE;
                            moves.add(new Move(e.guest(), single, type));
                        } else if (e.action() == PlanEntry.Action.MOVE) {
                            String target = kind == Kind.ORIGINAL_MOXXIE && !back
                                    ? randomTargets.get(random.nextInt(randomTargets.size())) : e.targetNode();
                            moves.add(new Move(e.guest(), target, e.migrationType()));
                        } else {
                            failed++;
                        }
                    }
                    if (kind != Kind.WAVES) moves.sort(Comparator.comparingInt(m -> m.guest.vmid()));
                    if (!back) guests += plan.entries().size();
                }
                Instant start = scheduler.now();
                Runner runner = new Runner(cluster, scheduler, moves, k, kind == Kind.WAVES, poll, sleepAfter);
                runner.start();
                scheduler.runUntilIdle();
                Instant end = runner.finishedAt == null ? start : runner.finishedAt;
                makespan += Duration.between(start, end).toNanos() / 1e9;
                physics = physics.plus(Measure.physics(cluster.migrations(), before, built.dirty(), s.model(), start, end, k, timeLimit));
                moved += runner.succeeded.size();
                failed += runner.failures;
                if (!back) movedAway.put(node, runner.succeeded);
            }
        }
        Set<String> sources = new HashSet<>(s.rolling() ? List.of() : s.nodes());
        return new Outcome(s.name(), s.mix().label, name(), guests, cluster.currentSnapshot().nodes().size(), k, makespan, physics.bound(),
                Measure.maxTargetUtilization(cluster, sources), moved, failed, cluster.totalCalls(), physics);
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
        final Duration poll;
        final Duration sleepAfter;
        final List<Guest> succeeded = new ArrayList<>();
        int failures;
        int running;
        Instant finishedAt;

        Runner(SimulatedCluster cluster, VirtualScheduler scheduler, List<Move> moves, int k, boolean waves, Duration poll,
               Duration sleepAfter) {
            this.poll = poll;
            this.sleepAfter = sleepAfter;
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
            scheduler.schedule(poll, () -> {
                if (condition.getAsBoolean()) then.run();
                else waitFor(condition, then);
            });
        }

        void done(Move m, boolean ok) {
            if (!sleepAfter.isZero()) {
                scheduler.schedule(sleepAfter, () -> finish(m, ok));
            } else {
                finish(m, ok);
            }
        }

        void finish(Move m, boolean ok) {
            running--;
            if (ok) succeeded.add(m.guest);
            else failures++;
            if (queue.isEmpty() && running == 0) finishedAt = scheduler.now();
            fill();
        }
    }
}
