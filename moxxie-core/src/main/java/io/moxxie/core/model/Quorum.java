package io.moxxie.core.model;

import io.moxxie.core.Checks;

import java.util.Set;

/**
 * The cluster's quorum as the hypervisor reports it (Proxmox: {@code GET /cluster/status}).
 *
 * @param quorate       the cluster has quorum now
 * @param expectedVotes the votes of all cluster members, online or not (Proxmox: one per node unless configured
 *                      otherwise; the cluster entry's {@code nodes})
 * @param onlineNodes   the members the cluster sees online, each with one vote
 */
public record Quorum(boolean quorate, int expectedVotes, Set<String> onlineNodes) {
    public Quorum {
        Checks.atLeast("expectedVotes", expectedVotes, 0);
        onlineNodes = Checks.sortedCopy("onlineNodes", onlineNodes);
    }

    /**
     * Whether the cluster keeps quorum with {@code node} down as well: the votes left, the online members other than
     * {@code node}, still exceed half the expected votes (corosync's votequorum: quorum = expected / 2 + 1).
     */
    public boolean quorateWithout(String node) {
        int left = onlineNodes.size() - (onlineNodes.contains(node) ? 1 : 0);
        return quorate && left > expectedVotes / 2;
    }
}
