package jwsgi.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;

/** The Python interpreters on this machine that jwsgi supports (3.10 to 3.13, with a shared libpython). */
public final class Pythons {
    /** Debian's interpreter: the one with python3-flask and python3-django. */
    public static final Path DEBIAN = Path.of("/usr/bin/python3");
    /** The test apps (every module's tests run from the repository's root), put on sys.path. */
    public static final Path APPS = Path.of("jwsgi-core/src/test/python/apps").toAbsolutePath();

    private Pythons() {}

    /** Debian's python3 and every pyenv build of 3.10 to 3.13 that has its shared library. */
    public static List<Path> supported() {
        List<Path> found = new ArrayList<>();
        found.add(DEBIAN);
        Path pyenv = Path.of(System.getProperty("user.home"), ".pyenv", "versions");
        if (Files.isDirectory(pyenv)) {
            try (Stream<Path> versions = Files.list(pyenv)) {
                versions.sorted().forEach(dir -> {
                    String name = dir.getFileName().toString();
                    if (!name.matches("3\\.1[0-3]\\.\\d+")) return;
                    String minor = name.substring(0, name.lastIndexOf('.'));
                    if (Files.exists(dir.resolve("lib/libpython" + minor + ".so.1.0")) && Files.isExecutable(dir.resolve("bin/python3"))) {
                        found.add(dir.resolve("bin/python3"));
                    }
                });
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }
        return found;
    }

    /** Runs {@code python -c code} and returns its standard output. */
    public static String run(Path python, String code) {
        try {
            Process p = new ProcessBuilder(python.toString(), "-c", code).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            if (p.waitFor() != 0) throw new IllegalStateException(python + " failed: " + out);
            return out;
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
