package jwsgi.server;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import jwsgi.testing.Http;
import jwsgi.testing.Marker;
import jwsgi.testing.ServerProcess;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code --timeout}: a request past it is logged with method, path, worker, thread and its
 * Python stack, interrupted, and answered 504; one that cannot be interrupted (blocked in
 * {@code time.sleep}) is answered 504 after the grace period and its worker is replaced; the
 * rest of the server keeps serving.
 */
class HungRequestTest {
    private static final Duration TIMEOUT = Duration.ofSeconds(2);

    @Test
    void aRequestStuckInSleepIsAnswered504WithItsStackLoggedWhileTheOtherThreadServes(@TempDir Path dir) throws Exception {
        Path hooksLog = dir.resolve("hooks.log");
        Path config = Files.writeString(dir.resolve("abort.conf.py"), """
                import os
                def worker_abort(worker):
                    with open(os.environ["HOOKS_LOG"], "a") as f:
                        f.write(f"worker_abort {worker.pid} {worker.aborted}\\n")
                """);
        try (ServerProcess s = ServerProcess.startRaw(ServerProcess.args("lifecycle", "-c", config.toString(), "-w", "1",
                "--threads", "2", "--timeout", "2", "--graceful-timeout", "2"), Map.of("HOOKS_LOG", hooksLog.toString()))) {
            long worker = s.awaitWorkers(1, List.of(), Duration.ofSeconds(30)).get(0);
            long start = System.nanoTime();
            Path started = dir.resolve("started");
            var hung = CompletableFuture.supplyAsync(() -> Http.get(s.url() + "/sleep?s=3600&started=" + started));
            // While one thread is stuck (in time.sleep for an hour), the other serves.
            Marker.await(started, Duration.ofSeconds(30));
            for (int i = 0; i < 5; i++) assertEquals(worker, Http.getJson(s.url() + "/pid").get("pid").asLong());
            var r = hung.get(30, TimeUnit.SECONDS);
            assertEquals(504, r.statusCode(), r.body());
            assertTrue(r.body().contains("--timeout"), r.body());
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertTrue(took.compareTo(TIMEOUT.plus(Duration.ofSeconds(10))) < 0, "answered 504 after " + took);
            String log = s.output();
            assertTrue(log.contains("WORKER TIMEOUT (worker 1, pid " + worker + "): GET /sleep?s=3600&started=" + started + " has run"), log);
            assertTrue(log.contains("on thread py-worker-"), "names the thread:\n" + log);
            assertTrue(log.contains("lifecycle.py\", line ") && log.contains("in application\n    time.sleep(float(query.get(\"s\", \"1\")))"),
                    "the Python stack shows the sleeping line:\n" + log);
            assertTrue(s.awaitOutput("did not stop within 2.0 s of being interrupted", Duration.ofSeconds(5)), s.output());
            // The worker is replaced, and the next requests are served by the new one.
            long replacement = s.awaitWorkers(1, List.of(worker), Duration.ofSeconds(60)).get(0);
            for (int i = 0; i < 3; i++) assertEquals(replacement, Http.getJson(s.url() + "/pid").get("pid").asLong());
            assertTrue(Files.readString(hooksLog).contains("worker_abort " + worker + " True"), "worker_abort ran in the worker");
        }
    }

    /**
     * With one Python thread (the default), the stuck thread also serves the worker's connections:
     * the worker stops accepting at once, and the next requests wait for its replacement.
     */
    @Test
    void withOneThreadTheNextRequestsAreServedByTheReplacement() {
        try (ServerProcess s = ServerProcess.start("lifecycle", "-w", "1", "--timeout", "2", "--graceful-timeout", "1")) {
            long worker = s.awaitWorkers(1, List.of(), Duration.ofSeconds(30)).get(0);
            var r = Http.get(s.url() + "/sleep?s=3600");
            assertEquals(504, r.statusCode(), r.body());
            for (int i = 0; i < 3; i++) {
                var next = Http.get(s.url() + "/pid");
                assertEquals(200, next.statusCode(), next.body());
                assertNotEquals(worker, Http.json(next.body()).get("pid").asLong(), "served by the replacement");
            }
            String log = s.output();
            assertTrue(log.contains("in application\n    time.sleep(float(query.get(\"s\", \"1\")))"), "the sleeping line:\n" + log);
            assertTrue(log.contains("Worker asks to be replaced: a request hung past --timeout: GET /sleep?s=3600"), log);
        }
    }

    @Test
    void aRequestInPythonCodeIsInterruptedAnswered504AndTheWorkerStays() {
        try (ServerProcess s = ServerProcess.start("lifecycle", "--timeout", "2")) {
            long worker = s.awaitWorkers(1, List.of(), Duration.ofSeconds(30)).get(0);
            long start = System.nanoTime();
            var r = Http.get(s.url() + "/loop?s=3600");
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertEquals(504, r.statusCode(), r.body());
            assertTrue(took.compareTo(TIMEOUT.plus(Duration.ofSeconds(3))) < 0, "interrupted promptly: " + took);
            assertEquals(worker, Http.getJson(s.url() + "/pid").get("pid").asLong(), "the same worker serves on");
            String log = s.output();
            assertTrue(log.contains("GET /loop?s=3600 has run"), log);
            assertTrue(log.contains("while time.monotonic() < end:"), "the stack shows the looping line:\n" + log);
            assertTrue(log.contains("GET /loop?s=3600 stopped after --timeout (RequestTimeout); answered 504"), log);
            assertTrue(log.indexOf("GET /loop?s=3600 has run") < log.indexOf("stopped after --timeout"), "the stack comes first:\n" + log);
        }
    }
}
