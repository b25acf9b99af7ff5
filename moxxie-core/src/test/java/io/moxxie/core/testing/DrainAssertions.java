package io.moxxie.core.testing;

import io.moxxie.core.execution.DrainStatus;
import io.moxxie.core.execution.VmStatus;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.GuestState;
import io.moxxie.core.spi.GuestProgress;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Assertions on a drain shared by core's tests and the stores' (through core's test-jar). */
public final class DrainAssertions {
    private DrainAssertions() {
    }

    /**
     * The store's record of each guest, the status API's, and where the guest is in the cluster are one and the same: as
     * many guests in both, each with the same state and target, on its target if completed and on its source otherwise.
     */
    public static void assertStoreStatusAndClusterAgree(List<GuestProgress> stored, DrainStatus status, ClusterSnapshot cluster) {
        assertThat(stored).hasSameSizeAs(status.vmStatus());
        for (GuestProgress g : stored) {
            VmStatus v = status.vm(g.vmid());
            assertThat(g.status()).as("vm %s: store and status", g.vmid()).isEqualTo(v.status());
            assertThat(g.targetNode()).as("vm %s: store and status", g.vmid()).isEqualTo(v.targetNode());
            String where = cluster.guest(g.vmid()).orElseThrow().node();
            if (g.status() == GuestState.COMPLETED) assertThat(where).as("vm %s: store and cluster", g.vmid()).isEqualTo(g.targetNode());
            else assertThat(where).as("vm %s: store and cluster", g.vmid()).isEqualTo(g.sourceNode());
        }
    }
}
