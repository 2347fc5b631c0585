package jwsgi.testing;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A class-data sharing archive of the classes a test server loads, made once per test run by
 * starting the demo app with {@code -XX:ArchiveClassesAtExit} in its worker; every later test
 * server's master and workers map it and start sooner. Made fresh each run: an archive of another build's classes
 * would simply be ignored by the JVM. If it cannot be made, servers start without it.
 *
 * <p>CDS accepts only jars on the class path, so test servers run from a jar of
 * {@code target/classes} (what the packaged jwsgi.jar holds) plus the dependency jars; they
 * never needed the test classes.
 */
final class ClassArchive {
    private static final Path ARCHIVE = Path.of("target", "jwsgi-test.jsa").toAbsolutePath();
    private static final Path CLASSES_JAR = Path.of("target", "jwsgi-test-server.jar").toAbsolutePath();
    private static String classPath;
    /** The JVM's CDS messages would mix with the server output that tests read. */
    private static final List<String> QUIET = List.of("-Xlog:cds*=off", "-Xlog:aot*=off");
    private static List<String> options;

    private ClassArchive() {}

    /** The server's class path: the main classes as a jar, then every dependency jar of this JVM. */
    static synchronized String serverClassPath() {
        if (classPath == null) {
            List<String> entries = new ArrayList<>();
            for (String entry : System.getProperty("java.class.path").split(java.io.File.pathSeparator)) {
                Path p = Path.of(entry).toAbsolutePath();
                if (Files.isDirectory(p)) {
                    if (p.endsWith(Path.of("target", "classes"))) entries.add(jar(p).toString());
                } else {
                    entries.add(p.toString());
                }
            }
            classPath = String.join(java.io.File.pathSeparator, entries);
        }
        return classPath;
    }

    private static Path jar(Path classes) {
        try (var out = new java.util.jar.JarOutputStream(Files.newOutputStream(CLASSES_JAR));
             var files = Files.walk(classes)) {
            for (Path f : (Iterable<Path>) files.filter(Files::isRegularFile).sorted()::iterator) {
                out.putNextEntry(new java.util.jar.JarEntry(classes.relativize(f).toString().replace('\\', '/')));
                Files.copy(f, out);
                out.closeEntry();
            }
            return CLASSES_JAR;
        } catch (IOException e) {
            throw new IllegalStateException("cannot package " + classes + " for the test servers", e);
        }
    }

    static synchronized List<String> options() {
        if (options == null) options = make() ? withArchive() : List.of();
        return options;
    }

    private static List<String> withArchive() {
        List<String> o = new ArrayList<>(QUIET);
        o.add("-XX:SharedArchiveFile=" + ARCHIVE);
        return o;
    }

    private static boolean make() {
        try {
            Files.deleteIfExists(ARCHIVE);
            List<String> cmd = ServerProcess.javaCommand();
            cmd.addAll(QUIET);
            cmd.addAll(List.of("jwsgi.server.Main", "--python", Pythons.DEBIAN.toString(), "-b", "127.0.0.1:0"));
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
            // The worker process writes it: it loads most classes (Jetty, the WSGI layer), and the master maps it too.
            pb.environment().put(ServerProcess.WORKER_JAVA_OPTS, String.join(" ", QUIET) + " -XX:ArchiveClassesAtExit=" + ARCHIVE);
            Process p = pb.start();
            try (var out = p.inputReader()) {
                String line;
                while ((line = out.readLine()) != null && !line.contains("Using worker:")) {
                    // read until the demo app serves: its classes are loaded by then
                }
                p.toHandle().destroy();  // SIGTERM: a clean exit writes the archive
                out.transferTo(java.io.Writer.nullWriter());
            }
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return false;
            }
            return Files.isRegularFile(ARCHIVE);
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
