package jwsgi.server;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import jwsgi.testing.Http;
import jwsgi.testing.ServerProcess;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Workers that cannot start: the master stops with the app's traceback rather than loop when the
 * app cannot be imported; retries with backoff, then gives up, when the worker crashes at boot;
 * on a reload whose new code does not import, keeps the old workers serving; and JVM options no
 * worker's JVM accepts stop it with the JVM's reason.
 */
class BootFailureTest {

    @Test
    void anAppThatCannotBeImportedStopsTheMasterWithItsTraceback() {
        ServerProcess p = ServerProcess.launch(ServerProcess.args("lifecycle", "-w", "2"), Map.of("LIFECYCLE_IMPORT", "raise"));
        assertEquals(4, p.waitFor(Duration.ofSeconds(60)), p.output());
        String out = p.output();
        assertTrue(out.contains("RuntimeError: lifecycle app refuses to import (LIFECYCLE_IMPORT=raise)"), out);
        assertTrue(out.contains("Worker failed to boot; stopping"), out);
        assertFalse(out.contains("Listening at"), "nothing was served:\n" + out);
        // Both workers start at once, and each may log its traceback, but none is started again.
        int tracebacks = WorkersTest.count(out, "Traceback (most recent call last)");
        assertTrue(tracebacks >= 1 && tracebacks <= 2, "a traceback per worker, not one per attempt:\n" + out);
        assertTrue(WorkersTest.count(out, "Booting worker with pid") <= 2, "no worker was started again:\n" + out);
    }

    @Test
    void aWorkerThatCrashesAtBootIsRetriedWithBackoffThenTheMasterGivesUp() throws Exception {
        ServerProcess p = ServerProcess.launch(ServerProcess.args("lifecycle"), Map.of("LIFECYCLE_IMPORT", "segv"));
        try {
            assertEquals(3, p.waitFor(Duration.ofSeconds(90)), p.output());
            String out = p.output();
            assertTrue(out.contains("could not boot (1 in a row); next worker in 0.5 s"), out);
            assertTrue(out.contains("could not boot (2 in a row); next worker in 1.0 s"), out);
            assertTrue(out.contains("Workers keep dying at boot (3 attempts); stopping"), out);
            assertEquals(3, WorkersTest.count(out, "was killed by SIGABRT"), out);
        } finally {
            for (String line : p.output().lines().filter(l -> l.contains("crash report /")).toList()) {
                Files.deleteIfExists(Path.of(line.substring(line.indexOf("crash report ") + 13).strip()));
            }
        }
    }

    @Test
    void workerJvmOptionsNoJvmAcceptsStopTheMasterWithTheJvmsReason() {
        ServerProcess p = ServerProcess.launch(ServerProcess.args("lifecycle", "-w", "3"),
                Map.of("JWSGI_WORKER_JAVA_OPTS", "-XX:+NoSuchOption"));
        assertEquals(2, p.waitFor(Duration.ofSeconds(60)), p.output());
        String out = p.output();
        assertTrue(out.contains("a worker's JVM does not start with the JVM options JWSGI_WORKER_JAVA_OPTS=\"-XX:+NoSuchOption\": "
                + "Unrecognized VM option 'NoSuchOption'"), out);
        assertTrue(WorkersTest.count(out, "Booting worker with pid") <= 3, "no worker was started again:\n" + out);
    }

    /** Before, jwsgi's own -XX:+UseSerialGC came with it, and a JVM given two collectors does not start. */
    @Test
    void aCollectorChosenForTheWorkersIsTheOneTheyRun() throws Exception {
        try (ServerProcess s = ServerProcess.startRaw(ServerProcess.args("lifecycle"),
                Map.of("JWSGI_WORKER_JAVA_OPTS", "-XX:+UseParallelGC"))) {
            assertEquals(200, Http.get(s.url() + "/").statusCode());
            String worker = Files.readString(Path.of("/proc", Long.toString(s.workerPid()), "cmdline")).replace('\0', ' ');
            assertTrue(worker.contains("-XX:+UseParallelGC") && !worker.contains("-XX:+UseSerialGC"), worker);
        }
    }

    @Test
    void aReloadWhoseCodeDoesNotImportKeepsTheOldWorkersServing(@TempDir Path dir) throws Exception {
        Path app = Files.writeString(dir.resolve("editable.py"), version("one"));
        try (ServerProcess s = ServerProcess.startRaw(List.of("--python", jwsgi.testing.Pythons.DEBIAN.toString(), "--chdir",
                dir.toString(), "-b", "127.0.0.1:0", "-w", "1", "editable"), Map.of())) {
            List<Long> first = s.awaitWorkers(1, List.of(), Duration.ofSeconds(30));
            assertEquals("one", Http.get(s.url() + "/").body());
            Files.writeString(app, "def application(:\n");
            s.signal("HUP");
            assertTrue(s.awaitOutput("could not boot (1 in a row); the running workers go on serving", Duration.ofSeconds(60)), s.output());
            assertEquals("one", Http.get(s.url() + "/").body(), "the old worker serves on");
            assertTrue(s.workerPids().contains(first.get(0)), s.workerPids().toString());
            Files.writeString(app, version("two"));
            s.awaitWorkers(1, first, Duration.ofSeconds(60));
            assertEquals("two", Http.get(s.url() + "/").body(), "the next attempt imports the fixed code");
            assertTrue(s.output().contains("SyntaxError"), s.output());
        }
    }

    private static String version(String body) {
        return "def application(environ, start_response):\n"
                + "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
                + "    return [b'" + body + "']\n";
    }
}
