package io.moxxie.core.store;

import io.moxxie.core.DrainConflictException;
import io.moxxie.core.model.Concurrency;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.model.GuestType;
import io.moxxie.core.model.MigrationType;
import io.moxxie.core.model.NodeMaintenance;
import io.moxxie.core.model.Operation;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.spi.DrainRecord;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.spi.MaintenanceStore;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The {@link MaintenanceStore} contract, as one abstract test that every implementation runs (the in-memory store
 * in core, and H2, PostgreSQL and MariaDB in {@code moxxie-jdbc-store}). An implementation's test extends this class
 * and supplies {@link #createStore()}; one whose data can be shared by several instances (several processes on one
 * database) also overrides {@link #anotherInstance(MaintenanceStore)}, so that conflicts, fencing and takeover are
 * checked across instances, as they happen between processes.
 *
 * <p>Times used here are whole milliseconds: every backend keeps at least microseconds.
 */
public abstract class MaintenanceStoreContract {
    protected static final Instant T0 = Instant.parse("2025-01-15T10:00:00Z");
    protected static final Duration LEASE = Duration.ofSeconds(30);

    protected MaintenanceStore store;

    /** An empty store; called before every test. */
    protected abstract MaintenanceStore createStore();

    /**
     * Another instance over the same data, as a second process would have it. The default returns {@code store}
     * itself, for stores whose data cannot be shared (the in-memory one).
     */
    protected MaintenanceStore anotherInstance(MaintenanceStore store) {
        return store;
    }

    @BeforeEach
    void createTheStore() {
        store = createStore();
    }

    // ------------------------------------------------------------------ fixtures

    protected static Instant at(long seconds) {
        return T0.plusSeconds(seconds);
    }

    protected static DrainRecord drain(String drainId, String node, String owner) {
        return new DrainRecord(drainId, node, Operation.DRAIN, DrainRequest.soft(node), DrainState.IN_PROGRESS,
                "Draining node " + node + " (soft mode)", T0, null, owner, T0.plus(LEASE), false, null);
    }

    protected static GuestProgress guest(String drainId, int vmid, String node) {
        return GuestProgress.builder(drainId, vmid).name("vm-" + vmid).type(GuestType.QEMU).sourceNode(node).wasRunning(true)
                .memory(2L << 30).build();
    }

    protected static List<GuestProgress> guests(String drainId, String node, int... vmids) {
        List<GuestProgress> out = new ArrayList<>();
        for (int vmid : vmids) out.add(guest(drainId, vmid, node));
        return out;
    }

    // ------------------------------------------------------------------ node_maintenance

    @Test
    void aNodeNeverPutInMaintenanceHasNoRecord() {
        assertThat(store.maintenance("hv7")).isEmpty();
        assertThat(store.maintenanceStates()).isEmpty();
    }

    @Test
    void aMaintenanceRecordReadsBackAsSaved() {
        NodeMaintenance saved = new NodeMaintenance("hv7", true, "Security updates", at(0), null, DrainState.IN_PROGRESS,
                "d-1", List.of(8200, 8201, 8300), at(5));

        store.saveMaintenance(saved);

        assertThat(store.maintenance("hv7")).contains(saved);
        assertThat(anotherInstance(store).maintenance("hv7")).contains(saved);
    }

    @Test
    void aMaintenanceRecordWithOnlyTheNodeReadsBackWithNullsAndAnEmptyVmList() {
        NodeMaintenance none = NodeMaintenance.none("hv7", at(0));

        store.saveMaintenance(none);

        assertThat(store.maintenance("hv7")).contains(none);
        assertThat(store.maintenance("hv7").orElseThrow().vmList()).isEmpty();
    }

    @Test
    void savingAMaintenanceRecordAgainReplacesIt() {
        NodeMaintenance enabled = NodeMaintenance.none("hv7", at(0)).enabled("Kernel update", at(1));
        NodeMaintenance disabled = enabled.withDrain("d-1", DrainState.COMPLETED, List.of(1, 2), at(2)).disabled(at(3));

        store.saveMaintenance(enabled);
        store.saveMaintenance(disabled);
        store.saveMaintenance(disabled);

        assertThat(store.maintenance("hv7")).contains(disabled);
        assertThat(store.maintenanceStates()).containsExactly(disabled);
    }

    @Test
    void maintenanceModeCreatesTheRecordAndLeavesTheDrainColumnsAlone() {
        store.saveMaintenanceMode("hv7", true, "Kernel update", at(1), null, at(1));
        assertThat(store.maintenance("hv7")).contains(new NodeMaintenance("hv7", true, "Kernel update", at(1), null, null, null,
                List.of(), at(1)));

        store.recordDrainStarted("hv7", "d-1", List.of(8200, 8201), at(2));
        store.saveMaintenanceMode("hv7", false, "Kernel update", at(1), at(3), at(3));

        NodeMaintenance m = anotherInstance(store).maintenance("hv7").orElseThrow();
        assertThat(m.inMaintenance()).isFalse();
        assertThat(m.maintenanceEnded()).isEqualTo(at(3));
        assertThat(m.lastDrainId()).isEqualTo("d-1");
        assertThat(m.drainStatus()).isEqualTo(DrainState.IN_PROGRESS);
        assertThat(m.vmList()).containsExactly(8200, 8201);
    }

    @Test
    void aDrainStartingAndFinishingLeavesTheMaintenanceColumnsAlone() {
        store.recordDrainStarted("hv8", "d-0", List.of(1), at(0));
        assertThat(store.maintenance("hv8").orElseThrow().inMaintenance()).isFalse();

        store.saveMaintenanceMode("hv7", true, "Security updates", at(0), null, at(0));
        store.recordDrainStarted("hv7", "d-1", List.of(8200, 8300), at(1));
        // Meanwhile another process takes the node out of maintenance; the drain finishing must not put it back.
        anotherInstance(store).saveMaintenanceMode("hv7", false, "Security updates", at(0), at(2), at(2));
        store.recordDrainFinished("hv7", "d-1", DrainState.COMPLETED, at(3));

        NodeMaintenance m = store.maintenance("hv7").orElseThrow();
        assertThat(m.inMaintenance()).isFalse();
        assertThat(m.maintenanceEnded()).isEqualTo(at(2));
        assertThat(m.reason()).isEqualTo("Security updates");
        assertThat(m.drainStatus()).isEqualTo(DrainState.COMPLETED);
        assertThat(m.vmList()).containsExactly(8200, 8300);
        assertThat(m.updatedAt()).isEqualTo(at(3));
    }

    @Test
    void anUndrainKeepsTheVmListAndOnlyTheLastDrainSetsTheStatus() {
        store.recordDrainStarted("hv7", "d-1", List.of(8200, 8300), at(1));
        store.recordDrainStarted("hv7", "u-1", null, at(2));
        store.recordDrainFinished("hv7", "d-1", DrainState.FAILED, at(3));

        NodeMaintenance m = store.maintenance("hv7").orElseThrow();
        assertThat(m.lastDrainId()).isEqualTo("u-1");
        assertThat(m.drainStatus()).as("an older drain finishing does not overwrite").isEqualTo(DrainState.IN_PROGRESS);
        assertThat(m.vmList()).containsExactly(8200, 8300);
        store.recordDrainFinished("hv7", "u-1", DrainState.COMPLETED, at(4));
        assertThat(store.maintenance("hv7").orElseThrow().drainStatus()).isEqualTo(DrainState.COMPLETED);
        store.recordDrainFinished("hv9", "x", DrainState.COMPLETED, at(5));
        assertThat(store.maintenance("hv9")).isEmpty();
    }

    @Test
    void maintenanceStatesListsEveryNodeByName() {
        store.saveMaintenance(NodeMaintenance.none("hv9", at(0)));
        store.saveMaintenance(NodeMaintenance.none("hv7", at(0)).enabled("x", at(1)));
        store.saveMaintenance(NodeMaintenance.none("hv8", at(0)));

        assertThat(store.maintenanceStates()).extracting(NodeMaintenance::node).containsExactly("hv7", "hv8", "hv9");
    }

    // ------------------------------------------------------------------ createDrain, drain, guests

    @Test
    void aCreatedDrainReadsBackWithItsRequestAndGuests() {
        DrainRequest request = DrainRequest.builder("hv7").mode(DrainMode.HARD).concurrency(Concurrency.fixed(5))
                .allowOffline(true).targetNode("hv8").force(true).dryRun(false).build();
        DrainRecord drain = new DrainRecord("d-1", "hv7", Operation.DRAIN, request, DrainState.IN_PROGRESS,
                "Draining node hv7 (hard mode)", at(0), null, "service-a", at(30), false, null);
        GuestProgress lxc = GuestProgress.builder("d-1", 8300).name("batch-01").type(GuestType.LXC).sourceNode("hv7").targetNode("hv8")
                .migrationType(MigrationType.RESTART).alwaysOn(true).haManaged(true).memory(512L << 20).note("moved in restart mode")
                .build();
        GuestProgress qemu = GuestProgress.builder("d-1", 8200).name("web-prod-01").type(GuestType.QEMU).sourceNode("hv7").targetNode("hv9")
                .migrationType(MigrationType.ONLINE).wasRunning(true).memory(8L << 30).build();

        store.createDrain(drain, List.of(lxc, qemu));

        assertThat(store.drain("d-1")).contains(drain);
        assertThat(store.drain("d-1").orElseThrow().request()).isEqualTo(request);
        assertThat(store.guests("d-1")).containsExactly(lxc, qemu);
        assertThat(anotherInstance(store).drain("d-1")).contains(drain);
    }

    @ParameterizedTest
    @ValueSource(strings = {"serial", "1", "3", "64", "auto"})
    void aDrainReadsBackWithItsConcurrency(String concurrency) {
        DrainRequest request = DrainRequest.builder("hv7").concurrency(Concurrency.parse(concurrency)).build();
        store.createDrain(new DrainRecord("d-c", "hv7", Operation.DRAIN, request, DrainState.IN_PROGRESS, "Draining node hv7 (soft mode)",
                at(0), null, "service-a", at(30), false, null), List.of());

        DrainRequest read = anotherInstance(store).drain("d-c").orElseThrow().request();
        assertThat(read.concurrency()).hasToString(concurrency);
        assertThat(read).isEqualTo(request);
    }

    @Test
    void anUndrainReadsBackWithTheDrainItReverses() {
        DrainRecord undrain = new DrainRecord("u-1", "hv7", Operation.UNDRAIN, DrainRequest.soft("hv7"),
                DrainState.IN_PROGRESS, null, at(0), null, "service-a", at(30), false, "d-1");

        store.createDrain(undrain, List.of());

        assertThat(store.drain("u-1")).contains(undrain);
        assertThat(store.guests("u-1")).isEmpty();
    }

    @Test
    void guestsKeepTheOrderTheyWereCreatedIn() {
        store.createDrain(drain("d-1", "hv7", "a"), guests("d-1", "hv7", 300, 100, 200));

        assertThat(store.guests("d-1")).extracting(GuestProgress::vmid).containsExactly(300, 100, 200);
    }

    @Test
    void anUnknownDrainHasNoRecordAndNoGuests() {
        assertThat(store.drain("nope")).isEmpty();
        assertThat(store.guests("nope")).isEmpty();
    }

    @Test
    void aSecondUnfinishedDrainOfTheSameNodeIsRefusedNamingTheActiveOne() {
        store.createDrain(drain("d-1", "hv7", "a"), guests("d-1", "hv7", 100));

        assertThatThrownBy(() -> anotherInstance(store).createDrain(drain("d-2", "hv7", "b"), guests("d-2", "hv7", 100, 101)))
                .isInstanceOfSatisfying(DrainConflictException.class, e -> {
                    assertThat(e.node()).isEqualTo("hv7");
                    assertThat(e.activeDrainId()).isEqualTo("d-1");
                });
        assertThat(store.drain("d-2")).isEmpty();
        assertThat(store.guests("d-2")).isEmpty();
        assertThat(store.guests("d-1")).hasSize(1);
    }

    @Test
    void anUndrainOfANodeWhoseDrainStillRunsIsRefused() {
        store.createDrain(drain("d-1", "hv7", "a"), List.of());
        DrainRecord undrain = new DrainRecord("u-1", "hv7", Operation.UNDRAIN, DrainRequest.soft("hv7"),
                DrainState.IN_PROGRESS, null, at(1), null, "b", at(31), false, "d-0");

        assertThatThrownBy(() -> store.createDrain(undrain, List.of()))
                .isInstanceOfSatisfying(DrainConflictException.class, e -> assertThat(e.activeDrainId()).isEqualTo("d-1"));
    }

    @Test
    void drainsOfDifferentNodesRunSideBySide() {
        store.createDrain(drain("d-1", "hv7", "a"), guests("d-1", "hv7", 100));
        store.createDrain(drain("d-2", "hv8", "a"), guests("d-2", "hv8", 200));

        assertThat(store.unfinishedDrains()).extracting(DrainRecord::drainId).containsExactlyInAnyOrder("d-1", "d-2");
    }

    @Test
    void aNodeCanBeDrainedAgainOnceItsDrainFinished() {
        DrainRecord first = drain("d-1", "hv7", "a");
        store.createDrain(first, guests("d-1", "hv7", 100));
        assertThat(store.updateDrain(first.withStatus(DrainState.COMPLETED, "Progress: 1/1 completed", at(10)))).isTrue();

        store.createDrain(drain("d-2", "hv7", "b"), guests("d-2", "hv7", 100));

        assertThat(store.drain("d-2")).isPresent();
        assertThat(store.guests("d-2")).hasSize(1);
    }

    @Test
    void aDrainRecordedAsFinishedDoesNotHoldTheNode() {
        DrainRecord dryRun = drain("d-1", "hv7", "a").withStatus(DrainState.COMPLETED, "dry run", at(0));
        store.createDrain(dryRun, List.of());

        store.createDrain(drain("d-2", "hv7", "a"), List.of());

        assertThat(store.unfinishedDrains()).extracting(DrainRecord::drainId).containsExactly("d-2");
    }

    @Test
    void reusingADrainIdIsRejected() {
        store.createDrain(drain("d-1", "hv7", "a").withStatus(DrainState.COMPLETED, null, at(1)), List.of());

        assertThatThrownBy(() -> store.createDrain(drain("d-1", "hv8", "a"), List.of()))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("d-1");
        assertThat(store.drain("d-1").orElseThrow().node()).isEqualTo("hv7");
    }

    // ------------------------------------------------------------------ updateDrain

    @Test
    void theOwnerWritesStatusMessageAndCompletionTime() {
        DrainRecord d = drain("d-1", "hv7", "a");
        store.createDrain(d, List.of());
        DrainRecord done = d.withStatus(DrainState.FAILED, "Progress: 7/8 completed, 1 failed", at(40));

        assertThat(store.updateDrain(done)).isTrue();
        assertThat(store.updateDrain(done)).isTrue();

        assertThat(store.drain("d-1")).contains(done);
        assertThat(store.unfinishedDrains()).isEmpty();
    }

    @Test
    void anUpdateFromAnotherOwnerChangesNothing() {
        DrainRecord d = drain("d-1", "hv7", "a");
        store.createDrain(d, List.of());

        boolean written = anotherInstance(store).updateDrain(
                d.withOwner("b", at(60)).withStatus(DrainState.CANCELLED, "not mine", at(5)));

        assertThat(written).isFalse();
        assertThat(store.drain("d-1")).contains(d);
    }

    @Test
    void anUpdateOfAnUnknownDrainReturnsFalse() {
        assertThat(store.updateDrain(drain("nope", "hv7", "a"))).isFalse();
    }

    @Test
    void anUpdateDoesNotMoveTheOwnerOrTheLease() {
        DrainRecord d = drain("d-1", "hv7", "a");
        store.createDrain(d, List.of());
        store.renewLease("d-1", "a", at(90));

        store.updateDrain(d.withMessage("Progress: 1/3 completed"));

        DrainRecord read = store.drain("d-1").orElseThrow();
        assertThat(read.message()).isEqualTo("Progress: 1/3 completed");
        assertThat(read.owner()).isEqualTo("a");
        assertThat(read.leaseExpiresAt()).isEqualTo(at(90));
    }

    @Test
    void anUpdateKeepsACancelRequestedMeanwhile() {
        DrainRecord d = drain("d-1", "hv7", "a");
        store.createDrain(d, List.of());
        anotherInstance(store).requestCancel("d-1");

        assertThat(store.updateDrain(d.withMessage("Progress: 2/3 completed"))).isTrue();

        assertThat(store.drain("d-1").orElseThrow().cancelRequested()).isTrue();
    }

    // ------------------------------------------------------------------ updateGuest

    @Test
    void guestProgressIsWrittenAsItHappens() {
        store.createDrain(drain("d-1", "hv7", "a"), guests("d-1", "hv7", 100));
        GuestProgress pending = store.guests("d-1").get(0);

        GuestProgress started = pending.started("hv8", MigrationType.ONLINE, 1, at(1));
        store.updateGuest(started, "a");
        assertThat(store.guests("d-1")).containsExactly(started);

        GuestProgress withTask = started.withTask("UPID:hv7:0000ABCD:00000001:678A1B2C:qmigrate:100:root@pam:");
        store.updateGuest(withTask, "a");
        store.updateGuest(withTask, "a");
        assertThat(anotherInstance(store).guests("d-1")).containsExactly(withTask);

        GuestProgress done = withTask.withNote("restarted after migration").completed("hv8", at(9));
        store.updateGuest(done, "a");
        assertThat(store.guests("d-1")).containsExactly(done);

        GuestProgress failedAgain = done.pendingAgain("hv9", MigrationType.OFFLINE)
                .started("hv9", MigrationType.OFFLINE, 2, at(10)).failed("migration aborted", at(11));
        store.updateGuest(failedAgain, "a");
        assertThat(store.guests("d-1")).containsExactly(failedAgain);
    }

    @Test
    void updatingOneGuestLeavesTheOthersAlone() {
        List<GuestProgress> created = guests("d-1", "hv7", 100, 101, 102);
        store.createDrain(drain("d-1", "hv7", "a"), created);

        GuestProgress skipped = created.get(1).withStatus(GuestState.SKIPPED).failed("maint-ok in soft drain", at(1))
                .withStatus(GuestState.SKIPPED);
        store.updateGuest(skipped, "a");

        assertThat(store.guests("d-1")).containsExactly(created.get(0), skipped, created.get(2));
    }

    @Test
    void aProcessThatLostTheDrainCannotWriteItsGuests() {
        store.createDrain(drain("d-1", "hv7", "a"), guests("d-1", "hv7", 100));
        GuestProgress pending = store.guests("d-1").get(0);
        assertThat(store.takeOver("d-1", "b", at(60), at(90))).isPresent();

        assertThat(store.updateGuest(pending.started("hv8", MigrationType.ONLINE, 1, at(61)), "a")).isFalse();
        assertThat(anotherInstance(store).guests("d-1")).containsExactly(pending);
        GuestProgress mine = pending.started("hv9", MigrationType.ONLINE, 1, at(62));
        assertThat(store.updateGuest(mine, "b")).isTrue();
        assertThat(store.guests("d-1")).containsExactly(mine);
    }

    @Test
    void updatingAGuestOfAnUnknownDrainIsRejected() {
        assertThatThrownBy(() -> store.updateGuest(guest("nope", 100, "hv7"), "a"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("nope");
    }

    // ------------------------------------------------------------------ drains, unfinishedDrains

    @Test
    void aNodesDrainsAreListedNewestFirstAndLimited() {
        for (int i = 1; i <= 4; i++) {
            DrainRecord d = new DrainRecord("d-" + i, "hv7", i % 2 == 0 ? Operation.UNDRAIN : Operation.DRAIN,
                    DrainRequest.soft("hv7"), DrainState.COMPLETED, null, at(i * 100L), at(i * 100L + 50), "a", null, false, null);
            store.createDrain(d, List.of());
        }
        store.createDrain(drain("other", "hv8", "a"), List.of());

        assertThat(store.drains("hv7", 3)).extracting(DrainRecord::drainId).containsExactly("d-4", "d-3", "d-2");
        assertThat(store.drains("hv7", 10)).hasSize(4);
        assertThat(store.drains("hv9", 10)).isEmpty();
    }

    @Test
    void drainsStartedInTheSameInstantAreListedLatestCreatedFirst() {
        store.createDrain(drain("d-b", "hv7", "a").withStatus(DrainState.COMPLETED, null, at(1)), List.of());
        store.createDrain(drain("d-a", "hv7", "a").withStatus(DrainState.CANCELLED, null, at(1)), List.of());
        store.createDrain(drain("d-c", "hv7", "a"), List.of());

        assertThat(store.drains("hv7", 5)).extracting(DrainRecord::drainId).containsExactly("d-c", "d-a", "d-b");
    }

    @Test
    void unfinishedDrainsAreTheInProgressOnesWhoeverOwnsThem() {
        store.createDrain(drain("d-1", "hv7", "a"), List.of());
        anotherInstance(store).createDrain(drain("d-2", "hv8", "b"), List.of());
        DrainRecord d3 = drain("d-3", "hv9", "a");
        store.createDrain(d3, List.of());
        store.updateDrain(d3.withStatus(DrainState.CANCELLED, "cancelled", at(5)));

        assertThat(anotherInstance(store).unfinishedDrains()).extracting(DrainRecord::drainId)
                .containsExactlyInAnyOrder("d-1", "d-2");
    }

    // ------------------------------------------------------------------ renewLease

    @Test
    void theOwnerExtendsItsLease() {
        store.createDrain(drain("d-1", "hv7", "a"), List.of());

        assertThat(store.renewLease("d-1", "a", at(60))).isTrue();
        assertThat(store.renewLease("d-1", "a", at(60))).isTrue();

        assertThat(anotherInstance(store).drain("d-1").orElseThrow().leaseExpiresAt()).isEqualTo(at(60));
    }

    @Test
    void onlyTheOwnerCanRenewTheLease() {
        store.createDrain(drain("d-1", "hv7", "a"), List.of());

        assertThat(anotherInstance(store).renewLease("d-1", "b", at(600))).isFalse();

        DrainRecord read = store.drain("d-1").orElseThrow();
        assertThat(read.owner()).isEqualTo("a");
        assertThat(read.leaseExpiresAt()).isEqualTo(T0.plus(LEASE));
    }

    @Test
    void theLeaseOfAFinishedOrUnknownDrainCannotBeRenewed() {
        DrainRecord d = drain("d-1", "hv7", "a");
        store.createDrain(d, List.of());
        store.updateDrain(d.withStatus(DrainState.COMPLETED, null, at(5)));

        assertThat(store.renewLease("d-1", "a", at(60))).isFalse();
        assertThat(store.renewLease("nope", "a", at(60))).isFalse();
    }

    // ------------------------------------------------------------------ takeOver

    @Test
    void aDrainWhoseLeaseStillHoldsCannotBeTakenOver() {
        store.createDrain(drain("d-1", "hv7", "a"), List.of());

        assertThat(anotherInstance(store).takeOver("d-1", "b", at(10), at(40))).isEmpty();
        // Expiring at exactly "now" is not expired "before now".
        assertThat(anotherInstance(store).takeOver("d-1", "b", T0.plus(LEASE), at(60))).isEmpty();

        assertThat(store.drain("d-1").orElseThrow().owner()).isEqualTo("a");
    }

    @Test
    void afterTheLeaseExpiredAnotherProcessTakesTheDrainOverAndTheOldOwnerIsFencedOff() {
        DrainRecord d = drain("d-1", "hv7", "a");
        store.createDrain(d, guests("d-1", "hv7", 100));
        MaintenanceStore other = anotherInstance(store);

        Optional<DrainRecord> taken = other.takeOver("d-1", "b", at(31), at(61));

        assertThat(taken).isPresent();
        assertThat(taken.get().owner()).isEqualTo("b");
        assertThat(taken.get().leaseExpiresAt()).isEqualTo(at(61));
        assertThat(taken.get().drainId()).isEqualTo("d-1");
        assertThat(taken.get().request()).isEqualTo(d.request());
        assertThat(store.drain("d-1")).contains(taken.get());

        assertThat(store.updateDrain(d.withStatus(DrainState.COMPLETED, "zombie", at(32)))).isFalse();
        assertThat(store.renewLease("d-1", "a", at(90))).isFalse();
        assertThat(store.drain("d-1").orElseThrow().status()).isEqualTo(DrainState.IN_PROGRESS);

        assertThat(other.updateDrain(taken.get().withMessage("Progress: 0/1 completed"))).isTrue();
        assertThat(other.renewLease("d-1", "b", at(91))).isTrue();
    }

    @Test
    void aDrainWithoutALeaseCanBeTakenOver() {
        DrainRecord d = drain("d-1", "hv7", null).withOwner(null, null);
        store.createDrain(d, List.of());

        assertThat(store.takeOver("d-1", "b", at(0), at(30))).map(DrainRecord::owner).contains("b");
    }

    @Test
    void theOwnerMayTakeItsOwnDrainBackWhileTheLeaseHolds() {
        store.createDrain(drain("d-1", "hv7", "a"), List.of());

        Optional<DrainRecord> again = store.takeOver("d-1", "a", at(1), at(100));

        assertThat(again).map(DrainRecord::leaseExpiresAt).contains(at(100));
    }

    @Test
    void aFinishedOrUnknownDrainCannotBeTakenOver() {
        DrainRecord d = drain("d-1", "hv7", "a");
        store.createDrain(d, List.of());
        store.updateDrain(d.withStatus(DrainState.COMPLETED, null, at(5)));

        assertThat(store.takeOver("d-1", "b", at(1000), at(1030))).isEmpty();
        assertThat(store.takeOver("nope", "b", at(1000), at(1030))).isEmpty();
        assertThat(store.drain("d-1").orElseThrow().owner()).isEqualTo("a");
    }

    // ------------------------------------------------------------------ requestCancel

    @Test
    void aCancelRequestIsSeenByTheOwner() {
        store.createDrain(drain("d-1", "hv7", "a"), List.of());

        anotherInstance(store).requestCancel("d-1");
        anotherInstance(store).requestCancel("d-1");

        DrainRecord read = store.drain("d-1").orElseThrow();
        assertThat(read.cancelRequested()).isTrue();
        assertThat(read.status()).isEqualTo(DrainState.IN_PROGRESS);
        assertThat(read.owner()).isEqualTo("a");
    }

    @Test
    void cancellingAFinishedOrUnknownDrainChangesNothing() {
        DrainRecord d = drain("d-1", "hv7", "a");
        store.createDrain(d, List.of());
        DrainRecord done = d.withStatus(DrainState.COMPLETED, "done", at(5));
        store.updateDrain(done);

        store.requestCancel("d-1");
        store.requestCancel("nope");

        assertThat(store.drain("d-1")).contains(done);
        assertThat(store.drain("nope")).isEmpty();
    }

    // ------------------------------------------------------------------ concurrency

    @Test
    @Timeout(120)
    void ofTwoWritersRacingToDrainOneNodeExactlyOneWins() throws Exception {
        MaintenanceStore a = store;
        MaintenanceStore b = anotherInstance(store);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            for (int round = 0; round < 25; round++) {
                String node = "race" + round;
                CountDownLatch go = new CountDownLatch(1);
                Future<String> first = pool.submit(racer(a, go, drain(node + "-a", node, "a"), node));
                Future<String> second = pool.submit(racer(b, go, drain(node + "-b", node, "b"), node));
                go.countDown();
                List<String> outcomes = List.of(first.get(60, TimeUnit.SECONDS), second.get(60, TimeUnit.SECONDS));

                assertThat(outcomes).as("round %d", round).filteredOn(o -> o.startsWith("won")).hasSize(1);
                String winner = outcomes.stream().filter(o -> o.startsWith("won")).findFirst().orElseThrow().substring(4);
                assertThat(outcomes).as("round %d", round).contains("lost to " + winner);
                assertThat(store.unfinishedDrains()).filteredOn(d -> d.node().equals(node))
                        .extracting(DrainRecord::drainId).containsExactly(winner);
                assertThat(store.guests(winner)).hasSize(3);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static Callable<String> racer(MaintenanceStore s, CountDownLatch go, DrainRecord d, String node) {
        return () -> {
            go.await();
            try {
                s.createDrain(d, guests(d.drainId(), node, 1, 2, 3));
                return "won " + d.drainId();
            } catch (DrainConflictException e) {
                return "lost to " + e.activeDrainId();
            }
        };
    }

    @Test
    @Timeout(120)
    void ofTwoProcessesTakingOverAnExpiredDrainExactlyOneWins() throws Exception {
        MaintenanceStore b = store;
        MaintenanceStore c = anotherInstance(store);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            for (int round = 0; round < 25; round++) {
                String id = "t-" + round;
                store.createDrain(drain(id, "hv" + round, "dead"), List.of());
                CountDownLatch go = new CountDownLatch(1);
                Future<Optional<DrainRecord>> first = pool.submit(() -> {
                    go.await();
                    return b.takeOver(id, "b", at(100), at(130));
                });
                Future<Optional<DrainRecord>> second = pool.submit(() -> {
                    go.await();
                    return c.takeOver(id, "c", at(100), at(130));
                });
                go.countDown();
                Optional<DrainRecord> rb = first.get(60, TimeUnit.SECONDS);
                Optional<DrainRecord> rc = second.get(60, TimeUnit.SECONDS);

                assertThat(rb.isPresent() ^ rc.isPresent()).as("round %d: exactly one wins", round).isTrue();
                String winner = rb.isPresent() ? "b" : "c";
                assertThat(store.drain(id).orElseThrow().owner()).isEqualTo(winner);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    @Timeout(120)
    void concurrentGuestUpdatesAreAllKept() throws Exception {
        int count = 16;
        int[] vmids = new int[count];
        for (int i = 0; i < count; i++) vmids[i] = 100 + i;
        List<GuestProgress> created = guests("d-1", "hv7", vmids);
        store.createDrain(drain("d-1", "hv7", "a"), created);
        MaintenanceStore other = anotherInstance(store);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<?>> futures = new ArrayList<>();
        AtomicInteger next = new AtomicInteger();
        List<GuestProgress> expected = Collections.synchronizedList(new ArrayList<>());
        try {
            for (GuestProgress g : created) {
                futures.add(pool.submit(() -> {
                    MaintenanceStore s = next.getAndIncrement() % 2 == 0 ? store : other;
                    GuestProgress started = g.started("hv8", MigrationType.ONLINE, 1, at(1));
                    s.updateGuest(started, "a");
                    GuestProgress done = started.withTask("task-" + g.vmid()).completed("hv8", at(2));
                    s.updateGuest(done, "a");
                    expected.add(done);
                    return null;
                }));
            }
            for (Future<?> f : futures) f.get(60, TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
        }

        assertThat(store.guests("d-1")).containsExactlyInAnyOrderElementsOf(expected);
        assertThat(store.guests("d-1")).extracting(GuestProgress::vmid).containsExactly(
                created.stream().map(GuestProgress::vmid).toArray(Integer[]::new));
    }
}
