package jwsgi.server;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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

    /** The value a worker JVM started with the options of {@code env} gives to {@code flag}. */
    private static long finalFlag(Map<String, String> env, String flag) throws Exception {
        List<String> argv = WorkerCommand.of(new String[0], env).argv();
        List<String> command = new ArrayList<>(argv.subList(0, argv.indexOf("-cp")));
        command.addAll(List.of("-XX:+PrintFlagsFinal", "-version"));
        Path output = Files.createTempFile("jwsgi-flags", ".txt");
        try {
            Process java = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(output.toFile()).start();
            if (!java.waitFor(30, TimeUnit.SECONDS)) {
                java.destroyForcibly();
                throw new AssertionError("the worker JVM did not finish printing its flags in 30 s");
            }
            String out = Files.readString(output);
            assertEquals(0, java.exitValue(), out);
            return flagValue(out, flag);
        } finally {
            Files.delete(output);
        }
    }

    private static long flagValue(String out, String flag) {
        for (String line : out.split("\n")) {
            String[] words = line.strip().split("\\s+");
            if (words.length >= 4 && words[1].equals(flag)) return Long.parseLong(words[3]);
        }
        throw new AssertionError(flag + " not in the JVM's flags:\n" + out);
    }
}
