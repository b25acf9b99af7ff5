package io.moxxie.core.model;

import io.moxxie.core.ValidationException;

import io.moxxie.core.Checks;

import java.util.List;
import java.util.Optional;

/**
 * A virtual machine or container as seen in one snapshot. Immutable. Make one by name with {@link #qemu(int, String)},
 * {@link #lxc(int, String)} or {@link #builder(int, String, GuestType)}:
 * <pre>{@code
 * Guest web = Guest.qemu(8200, "hv7").name("web-prod-01").tags(List.of("always-on")).memory(8L << 30).build();
 * }</pre>
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
        Checks.atLeast("memory", memory, 0);
        name = name == null ? "" : name;
        tags = tags == null ? List.of() : List.copyOf(tags);
        lock = lock == null || lock.isBlank() ? null : lock;
    }

    /** A builder of a virtual machine (QEMU) on {@code node}: running, no name, tags, memory or lock until set. */
    public static Builder qemu(int vmid, String node) {
        return builder(vmid, node, GuestType.QEMU);
    }

    /** A builder of a container (LXC) on {@code node}: running, no name, tags, memory or lock until set. */
    public static Builder lxc(int vmid, String node) {
        return builder(vmid, node, GuestType.LXC);
    }

    /** A builder of a guest of {@code type} on {@code node}: running, no name, tags, memory or lock until set. */
    public static Builder builder(int vmid, String node, GuestType type) {
        return new Builder(vmid, node, type);
    }

    /** A builder holding every field of this guest. */
    public Builder toBuilder() {
        return new Builder(vmid, node, type).name(name).status(status).tags(tags).memory(memory).memoryUsed(memoryUsed)
                .template(template).haManaged(haManaged).lock(lock);
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

    /** Builds a {@link Guest} by field name. Not thread-safe; {@link #build()} validates as the constructor does. */
    public static final class Builder {
        private int vmid;
        private String node;
        private GuestType type;
        private String name = "";
        private PowerState status = PowerState.RUNNING;
        private List<String> tags = List.of();
        private long memory;
        private long memoryUsed;
        private boolean template;
        private boolean haManaged;
        private String lock;

        private Builder(int vmid, String node, GuestType type) {
            this.vmid = vmid;
            this.node = node;
            this.type = type;
        }

        public Builder vmid(int vmid) {
            this.vmid = vmid;
            return this;
        }

        public Builder node(String node) {
            this.node = node;
            return this;
        }

        public Builder type(GuestType type) {
            this.type = type;
            return this;
        }

        public Builder name(String name) {
            this.name = name;
            return this;
        }

        /** Default {@link PowerState#RUNNING}. */
        public Builder status(PowerState status) {
            this.status = status;
            return this;
        }

        /** As Proxmox lists them; see {@code TagPolicy.parseTags} for its {@code ;}- or {@code ,}-separated form. */
        public Builder tags(List<String> tags) {
            this.tags = tags;
            return this;
        }

        /** Assigned memory ({@code maxmem}), bytes. */
        public Builder memory(long memory) {
            this.memory = memory;
            return this;
        }

        /** Memory in use, bytes. */
        public Builder memoryUsed(long memoryUsed) {
            this.memoryUsed = memoryUsed;
            return this;
        }

        public Builder template(boolean template) {
            this.template = template;
            return this;
        }

        public Builder haManaged(boolean haManaged) {
            this.haManaged = haManaged;
            return this;
        }

        public Builder lock(String lock) {
            this.lock = lock;
            return this;
        }

        /** @throws ValidationException a field is invalid (it names which) */
        public Guest build() {
            return new Guest(vmid, name, node, type, status, tags, memory, memoryUsed, template, haManaged, lock);
        }
    }
}
