package io.moxxie.examples;

import io.moxxie.examples.server.MoxxieServer;
import io.moxxie.examples.server.ServerConfig;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * {@code java -jar moxxie-server.jar [command] [--flags]}: the entry point of the examples jar. The first argument
 * may name a command; without one (or with {@code serve}) the REST server starts.
 */
public final class Main {
    /** A sub-command: gets the arguments after its name, returns the exit status. */
    @FunctionalInterface
    interface Command {
        int run(String[] args) throws Exception;
    }

    private static final Map<String, Command> COMMANDS = new LinkedHashMap<>();

    static {
        COMMANDS.put("serve", Main::serve);
        COMMANDS.put("bench", args -> io.moxxie.examples.bench.BenchMain.run(args, io.moxxie.examples.demo.DemoCluster::initial));
    }

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        System.exit(run(args));
    }

    static int run(String[] args) throws Exception {
        if (args.length > 0 && (args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help"))) {
            System.out.println(ServerConfig.usage() + "\nCommands: " + String.join(", ", COMMANDS.keySet()) + " (default: serve)");
            return 0;
        }
        if (args.length > 0 && !args[0].startsWith("-")) {
            Command c = COMMANDS.get(args[0]);
            if (c == null) {
                System.err.println("moxxie: unknown command '" + args[0] + "'; commands: " + String.join(", ", COMMANDS.keySet())
                        + " (run with --help for the settings)");
                return 2;
            }
            return c.run(Arrays.copyOfRange(args, 1, args.length));
        }
        return serve(args);
    }

    private static int serve(String[] args) throws InterruptedException {
        ServerConfig config;
        MoxxieServer server;
        try {
            config = ServerConfig.from(System.getenv(), args);
            server = MoxxieServer.start(config);
        } catch (IllegalArgumentException | IllegalStateException | java.io.UncheckedIOException e) {
            System.err.println("moxxie: " + e.getMessage());
            return e instanceof IllegalArgumentException ? 2 : 1;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.close();
            stopped.countDown();
        }, "moxxie-shutdown"));
        System.out.println(server.startLine());
        System.out.flush();
        stopped.await();
        return 0;
    }
}
