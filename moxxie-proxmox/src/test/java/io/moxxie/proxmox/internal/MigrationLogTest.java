package io.moxxie.proxmox.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import io.moxxie.core.spi.MigrationProgress;
import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

/** Lines as qemu-server writes them (PVE/QemuMigrate.pm, phase2), before and since its 2021 rework of the log. */
class MigrationLogTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Instant AT = Instant.parse("2026-11-29T05:00:00Z");
    private static final long MIB = 1024L * 1024, GIB = 1024 * MIB;

    /** A page of the log as GET …/tasks/{upid}/log answers it: lines numbered from {@code first}. */
    private static JsonNode page(long first, String... lines) {
        ArrayNode a = JSON.createArrayNode();
        for (int i = 0; i < lines.length; i++) a.addObject().put("n", first + i).put("t", lines[i]);
        return a;
    }

    /** A cursor that has read the whole of a log of these lines. */
    private static MigrationLog.Cursor read(String... lines) {
        MigrationLog.Cursor c = new MigrationLog.Cursor();
        c.take(page(1, lines), lines.length);
        return c;
    }

    private static MigrationProgress progress(MigrationLog.Cursor c) {
        return c.progress(AT).orElseThrow();
    }

    @Test
    void currentFormatGivesTransferredTotalAndRateInRenderBytesUnits() {
        MigrationLog.Cursor c = read(
                "2025-03-04 10:15:01 starting migration of VM 105 to node 'pve1' (10.10.1.1)",
                "2025-03-04 10:15:03 migration downtime limit: 100 ms",
                "2025-03-04 10:15:03 migration cachesize: 512.0 MiB",
                "2025-03-04 10:15:04 start migrate command to unix:/run/qemu-server/105.migrate",
                "2025-03-04 10:15:05 migration active, transferred 735.9 MiB of 4.0 GiB VM-state, 543.8 MiB/s");

        MigrationProgress p = progress(c);
        assertThat(p.transferred()).isEqualTo((long) (735.9 * MIB));
        assertThat(p.total()).isEqualTo(4 * GIB);
        assertThat(p.remaining()).as("not logged since 2021: what is left of the first pass").isEqualTo(4 * GIB - (long) (735.9 * MIB));
        assertThat(p.rate().getAsDouble()).isCloseTo(543.8 * MIB, within(1.0));
        assertThat(p.throttle()).as("qemu-server logs no auto-converge throttle").isEmpty();
        assertThat(p.at()).isEqualTo(AT);
        assertThat(c.next()).isEqualTo(5);
    }

    @Test
    void currentFormatWithVfioStateDirtyRateSmallUnitsAndASecondPass() {
        MigrationLog.Cursor c = read("2025-03-04 10:15:05 migration active, transferred 512.0 B of 2.0 GiB VM-state, 0.0 B/s (+ 1.5 KiB VFIO-state)");
        assertThat(progress(c).transferred()).isEqualTo(512);
        assertThat(progress(c).rate().getAsDouble()).isZero();

        c.take(page(2, "2025-03-04 10:15:09 migration active, transferred 2.3 GiB of 2.0 GiB VM-state, 98.5 KiB/s, VM dirties lots of memory: 120.0 MiB/s"), 2);
        MigrationProgress p = progress(c);
        assertThat(p.transferred()).as("pages sent again").isEqualTo((long) (2.3 * GIB));
        assertThat(p.remaining()).isZero();
        assertThat(p.rate().getAsDouble()).isCloseTo(98.5 * 1024, within(1.0));
    }

    @Test
    void formatBefore2021InPlainBytesWithTheRateFromTwoLinesTimes() {
        MigrationLog.Cursor c = read(
                "2020-06-01 08:00:10 migration status: active (transferred 104857600, remaining 4190208000), total 4312137728)",
                "2020-06-01 08:00:10 migration xbzrle cachesize: 536870912 transferred 0 pages 0 cachemiss 0 overflow 0",
                "2020-06-01 08:00:12 migration status: active (transferred 314572800, remaining 3980492800), total 4312137728)");

        MigrationProgress p = progress(c);
        assertThat(p.transferred()).isEqualTo(314572800L);
        assertThat(p.remaining()).isEqualTo(3980492800L);
        assertThat(p.total()).isEqualTo(4312137728L);
        assertThat(p.rate().getAsDouble()).as("209715200 bytes in 2 s").isEqualTo(104857600.0);
    }

    @Test
    void theShortLivedFormWithoutStatusColonParsesToo() {
        MigrationLog.Cursor c = read("2021-04-19 15:00:00 migration active (transferred 1000, remaining 3000), total 4000)");
        assertThat(progress(c).transferred()).isEqualTo(1000);
        assertThat(progress(c).remaining()).isEqualTo(3000);
        assertThat(progress(c).rate()).as("one line: no rate yet").isEmpty();
    }

    @Test
    void garbageAndOtherLinesAreSkippedAndTheLastProgressStays() {
        MigrationLog.Cursor c = read(
                "2025-03-04 10:15:05 migration active, transferred 1.0 GiB of 4.0 GiB VM-state, 500.0 MiB/s",
                "2025-03-04 10:15:05 drive-scsi0: transferred 1.0 GiB of 32.0 GiB (3.12%) in 5s",
                "2025-03-04 10:15:06 xbzrle: send updates to 1234 pages in 3.1 MiB encoded memory, cache-miss 12.50%",
                "2025-03-04 10:15:06 migration active, transferred lots of VM-state",
                "2025-03-04 10:15:06 migration status: active (transferred 99999999999999999999999, remaining 1), total 2)",
                "2025-03-04 10:15:07 auto-increased downtime to continue migration: 200 ms",
                "\u0000\u00ff garbage",
                "");

        assertThat(progress(c).transferred()).isEqualTo(GIB);
        assertThat(c.next()).isEqualTo(8);
    }

    @Test
    void pagesAreReadFromTheNextLineAndLinesReadAlreadyAreNotTakenAgain() {
        MigrationLog.Cursor c = read("a", "b", "2025-03-04 10:15:05 migration active, transferred 1.0 GiB of 4.0 GiB VM-state, 500.0 MiB/s");
        assertThat(c.next()).isEqualTo(3);
        c.take(page(4, "2025-03-04 10:15:06 migration active, transferred 1.5 GiB of 4.0 GiB VM-state, 500.0 MiB/s"), 4);
        assertThat(progress(c).transferred()).isEqualTo(GIB + GIB / 2);

        // An answer overlapping what was read (a retried request): the old line does not take the progress back.
        c.take(page(3, "2025-03-04 10:15:05 migration active, transferred 1.0 GiB of 4.0 GiB VM-state, 500.0 MiB/s"), 4);
        assertThat(progress(c).transferred()).isEqualTo(GIB + GIB / 2);
        assertThat(c.next()).isEqualTo(4);
    }

    @Test
    void theMadeUpLineOfAnEmptyLogIsNotALineOfIt() {
        MigrationLog.Cursor c = read("no content");
        assertThat(c.next()).isZero();
        assertThat(c.progress(AT)).isEmpty();
        c.take(page(1, "2025-03-04 10:15:01 starting migration of VM 105 to node 'pve1' (10.10.1.1)"), 1);
        assertThat(c.next()).isEqualTo(1);
    }

    @Test
    void aLogShorterThanWhatWasReadStartsTheCursorOver() {
        MigrationLog.Cursor c = read("a", "b", "c", "2025-03-04 10:15:05 migration active, transferred 1.0 GiB of 4.0 GiB VM-state, 500.0 MiB/s");

        assertThat(c.take(page(3, "x"), 2)).isFalse();
        assertThat(c.next()).isZero();
        assertThat(c.progress(AT)).isEmpty();
        assertThat(c.take(page(1, "2025-03-04 10:15:05 migration active, transferred 2.0 GiB of 4.0 GiB VM-state, 500.0 MiB/s"), 1)).isTrue();
        assertThat(progress(c).transferred()).isEqualTo(2 * GIB);
    }

    @Test
    void theCopyEndsWithNothingRemainingAndTheTaskEndEndsTheProgress() {
        MigrationLog.Cursor c = read("2025-03-04 10:15:05 migration active, transferred 3.9 GiB of 4.0 GiB VM-state, 500.0 MiB/s",
                "2025-03-04 10:15:06 average migration speed: 457.0 MiB/s - downtime 73 ms",
                "2025-03-04 10:15:06 migration status: completed");
        assertThat(progress(c).remaining()).isZero();
        assertThat(c.ended()).isFalse();

        c.take(page(4, "2025-03-04 10:15:08 migration finished successfully (duration 00:00:18)", "TASK OK"), 5);
        assertThat(c.ended()).isTrue();
        assertThat(c.progress(AT)).isEmpty();
    }

    @Test
    void aFailedTaskEndsTheProgressToo() {
        MigrationLog.Cursor c = read("2025-03-04 10:15:05 migration active, transferred 3.9 GiB of 4.0 GiB VM-state, 500.0 MiB/s",
                "2025-03-04 10:15:06 migration status error: failed - Unable to write to socket: Broken pipe",
                "TASK ERROR: migration problems");
        assertThat(c.ended()).isTrue();
        assertThat(c.progress(AT)).isEmpty();
    }
}
