package io.moxxie.examples.server;

import io.moxxie.examples.Main;

import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Moxxie servers as real processes ({@link Main} on this test's class path), for the tests that kill one with
 * {@code kill -9} and start another: each started with no {@code MOXXIE_} variable of the test's environment but those
 * given, its console in a log file, and stopped by {@link #stopAll()} after the test.
 */
final class ServerProcesses {
    private static final Pattern START_LINE = Pattern.compile("Moxxie server on (http://127\\.0\\.0\\.1:\\d+)/api/v1 .*");

    private final List<Process> processes = new ArrayList<>();

    /** A started server: its process, its API's base address, its console's log file and the start line it printed. */
    record Server(Process process, URI uri, Path log, String startLine) {
    }

    /**
     * Starts a server with {@code env} and {@code args}, its console to {@code log}, and waits up to
     * {@code startTimeout} for its start line (a JVM with Jetty on a loaded machine can take half a minute).
     */
    Server start(Path log, Duration startTimeout, Map<String, String> env, String... args) throws IOException, InterruptedException {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        List<String> command = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"), Main.class.getName()));
        command.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().keySet().removeIf(k -> k.startsWith("MOXXIE_"));
        pb.environment().putAll(env);
        Process p = pb.start();
        processes.add(p);
        Instant deadline = Instant.now().plus(startTimeout);
        while (Instant.now().isBefore(deadline)) {
            for (String line : Files.readAllLines(log)) {
                Matcher m = START_LINE.matcher(line);
                if (m.matches()) return new Server(p, URI.create(m.group(1)), log, line);
            }
            if (!p.isAlive()) break;
            Thread.sleep(50);
        }
        throw new AssertionError(log.getFileName() + ": the server did not start; its output:\n" + Files.readString(log));
    }

    /** Stops every server still running: SIGTERM, then SIGKILL after 10 s. */
    void stopAll() throws InterruptedException {
        for (Process p : processes) {
            if (p.isAlive()) {
                p.destroy();
                if (!p.waitFor(10, TimeUnit.SECONDS)) p.destroyForcibly();
            }
        }
    }
}
