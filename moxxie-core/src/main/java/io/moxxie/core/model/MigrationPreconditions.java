package io.moxxie.core.model;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What the hypervisor says about moving one guest, before anything moves: Proxmox's
 * {@code GET …/migrate} answer, judged.
 *
 * @param vmid             the guest
 * @param notAllowed       nodes the guest cannot go to, each with the reason (missing storage, mapping,
 *                         HA affinity). A node absent here is allowed as far as the hypervisor knows.
 * @param liveBlockers     what prevents a live migration but not an offline one (e.g. a mapped device
 *                         that is not live-migratable); empty when live migration is possible
 * @param blockers         what prevents any migration (e.g. {@code hostpci0} passthrough, which needs
 *                         root's {@code force}); empty when the guest can move
 * @param localDisks       the guest has disks on node-local storage (moves copy them)
 */
public record MigrationPreconditions(int vmid, Map<String, String> notAllowed, List<String> liveBlockers,
                                     List<String> blockers, boolean localDisks) {
    public MigrationPreconditions {
        notAllowed = notAllowed == null ? Map.of() : Map.copyOf(notAllowed);
        liveBlockers = liveBlockers == null ? List.of() : List.copyOf(liveBlockers);
        blockers = blockers == null ? List.of() : List.copyOf(blockers);
    }

    /** No restriction known: every node allowed, live migration possible, no local disks. */
    public static MigrationPreconditions unrestricted(int vmid) {
        return new MigrationPreconditions(vmid, Map.of(), List.of(), List.of(), false);
    }

    public boolean allows(String node) {
        return !notAllowed.containsKey(node);
    }

    public boolean canMoveLive() {
        return liveBlockers.isEmpty() && blockers.isEmpty();
    }

    public boolean canMove() {
        return blockers.isEmpty();
    }

    public Set<String> notAllowedNodes() {
        return notAllowed.keySet();
    }
}
