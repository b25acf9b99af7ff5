package io.moxxie.core.plan;

import io.moxxie.core.InvalidTargetException;
import io.moxxie.core.InvalidTargetException.Reason;
import io.moxxie.core.Checks;
import io.moxxie.core.model.ClusterSnapshot;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.MigrationPreconditions;
import io.moxxie.core.model.Node;
import io.moxxie.core.model.PlacementRule;
import io.moxxie.core.policy.TagPolicy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Decides, for every guest of a drain, whether it moves (where, how), stays (why) or cannot move (why).
 * A pure function of its {@link PlanningInput}: no I/O, no clock, deterministic.
 *
 * <p>Placement: a target is never the guest's own node, the drained node, a node in maintenance, an
 * offline node, or a node the hypervisor does not allow for the guest; its memory in use, plus what
 * this plan and moves in flight already put there, plus the guest, stays within its usable memory
 * (total minus {@link PlacementConfig#memoryHeadroom() headroom}). Among the targets that fit, the guest
 * goes where the resulting memory utilization is lowest (CPU load, then name, break ties), and guests
 * are placed largest first: that keeps the busiest target as low as a greedy placement can.
 *
 * <p>Placement rules ({@link #rules}: the hypervisor's HA rules and groups, and the tag policy's ProxLB tags) narrow and
 * order the targets. A strict node-affinity rule removes the nodes it does not list; an anti-affinity rule (always
 * strict) removes every node that holds another member of the group, now or by this plan. Among the nodes left, the
 * one where the rest of a positive group is comes first, then the highest node-affinity priority (strict or not: a
 * non-strict rule is a preference that never blocks), then the lowest utilization. The members of a positive group
 * that this plan moves are placed as one, on one node with room for all. A guest no node fits under the strict rules
 * is blocked naming them and every node's reason; with {@code force}, tag rules (which only Moxxie enforces) give way
 * and the entry says so — HA rules never do: Proxmox HA would refuse the move or move the guest back. Each entry names
 * the rules that decided it ({@link PlanEntry#rule()}).
 *
 * <p>At DEBUG it logs each placement and why (the candidates' memory use after the move), for an operator asking
 * why a guest went where it went; nothing is built for those lines below DEBUG.
 *
 * <p>Thread-safe and immutable.
 */
public final class DrainPlanner {
    private static final Logger log = LoggerFactory.getLogger(DrainPlanner.class);
    private static final double GIB = 1024.0 * 1024 * 1024;

    private final TagPolicy policy;
    private final PlacementConfig placement;

    public DrainPlanner(TagPolicy policy, PlacementConfig placement) {
        this.policy = Checks.notNull("policy", policy);
        this.placement = Checks.notNull("placement", placement);
    }

    public static DrainPlanner defaults() {
        return new DrainPlanner(TagPolicy.defaults(), PlacementConfig.defaults());
    }

    public TagPolicy policy() {
        return policy;
    }

    public PlacementConfig placement() {
        return placement;
    }

    /**
     * Plans the drain.
     *
     * @throws InvalidTargetException         when the request names a {@code targetNode} that is unknown,
     *                                        offline, in maintenance or the drained node
     * @throws io.moxxie.core.NotFoundException when the drained node is not in the snapshot
     */
    public DrainPlan plan(PlanningInput input) {
        DrainRequest request = input.request();
        String source = request.node();
        Optional<String> explicit = request.targetNode();
        if (!input.undrain()) checkTarget(request, input.snapshot(), input.nodesInMaintenance());

        List<PlanEntry> skips = new ArrayList<>();
        List<Pending> toPlace = new ArrayList<>();
        for (Guest g : input.guests()) {
            MigrationPreconditions pre = input.preconditionsFor(g.vmid());
            TagPolicy.Decision d = policy.decide(g, request.mode(), request.offlineAllowed(), pre);
            switch (d.kind()) {
                case SKIP -> skips.add(PlanEntry.skip(g, d.reason(), d.alwaysOn()));
                case BLOCK -> skips.add(PlanEntry.block(g, d.migrationType(), d.reason(), d.alwaysOn()));
                case MOVE -> toPlace.add(new Pending(g, d, pre));
            }
        }

        List<Node> candidates = input.snapshot().nodes().stream()
                .filter(n -> n.online() && !input.nodesInMaintenance().contains(n.name()))
                .filter(n -> input.undrain() ? n.name().equals(source) : !n.name().equals(source))
                .filter(n -> explicit.isEmpty() || input.undrain() || explicit.get().equals(n.name()))
                .toList();
        Map<String, Long> committed = new HashMap<>();
        for (Node n : candidates) {
            committed.put(n.name(), n.memoryUsed() + input.reservedMemory().getOrDefault(n.name(), 0L));
        }
        // The tag rules bind a guest only through its own tags: without any among the guests to place, the cluster's
        // guests need not be read for them (a large cluster has 100 times more guests than a drain moves).
        boolean tagRules = toPlace.stream().anyMatch(p -> policy.hasRuleTag(p.guest));
        RuleBook book = new RuleBook(tagRules ? rules(input.snapshot()) : input.snapshot().rules(), input.snapshot(), toPlace);
        // Largest first: the big guests (and groups that go together) choose while there is most room, the small ones
        // fill the gaps.
        List<Unit> units = book.units(toPlace);
        units.sort(Comparator.comparingLong(Unit::memory).reversed().thenComparingInt(u -> u.members.get(0).guest.vmid()));

        List<PlanEntry> moves = new ArrayList<>();
        Targets targets = new Targets(candidates, committed);
        boolean debug = log.isDebugEnabled();
        for (Unit u : units) {
            if (!debug && u.members.size() == 1 && u.together.isEmpty() && !book.binds(u)) {
                // A guest no rule binds (not even a positive group, whose other members it joins) and allowed everywhere:
                // its best target comes from the index, without a scan of every candidate (the same choice choose() makes).
                Pending p = u.members.get(0);
                if (p.pre.notAllowed().isEmpty() && !targets.isCandidate(p.guest.node())) {
                    Node fast = targets.best(p.guest.memory());
                    if (fast != null) {
                        Choice c = new Choice();
                        c.target = fast;
                        place(u, c, null, null, committed, book, moves, targets);
                        continue;
                    }
                }
            }
            Choice c = choose(u, candidates, committed, book, false);
            if (c.target == null && request.force() && c.tagRuleExcluded()) {
                // force: the tag rules (which only Moxxie enforces) give way; HA rules never do (Proxmox enforces them).
                Choice forced = choose(u, candidates, committed, book, true);
                if (forced.target != null) {
                    // The entry names the rules it was placed against: they decided it, by giving way.
                    String against = String.join("; ", c.tagRulesExcluding());
                    place(u, forced, "force: placed against " + against + " (" + c.why + ")", against, committed, book, moves, targets);
                    continue;
                }
            }
            if (c.target == null && u.members.size() > 1 && u.tagTogetherOnly() && request.force() && c.roomExcluded) {
                // No node has room for the whole tag group: forced, its members are placed one by one.
                for (Pending p : u.members) {
                    Unit single = new Unit(List.of(p), List.of(), null);
                    Choice one = choose(single, candidates, committed, book, true);
                    if (one.target != null) {
                        place(single, one, "force: placed apart from " + u.togetherDescription() + " (no node has room for the group)",
                                u.togetherDescription(), committed, book, moves, targets);
                    } else {
                        skips.add(blocked(p, noTargetReason(single, one, candidates, input), one.rule()));
                    }
                }
                continue;
            }
            if (c.target != null) {
                place(u, c, null, c.rule(), committed, book, moves, targets);
            } else {
                String reason = noTargetReason(u, c, candidates, input);
                boolean haExcluded = request.force() && !c.rulesExcluding.isEmpty() && !c.tagRuleExcluded();
                if (haExcluded) reason += "; force does not override HA rules (Proxmox HA enforces them)";
                for (Pending p : u.members) {
                    skips.add(blocked(p, reason, c.rule()));
                    log.debug("No target for VM {} ({}): {}", p.guest.vmid(), p.guest.name(), reason);
                }
            }
        }

        moves.sort(executionOrder());
        List<PlanEntry> entries = new ArrayList<>(moves);
        skips.sort(Comparator.comparingInt(PlanEntry::vmid));
        entries.addAll(skips);
        List<String> warnings = new ArrayList<>();
        if (!input.undrain() && input.snapshot().haAutoRebalance() && moves.stream().anyMatch(e -> e.guest().haManaged())) {
            warnings.add(haAutoRebalanceWarning(source));
        }
        return new DrainPlan(request, input.snapshot().takenAt(), entries, warnings);
    }

    /**
     * What a drain of {@code node} that moves HA guests says while Proxmox VE 9's HA auto-rebalancing is on ({@link
     * ClusterSnapshot#haAutoRebalance()}): its CRS picks nodes by load among those HA considers online, and a node in
     * Moxxie's maintenance only is one of them.
     */
    public static String haAutoRebalanceWarning(String node) {
        return "Proxmox HA auto-rebalancing is on: it may move HA guests back onto " + node + " unless " + node
                + " is in HA maintenance too (ha-manager crm-command node-maintenance enable " + node + ")";
    }

    /** {@code always-on} first, then larger memory first, then vmid: the order the executor starts moves in. */
    public static Comparator<PlanEntry> executionOrder() {
        return Comparator.comparing((PlanEntry e) -> !e.alwaysOn())
                .thenComparing(Comparator.comparingLong((PlanEntry e) -> e.guest().memory()).reversed())
                .thenComparingInt(PlanEntry::vmid);
    }

    private static int tieBreak(Node a, Node b) {
        int c = Double.compare(a.cpuLoad(), b.cpuLoad());
        return c != 0 ? c : a.name().compareTo(b.name());
    }

    private static PlanEntry blocked(Pending p, String reason, String rule) {
        return PlanEntry.block(p.guest, p.decision.migrationType(), reason, p.decision.alwaysOn()).withRule(rule);
    }

    /**
     * Records the unit's move to {@code c.target}: its members' entries (naming {@code rule}, the rules that decided),
     * the memory it takes, where they will be.
     */
    private void place(Unit u, Choice c, String forcedNote, String rule, Map<String, Long> committed, RuleBook book,
                       List<PlanEntry> moves, Targets targets) {
        String target = c.target.name();
        committed.merge(target, u.memory(), Long::sum);
        targets.add(target, u.memory());
        for (Pending p : u.members) {
            book.at.put(p.guest.vmid(), target);
            List<String> notes = new ArrayList<>();
            if (p.decision.reason() != null) notes.add(p.decision.reason());
            policy.ignoreTag(p.guest).ifPresent(t -> notes.add("tagged " + t + ": balancing leaves it alone, a drain still moves it"));
            for (PlacementRule.GuestAffinity r : u.together) {
                if (r.origin() == PlacementRule.Origin.HA_RULE) {
                    notes.add(r.describe() + ": Proxmox migrates its members together, one migrate request moves them all");
                }
            }
            if (forcedNote != null) notes.add(forcedNote);
            String note = notes.isEmpty() ? null : String.join("; ", notes);
            moves.add(PlanEntry.move(p.guest, target, p.decision.migrationType(), p.decision.alwaysOn(), note).withRule(rule));
        }
        if (log.isDebugEnabled()) {
            Guest first = u.members.get(0).guest;
            String gib = String.format(java.util.Locale.ROOT, "%.1f", u.memory() / GIB);
            String type = u.members.get(0).decision.migrationType().wireName();
            String who = u.members.size() == 1 ? "VM " + first.vmid() + " (" + first.name() + ", " + gib + " GiB, " + type + ")"
                    : "VMs " + u.vmids() + " (" + gib + " GiB together, " + type + ")";
            log.debug("Placing {} on {}: lowest memory use after the move ({}){}{}", who, target, String.join(", ", c.considered),
                    c.why.isEmpty() ? "" : "; not on " + c.why, rule == null ? "" : "; decided by " + rule);
        }
    }

    /**
     * The best node for the unit (all its members on one node), or none with why. A node qualifies when it is not a
     * member's own node, the hypervisor allows every member there, no strict rule of a member excludes it (strict
     * node-affinity; anti-affinity: another member of the group is there now or planned there) and it has room for the
     * whole unit. Among those: the node where the rest of the unit's positive group is (its anchor), then the highest
     * node-affinity priority, then the lowest memory utilization after the move, then CPU load and name.
     *
     * @param overrideTags ignore strict tag rules ({@code force}): only Moxxie enforces them
     */
    private Choice choose(Unit u, List<Node> candidates, Map<String, Long> committed, RuleBook book, boolean overrideTags) {
        Choice c = choose(u, candidates, committed, book, overrideTags, log.isDebugEnabled());
        // Why each node was not taken is spelled out only when it is read: no target, or DEBUG (planning a drain in a
        // large cluster visits thousands of nodes per guest).
        return c.target == null && !log.isDebugEnabled() ? choose(u, candidates, committed, book, overrideTags, true) : c;
    }

    private Choice choose(Unit u, List<Node> candidates, Map<String, Long> committed, RuleBook book, boolean overrideTags,
                          boolean explain) {
        Choice c = new Choice();
        List<PlacementRule.NodeAffinity> nodeRules = book.nodeRules(u, overrideTags);
        List<String> excluded = new ArrayList<>();
        // Nodes only rules excluded, with room: a rule decided the target if one of them would have been chosen.
        Map<Node, PlacementRule> ruledOut = new java.util.LinkedHashMap<>();
        double bestUtil = Double.MAX_VALUE;
        long need = u.memory();
        boolean bound = book.binds(u);
        for (Node n : candidates) {
            if (u.onNode(n.name())) continue;
            String notAllowed = u.notAllowed(n.name());
            if (notAllowed != null) {
                if (explain) excluded.add(n.name() + " (" + notAllowed + ")");
                continue;
            }
            c.allowedCount++;
            long used = committed.get(n.name());
            long free = placement.usable(n.memoryTotal()) - used;
            Optional<Map.Entry<PlacementRule, String>> rule = bound ? book.excluding(u, n.name(), overrideTags) : Optional.empty();
            if (rule.isPresent()) {
                PlacementRule r = rule.get().getKey();
                c.rulesExcluding.putIfAbsent(r.describe(), r);
                if (explain) excluded.add(n.name() + " (" + r.describe() + ": " + rule.get().getValue() + ")");
                if (free >= need) ruledOut.put(n, r);
                continue;
            }
            if (free > c.roomiestFree) {
                c.roomiestFree = free;
                c.roomiest = n;
            }
            if (free < need) {
                c.roomExcluded = true;
                if (explain) excluded.add(String.format(java.util.Locale.ROOT, "%s (not enough memory: %.1f GiB free, %.1f GiB needed)", n.name(),
                        Math.max(0, free) / GIB, need / GIB));
                continue;
            }
            double util = utilization(n, used, need);
            if (explain) c.considered.add(String.format(java.util.Locale.ROOT, "%s %.1f%%", n.name(), util * 100));
            if (c.target == null || better(n, util, c.target, bestUtil, u, nodeRules)) {
                c.target = n;
                bestUtil = util;
            }
        }
        c.why = String.join(", ", excluded);
        if (c.target == null) return c;
        // Which rules decided: the positive group (the members go together, to where the rest is), the node-affinity
        // rules that list the target, the strict rules that kept the unit off a node it would have taken.
        java.util.Set<String> deciding = new java.util.LinkedHashSet<>();
        if (u.members.size() > 1 || c.target.name().equals(u.anchor)) u.together.forEach(r -> deciding.add(r.describe()));
        for (PlacementRule.NodeAffinity r : nodeRules) {
            if (r.nodes().containsKey(c.target.name())) deciding.add(r.describe());
        }
        for (Map.Entry<Node, PlacementRule> e : ruledOut.entrySet()) {
            Node n = e.getKey();
            if (better(n, utilization(n, committed.get(n.name()), need), c.target, bestUtil, u, nodeRules)) deciding.add(e.getValue().describe());
        }
        c.deciding = deciding;
        return c;
    }

    private static double utilization(Node n, long used, long adding) {
        return n.memoryTotal() == 0 ? 1.0 : (double) (used + adding) / n.memoryTotal();
    }

    /** Whether {@code n} (at {@code util} after the move) is a better target for the unit than {@code best}. */
    private static boolean better(Node n, double util, Node best, double bestUtil, Unit u, List<PlacementRule.NodeAffinity> nodeRules) {
        boolean anchorN = n.name().equals(u.anchor);
        boolean anchorBest = best.name().equals(u.anchor);
        if (anchorN != anchorBest) return anchorN;
        for (PlacementRule.NodeAffinity r : nodeRules) {
            int pn = r.priority(n.name()).orElse(Integer.MIN_VALUE);
            int pb = r.priority(best.name()).orElse(Integer.MIN_VALUE);
            if (pn != pb) return pn > pb;
        }
        return lessUsed(n, util, best, bestUtil);
    }

    /**
     * The choice rule once rules and anchors are equal, shared by the scan ({@link #better}) and the index ({@link
     * Targets#best}): lower memory utilization after the move, within 1e-12, then CPU load, then name.
     */
    private static boolean lessUsed(Node n, double util, Node best, double bestUtil) {
        if (util < bestUtil - 1e-12) return true;
        return Math.abs(util - bestUtil) <= 1e-12 && tieBreak(n, best) < 0;
    }

    private String noTargetReason(Unit u, Choice c, List<Node> candidates, PlanningInput input) {
        String prefix = "No suitable target node found: ";
        if (candidates.isEmpty() || candidates.stream().allMatch(n -> u.onNode(n.name()))) {
            return prefix + describeUnavailable(input);
        }
        if (!c.rulesExcluding.isEmpty()) {
            return "No target node honours the placement rules: " + c.why;
        }
        if (c.allowedCount == 0) return prefix + "not allowed on " + c.why;
        if (u.members.size() > 1) {
            return prefix + String.format(java.util.Locale.ROOT,
                    "no node has room for VMs %s together (%s): they need %.1f GiB, best free is %.1f GiB on %s (after %.0f%% headroom and planned moves)",
                    u.vmids(), u.togetherDescription(), u.memory() / GIB, Math.max(0, c.roomiestFree) / GIB, c.roomiest.name(),
                    placement.memoryHeadroom() * 100);
        }
        return prefix + String.format(java.util.Locale.ROOT,
                "not enough memory: needs %.1f GiB, best free is %.1f GiB on %s (after %.0f%% headroom and planned moves)",
                u.memory() / GIB, Math.max(0, c.roomiestFree) / GIB, c.roomiest.name(), placement.memoryHeadroom() * 100);
    }

    private static String describeUnavailable(PlanningInput input) {
        String source = input.request().node();
        if (input.undrain()) {
            Node n = input.snapshot().node(source).orElse(null);
            if (n == null) return "node " + source + " no longer exists";
            if (input.nodesInMaintenance().contains(source)) return "node " + source + " is still in maintenance";
            return n.online() ? "the guest is already on " + source : "node " + source + " is offline";
        }
        if (input.request().targetNode().isPresent()) {
            return "the requested targetNode " + input.request().targetNode().get() + " is the guest's own node";
        }
        List<String> maint = new ArrayList<>();
        List<String> offline = new ArrayList<>();
        for (Node n : input.snapshot().nodes()) {
            if (n.name().equals(source)) continue;
            if (input.nodesInMaintenance().contains(n.name())) maint.add(n.name());
            else if (!n.online()) offline.add(n.name());
        }
        if (maint.isEmpty() && offline.isEmpty()) return "no other node in the cluster";
        StringBuilder sb = new StringBuilder("every other node is unavailable");
        if (!maint.isEmpty()) sb.append("; in maintenance: ").append(String.join(", ", maint));
        if (!offline.isEmpty()) sb.append("; offline: ").append(String.join(", ", offline));
        return sb.toString();
    }

    /**
     * Checks the request's explicit {@code targetNode}, if any, against the cluster: callers that plan later (after
     * asking the hypervisor about each guest) refuse a bad target before any of that. {@link #plan} checks it too.
     *
     * @throws InvalidTargetException the target is unknown, offline or in maintenance; its {@link
     *                                InvalidTargetException#reason() reason} says which (the drained node itself is
     *                                refused when the {@link DrainRequest} is built)
     */
    public static void checkTarget(DrainRequest request, ClusterSnapshot snapshot, Set<String> nodesInMaintenance) {
        Optional<String> explicit = request.targetNode();
        if (explicit.isEmpty()) return;
        String source = request.node();
        String target = explicit.get();
        Optional<Node> n = snapshot.node(target);
        if (n.isEmpty()) {
            List<String> names = snapshot.nodes().stream().map(Node::name).sorted(Node.NAME_ORDER).toList();
            throw new InvalidTargetException(source, target, Reason.UNKNOWN, names);
        }
        if (!n.get().online()) throw new InvalidTargetException(source, target, Reason.OFFLINE, List.of());
        if (nodesInMaintenance.contains(target)) throw new InvalidTargetException(source, target, Reason.IN_MAINTENANCE, List.of());
    }

    /**
     * The placement rules of a plan: the hypervisor's ({@link ClusterSnapshot#rules()}) and those the tag policy reads
     * from the guests' tags ({@link TagPolicy#rules}), for every guest of the cluster.
     */
    public List<PlacementRule> rules(ClusterSnapshot snapshot) {
        List<PlacementRule> out = new ArrayList<>(snapshot.rules());
        out.addAll(policy.rules(snapshot.guests()));
        return out;
    }

    private record Pending(Guest guest, TagPolicy.Decision decision, MigrationPreconditions pre) {
    }

    /** One placement decision: a target, or none and why. */
    private static final class Choice {
        Node target;
        String why = "";
        /** The nodes that could take the unit, each with its memory use after the move (explained choices only). */
        final List<String> considered = new ArrayList<>();
        int allowedCount;
        boolean roomExcluded;
        Node roomiest;
        long roomiestFree = Long.MIN_VALUE;
        /** The strict rules that excluded some node, by description. */
        final Map<String, PlacementRule> rulesExcluding = new java.util.LinkedHashMap<>();
        java.util.Set<String> deciding = java.util.Set.of();

        /** The rules that decided the target, or that left no target (null: none). */
        String rule() {
            java.util.Collection<String> names = target != null ? deciding : rulesExcluding.keySet();
            return names.isEmpty() ? null : String.join("; ", names);
        }

        boolean tagRuleExcluded() {
            return rulesExcluding.values().stream().anyMatch(r -> r.origin() == PlacementRule.Origin.TAG);
        }

        List<String> tagRulesExcluding() {
            return rulesExcluding.values().stream().filter(r -> r.origin() == PlacementRule.Origin.TAG).map(PlacementRule::describe).toList();
        }
    }

    /**
     * Guests placed together: one guest, or the members of a positive group this plan moves. {@code anchor}: the node
     * where the group's other members are (most of them), preferred when it has room; null when there is none.
     */
    private record Unit(List<Pending> members, List<PlacementRule.GuestAffinity> together, String anchor) {
        long memory() {
            long sum = 0;
            for (Pending p : members) sum += p.guest.memory();
            return sum;
        }

        List<Integer> vmids() {
            return members.stream().map(p -> p.guest.vmid()).toList();
        }

        boolean onNode(String node) {
            for (Pending p : members) if (p.guest.node().equals(node)) return true;
            return false;
        }

        /** Why the hypervisor does not allow a member on {@code node}, or null. */
        String notAllowed(String node) {
            for (Pending p : members) {
                if (!p.pre.allows(node)) {
                    String why = p.pre.notAllowed().getOrDefault(node, "not allowed");
                    return members.size() == 1 ? why : "VM " + p.guest.vmid() + ": " + why;
                }
            }
            return null;
        }

        boolean tagTogetherOnly() {
            return !together.isEmpty() && together.stream().allMatch(r -> r.origin() == PlacementRule.Origin.TAG);
        }

        String togetherDescription() {
            return together.stream().map(PlacementRule::describe).reduce((a, b) -> a + "; " + b).orElse("");
        }
    }

    /**
     * The rules that bind the guests of one plan, by vmid, and where every member of a guest-affinity rule is or is
     * planned to go ({@code at}; a guest still to be placed has no entry: it leaves its node, and binds nothing until
     * placed).
     */
    private static final class RuleBook {
        final Map<Integer, List<PlacementRule.NodeAffinity>> nodeRules = new HashMap<>();
        final Map<Integer, List<PlacementRule.GuestAffinity>> apart = new HashMap<>();
        final Map<Integer, List<PlacementRule.GuestAffinity>> together = new HashMap<>();
        final Map<Integer, String> at = new HashMap<>();

        RuleBook(List<PlacementRule> rules, ClusterSnapshot snapshot, List<Pending> toPlace) {
            java.util.Set<Integer> moving = new java.util.HashSet<>();
            for (Pending p : toPlace) moving.add(p.guest.vmid());
            for (PlacementRule r : rules) {
                for (int vmid : r.guests()) {
                    // Only the guests of a rule need a place (a large cluster has many more guests than rules bind).
                    if (r instanceof PlacementRule.GuestAffinity && !moving.contains(vmid)) {
                        snapshot.guest(vmid).ifPresent(g -> at.put(vmid, g.node()));
                    }
                    if (r instanceof PlacementRule.NodeAffinity na) {
                        nodeRules.computeIfAbsent(vmid, k -> new ArrayList<>()).add(na);
                    } else if (r instanceof PlacementRule.GuestAffinity ga) {
                        (ga.together() ? together : apart).computeIfAbsent(vmid, k -> new ArrayList<>()).add(ga);
                    }
                }
            }
        }

        /** The guests to place, as units: the members of a positive group move together (groups sharing a member merge). */
        List<Unit> units(List<Pending> toPlace) {
            Map<Integer, Pending> byVmid = new java.util.LinkedHashMap<>();
            for (Pending p : toPlace) byVmid.put(p.guest.vmid(), p);
            Map<Integer, List<Integer>> unitOf = new HashMap<>();
            Map<List<Integer>, java.util.Set<PlacementRule.GuestAffinity>> rulesOf = new java.util.IdentityHashMap<>();
            for (Pending p : toPlace) {
                for (PlacementRule.GuestAffinity r : together.getOrDefault(p.guest.vmid(), List.of())) {
                    List<Integer> mine = unitOf.computeIfAbsent(p.guest.vmid(), k -> new ArrayList<>(List.of(k)));
                    rulesOf.computeIfAbsent(mine, k -> new java.util.LinkedHashSet<>()).add(r);
                    for (int other : r.guests()) {
                        if (!byVmid.containsKey(other)) continue;
                        List<Integer> theirs = unitOf.get(other);
                        if (theirs == mine) continue;
                        if (theirs == null) {
                            mine.add(other);
                            unitOf.put(other, mine);
                        } else {
                            for (int v : theirs) unitOf.put(v, mine);
                            mine.addAll(theirs);
                            java.util.Set<PlacementRule.GuestAffinity> merged = rulesOf.remove(theirs);
                            if (merged != null) rulesOf.get(mine).addAll(merged);
                        }
                    }
                }
            }
            List<Unit> out = new ArrayList<>();
            java.util.Set<List<Integer>> done = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
            for (Pending p : toPlace) {
                List<Integer> unit = unitOf.get(p.guest.vmid());
                if (unit == null) {
                    out.add(new Unit(List.of(p), List.of(), null));
                } else if (done.add(unit)) {
                    List<Pending> members = unit.stream().sorted().map(byVmid::get).toList();
                    List<PlacementRule.GuestAffinity> rules = List.copyOf(rulesOf.getOrDefault(unit, java.util.Set.of()));
                    out.add(new Unit(members, rules, anchor(rules, unit, members)));
                }
            }
            return out;
        }

        /** Where most of the groups' members that this plan does not move are (not a member's own node), or null. */
        private String anchor(List<PlacementRule.GuestAffinity> rules, List<Integer> unit, List<Pending> members) {
            Map<String, Integer> count = new java.util.TreeMap<>();
            for (PlacementRule.GuestAffinity r : rules) {
                for (int vmid : r.guests()) {
                    String node = at.get(vmid);
                    if (node == null || unit.contains(vmid) || members.stream().anyMatch(p -> p.guest.node().equals(node))) continue;
                    count.merge(node, 1, Integer::sum);
                }
            }
            return count.entrySet().stream().max(Map.Entry.<String, Integer>comparingByValue()
                    .thenComparing(Map.Entry.comparingByKey(Comparator.reverseOrder()))).map(Map.Entry::getKey).orElse(null);
        }

        /** The unit's node-affinity rules, strict and preferred, once each (without the tag rules when overridden). */
        List<PlacementRule.NodeAffinity> nodeRules(Unit u, boolean overrideTags) {
            java.util.Set<PlacementRule.NodeAffinity> out = new java.util.LinkedHashSet<>();
            for (Pending p : u.members) {
                for (PlacementRule.NodeAffinity r : nodeRules.getOrDefault(p.guest.vmid(), List.of())) {
                    if (!(overrideTags && r.origin() == PlacementRule.Origin.TAG)) out.add(r);
                }
            }
            return List.copyOf(out);
        }

        /** Whether a strict rule may bind a member of the unit (most guests have none: then no node is looked up). */
        boolean binds(Unit u) {
            for (Pending p : u.members) {
                if (nodeRules.containsKey(p.guest.vmid()) || apart.containsKey(p.guest.vmid())) return true;
            }
            return false;
        }

        /** The first strict rule that keeps the unit off {@code node}, and why; empty when none does. */
        Optional<Map.Entry<PlacementRule, String>> excluding(Unit u, String node, boolean overrideTags) {
            for (Pending p : u.members) {
                int vmid = p.guest.vmid();
                for (PlacementRule.NodeAffinity r : nodeRules.getOrDefault(vmid, List.of())) {
                    if (overrideTags && r.origin() == PlacementRule.Origin.TAG) continue;
                    if (!r.allows(node)) return Optional.of(Map.entry(r, "not one of its nodes" + (u.members.size() > 1 ? " for VM " + vmid : "")));
                }
                for (PlacementRule.GuestAffinity r : apart.getOrDefault(vmid, List.of())) {
                    if (overrideTags && r.origin() == PlacementRule.Origin.TAG) continue;
                    for (int other : r.guests()) {
                        if (other == vmid) continue;
                        if (u.vmids().contains(other)) {
                            return Optional.of(Map.entry(r, "VMs " + vmid + " and " + other + " must go together but may not share a node"));
                        }
                        if (node.equals(at.get(other))) return Optional.of(Map.entry(r, "VM " + other + " is there"
                                + (u.members.size() > 1 ? ", a group member of VM " + vmid : "")));
                    }
                }
            }
            return Optional.empty();
        }
    }

    /**
     * The candidates indexed for placement: grouped by memory total (a cluster has few node sizes), each group ordered
     * by memory committed, then CPU load, then name. Within a group the node with the least committed has the most room
     * and the lowest utilization after any move, so a guest's best target is the best of the groups' first nodes: the
     * same choice as the scan over every candidate, in O(groups · log n) instead of O(n) per guest (a node of 5,000
     * guests in a cluster of 1,000 nodes: 5 million steps without it).
     */
    private final class Targets {
        private final Map<Long, java.util.TreeSet<Slot>> groups = new HashMap<>();
        private final Map<String, Slot> slots = new HashMap<>();

        Targets(List<Node> candidates, Map<String, Long> committed) {
            for (Node n : candidates) {
                Slot slot = new Slot(n, committed.get(n.name()));
                slots.put(n.name(), slot);
                groups.computeIfAbsent(n.memoryTotal(), t -> new java.util.TreeSet<>(Slot.ORDER)).add(slot);
            }
        }

        boolean isCandidate(String node) {
            return slots.containsKey(node);
        }

        /** The candidate where a guest of {@code memory} bytes leaves the lowest utilization, or null if none has room. */
        Node best(long memory) {
            Slot best = null;
            double bestUtil = Double.MAX_VALUE;
            for (java.util.TreeSet<Slot> group : groups.values()) {
                Slot first = group.first();
                Node n = first.node;
                if (placement.usable(n.memoryTotal()) - first.used < memory) continue;
                double util = utilization(n, first.used, memory);
                if (best == null || lessUsed(n, util, best.node, bestUtil)) {
                    best = first;
                    bestUtil = util;
                }
            }
            return best == null ? null : best.node;
        }

        void add(String node, long memory) {
            Slot slot = slots.get(node);
            java.util.TreeSet<Slot> group = groups.get(slot.node.memoryTotal());
            group.remove(slot);
            slot.used += memory;
            group.add(slot);
        }
    }

    private static final class Slot {
        static final Comparator<Slot> ORDER = Comparator.comparingLong((Slot s) -> s.used)
                .thenComparingDouble(s -> s.node.cpuLoad()).thenComparing(s -> s.node.name());
        final Node node;
        long used;

        Slot(Node node, long used) {
            this.node = node;
            this.used = used;
        }
    }
}
