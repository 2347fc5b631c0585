package jwsgi.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import jwsgi.python.PythonLocator;
import jwsgi.python.PythonRuntime;
import jwsgi.wsgi.WsgiApplication;

/**
 * The fast tier's CPython: Debian's {@code /usr/bin/python3} (3.11) embedded in the test JVM
 * itself, started once on first use and never finalised (CPython can be initialised once per
 * process; the JVM's exit frees it). Apps are loaded as the server loads them, from
 * {@code jwsgi-core/src/test/python/apps} ({@code corpus:application}) or from Python source a test
 * writes next to its assertions.
 *
 * <p>Threads: any; the apps it returns must be run on threads made by
 * {@link PythonRuntime#newThread}.
 */
public final class EmbeddedPython {
    private static final WsgiApplication.Facts FACTS = new WsgiApplication.Facts(false, false, "jwsgi/fast-tests");
    private static PythonRuntime runtime;
    private static Path modules;
    private static final Map<String, WsgiApplication> APPS = new HashMap<>();

    private EmbeddedPython() {}

    /** The runtime, started on first use. */
    public static synchronized PythonRuntime runtime() {
        if (runtime == null) {
            runtime = PythonRuntime.acquire(new PythonLocator(Map.of()).locate(Pythons.DEBIAN.toString()), List.of("jwsgi-fast-tests"));
        }
        return runtime;
    }

    /** The app {@code spec} names ({@code module:callable}) among the test apps, loaded once. */
    public static synchronized WsgiApplication app(String spec) {
        return APPS.computeIfAbsent(spec, s -> WsgiApplication.load(runtime(), new WsgiApplication.Spec(s, null,
                List.of(Pythons.APPS.toString(), moduleDir().toString()), List.of()), FACTS));
    }

    /**
     * The {@code application} of a module made from {@code source}, loaded once per name: give
     * each module a name of its own.
     */
    public static synchronized WsgiApplication app(String module, String source) {
        Path file = moduleDir().resolve(module + ".py");
        try {
            if (!Files.exists(file)) Files.writeString(file, source);
            else if (!Files.readString(file).equals(source)) throw new IllegalArgumentException("two modules named " + module);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return app(module + ":application");
    }

    private static Path moduleDir() {
        if (modules == null) {
            try {
                Path dir = Files.createTempDirectory("jwsgi-fast-apps");
                Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(dir)));
                modules = dir;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return modules;
    }

    private static void deleteTree(Path dir) {
        try (var paths = Files.walk(dir)) {
            paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // a temp directory left behind is harmless
        }
    }
}
