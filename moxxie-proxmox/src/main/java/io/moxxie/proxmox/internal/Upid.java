package io.moxxie.proxmox.internal;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A Proxmox task id ({@code UPID:node:pid:pstart:starttime:type:id:user:}), parsed as {@code PVE::UPID} does.
 * Not part of the public API.
 *
 * @param node      the node that runs the task (its status and log live there)
 * @param pid       worker process id
 * @param pstart    process start, in clock ticks since boot
 * @param startTime Unix epoch seconds
 * @param type      {@code qmigrate}, {@code vzmigrate}, {@code hamigrate}, {@code qmstart}, …
 * @param id        usually the vmid; empty for node-wide tasks
 * @param user      who started it, e.g. {@code root@pam!moxxie}
 */
public record Upid(String node, long pid, long pstart, long startTime, String type, String id, String user) {
    private static final Pattern UPID = Pattern.compile(
            "^UPID:([a-zA-Z0-9]([a-zA-Z0-9\\-]*[a-zA-Z0-9])?):([0-9A-Fa-f]{8}):([0-9A-Fa-f]{8,9}):([0-9A-Fa-f]{8}):"
                    + "([^:\\s/]+):([^:\\s/]*):([^:\\s/]+):$");

    public static Optional<Upid> parse(String upid) {
        if (upid == null) return Optional.empty();
        Matcher m = UPID.matcher(upid.trim());
        if (!m.matches()) return Optional.empty();
        return Optional.of(new Upid(m.group(1), Long.parseLong(m.group(3), 16), Long.parseLong(m.group(4), 16),
                Long.parseLong(m.group(5), 16), m.group(6), m.group(7), m.group(8)));
    }
}
