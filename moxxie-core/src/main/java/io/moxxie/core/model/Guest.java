package io.moxxie.core.model;

import io.moxxie.core.ValidationException;

import io.moxxie.core.Checks;

import java.util.List;
import java.util.Optional;

/**
 * A virtual machine or container as seen in one snapshot.
 *
 * @param vmid       the cluster-wide id
 * @param name       its name ({@code ""} when Proxmox has none yet)
 * @param node       the node it is on
 * @param type       qemu or lxc
 * @param status     power state
 * @param tags       tags in the order Proxmox lists them, as written
 * @param memory     assigned memory ({@code maxmem}), bytes: what a target must be able to hold
 * @param memoryUsed memory in use, bytes
 * @param template   a template (never runs)
 * @param haManaged  managed by the Proxmox HA stack: moves go through it
 * @param lock       the config lock ({@code backup}, {@code migrate}, …) or {@code null}
 */
public record Guest(int vmid, String name, String node, GuestType type, PowerState status, List<String> tags,
                    long memory, long memoryUsed, boolean template, boolean haManaged, String lock) {
    public Guest {
        if (vmid <= 0) throw new ValidationException("vmid", vmid, "vmid must be > 0, was " + vmid);
        Checks.nodeName("node", node);
        Checks.notNull("type", type);
        Checks.notNull("status", status);
        if (memory < 0) throw new ValidationException("memory", memory, "memory must be >= 0, was " + memory);
        name = name == null ? "" : name;
        tags = tags == null ? List.of() : List.copyOf(tags);
        lock = lock == null || lock.isBlank() ? null : lock;
    }

    public boolean running() {
        return status == PowerState.RUNNING || status == PowerState.PAUSED;
    }

    public Optional<String> lockName() {
        return Optional.ofNullable(lock);
    }

    public Guest withNode(String newNode) {
        return new Guest(vmid, name, newNode, type, status, tags, memory, memoryUsed, template, haManaged, lock);
    }

    public Guest withStatus(PowerState newStatus) {
        return new Guest(vmid, name, node, type, newStatus, tags, memory, memoryUsed, template, haManaged, lock);
    }

    public Guest withTags(List<String> newTags) {
        return new Guest(vmid, name, node, type, status, newTags, memory, memoryUsed, template, haManaged, lock);
    }

    public Guest withLock(String newLock) {
        return new Guest(vmid, name, node, type, status, tags, memory, memoryUsed, template, haManaged, newLock);
    }

    /** {@code 8200 (web-prod-01)}: how logs and messages name a guest. */
    public String label() {
        return name.isEmpty() ? Integer.toString(vmid) : vmid + " (" + name + ")";
    }
}
