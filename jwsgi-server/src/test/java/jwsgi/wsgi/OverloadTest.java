package jwsgi.wsgi;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import jwsgi.testing.Marker;
import jwsgi.testing.RawHttp;
import jwsgi.testing.ServerProcess;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Overload: past --backlog requests waiting for a Python thread, a request gets 503 with
 * Retry-After at once instead of waiting without bound; the queued ones are still served, and
 * so is everything once the load is gone. With --threads N the HTTP threads keep reading while
 * every Python thread is busy, so requests queue in the server; with one thread (inline), the
 * thread running the app is the one that would read, so they wait in the listen queue, whose
 * length is --backlog too, as with gunicorn's sync worker.
 */
class OverloadTest {
    private static ServerProcess server;

    @BeforeAll
    static void start() {
        server = ServerProcess.start("hardening", "--threads", "2", "--backlog", "2");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static RawHttp sleep(double seconds, String more) throws IOException {
        RawHttp c = RawHttp.to(server);
        c.send("GET /sleep?s=" + seconds + more + " HTTP/1.1\r\nHost: h\r\n\r\n");
        return c;
    }

    /** Reads each connection's response on a thread of its own, noting when it arrived. */
    private static List<CompletableFuture<Arrival>> arrivals(List<RawHttp> connections, ExecutorService readers) {
        return connections.stream().map(c -> CompletableFuture.supplyAsync(() -> {
            try {
                RawHttp.Response r = c.read();
                return new Arrival(r, System.nanoTime());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }, readers)).toList();
    }

    private record Arrival(RawHttp.Response response, long nanos) {}

    @Test
    void pastTheBacklogA503ComesAtOnce(@TempDir Path dir) throws Exception {
        List<RawHttp> running = new ArrayList<>();
        List<RawHttp> more = new ArrayList<>();
        try (ExecutorService readers = Executors.newVirtualThreadPerTaskExecutor()) {
            for (String name : List.of("a", "b")) running.add(sleep(3, "&started=" + dir.resolve(name)));
            for (String name : List.of("a", "b")) Marker.await(dir.resolve(name), Duration.ofSeconds(30));
            // Both Python threads sleep: of three more requests, two wait (the backlog is 2) and one is refused.
            for (int i = 0; i < 3; i++) more.add(sleep(0.1, ""));
            List<CompletableFuture<Arrival>> slept = arrivals(running, readers);
            List<Arrival> answers = new ArrayList<>();
            for (CompletableFuture<Arrival> a : arrivals(more, readers)) answers.add(a.get(30, TimeUnit.SECONDS));
            List<Arrival> refused = answers.stream().filter(a -> a.response().status() == 503).toList();
            assertEquals(1, refused.size(), answers.toString());
            RawHttp.Response r = refused.get(0).response();
            assertEquals("1", r.header("Retry-After"));
            assertTrue(r.text().contains("overloaded"), r.text());
            for (Arrival a : answers) if (a != refused.get(0)) assertEquals(200, a.response().status(), a.toString());
            for (CompletableFuture<Arrival> s : slept) {
                Arrival done = s.get(30, TimeUnit.SECONDS);
                assertEquals(200, done.response().status());
                assertTrue(refused.get(0).nanos() < done.nanos(), "the 503 came before a Python thread was free");
            }
        } finally {
            for (RawHttp c : running) c.close();
            for (RawHttp c : more) c.close();
        }
        try (RawHttp c = sleep(0, "")) {
            assertEquals(200, c.read().status(), "served again once the load is gone");
        }
        assertTrue(server.awaitOutput("Overloaded: 1 request(s) refused with 503, as 2 were already waiting", Duration.ofSeconds(5)), server.output());
    }

    @Test
    void theListenQueueHasTheBacklogLength() throws IOException, InterruptedException {
        // ss shows a listening socket's accept queue limit as its Send-Q.
        Process ss = new ProcessBuilder("ss", "-ltnH", "sport = :" + server.port()).redirectErrorStream(true).start();
        String out = new String(ss.getInputStream().readAllBytes()).strip();
        assertTrue(ss.waitFor(10, TimeUnit.SECONDS));
        String[] columns = out.split("\\s+");
        assertEquals("2", columns[2], out);
    }
}
