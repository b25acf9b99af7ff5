package io.moxxie.core.service;

import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.execution.VmStatus;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.plan.PreflightException;
import io.moxxie.core.spi.GuestProgress;
import io.moxxie.core.testing.TestClusters;
import io.moxxie.core.testing.TestClusters.Env;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * An undrain returns what the node's last finished drain moved away, and only that: not a guest whose move failed
 * (it never left), not one the drain skipped, not one already back; and an undrain that follows an undrain still
 * refers to the drain, so it finds everything back and moves nothing.
 */
class UndrainTest {

    @Test
    void anUndrainReturnsOnlyWhatTheDrainMovedAndSaysHowManyOfThem() {
        Env env = new Env();
        env.cluster.failMigrations(8210, 10, "migration aborted");
        String drainId = env.service.drain(DrainRequest.soft("hv7")).drainId();
        env.runUntilIdle();
        DrainStatus drain = env.service.status("hv7", drainId);
        assertThat(drain.status()).isEqualTo(DrainState.FAILED);
        List<Integer> moved = drain.vmStatus().stream().filter(v -> v.status() == GuestState.COMPLETED).map(VmStatus::vmid).toList();
        assertThat(moved).doesNotContain(8210).contains(8211);
        // Someone moved app-02 back by hand meanwhile.
        env.cluster.relocate(8211, "hv7");

        DrainStatus u = env.service.undrain("hv7").status();
        assertThat(u.message()).isEqualTo("Undraining node hv7 (returning " + (moved.size() - 1) + " of " + moved.size()
                + " guests moved by drain " + drainId + ")");
        env.runUntilIdle();
        DrainStatus done = env.service.status("hv7", u.drainId());
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(done.undrainOf()).isEqualTo(drainId);
        assertThat(done.vmStatus()).extracting(VmStatus::vmid).as("the undrain's guests: those the drain moved")
                .containsExactlyInAnyOrderElementsOf(moved);
        assertThat(done.vm(8211).status()).isEqualTo(GuestState.SKIPPED);
        assertThat(done.vm(8211).reason()).isEqualTo("already on hv7");
        for (int vmid : moved) assertThat(env.nodeOf(vmid)).as("%s back", vmid).isEqualTo("hv7");
        assertThat(env.cluster.migrations()).filteredOn(m -> m.vmid() == 8211).as("moves of app-02").hasSize(1);

        // An undrain after the undrain goes back to the drain again: everything is home, nothing moves.
        int movesBefore = env.cluster.migrations().size();
        DrainStatus again = env.service.undrain("hv7").status();
        env.runUntilIdle();
        DrainStatus againDone = env.service.status("hv7", again.drainId());
        assertThat(againDone.undrainOf()).isEqualTo(drainId);
        assertThat(againDone.vmStatus()).extracting(VmStatus::reason).containsOnly("already on hv7");
        assertThat(env.cluster.migrations()).hasSize(movesBefore);
    }

    @Test
    void aGuestLeftOutOfAnUndrainIsRecordedWhereItIsNowOrWhereTheDrainPutItWhenItIsGone() {
        Env env = new Env();
        String drainId = env.service.drain(DrainRequest.soft("hv7")).drainId();
        env.runUntilIdle();
        DrainStatus drain = env.service.status("hv7", drainId);
        String putOn8210 = drain.vm(8210).targetNode();
        String elsewhere = Stream.of("hv8", "hv9", "hv10").filter(n -> !n.equals(env.nodeOf(8211))).findFirst().orElseThrow();
        env.cluster.relocate(8211, elsewhere);
        env.cluster.delete(8210);

        DrainStatus u = env.service.undrain("hv7").status();
        assertThat(u.vm(8211).status()).isEqualTo(GuestState.SKIPPED);
        assertThat(u.vm(8211).sourceNode()).as("where it is now").isEqualTo(elsewhere);
        assertThat(u.vm(8211).reason()).startsWith("moved since the drain: now on " + elsewhere);
        assertThat(u.vm(8211).name()).isEqualTo("app-02");
        assertThat(u.vm(8210).status()).isEqualTo(GuestState.SKIPPED);
        assertThat(u.vm(8210).reason()).isEqualTo("no longer exists");
        assertThat(u.vm(8210).sourceNode()).as("where the drain put it").isEqualTo(putOn8210);
        Map<Integer, GuestProgress> stored = env.store.guests(u.drainId()).stream().collect(Collectors.toMap(GuestProgress::vmid, g -> g));
        assertThat(stored.get(8211).wasRunning()).as("running where it is").isTrue();
        assertThat(stored.get(8210).wasRunning()).isFalse();
        assertThat(stored.get(8211).memory()).isEqualTo(16 * TestClusters.GIB);
    }

    @Test
    void aNodeNeverDrainedHasNothingToUndrainAndAnOfflineNodeTakesNothingBack() {
        Env env = new Env();
        DrainStatus nothing = env.service.undrain("hv8").status();
        assertThat(nothing.status()).isEqualTo(DrainState.COMPLETED);
        assertThat(nothing.totalVMs()).isZero();
        assertThat(nothing.undrainOf()).isNull();
        env.runUntilIdle();

        env.service.drain(DrainRequest.soft("hv9"));
        env.runUntilIdle();
        env.cluster.setNodeOnline("hv9", false);
        assertThatThrownBy(() -> env.service.undrain("hv9")).isInstanceOf(PreflightException.class)
                .hasMessage("Node hv9 is offline: guests cannot be moved back to it");
        assertThat(env.store.drains("hv9", 5)).as("no undrain recorded").hasSize(1);
    }

    /** A guest whose move back fails in a way another attempt may not is tried again: to its node, the undrain's only target. */
    @Test
    void aFailedMoveBackIsRetriedOntoTheNodeItself() {
        Env env = new Env();
        String drainId = env.service.drain(DrainRequest.soft("hv7")).drainId();
        env.runUntilIdle();
        assertThat(env.service.status("hv7", drainId).status()).isEqualTo(DrainState.COMPLETED);
        env.cluster.failMigrations(8211, 1, "migration aborted (duration 00:00:02): storage migration failed");

        DrainStatus u = env.service.undrain("hv7").status();
        env.runUntilIdle();
        DrainStatus done = env.service.status("hv7", u.drainId());
        assertThat(done.status()).isEqualTo(DrainState.COMPLETED);
        VmStatus back = done.vm(8211);
        assertThat(back.status()).as("%s", back.error()).isEqualTo(GuestState.COMPLETED);
        assertThat(back.attempts()).isEqualTo(2);
        assertThat(back.targetNode()).isEqualTo("hv7");
        assertThat(env.nodeOf(8211)).isEqualTo("hv7");
    }
}
