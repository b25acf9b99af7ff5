package io.moxxie.examples;

import org.junit.jupiter.api.Test;

import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import java.io.File;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The README's "Use it as a library" program is {@link EmbeddedDrainExample} word for word, and it compiles with only
 * Moxxie's own modules on the class path: the two dependencies the README lists are enough.
 */
class ReadmeExampleTest {
    private static final Path README = Path.of("..", "README.md");
    private static final Path EXAMPLE = Path.of("src", "main", "java", "io", "moxxie", "examples", "EmbeddedDrainExample.java");

    @Test
    void theReadmesLibraryExampleIsTheExampleClassWordForWord() throws Exception {
        assertThat(readmeExample()).isEqualTo(Files.readString(EXAMPLE, StandardCharsets.UTF_8));
    }

    @Test
    void theReadmesLibraryExampleCompilesWithMoxxiesModulesAlone() throws Exception {
        List<String> moxxieOnly = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(e -> e.contains("moxxie-core") || e.contains("moxxie-proxmox") || e.contains("moxxie-jdbc-store"))
                .filter(e -> !e.contains("test-classes") && !e.endsWith("-tests.jar"))
                .toList();
        assertThat(moxxieOnly).as("class path entries of moxxie-core, moxxie-proxmox, moxxie-jdbc-store").hasSize(3);

        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        Path out = Files.createTempDirectory("readme-example");
        String source = readmeExample();
        JavaFileObject file = new SimpleJavaFileObject(URI.create("string:///io/moxxie/examples/EmbeddedDrainExample.java"),
                JavaFileObject.Kind.SOURCE) {
            @Override
            public CharSequence getCharContent(boolean ignoreEncodingErrors) {
                return source;
            }
        };
        try (StandardJavaFileManager files = javac.getStandardFileManager(diagnostics, null, StandardCharsets.UTF_8)) {
            List<String> options = List.of("--release", "17", "-proc:none", "-d", out.toString(),
                    "-classpath", String.join(File.pathSeparator, moxxieOnly));
            boolean ok = javac.getTask(null, files, diagnostics, options, null, List.of(file)).call();
            assertThat(ok).as("javac: %s", diagnostics.getDiagnostics().stream().map(Object::toString).collect(Collectors.joining("\n")))
                    .isTrue();
        }
        assertThat(out.resolve("io/moxxie/examples/EmbeddedDrainExample.class")).exists();
    }

    /** The java block that follows the line naming {@code EmbeddedDrainExample.java} in the library section. */
    private static String readmeExample() throws Exception {
        String readme = Files.readString(README, StandardCharsets.UTF_8);
        int section = readme.indexOf("## Use it as a library");
        assertThat(section).as("README section").isNotNegative();
        int named = readme.indexOf("EmbeddedDrainExample.java", section);
        int start = readme.indexOf("```java\n", named) + "```java\n".length();
        int end = readme.indexOf("```", start);
        assertThat(named).isPositive();
        return readme.substring(start, end);
    }
}
