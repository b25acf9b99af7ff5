package io.moxxie.examples.server;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** Servers on a free port of the loopback, on the demo cluster sped up for tests. */
public final class TestServers {
    /** Simulated seconds per real second in tests: a hard drain of hv7 takes about 2 s. */
    public static final double SPEED = 100;

    private TestServers() {
    }

    public static MoxxieServer start(Path dataDir) {
        return start(dataDir, Map.of());
    }

    public static MoxxieServer start(Path dataDir, Map<String, String> settings) {
        Map<String, String> env = new HashMap<>();
        env.put("MOXXIE_PORT", "0");
        env.put("MOXXIE_DATA_DIR", dataDir.toString());
        env.put("MOXXIE_DEMO_SPEED", Double.toString(SPEED));
        env.putAll(settings);
        return MoxxieServer.start(ServerConfig.from(env, new String[0]));
    }
}
