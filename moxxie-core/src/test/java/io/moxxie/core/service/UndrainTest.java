package io.moxxie.core.service;

import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.execution.VmStatus;
import io.moxxie.core.model.DrainState;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.plan.DrainRequest;
import io.moxxie.core.testing.TestClusters.Env;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

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
