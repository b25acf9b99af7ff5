package io.moxxie.examples.server;

import io.moxxie.core.rollout.MaintenanceAction;
import io.moxxie.core.rollout.RolloutService;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * A rollout's maintenance action that runs a shell command of the server's configuration
 * ({@code MOXXIE_ROLLOUT_ACTION_<NAME>}): {@code /bin/sh -c <command>} with the node's name in its environment, e.g.
 * {@code ssh root@$MOXXIE_NODE 'apt-get -y dist-upgrade && reboot'}, or
 * {@code ssh root@$MOXXIE_NODE ha-manager crm-command node-maintenance enable $MOXXIE_NODE} (which has no HTTP API).
 *
 * <p>The command text comes only from the configuration; a request merely names the action. The node's name reaches
 * the command in the environment, never spliced into the command text, so a node name cannot inject shell code.
 *
 * <p>Environment: the server's own, minus every {@code MOXXIE_*} variable (the API token, the Proxmox token, the
 * database password and the other actions' commands live there), plus {@code MOXXIE_NODE}, {@code MOXXIE_ROLLOUT_ID}
 * and {@code MOXXIE_PHASE} ({@code before-drain}, {@code action}, {@code after-undrain}). {@code PATH}, {@code HOME}
 * and {@code SSH_AUTH_SOCK} stay, so that {@code ssh} works as it does for the server's user. Standard input is
 * {@code /dev/null} (an {@code ssh} asking for a password fails instead of hanging). Standard output and error are
 * read together and the last {@link RolloutService#MAX_ACTION_OUTPUT} characters kept.
 *
 * <p>Cancelled (the rollout was cancelled, or its {@code actionTimeout} passed): SIGTERM to the command and every
 * process it started, SIGKILL to those still there {@link #KILL_GRACE_SECONDS} seconds later. Thread-safe.
 */
final class CommandAction implements MaintenanceAction {
    private static final Logger log = LoggerFactory.getLogger(CommandAction.class);
    /** How long a cancelled command has after SIGTERM before SIGKILL: enough for ssh to close its session. */
    static final long KILL_GRACE_SECONDS = 10;
    /** How long, after the command exited, its output may still be read (a process it left in the background may hold the pipe). */
    static final long OUTPUT_GRACE_MILLIS = 2_000;
    static final String SHELL = "/bin/sh";

    private final String name;
    private final String command;

    CommandAction(String name, String command) {
        this.name = name;
        this.command = command;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public Run start(Context context) {
        ProcessBuilder pb = new ProcessBuilder(List.of(SHELL, "-c", command)).redirectErrorStream(true)
                .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")));
        Map<String, String> env = pb.environment();
        env.keySet().removeIf(k -> k.startsWith("MOXXIE_"));
        env.put("MOXXIE_NODE", context.node());
        env.put("MOXXIE_ROLLOUT_ID", context.rolloutId());
        env.put("MOXXIE_PHASE", context.phase().wireName());
        Process process;
        try {
            process = pb.start();
        } catch (IOException e) {
            log.warn("Rollout {}: action {} for {} could not start {}: {}", context.rolloutId(), name, context.node(), SHELL, e.getMessage());
            Result failed = Result.failed("the action " + name + " could not be started: " + e.getMessage());
            return Run.done(failed);
        }
        log.info("Rollout {}: action {} started for {} ({}, pid {})", context.rolloutId(), name, context.node(),
                context.phase().wireName(), process.pid());
        return new CommandRun(context, process);
    }

    @Override
    public String toString() {
        return "CommandAction[" + name + "]"; // never the command: it may name hosts or users
    }

    /** One run of the command. */
    private final class CommandRun implements Run {
        private final Context context;
        private final Process process;
        private final OutputTail output = new OutputTail(RolloutService.MAX_ACTION_OUTPUT);
        private final Thread reader;
        private volatile boolean cancelled;
        private long exitedAtNanos = -1;
        private Result result;

        CommandRun(Context context, Process process) {
            this.context = context;
            this.process = process;
            this.reader = new Thread(this::read, "rollout-action-" + name + "-" + process.pid());
            reader.setDaemon(true);
            reader.start();
        }

        private void read() {
            try (Reader in = new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8)) {
                char[] buf = new char[4096];
                int n;
                while ((n = in.read(buf)) >= 0) output.append(buf, n);
            } catch (IOException e) {
                output.append(("\n[output no longer readable: " + e.getMessage() + "]").toCharArray(), -1);
            }
        }

        @Override
        public synchronized Optional<Result> poll() {
            if (result != null) return Optional.of(result);
            if (process.isAlive()) return Optional.empty();
            if (exitedAtNanos < 0) exitedAtNanos = System.nanoTime();
            if (reader.isAlive() && System.nanoTime() - exitedAtNanos < TimeUnit.MILLISECONDS.toNanos(OUTPUT_GRACE_MILLIS)) {
                return Optional.empty(); // the last of the output is still coming; the next tick takes it
            }
            int exit = process.exitValue();
            String tail = output.text();
            String message = cancelled ? "stopped (the rollout was cancelled or the actionTimeout passed), exit status " + exit
                    : "exit status " + exit;
            result = new Result(exit == 0 && !cancelled, exit, tail, message);
            log.info("Rollout {}: action {} for {} ended with exit status {}{}", context.rolloutId(), name, context.node(), exit,
                    cancelled ? " (stopped)" : "");
            return Optional.of(result);
        }

        @Override
        public void cancel() {
            if (cancelled || !process.isAlive()) return;
            cancelled = true;
            // The children first, listed while the shell still holds them (an orphan is no descendant any more).
            List<ProcessHandle> tree = process.descendants().toList();
            log.warn("Rollout {}: stopping action {} for {} (pid {}, {} child process(es))", context.rolloutId(), name,
                    context.node(), process.pid(), tree.size());
            tree.forEach(ProcessHandle::destroy);
            process.destroy();
            CompletableFuture.delayedExecutor(KILL_GRACE_SECONDS, TimeUnit.SECONDS).execute(() -> {
                tree.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
                if (process.isAlive()) process.destroyForcibly();
            });
        }
    }

    /** The last {@code max} characters written to it. Thread-safe. */
    static final class OutputTail {
        private final int max;
        private final StringBuilder text = new StringBuilder();
        private boolean truncated;

        OutputTail(int max) {
            this.max = max;
        }

        /** @param n how many of {@code chars}, or -1 for all */
        synchronized void append(char[] chars, int n) {
            text.append(chars, 0, n < 0 ? chars.length : n);
            if (text.length() > 2 * max) {
                text.delete(0, text.length() - max);
                truncated = true;
            }
        }

        synchronized String text() {
            if (text.length() > max) {
                text.delete(0, text.length() - max);
                truncated = true;
            }
            return truncated ? "…" + text.substring(1) : text.toString();
        }
    }
}
