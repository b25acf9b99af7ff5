package io.moxxie.core.rollout;

import io.moxxie.core.model.CephHealth;
import io.moxxie.core.model.CephOsd;
import io.moxxie.core.model.DrainMode;
import io.moxxie.core.model.GateVerdict;
import io.moxxie.core.model.HaManagerStatus;
import io.moxxie.core.model.Quorum;
import io.moxxie.core.plan.DrainPlan;
import io.moxxie.core.plan.PlanEntry;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The built-in {@link Gate}s, in the order a rollout checks them (the cheapest and most fundamental first; the first
 * that blocks is the reason shown, all verdicts are recorded).
 */
public final class Gates {
    private static final int MAX_LISTED = 5;

    private Gates() {
    }

    /** Every built-in gate, in checking order. */
    public static List<Gate> defaults() {
        return List.of(nodesDown(), quorum(), ceph(), ha(), capacity());
    }

    /**
     * {@code nodes-down}: no more than the request's {@code maxNodesDown} nodes out of service at once, counting every
     * node in maintenance, being drained (by anyone sharing the store) or offline — a node that crashed counts too.
     */
    public static Gate nodesDown() {
        return new Gate() {
            @Override
            public String name() {
                return "nodes-down";
            }

            @Override
            public GateVerdict beforeNode(GateContext c) {
                Map<String, String> out = c.service().nodesOutOfService(c.snapshot());
                out.remove(c.node());
                int max = c.request().maxNodesDown();
                if (out.size() >= max) {
                    return GateVerdict.block(name(), out.size() + " node(s) already out of service, maxNodesDown is " + max + ": "
                            + describe(out));
                }
                return GateVerdict.pass(name(), out.isEmpty() ? "no other node out of service"
                        : out.size() + " other node(s) out of service (maxNodesDown " + max + "): " + describe(out));
            }

            @Override
            public GateVerdict beforeReturn(GateContext c) {
                return GateVerdict.pass(name(), "bringing a node back takes none out");
            }
        };
    }

    /**
     * {@code quorum}: the cluster is quorate and stays so with the node down (online votes other than the node's exceed
     * half the expected votes); before the return, the cluster is quorate with the node among its online members.
     */
    public static Gate quorum() {
        return new Gate() {
            @Override
            public String name() {
                return "quorum";
            }

            @Override
            public GateVerdict beforeNode(GateContext c) {
                Quorum q = c.client().quorum();
                int left = q.onlineNodes().size() - (q.onlineNodes().contains(c.node()) ? 1 : 0);
                String votes = q.onlineNodes().size() + " of " + q.expectedVotes() + " votes online";
                if (!q.quorate()) return GateVerdict.block(name(), "the cluster has no quorum (" + votes + ")");
                if (!q.quorateWithout(c.node())) {
                    return GateVerdict.block(name(), "the cluster would lose quorum without " + c.node() + ": " + votes + ", " + left
                            + " left, quorum needs " + (q.expectedVotes() / 2 + 1));
                }
                return GateVerdict.pass(name(), votes + ", " + left + " left without " + c.node() + " (quorum needs "
                        + (q.expectedVotes() / 2 + 1) + ")");
            }

            @Override
            public GateVerdict beforeReturn(GateContext c) {
                Quorum q = c.client().quorum();
                if (!q.quorate()) return GateVerdict.block(name(), "the cluster has no quorum");
                if (!q.onlineNodes().contains(c.node())) {
                    return GateVerdict.block(name(), c.node() + " is not an online member of the cluster");
                }
                return GateVerdict.pass(name(), "quorate, " + c.node() + " online (" + q.onlineNodes().size() + " of "
                        + q.expectedVotes() + " votes)");
            }
        };
    }

    /**
     * {@code ceph} (when the cluster runs Ceph): health is {@code HEALTH_OK}, or {@code HEALTH_WARN} whose every check
     * is on the request's {@code cephAllowedWarnings} (the {@code OSDMAP_FLAGS} warning of flags the rollout set
     * itself always is); {@code HEALTH_ERR} always blocks. Before the node goes out, Ceph must also say each of its
     * OSDs is safe to stop ({@code osd ok-to-stop}).
     */
    public static Gate ceph() {
        return new Gate() {
            @Override
            public String name() {
                return "ceph";
            }

            @Override
            public GateVerdict beforeNode(GateContext c) {
                Optional<CephHealth> health = c.client().ceph();
                if (health.isEmpty()) return GateVerdict.pass(name(), "no Ceph in this cluster");
                Optional<String> unhealthy = unhealthy(health.get(), c);
                if (unhealthy.isPresent()) return GateVerdict.block(name(), unhealthy.get());
                List<CephOsd> osds = c.client().cephOsds(c.node());
                for (CephOsd osd : osds) {
                    CephOsd.Safety safety = c.client().cephOkToStop(c.node(), osd.id());
                    if (!safety.safe()) {
                        return GateVerdict.block(name(), "osd." + osd.id() + " on " + c.node() + " is not safe to stop"
                                + (safety.message().isBlank() ? "" : ": " + safety.message().strip()));
                    }
                }
                return GateVerdict.pass(name(), health.get().status() + ", " + osds.size() + " OSD(s) on " + c.node() + " safe to stop");
            }

            @Override
            public GateVerdict beforeReturn(GateContext c) {
                Optional<CephHealth> health = c.client().ceph();
                if (health.isEmpty()) return GateVerdict.pass(name(), "no Ceph in this cluster");
                Optional<String> unhealthy = unhealthy(health.get(), c);
                return unhealthy.map(u -> GateVerdict.block(name(), u)).orElseGet(() -> GateVerdict.pass(name(), health.get().status()));
            }

            private Optional<String> unhealthy(CephHealth h, GateContext c) {
                if (CephHealth.OK.equals(h.status())) return Optional.empty();
                List<String> offending = new ArrayList<>();
                for (Map.Entry<String, CephHealth.Check> e : h.checks().entrySet()) {
                    String code = e.getKey();
                    if (CephHealth.WARN.equals(h.status()) && c.request().cephAllowedWarnings().contains(code)) continue;
                    if ("OSDMAP_FLAGS".equals(code) && !h.flags().isEmpty() && c.flagsWeSet().containsAll(h.flags())) continue;
                    offending.add(code + ": " + e.getValue().summary());
                }
                if (offending.isEmpty() && CephHealth.WARN.equals(h.status())) return Optional.empty();
                return Optional.of("Ceph is " + h.status() + (offending.isEmpty() ? "" : ": " + String.join("; ", offending))
                        + (CephHealth.WARN.equals(h.status()) ? " (a warning that may be ignored goes in cephAllowedWarnings)" : ""));
            }
        };
    }

