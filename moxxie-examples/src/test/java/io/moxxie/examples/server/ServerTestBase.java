package io.moxxie.examples.server;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.Map;

/**
 * A test class against one server per test: {@link TestServers#start} on a fresh data directory before each test,
 * closed after it, with an {@link Api} client without token. A class that needs settings overrides {@link #settings()}.
 */
abstract class ServerTestBase {
    @TempDir
    Path dataDir;
    MoxxieServer server;
    Api api;

    /** Settings on top of {@link TestServers}' own for the server each test starts with; none by default. */
    Map<String, String> settings() {
        return Map.of();
    }

    @BeforeEach
    void startServer() {
        server = TestServers.start(dataDir, settings());
        api = new Api(server.uri());
    }

    @AfterEach
    void stopServer() {
        if (server != null) server.close();
    }

    /** Closes this test's server and starts another on {@code dir} with {@code settings}; {@link #api} follows it. */
    void restart(Path dir, Map<String, String> settings) {
        server.close();
        server = TestServers.start(dir, settings);
        api = new Api(server.uri());
    }
}
