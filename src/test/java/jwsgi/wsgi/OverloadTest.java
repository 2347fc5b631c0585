package jwsgi.wsgi;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import jwsgi.testing.RawHttp;
import jwsgi.testing.ServerProcess;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

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

    private static RawHttp sleep(double seconds) throws IOException {
        RawHttp c = RawHttp.to(server);
        c.send("GET /sleep?s=" + seconds + " HTTP/1.1\r\nHost: h\r\n\r\n");
        return c;
    }

    @Test
    void pastTheBacklogA503ComesAtOnce() throws IOException, InterruptedException {
        List<RawHttp> accepted = new ArrayList<>();
        try {
            accepted.add(sleep(3));  // runs
            accepted.add(sleep(3));  // runs
            Thread.sleep(500);
            accepted.add(sleep(0.1));  // waits
            accepted.add(sleep(0.1));  // waits: the backlog is full
            Thread.sleep(300);
            try (RawHttp refused = sleep(0.1)) {
                long start = System.nanoTime();
                RawHttp.Response r = refused.read();
                long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
                assertEquals(503, r.status(), r.text());
                assertEquals("1", r.header("Retry-After"));
                assertTrue(r.text().contains("overloaded"), r.text());
                assertTrue(millis < 1500, "the 503 took " + millis + " ms, while the running request sleeps 3 s");
            }
            for (RawHttp c : accepted) assertEquals(200, c.read().status());
        } finally {
            for (RawHttp c : accepted) c.close();
        }
        try (RawHttp c = sleep(0)) {
            assertEquals(200, c.read().status(), "served again once the load is gone");
        }
        assertTrue(server.awaitOutput("Overloaded: 1 request(s) refused with 503, as 2 were already waiting", java.time.Duration.ofSeconds(5)), server.output());
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
