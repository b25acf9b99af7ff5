package io.moxxie.proxmox.internal;

import com.fasterxml.jackson.databind.JsonNode;
import io.moxxie.core.spi.MigrationProgress;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A live migration's progress, read from its {@code qmigrate} task log as qemu-server writes it
 * ({@code PVE/QemuMigrate.pm}, {@code phase2}: one {@code query-migrate} a second, a line each time the transferred
 * bytes changed; every tenth only once it polls every 100 ms near the end — so about a line a second). Two formats:
 * <ul>
 *   <li>since qemu-server commit 0fca250a (April 2021, PVE 6.4 and later):
 *       {@code "migration $status, transferred $transferred_h of $total_h VM-state, ${speed_h}/s"}, optionally followed
 *       by {@code " (+ $vfio_h VFIO-state)"} and {@code ", VM dirties lots of memory: $dirty_rate_h/s"}; the sizes are
 *       {@code PVE::Format::render_bytes($v, 1)}: one decimal and a binary unit ({@code "735.9 MiB"}, {@code "0.0 B"}).
 *       It says no remaining: {@link MigrationProgress#remaining()} is what is left of the first pass,
 *       {@code total - transferred}, 0 once pages are sent again;</li>
 *   <li>before: {@code "migration status: $status (transferred ${trans}, remaining ${rem}), total ${total})"} in plain
 *       bytes (and {@code "migration $status (…"} in between, the same day). No rate: it is taken from two such lines'
 *       time stamps.</li>
 * </ul>
 * {@code $status} is {@code active} (or {@code device}, while device state is sent). Every line starts with the time
 * ({@code PVE::AbstractMigrate}: {@code strftime("%F %H:%M:%S", localtime)}, the node's local time, no zone), so
 * {@link MigrationProgress#at()} is the time of the read instead. qemu-server logs no CPU throttle of auto-converge
 * (only {@code "auto-increased downtime to continue migration: N ms"}): {@link MigrationProgress#throttle()} stays
 * empty. A line that does not parse is skipped; the task's end ({@code TASK OK}, {@code TASK WARNINGS: n},
 * {@code TASK ERROR: …}) ends the progress.
 *
 * <p>Not part of the public API.
 */
public final class MigrationLog {
    private static final String SIZE = "(\\d+(?:\\.\\d+)?) ?([KMGTP]iB|B)";
    private static final Pattern CURRENT = Pattern.compile(
            "migration (?:active|device), transferred " + SIZE + " of " + SIZE + " VM-state(?:, " + SIZE + "/s)?");
    private static final Pattern BEFORE_2021 = Pattern.compile(
            "migration (?:status: )?(?:active|device) \\(transferred (\\d+), remaining (\\d+)\\), total (\\d+)\\)");
    /** The RAM copy is over: qemu reported {@code completed} (then the switch-over and the clean-up follow). */
    private static final Pattern COPY_DONE = Pattern.compile("migration status: completed|average migration speed: ");
    private static final Pattern TASK_END = Pattern.compile("^TASK (?:OK|WARNINGS|ERROR)");
    private static final Pattern TIME = Pattern.compile("^(\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2}) ");
    private static final DateTimeFormatter LOG_TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");

    private MigrationLog() {
    }

    /**
     * Where the reading of one task's log stands: the lines read so far and the progress they told. Not thread-safe:
     * its owner reads one task's log at a time.
     */
    public static final class Cursor {
        private long next;
        private long transferred = -1, remaining, total;
        private double rate = Double.NaN;
        /** For the rate of the format before 2021: the last progress line's transferred bytes and log time. */
        private LocalDateTime lastLineTime;
        private long lastLineTransferred;
        private boolean ended;

        /** The number of lines read so far: the {@code start} of the next read. */
        public long next() {
            return next;
        }

        /** Whether the log showed the task's end. */
        public boolean ended() {
            return ended;
        }

        /**
         * Takes a page of the log read from {@link #next()}: its {@code data} ({@code [{n, t}]}, {@code n} counting from
         * 1) and {@code total} (lines in the log). False when the log has fewer lines than were read already (it is
         * not the one read before): the cursor starts over, to read it again from its first line.
         */
        public boolean take(JsonNode data, long logTotal) {
            if (logTotal < next) {
                next = 0;
                transferred = -1;
                rate = Double.NaN;
                lastLineTime = null;
                return false;
            }
            if (data == null || !data.isArray()) return true;
            for (JsonNode e : data) {
                long n = Json.longValue(e, "n", -1);
                String t = Json.text(e, "t");
                if (n <= next || t == null) continue;
                // An empty or unreadable log is answered with one made-up line 1 (PVE::Tools::dump_logfile): not a line of it.
                if (n == 1 && logTotal == 1 && (t.equals("no content") || t.startsWith("unable to open file"))) continue;
                next = n;
                line(t);
            }
            return true;
        }

        /** Skips to line {@code start} (0-based) of the log: the lines before it will not be read. */
        public void skipTo(long start) {
            if (start > next) next = start;
        }

        /** The last progress the lines told, empty when none or once the task ended; {@code at}: when it was read. */
        public Optional<MigrationProgress> progress(Instant at) {
            if (ended || transferred < 0) return Optional.empty();
            return Optional.of(new MigrationProgress(transferred, remaining, total,
                    Double.isNaN(rate) ? OptionalDouble.empty() : OptionalDouble.of(rate), OptionalDouble.empty(), at));
        }

        private void line(String t) {
            if (TASK_END.matcher(t).find()) {
                ended = true;
                return;
            }
            Matcher m = CURRENT.matcher(t);
            if (m.find()) {
                OptionalDouble tr = bytes(m.group(1), m.group(2));
                OptionalDouble to = bytes(m.group(3), m.group(4));
                if (tr.isEmpty() || to.isEmpty()) return;
                transferred = (long) tr.getAsDouble();
                total = (long) to.getAsDouble();
                remaining = Math.max(0, total - transferred);
                OptionalDouble r = m.group(5) == null ? OptionalDouble.empty() : bytes(m.group(5), m.group(6));
                rate = r.isPresent() ? r.getAsDouble() : Double.NaN;
                return;
            }
            m = BEFORE_2021.matcher(t);
            if (m.find()) {
                try {
                    long tr = Long.parseLong(m.group(1));
                    long rem = Long.parseLong(m.group(2));
                    long to = Long.parseLong(m.group(3));
                    LocalDateTime time = time(t);
                    if (time != null && lastLineTime != null && time.isAfter(lastLineTime) && tr >= lastLineTransferred) {
                        rate = (tr - lastLineTransferred) / (Duration.between(lastLineTime, time).toMillis() / 1e3);
                    }
                    if (time != null) {
                        lastLineTime = time;
                        lastLineTransferred = tr;
                    }
                    transferred = tr;
                    remaining = rem;
                    total = to;
                } catch (NumberFormatException e) {
                    // Too large to be a size: not a line of qemu-server's.
                }
                return;
            }
            if (COPY_DONE.matcher(t).find() && transferred >= 0) remaining = 0;
        }
    }

    /** A size as {@code render_bytes} writes it ({@code "735.9 MiB"}), in bytes; empty when it is not one. */
    static OptionalDouble bytes(String number, String unit) {
        double v;
        try {
            v = Double.parseDouble(number);
        } catch (NumberFormatException e) {
            return OptionalDouble.empty();
        }
        int power = switch (unit) {
            case "KiB" -> 1;
            case "MiB" -> 2;
            case "GiB" -> 3;
            case "TiB" -> 4;
            case "PiB" -> 5;
            default -> 0;
        };
        double b = v * Math.pow(1024, power);
        return Double.isFinite(b) && b < Long.MAX_VALUE ? OptionalDouble.of(b) : OptionalDouble.empty();
    }

    private static LocalDateTime time(String line) {
        Matcher m = TIME.matcher(line);
        if (!m.find()) return null;
        try {
            return LocalDateTime.parse(m.group(1), LOG_TIME);
        } catch (DateTimeParseException e) {
            return null;
        }
    }
}
