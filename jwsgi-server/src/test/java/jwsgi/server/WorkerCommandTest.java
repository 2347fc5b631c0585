package jwsgi.server;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import jwsgi.config.ConfigException;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Tag("fast")
class WorkerCommandTest {
    @Test
    void workersMapTheAotCacheTheLauncherNamesWhenItExists(@TempDir Path dir) throws IOException {
        Path cache = Files.writeString(dir.resolve("jwsgi-worker.aot"), "cache");
        assertEquals(List.of("-XX:AOTCache=" + cache, "-Xlog:aot*=off", "-Xlog:cds*=off"), WorkerCommand.aotCache(cache.toString()));
    }

    @Test
    void noCacheOptionsWithoutACache(@TempDir Path dir) {
        assertEquals(List.of(), WorkerCommand.aotCache(null));
        assertEquals(List.of(), WorkerCommand.aotCache(dir.resolve("missing.aot").toString()));
    }

    /**
     * The serial collector only collects its old generation once the heap is at its maximum, so
     * an unbounded worker heap grows with every connection it ever served. The worker's JVM must
     * accept the bound with the rest of its options, the user's options must still override it,
     * and direct buffers must not be cut to the heap's size (the JVM's default when -Xmx is given).
     */
    @Test
    void workerHeapIsBoundedUnlessTheWorkerOptionsRaiseIt() throws Exception {
        assertEquals(256L << 20, finalFlag(Map.of(), "MaxHeapSize"));
        assertTrue(finalFlag(Map.of(), "MaxDirectMemorySize") >= 256L << 20);
        assertEquals(1L << 30, finalFlag(Map.of(WorkerCommand.ENV_WORKER_JAVA_OPTS, "-Xmx1g"), "MaxHeapSize"));
    }

    /** A user's collector: a JVM given two refuses to start, so it replaces the serial one. */
    @Test
    void aCollectorInTheOptionsReplacesTheSerialOne() throws Exception {
        Map<String, String> env = Map.of(WorkerCommand.ENV_WORKER_JAVA_OPTS, "-XX:+UseParallelGC");
        assertEquals("true", flag(env, "UseParallelGC"));
        assertEquals("false", flag(env, "UseSerialGC"));
        assertEquals("true", flag(Map.of(), "UseSerialGC"));
    }

    @Test
    void optionsNoJvmAcceptsStopTheServerWithTheJvmsReason() {
        Map<String, String> env = Map.of(WorkerCommand.ENV_WORKER_JAVA_OPTS, "-Xss1m -XX:+NoSuchOption");
        ConfigException e = assertThrows(ConfigException.class,
                () -> WorkerCommand.of(new String[0], env, null, jarsOnly()).startable());
        assertTrue(e.getMessage().contains("JWSGI_WORKER_JAVA_OPTS=\"-Xss1m -XX:+NoSuchOption\""), e.getMessage());
        assertTrue(e.getMessage().contains("Unrecognized VM option 'NoSuchOption'"), e.getMessage());
    }

    @Test
    void soundOptionsAreKept() throws ConfigException {
        WorkerCommand command = WorkerCommand.of(new String[0], Map.of(WorkerCommand.ENV_JAVA_OPTS, "-Xss1m"), null, jarsOnly());
        assertSame(command, command.startable());
    }

    /**
     * A young generation as large as the initial heap leaves no room for the AOT cache's archived
     * objects, and then the JVM refuses to start at all: the workers go on without the cache.
     */
    @Test
    void optionsThatRuleOutTheAotCacheDropIt(@TempDir Path dir) throws Exception {
        String classPath = jarsOnly();
        Path cache = dir.resolve("worker.aot");
        List<String> record = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        record.addAll(WorkerCommand.jvmDefaults(false));
        record.addAll(List.of("-XX:AOTCacheOutput=" + cache, "-Xlog:aot*=off", "-Xlog:cds*=off", "-cp", classPath, "-version"));
        assertEquals(0, run(record).exitCode, "recording an AOT cache");
        assertTrue(Files.isRegularFile(cache));

        WorkerCommand sound = WorkerCommand.of(new String[0], Map.of(), cache.toString(), classPath);
        assertSame(sound, sound.startable());
        WorkerCommand command = WorkerCommand.of(new String[0], Map.of(WorkerCommand.ENV_WORKER_JAVA_OPTS, "-Xmn64m"),
                cache.toString(), classPath);
        List<String> jvm = command.argv().subList(0, command.argv().indexOf("-cp"));
        assertTrue(jvm.contains("-XX:AOTCache=" + cache));
        assertEquals(1, run(versionOf(jvm, classPath)).exitCode, "the JVM refuses the cache it cannot use");

        WorkerCommand startable = command.startable();
        List<String> without = startable.argv().subList(0, startable.argv().indexOf("-cp"));
        assertFalse(without.stream().anyMatch(o -> o.startsWith("-XX:AOTCache")), without.toString());
        assertTrue(without.contains("-Xmn64m"));
        assertEquals(0, run(versionOf(without, classPath)).exitCode);
    }

    private static List<String> versionOf(List<String> jvm, String classPath) {
        List<String> command = new ArrayList<>(jvm);
        command.addAll(List.of("-cp", classPath, "-version"));
        return command;
    }

    /** The jars of this JVM's class path: an AOT cache cannot be made with directories on it. */
    private static String jarsOnly() {
        return Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(e -> e.endsWith(".jar"))
                .map(e -> Path.of(e).toAbsolutePath().toString())
                .collect(Collectors.joining(File.pathSeparator));
    }

    /** The value a worker JVM started with the options of {@code env} gives to {@code flag}. */
    private static long finalFlag(Map<String, String> env, String flag) throws Exception {
        return Long.parseLong(flag(env, flag));
    }

    private static String flag(Map<String, String> env, String flag) throws Exception {
        List<String> argv = WorkerCommand.of(new String[0], env).argv();
        List<String> command = new ArrayList<>(argv.subList(0, argv.indexOf("-cp")));
        command.addAll(List.of("-XX:+PrintFlagsFinal", "-version"));
        Run java = run(command);
        assertEquals(0, java.exitCode, java.output);
        for (String line : java.output.split("\n")) {
            String[] words = line.strip().split("\\s+");
            if (words.length >= 4 && words[1].equals(flag)) return words[3];
        }
        throw new AssertionError(flag + " not in the JVM's flags:\n" + java.output);
    }

    private record Run(int exitCode, String output) {}

    /** Runs {@code command} for at most 30 s, its output through a temp file it deletes. */
    private static Run run(List<String> command) throws Exception {
        Path output = Files.createTempFile("jwsgi-jvm", ".txt");
        try {
            Process java = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile()).start();
            if (!java.waitFor(30, TimeUnit.SECONDS)) {
                java.destroyForcibly();
                throw new AssertionError("the JVM did not finish in 30 s: " + command);
            }
            return new Run(java.exitValue(), Files.readString(output));
        } finally {
            Files.delete(output);
        }
    }
}
