package io.moxxie.examples;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The repository is self-contained: every relative link of its Markdown files resolves to a file or folder in it, no
 * Markdown link leads off to the web, and every {@code something.md} named in the Markdown files or the main sources'
 * comments is a file of the repository.
 */
class MarkdownLinksTest {
    private static final Pattern LINK = Pattern.compile("\\[[^\\]]*]\\(([^)\\s]+)\\)");
    private static final Pattern MD_NAME = Pattern.compile("(?<![\\w/.-])((?:\\.{1,2}/)?[\\w./-]*[\\w-]+\\.md)\\b");

    static Path root() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !(Files.exists(p.resolve("pom.xml")) && Files.isDirectory(p.resolve("moxxie-core")))) p = p.getParent();
        if (p == null) throw new IllegalStateException("not inside the repository");
        return p;
    }

    private static List<Path> files(Path root, String suffix) {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(f -> f.toString().endsWith(suffix))
                    .filter(f -> {
                        String rel = root.relativize(f).toString().replace('\\', '/');
                        return !rel.startsWith(".") && !rel.contains("/target/") && !rel.startsWith("target/") && !rel.contains("/.");
                    })
                    .toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Test
    void everyRelativeLinkResolvesInsideTheRepositoryAndNoneLeadsOut() throws IOException {
        Path root = root();
        List<Path> markdown = files(root, ".md");
        assertThat(markdown).extracting(p -> root.relativize(p).toString())
                .contains("README.md", "docs/user-guide.md", "docs/architecture.md", "docs/proxmox-setup.md");
        List<String> broken = new ArrayList<>();
        for (Path md : markdown) {
            String text = Files.readString(md);
            Matcher m = LINK.matcher(text);
            while (m.find()) {
                String target = m.group(1);
                String where = root.relativize(md) + ": " + target;
                if (target.startsWith("http:") || target.startsWith("https:") || target.startsWith("//")) {
                    broken.add(where + " (leads out of the repository)");
                    continue;
                }
                if (target.startsWith("#") || target.startsWith("mailto:")) continue;
                String path = target.contains("#") ? target.substring(0, target.indexOf('#')) : target;
                Path resolved = md.getParent().resolve(path).normalize();
                if (!resolved.startsWith(root)) broken.add(where + " (outside the repository)");
                else if (!Files.exists(resolved)) broken.add(where + " (no such file)");
            }
        }
        assertThat(broken).isEmpty();
    }

    @Test
    void everyMarkdownFileNamedInTheDocsOrTheSourcesExists() throws IOException {
        Path root = root();
        Set<String> names = new HashSet<>();
        for (Path md : files(root, ".md")) names.add(md.getFileName().toString());
        List<Path> sources = new ArrayList<>(files(root, ".md"));
        for (Path java : files(root, ".java")) if (java.toString().contains("/src/main/")) sources.add(java);
        List<String> missing = new ArrayList<>();
        for (Path f : sources) {
            Matcher m = MD_NAME.matcher(Files.readString(f));
            while (m.find()) {
                String name = m.group(1);
                Path asPath = f.getParent().resolve(name).normalize();
                boolean inRepo = asPath.startsWith(root) && Files.exists(asPath) || Files.exists(root.resolve(name))
                        || (!name.contains("/") && names.contains(name));
                if (!inRepo) missing.add(root.relativize(f) + ": " + name);
            }
        }
        assertThat(missing).isEmpty();
    }
}
