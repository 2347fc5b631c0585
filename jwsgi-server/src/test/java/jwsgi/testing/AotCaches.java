package jwsgi.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * AOT caches (JDK 25, JEP 483/515) of the classes a test server's master and worker load, made
 * once per test run as ./jwsgi makes them: the demo app is started with
 * {@code -XX:AOTCacheOutput} in its master and in its worker, and stopped once it serves. Every
 * later test server maps them: classes pre-loaded and linked, about a quarter less CPU per
 * start than a plain class-data sharing archive (measured: 1.9-2.0 s against 2.4-2.9 s for a
 * master and its worker). Made fresh each run: a cache of another build's classes would simply
 * be ignored by the JVM, as is one that does not fit a test's own JVM options. If they cannot
 * be made, servers start without them.
 *
 * <p>The caches accept only jars on the class path, so test servers run from a jar of each
 * module's {@code target/classes} (what the packaged jars hold) plus the dependency jars; they
 * never needed the test classes (nor jwsgi-core's test-jar, whose logback-test.xml would change
 * what a server logs).
 */
final class AotCaches {
    private static final Path MASTER_CACHE = Path.of("target", "jwsgi-test-master.aot").toAbsolutePath();
    private static final Path WORKER_CACHE = Path.of("target", "jwsgi-test-worker.aot").toAbsolutePath();
    private static String classPath;
    /** The JVM's AOT messages would mix with the server output that tests read. */
    private static final List<String> QUIET = List.of("-Xlog:cds*=off", "-Xlog:aot*=off");
    private static Boolean made;

    private AotCaches() {}

    /** The server's class path: each module's main classes as a jar, then every dependency jar of this JVM. */
    static synchronized String serverClassPath() {
        if (classPath == null) {
            try {
                Files.createDirectories(MASTER_CACHE.getParent());  // the root's target/: a module's tests run before the jar is built
            } catch (IOException e) {
                throw new IllegalStateException("cannot create " + MASTER_CACHE.getParent() + " for the test servers", e);
            }
            List<String> entries = new ArrayList<>();
            for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
                Path p = Path.of(entry).toAbsolutePath();
                if (Files.isDirectory(p)) {
                    if (p.endsWith(Path.of("target", "classes"))) entries.add(jar(p).toString());
                } else if (!p.getFileName().toString().endsWith("-tests.jar")) {
                    entries.add(p.toString());
                }
            }
            classPath = String.join(java.io.File.pathSeparator, entries);
        }
        return classPath;
    }

    /** {@code <module>/target/classes} as {@code target/jwsgi-test-<module>.jar}. */
    private static Path jar(Path classes) {
        Path jar = Path.of("target", "jwsgi-test-" + classes.getParent().getParent().getFileName() + ".jar").toAbsolutePath();
        try (var out = new java.util.jar.JarOutputStream(Files.newOutputStream(jar));
             var files = Files.walk(classes)) {
            for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile).sorted()::iterator) {
                out.putNextEntry(new java.util.jar.JarEntry(classes.relativize(f).toString().replace('\\', '/')));
                Files.copy(f, out);
                out.closeEntry();
            }
            return jar;
        } catch (IOException e) {
            throw new IllegalStateException("cannot package " + classes + " for the test servers", e);
        }
    }

    /** The master's options for its cache (none if the caches could not be made). */
    static List<String> masterOptions() {
        return options(MASTER_CACHE);
    }

    /** A worker's options for its cache (none if the caches could not be made). */
    static List<String> workerOptions() {
        return options(WORKER_CACHE);
    }

    private static synchronized List<String> options(Path cache) {
        if (made == null) made = make();
        if (!made) return List.of();
        List<String> o = new ArrayList<>(QUIET);
        o.add("-XX:AOTCache=" + cache);
        return o;
    }

    private static boolean make() {
        try {
            Files.deleteIfExists(MASTER_CACHE);
            Files.deleteIfExists(WORKER_CACHE);
            List<String> cmd = ServerProcess.javaCommand();
            cmd.addAll(QUIET);
            cmd.add("-XX:AOTCacheOutput=" + MASTER_CACHE);
            cmd.addAll(List.of("jwsgi.server.Main", "--python", Pythons.DEBIAN.toString(), "-b", "127.0.0.1:0"));
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            // The worker loads most classes (Jetty, the WSGI layer); the master its own few.
            pb.environment().put(ServerProcess.WORKER_JAVA_OPTS, "-XX:TieredStopAtLevel=1 " + String.join(" ", QUIET)
                    + " -XX:AOTCacheOutput=" + WORKER_CACHE);
            Process p = pb.start();
            try (var out = p.inputReader()) {
                String line;
                while ((line = out.readLine()) != null && !line.contains("Using worker:")) {
                    // read until the demo app serves: its classes are loaded by then
                }
                p.toHandle().destroy();  // SIGTERM: each JVM writes its cache as it exits
                out.transferTo(java.io.Writer.nullWriter());
            }
            if (!p.waitFor(120, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return false;
            }
            return Files.isRegularFile(MASTER_CACHE) && Files.isRegularFile(WORKER_CACHE);
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
