package io.moxxie.core.service;

import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.execution.ExecutorConfig;
import io.moxxie.core.model.Concurrency;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.PowerState;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.simulation.MigrationModel;
import io.moxxie.core.simulation.SimulatedCluster;
import io.moxxie.core.store.InMemoryMaintenanceStore;
import io.moxxie.core.testing.TestClusters;
import io.moxxie.core.testing.TestClusters.Env;
import io.moxxie.core.time.VirtualScheduler;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.HashSet;

import static io.moxxie.core.testing.TestClusters.GIB;
import static io.moxxie.core.testing.TestClusters.qemu;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * While a cancelled drain waits for what it has under way, its status says, guest by guest, what that is — a guest
 * shutting down for its move, one migrating (with the task an operator could stop), one shut down and being started
 * again where it was — and until when at the latest; and once that is over, every guest shut down for a move that did
 * not happen runs again where it was, saying so.
 */
class CancellingStatusTest {
    private final VirtualScheduler scheduler = new VirtualScheduler();
    private final SimulatedCluster cluster;
    private final MaintenanceService service;
    private final InMemoryMaintenanceStore store = new InMemoryMaintenanceStore();
    /** What the listeners hear, in order. */
    private final List<String> told = new java.util.concurrent.CopyOnWriteArrayList<>();

    CancellingStatusTest() {
        SimulatedCluster.Builder b = SimulatedCluster.builder(scheduler).model(MigrationModel.DEFAULT)
                .node("pve1", 64 * GIB, 16).node("roomy", 512 * GIB, 16);
        // Offline moves (maint-ok, hard drain), one at a time into one named target: the guests in line are shut down ahead.
        for (int i = 0; i < 6; i++) b.guest(qemu(100 + i, "vm-" + i, "pve1", 4 + 2 * i, "maint-ok"));
        cluster = b.build();
        service = TestClusters.service(cluster, store).executorConfig(ExecutorConfig.defaults()).listener(new io.moxxie.core.execution.DrainListener() {
            @Override
            public void guestStarted(String drainId, io.moxxie.core.spi.GuestProgress guest) {
                told.add("started " + guest.vmid());
            }
        }).build();
        service.start();
    }

    private String drain() {
        return service.drain(DrainRequest.builder("pve1").mode(DrainMode.HARD).targetNode("roomy").concurrency(Concurrency.serial()).build())
                .drainId();
    }

    private List<Guest> downOnPve1() {
        return cluster.currentSnapshot().guestsOn("pve1").stream().filter(g -> g.status() == PowerState.STOPPED).toList();
    }

    @Test
    void cancelledWhileGuestsShutDownForTheirMovesItNamesEachAndTheirLimitThenStartsThemAgainWhereTheyWere() {
        String drainId = drain();
        scheduler.runFor(Duration.ofSeconds(1));
        DrainStatus before = service.status("pve1", drainId);
        List<Integer> shuttingDown = before.vmStatus().stream().filter(v -> v.status() == GuestState.IN_PROGRESS).map(v -> v.vmid()).sorted().toList();
        assertThat(shuttingDown).as("the guest in line and the next two").hasSize(3);
        assertThat(told).as("listeners hear of a move when its guest is shut down for it")
                .containsExactlyInAnyOrderElementsOf(shuttingDown.stream().map(v -> "started " + v).toList());
        assertThat(cluster.migrations()).isEmpty();

        DrainStatus cancelling = service.cancel("pve1", drainId);

        assertThat(cancelling.status()).isEqualTo(DrainState.IN_PROGRESS);
        assertThat(cancelling.message()).startsWith("Cancelling: no new moves start; waiting for 3 moves in flight to end: VM " + shuttingDown.get(0)
                + " (vm-" + (shuttingDown.get(0) - 100) + ") shutting down for its move to roomy, until ");
        for (int vmid : shuttingDown) {
            assertThat(cancelling.message()).contains("VM " + vmid + " (vm-" + (vmid - 100) + ") shutting down for its move to roomy, until ");
        }
        assertThat(cancelling.message()).contains("at the latest (shutdown time limit of 3m (shutdownTimeout))")
                .endsWith(". Progress: 0/6 completed");
        assertThat(store.drain(drainId).orElseThrow().message()).as("recorded").isEqualTo(cancelling.message());

        // Once down (a 10-s shutdown), each is started again where it was (a 2-s start): meanwhile the status says so.
        Set<Integer> seenRestarting = new HashSet<>();
        for (DrainStatus s = cancelling; s.status() == DrainState.IN_PROGRESS; s = service.status("pve1", drainId)) {
            for (int vmid : shuttingDown) {
                if (s.message().contains("VM " + vmid + " (vm-" + (vmid - 100) + ") being started again on pve1 (shut down for its move)")) {
                    seenRestarting.add(vmid);
                }
            }
            scheduler.runFor(Duration.ofMillis(500));
        }
        assertThat(seenRestarting).containsExactlyInAnyOrderElementsOf(shuttingDown);

        DrainStatus done = service.status("pve1", drainId);
        assertThat(done.status()).isEqualTo(DrainState.CANCELLED);
        assertThat(done.message()).isEqualTo("Drain of pve1 cancelled: 0 migrated, 0 skipped, 0 failed, 6 not started");
        assertThat(cluster.migrations()).isEmpty();
        assertThat(cluster.currentSnapshot().guestsOn("pve1")).hasSize(6).allSatisfy(g -> assertThat(g.running()).isTrue());
        for (int vmid : shuttingDown) {
            assertThat(done.vm(vmid).status()).isEqualTo(GuestState.PENDING);
            assertThat(done.vm(vmid).note()).isEqualTo("shut down for its move, started again on pve1 (drain stopped before it moved)");
        }
        assertThat(done.vmStatus()).filteredOn(v -> !shuttingDown.contains(v.vmid()))
                .allSatisfy(v -> assertThat(v.note()).isEqualTo("not started: drain cancelled"));
    }

