package io.moxxie.core.model;

import io.moxxie.core.Checks;

import java.util.Map;
import java.util.Set;

/**
 * Ceph's health as the hypervisor reports it (Proxmox: {@code GET /cluster/ceph/status}, Ceph's own {@code health}
 * object, and the OSD flags of {@code GET /cluster/ceph/flags}).
 *
 * @param status {@code HEALTH_OK}, {@code HEALTH_WARN} or {@code HEALTH_ERR}
 * @param checks the failing health checks by code (e.g. {@code OSDMAP_FLAGS}, {@code PG_DEGRADED}), each with its
 *               severity and summary: {@code HEALTH_WARN: noout flag(s) set}
 * @param flags  the OSD map flags set now ({@code noout}, {@code noscrub}, …)
 */
public record CephHealth(String status, Map<String, Check> checks, Set<String> flags) {
    public static final String OK = "HEALTH_OK";
    public static final String WARN = "HEALTH_WARN";
    public static final String ERR = "HEALTH_ERR";

    public CephHealth {
        Checks.notNull("status", status);
        checks = Checks.sortedCopy("checks", checks);
        flags = Checks.sortedCopy("flags", flags);
    }

    /** One failing health check. */
    public record Check(String severity, String summary) {
        public Check {
            Checks.notNull("severity", severity);
            summary = summary == null ? "" : summary;
        }
    }

    /** A healthy cluster with the given flags. */
    public static CephHealth ok(Set<String> flags) {
        return new CephHealth(OK, Map.of(), flags);
    }
}