    /**
     * {@code ha} (when the cluster has an HA manager): a master CRM runs and it sees the node {@code online} (or already
     * in HA maintenance, before it goes out). Before the return, the node must be {@code online} for HA and out of HA
     * maintenance: HA guests cannot be placed on a node whose LRM is in maintenance.
     */
    public static Gate ha() {
        return new Gate() {
            @Override
            public String name() {
                return "ha";
            }

            @Override
            public GateVerdict beforeNode(GateContext c) {
                Optional<HaManagerStatus> ha = c.client().haManagerStatus();
                if (ha.isEmpty()) return GateVerdict.pass(name(), "no HA manager in this cluster");
                if (ha.get().masterNode() == null) return GateVerdict.block(name(), "no HA manager (CRM master) is active");
                String status = ha.get().nodeStatus().get(c.node());
                if (ha.get().inMaintenance(c.node())) return GateVerdict.pass(name(), c.node() + " is in HA maintenance already");
                if (!"online".equals(status)) {
                    return GateVerdict.block(name(), "the HA manager sees " + c.node() + " as " + (status == null ? "absent" : status));
                }
                return GateVerdict.pass(name(), "the HA manager (master " + ha.get().masterNode() + ") sees " + c.node() + " online");
            }

            @Override
            public GateVerdict beforeReturn(GateContext c) {
                Optional<HaManagerStatus> ha = c.client().haManagerStatus();
                if (ha.isEmpty()) return GateVerdict.pass(name(), "no HA manager in this cluster");
                if (ha.get().inMaintenance(c.node())) {
                    return GateVerdict.block(name(), c.node() + " is still in HA maintenance: HA guests cannot return to it "
                            + "(ha-manager crm-command node-maintenance disable " + c.node() + ")");
                }
                String status = ha.get().nodeStatus().get(c.node());
                if (!"online".equals(status)) {
                    return GateVerdict.block(name(), "the HA manager sees " + c.node() + " as " + (status == null ? "absent" : status));
                }
                return GateVerdict.pass(name(), "the HA manager sees " + c.node() + " online");
            }
        };
    }

    /**
     * {@code capacity}: the rest of the cluster can take the node's guests — the drain's own preflight, on the cluster
     * as it is now. A soft drain with {@code force} passes with the guests that would stay named.
     */
    public static Gate capacity() {
        return new Gate() {
            @Override
            public String name() {
                return "capacity";
            }

            @Override
            public GateVerdict beforeNode(GateContext c) {
                DrainPlan plan = c.service().plan(c.request().drainRequest(c.node()));
                List<PlanEntry> blocked = plan.blocked();
                String moves = plan.moves().size() + " guest(s) to move";
                if (blocked.isEmpty()) return GateVerdict.pass(name(), moves + ", every one placed");
                String which = blocked.stream().limit(MAX_LISTED).map(e -> e.vmid() + " (" + e.reason() + ")")
                        .collect(Collectors.joining(", ")) + (blocked.size() > MAX_LISTED ? ", …" : "");
                if (c.request().force() && c.request().mode() == DrainMode.SOFT) {
                    return GateVerdict.pass(name(), moves + "; with force, " + blocked.size() + " would stay: " + which);
                }
                return GateVerdict.block(name(), blocked.size() + " guest(s) cannot be placed: " + which);
            }

            @Override
            public GateVerdict beforeReturn(GateContext c) {
                return GateVerdict.pass(name(), "the guests return to their own node");
            }
        };
    }

    private static String describe(Map<String, String> nodes) {
        return nodes.entrySet().stream().limit(MAX_LISTED).map(e -> e.getKey() + " " + e.getValue())
                .collect(Collectors.joining(", ")) + (nodes.size() > MAX_LISTED ? ", …" : "");
    }
}