    @Test
    void cancelledWhileOneMigratesAndTheNextWaitDownItNamesTheTaskAndStartsTheWaitingOnesAgain() {
        String drainId = drain();
        assertThat(scheduler.runUntil(() -> cluster.activeMigrations() == 1 && downOnPve1().size() == 3, Duration.ofHours(1))).isTrue();
        DrainStatus before = service.status("pve1", drainId);
        int migrating = before.vmStatus().stream().filter(v -> v.status() == GuestState.IN_PROGRESS
                && cluster.activeMigrations() == 1 && cluster.currentSnapshot().guest(v.vmid()).orElseThrow().lock() != null)
                .findFirst().orElseThrow().vmid();
        String task = store.guests(drainId).stream().filter(g -> g.vmid() == migrating).findFirst().orElseThrow().taskId();
        assertThat(task).isNotNull();
        List<Integer> waitingDown = downOnPve1().stream().map(Guest::vmid).filter(v -> v != migrating).sorted().toList();
        assertThat(waitingDown).hasSize(2);

        DrainStatus cancelling = service.cancel("pve1", drainId);

        assertThat(cancelling.message()).startsWith("Cancelling: no new moves start; waiting for 3 moves in flight to end: ")
                .contains("VM " + migrating + " (vm-" + (migrating - 100) + ") migrating to roomy, task " + task + " on pve1, until ")
                .contains("at the latest (migration time limit of 30m (migrationTimeout))");
        for (int vmid : waitingDown) {
            assertThat(cancelling.message()).contains("VM " + vmid + " (vm-" + (vmid - 100) + ") being started again on pve1 (shut down for its move)");
        }
        // Once those run again, the status says the drain waits for the migration alone.
        assertThat(scheduler.runUntil(() -> waitingDown.stream().allMatch(v -> String.valueOf(service.status("pve1", drainId).vm(v).note())
                .startsWith("shut down for its move, started again on pve1")), Duration.ofMinutes(10))).isTrue();
        assertThat(cluster.activeMigrations()).as("still migrating").isEqualTo(1);
        assertThat(service.status("pve1", drainId).message())
                .startsWith("Cancelling: no new moves start; waiting for 1 move in flight to end: VM " + migrating + " (vm-" + (migrating - 100)
                        + ") migrating to roomy, task " + task + " on pve1, until ");

        scheduler.runUntilIdle();

        DrainStatus done = service.status("pve1", drainId);
        assertThat(done.status()).isEqualTo(DrainState.CANCELLED);
        assertThat(done.vm(migrating).status()).isEqualTo(GuestState.COMPLETED);
        assertThat(cluster.currentSnapshot().guest(migrating).orElseThrow().node()).isEqualTo("roomy");
        assertThat(cluster.currentSnapshot().guest(migrating).orElseThrow().running()).isTrue();
        for (int vmid : waitingDown) {
            Guest g = cluster.currentSnapshot().guest(vmid).orElseThrow();
            assertThat(g.node()).isEqualTo("pve1");
            assertThat(g.running()).as("%s runs again", vmid).isTrue();
            assertThat(done.vm(vmid).status()).isEqualTo(GuestState.PENDING);
            assertThat(done.vm(vmid).note()).isEqualTo("shut down for its move, started again on pve1 (drain stopped before it moved)");
        }
        int moved = (int) done.vmStatus().stream().filter(v -> v.status() == GuestState.COMPLETED).count();
        assertThat(done.message()).isEqualTo("Drain of pve1 cancelled: " + moved + " migrated, 0 skipped, 0 failed, " + (6 - moved) + " not started");
    }
    /**
     * Cancelled as its first live move takes its slot, before the migrate request is sent: once the task is known, the
     * drain's recorded message names it (another process shows it), and the guest's entry keeps it to the end.
     */
    @Test
    void cancelledBeforeItsFirstMigrateRequestIsSentTheRecordedMessageNamesTheTaskOnceKnown() {
        Env env = new Env();
        String drainId = env.service.drain(DrainRequest.builder("hv7").concurrency(Concurrency.serial()).build()).drainId();
        DrainStatus cancelling = env.service.cancel("hv7", drainId);
        assertThat(cancelling.message()).startsWith("Cancelling: no new moves start; waiting for 1 move in flight to end: VM 8201 (db-prod-01) "
                + "migrating to ").doesNotContain(", task ");

        env.scheduler.runFor(Duration.ofSeconds(1));
        String shown = env.service.status("hv7", drainId).message();
        assertThat(shown).contains(", task UPID:hv7:");
        assertThat(env.store.drain(drainId).orElseThrow().message()).as("recorded").isEqualTo(shown);

        env.runUntilIdle();
        assertThat(env.service.status("hv7", drainId).message()).isEqualTo("Drain of hv7 cancelled: 1 migrated, 3 skipped, 0 failed, 11 not started");
        assertThat(env.store.guests(drainId)).filteredOn(g -> g.vmid() == 8201).singleElement()
                .satisfies(g -> assertThat(g.status()).isEqualTo(GuestState.COMPLETED), g -> assertThat(g.taskId()).startsWith("UPID:hv7:"));
    }
}
