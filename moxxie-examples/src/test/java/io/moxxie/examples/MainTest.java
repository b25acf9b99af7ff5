package io.moxxie.examples;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class MainTest {
    @Test
    void anUnknownCommandExitsWith2NamingTheCommandsThereAre() throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream old = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            assertThat(Main.run(new String[]{"bench-nonexistent"})).isEqualTo(2);
        } finally {
            System.setErr(old);
        }
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("unknown command 'bench-nonexistent'; commands: serve");
    }

    @Test
    void badFlagsExitWith2() throws Exception {
        assertThat(Main.run(new String[]{"--MOXXIE_PORT=x"})).isEqualTo(2);
    }
}
