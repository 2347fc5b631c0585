package jwsgi.wsgi;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import jwsgi.testing.Http;
import jwsgi.testing.RawHttp;
import jwsgi.testing.ServerProcess;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * --threads: N Python threads run N requests at once, each keeps its thread state, and the GIL
 * is released whenever a thread waits on the network, so no request waits on another's client.
 * Two servers serve every test: one with four Python threads, one with one.
 */
class ThreadsTest {
    private static ServerProcess four;
    private static ServerProcess one;

    @BeforeAll
    static void start() {
        CompletableFuture<ServerProcess> f = CompletableFuture.supplyAsync(() -> ServerProcess.start("corpus", "--threads", "4"));
        one = ServerProcess.start("corpus", "--threads", "1");
        four = f.join();
    }

    @AfterAll
    static void stop() {
        if (four != null) four.close();
        if (one != null) one.close();
    }

    @Test
    void nThreadsRunNRequestsAtOnceOnStableThreads() throws Exception {
        ServerProcess server = four;
        try (ExecutorService pool = Executors.newFixedThreadPool(4)) {
            Http.getJson(server.url() + "/sleep?s=0");  // warm up
            long start = System.nanoTime();
            List<Future<JsonNode>> replies = new java.util.ArrayList<>();
            for (int i = 0; i < 4; i++) replies.add(pool.submit(() -> Http.getJson(server.url() + "/sleep?s=1")));
            Set<Long> threads = new HashSet<>();
            for (Future<JsonNode> f : replies) threads.add(f.get().path("thread").asLong());
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertTrue(took.compareTo(Duration.ofMillis(1900)) < 0, "4 sleeps of 1 s on 4 threads took " + took);
            assertEquals(4, threads.size(), "each ran on its own Python thread");
            JsonNode env = Http.getJson(server.url() + "/environ");
            assertTrue(env.path("wsgi.multithread").path(1).asBoolean(), "wsgi.multithread is True with --threads 4");
            Set<Long> again = new HashSet<>();
            for (int i = 0; i < 12; i++) again.add(Http.getJson(server.url() + "/sleep?s=0").path("thread").asLong());
            assertTrue(threads.containsAll(again), "the same 4 thread identities keep serving: " + again + " vs " + threads);
        }
    }

    /**
     * A response finished on a Python thread hands its connection back to the HTTP layer there:
     * pipelined requests are still answered in order, and many connections at once do not make
     * the server start a thread per connection to resume them.
     */
    @Test
    void connectionsResumeOnThePythonThreadThatAnswered() throws Exception {
        ServerProcess server = four;
        try (RawHttp c = RawHttp.to(server)) {
            StringBuilder batch = new StringBuilder();
            for (int i = 0; i < 12; i++) batch.append("GET /status?body=p").append(i).append(" HTTP/1.1\r\nHost: h\r\n\r\n");
            c.send(batch.toString());
            for (int i = 0; i < 12; i++) assertEquals("p" + i, c.read().text());
        }
        long before = threads(server.workerPid());
        List<RawHttp> open = new ArrayList<>();
        try {
            for (int i = 0; i < 200; i++) open.add(RawHttp.to(server));
            for (int round = 0; round < 5; round++) {
                for (RawHttp c : open) c.send("GET /status?body=x HTTP/1.1\r\nHost: h\r\n\r\n");
                for (RawHttp c : open) assertEquals(200, c.read().status());
            }
        } finally {
            for (RawHttp c : open) c.close();
        }
        long after = threads(server.workerPid());
        assertTrue(after <= before + 4, "200 connections made the worker go from " + before + " to " + after + " threads");
    }

    private static long threads(long pid) throws IOException {
        try (var tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            return tasks.count();
        }
    }

    @Test
    void aSlowUploadDoesNotHoldTheOnlyPythonThread() throws Exception {
        ServerProcess server = one;
        try (RawHttp slow = RawHttp.to(server)) {
            slow.send("POST /input/read HTTP/1.1\r\nHost: h\r\nContent-Length: 9\r\n\r\nhalf");
            long start = System.nanoTime();
            assertEquals(200, Http.get(server.url() + "/status?body=x").statusCode());
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertTrue(took.compareTo(Duration.ofMillis(1000)) < 0, "served while another client uploads slowly: " + took);
            RawHttp.Response r = slow.send("-done").read();
            assertEquals("[\"half-done\"]", r.text());
        }
    }

    @Test
    void aSlowReaderDoesNotHoldTheOnlyPythonThread() throws Exception {
        ServerProcess server = one;
        try (RawHttp slow = RawHttp.to(server)) {
            // 900 kB that this client does not read: the Python thread hands it over and moves on.
            slow.send("GET /big?n=900000&chunk=900000 HTTP/1.1\r\nHost: h\r\n\r\n");
            // One chunk: its head leaves with it, once the app's iterable is exhausted.
            RawHttp.Response head = slow.read(true);
            long start = System.nanoTime();
            assertEquals(200, Http.get(server.url() + "/status?body=x").statusCode());
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertTrue(took.compareTo(Duration.ofMillis(1000)) < 0, "served while another client reads slowly: " + took);
            assertEquals("900000", head.header("Content-Length"));
            assertEquals(900_000, slow.readBytes(900_000).length);
        }
    }

    @Test
    void theGilIsReleasedWhileAnAppWaitsForItsRequestBody() throws Exception {
        ServerProcess server = four;
        try (RawHttp waiting = RawHttp.to(server)) {
            // Expect: 100-continue hands the request to Python at once; the app then blocks reading.
            waiting.send("POST /input/read HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n");
            assertEquals(100, waiting.read().status());
            CompletableFuture<Integer> other = CompletableFuture.supplyAsync(
                    () -> Http.get(server.url() + "/sleep?s=0.2").statusCode());
            assertEquals(200, other.get(5, java.util.concurrent.TimeUnit.SECONDS),
                    "the second Python thread ran while the first waited for the network");
            assertEquals("[\"later\"]", waiting.send("later").read().text());
        }
    }
}
