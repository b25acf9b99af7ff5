package io.moxxie.proxmox.internal;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Task ids as {@code PVE::Tools::upid_decode} reads them: the node whose log holds the task, and nothing else. */
class UpidTest {
    @Test
    void aMigrationTaskIdNamesItsNodeAndFields() {
        Upid u = Upid.parse(" UPID:hv-7:0001A2B3:00C0FFEE:6745F00D:qmigrate:8601:moxxie@pve!drain: ").orElseThrow();
        assertThat(u).isEqualTo(new Upid("hv-7", 0x1A2B3, 0xC0FFEE, 0x6745F00D, "qmigrate", "8601", "moxxie@pve!drain"));
        assertThat(Upid.parse("UPID:pve1:00001234:123456789:6745F00D:vzdump::root@pam:").orElseThrow().id())
                .as("a node-wide task has an empty id; pstart may have 9 digits").isEmpty();
    }

    @Test
    void anythingElseIsNotATaskId() {
        assertThat(Upid.parse(null)).isEmpty();
        assertThat(Upid.parse("")).isEmpty();
        assertThat(Upid.parse("UPID:hv7:0001A2B3:00C0FFEE:6745F00D:qmigrate:8601:root@pam")).as("no final colon").isEmpty();
        assertThat(Upid.parse("UPID:-hv7:0001A2B3:00C0FFEE:6745F00D:qmigrate:8601:root@pam:")).as("node name").isEmpty();
        assertThat(Upid.parse("UPID:hv7:1A2B3:00C0FFEE:6745F00D:qmigrate:8601:root@pam:")).as("pid digits").isEmpty();
        assertThat(Upid.parse("X" + "UPID:hv7:0001A2B3:00C0FFEE:6745F00D:qmigrate:8601:root@pam:")).isEmpty();
    }
}
