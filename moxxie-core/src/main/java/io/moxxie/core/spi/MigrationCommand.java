package io.moxxie.core.spi;

import io.moxxie.core.ValidationException;

import io.moxxie.core.Checks;
import io.moxxie.core.model.Guest;
import io.moxxie.core.model.MigrationType;

import java.time.Duration;

/**
 * One move to start.
 *
 * @param guest          the guest as last read (its {@code node} is the source)
 * @param target         the node to move it to
 * @param type           {@code ONLINE} (live, running qemu), {@code OFFLINE} (stopped guest) or
 *                       {@code RESTART} (container: shutdown, move, start)
 * @param withLocalDisks copy disks on local storage along (Proxmox {@code with-local-disks=1})
 * @param shutdownTimeout for {@code RESTART}: how long the container gets to shut down before it is stopped
 */
public record MigrationCommand(Guest guest, String target, MigrationType type, boolean withLocalDisks,
                               Duration shutdownTimeout) {
    public MigrationCommand {
        Checks.notNull("guest", guest);
        Checks.nodeName("target", target);
        Checks.notNull("type", type);
        Checks.notNull("shutdownTimeout", shutdownTimeout);
        if (target.equals(guest.node())) {
            throw new ValidationException("target", target, "target must differ from the guest's node, was '" + target + "'");
        }
    }
}
