package io.moxxie.core.simulation;

import io.moxxie.core.model.CephHealth;
import io.moxxie.core.model.CephOsd;
import io.moxxie.core.model.HaManagerStatus;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The part of a {@link SimulatedCluster} a rollout's gates read: quorum, Ceph and the HA manager. Not thread-safe: the
 * cluster calls it under its own lock.
 *
 * <p>Ceph as modelled: each node may run OSDs; while any is down, health is {@code HEALTH_WARN} with {@code OSD_DOWN}
 * and {@code PG_DEGRADED}; once all are up again, {@code PG_DEGRADED} stays for {@link #RECOVERY} (the placement groups
 * catching up on writes they missed) and then clears. A set flag shows as {@code OSDMAP_FLAGS}, as in Ceph. An
 * operator-set health ({@link SimulatedCluster#cephHealth}) overrides the modelled one until cleared.
 */
final class SimulatedHealth {
    /** How long placement groups stay degraded after a node's OSDs come back. */
    static final Duration RECOVERY = Duration.ofSeconds(30);

    boolean quorumLost;
    boolean ceph;
    final Map<String, List<Integer>> osds = new TreeMap<>();
    final Set<Integer> osdsDown = new TreeSet<>();
    final Map<Integer, String> unsafeToStop = new TreeMap<>();
    final Set<String> flags = new TreeSet<>();
    String forcedStatus;
    final Map<String, CephHealth.Check> forcedChecks = new LinkedHashMap<>();
    Instant degradedUntil;
    boolean ha;
    final Set<String> haMaintenance = new TreeSet<>();

    CephHealth cephHealth(Instant now) {
        if (forcedStatus != null) {
            Map<String, CephHealth.Check> checks = new LinkedHashMap<>(forcedChecks);
            addFlagCheck(checks);
            return new CephHealth(forcedStatus, checks, flags);
        }
        Map<String, CephHealth.Check> checks = new LinkedHashMap<>();
        if (!osdsDown.isEmpty()) {
            checks.put("OSD_DOWN", new CephHealth.Check(CephHealth.WARN, osdsDown.size() + " osds down"));
        }
        if (!osdsDown.isEmpty() || (degradedUntil != null && now.isBefore(degradedUntil))) {
            checks.put("PG_DEGRADED", new CephHealth.Check(CephHealth.WARN, "Degraded data redundancy: some pgs degraded"));
        }
        addFlagCheck(checks);
        return new CephHealth(checks.isEmpty() ? CephHealth.OK : CephHealth.WARN, checks, flags);
    }

    private void addFlagCheck(Map<String, CephHealth.Check> checks) {
        if (!flags.isEmpty()) {
            checks.put("OSDMAP_FLAGS", new CephHealth.Check(CephHealth.WARN, String.join(",", flags) + " flag(s) set"));
        }
    }

    List<CephOsd> osdsOf(String node) {
        List<CephOsd> out = new ArrayList<>();
        for (int id : osds.getOrDefault(node, List.of())) out.add(new CephOsd(id, node, !osdsDown.contains(id)));
        return out;
    }

    /** Ceph's {@code osd ok-to-stop}: unsafe when set so, or when another node's OSDs are already down. */
    CephOsd.Safety okToStop(String node, int osd) {
        String why = unsafeToStop.get(osd);
        if (why != null) return new CephOsd.Safety(false, why);
        for (int down : osdsDown) {
            if (!osds.getOrDefault(node, List.of()).contains(down)) {
                return new CephOsd.Safety(false, "osd." + down + " is already down: stopping osd." + osd
                        + " would leave placement groups without enough replicas");
            }
        }
        return new CephOsd.Safety(true, "");
    }

    void osdsUp(String node, boolean up, Instant now) {
        for (int id : osds.getOrDefault(node, List.of())) {
            if (up) osdsDown.remove(id);
            else osdsDown.add(id);
        }
        if (up && osdsDown.isEmpty()) degradedUntil = now.plus(RECOVERY);
    }

    HaManagerStatus haStatus(Iterable<String> nodes, Map<String, Boolean> online) {
        Map<String, String> status = new TreeMap<>();
        Map<String, String> lrm = new TreeMap<>();
        String master = null;
        for (String n : nodes) {
            boolean up = online.getOrDefault(n, false);
            boolean maint = haMaintenance.contains(n);
            status.put(n, maint ? "maintenance" : up ? "online" : "unknown");
            lrm.put(n, maint ? "maintenance" : "active");
            if (master == null && up) master = n;
        }
        return new HaManagerStatus(master, status, lrm);
    }
}
