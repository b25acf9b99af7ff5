package io.moxxie.examples.server;

import java.nio.file.Files;
import java.nio.file.Path;

/** The repository's root, found from the module directory the tests run in. */
final class RepoFiles {
    private RepoFiles() {
    }

    static Path root() {
        Path p = Path.of("").toAbsolutePath();
        while (p != null && !(Files.exists(p.resolve("pom.xml")) && Files.isDirectory(p.resolve("moxxie-core")))) p = p.getParent();
        if (p == null) throw new IllegalStateException("not inside the repository: " + Path.of("").toAbsolutePath());
        return p;
    }
}
