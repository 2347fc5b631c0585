package jwsgi.server;

import java.net.ConnectException;
import java.net.Socket;
import java.time.Duration;
import java.util.List;

import jwsgi.testing.Http;
import jwsgi.testing.RawHttp;
import jwsgi.testing.ServerProcess;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** SIGTERM stops the server gracefully (in-flight requests finish, then exit 0); SIGINT quickly. */
class LifecycleTest {

    /** Sends a request that sleeps in the app, and returns once the app reports it is sleeping. */
    private static RawHttp sleeping(ServerProcess server, double seconds, String tag) throws Exception {
        RawHttp c = RawHttp.to(server);
        c.send("GET /sleep?s=" + seconds + "&tag=" + tag + " HTTP/1.1\r\nHost: h\r\n\r\n");
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (!Http.get(server.url() + "/events").body().contains("sleep:start:" + tag)) {
            if (System.nanoTime() > deadline) throw new AssertionError("the request never reached the app");
            Thread.sleep(20);
        }
        return c;
    }

    /** Sends {@code signal} to the master and asserts it exits 0 within {@code limit}. */
    private static void assertStopsWithin(ServerProcess server, String signal, Duration limit, String why) {
        long start = System.nanoTime();
        server.signal(signal);
        assertEquals(0, server.waitFor(limit.plusSeconds(30)), server.output());
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertTrue(took.compareTo(limit) < 0, why + ": " + took);
    }

    @Test
    void termLetsTheInFlightRequestFinishThenExitsZero() throws Exception {
        try (ServerProcess server = ServerProcess.start("corpus", "--threads", "2");
             RawHttp inFlight = sleeping(server, 1.5, "term")) {
            server.signal("TERM");
            assertTrue(server.awaitOutput("Handling signal: term", Duration.ofSeconds(5)), server.output());
            RawHttp.Response r = inFlight.read();
            assertEquals(200, r.status(), "the in-flight request completed");
            assertTrue(r.text().contains("\"slept\": 1.5"), r.text());
            assertEquals(0, server.waitFor(Duration.ofSeconds(15)), server.output());
            assertThrows(ConnectException.class, () -> new Socket("127.0.0.1", server.port()).close(), "no longer listening");
        }
    }

    /**
     * An idle kept-alive connection (a load balancer's pool keeps them for a minute) does not hold
     * a graceful stop up: once no connection has closed for a moment, the idle ones are closed.
     */
    @Test
    void termDoesNotWaitForIdleKeptAliveConnections() throws Exception {
        try (ServerProcess server = ServerProcess.start("corpus", "--keep-alive", "75", "--graceful-timeout", "30");
             RawHttp idle = RawHttp.to(server)) {
            RawHttp.Response r = idle.send("GET /events HTTP/1.1\r\nHost: h\r\n\r\n").read();
            assertEquals(200, r.status());
            assertEquals(null, r.header("Connection"), "the connection is kept alive");
            assertStopsWithin(server, "TERM", Duration.ofSeconds(5), "neither --keep-alive nor the graceful timeout");
            assertTrue(idle.isClosedByPeer(), "the idle connection was closed");
        }
    }

    /** gunicorn's SIGINT: a quick stop that does not wait for in-flight requests. */
    @Test
    void intStopsAtOnceWithoutWaitingForTheInFlightRequest() throws Exception {
        try (ServerProcess server = ServerProcess.start("corpus", "--threads", "2", "--graceful-timeout", "30");
             RawHttp inFlight = sleeping(server, 30, "int")) {
            assertStopsWithin(server, "INT", Duration.ofSeconds(10), "a quick stop, not the graceful timeout");
            assertTrue(inFlight.isClosedByPeer(), "the in-flight request's connection was closed");
            assertTrue(server.output().contains("Handling signal: int"), server.output());
        }
    }

    /**
     * A background job of a script inherits INT and QUIT ignored ({@code nohup}: HUP), and the JVM
     * keeps an ignored INT, TERM or HUP ignored: the server gives them their default action before
     * it handles them, so INT stops it as it stops gunicorn.
     */
    @Test
    void intStopsAServerThatInheritedIntIgnored() {
        try (ServerProcess server = ServerProcess.startIgnoring(List.of("INT", "QUIT", "HUP"), "corpus", "--log-level", "debug")) {
            for (String signal : List.of("SIGINT", "SIGHUP")) {
                assertTrue(server.output().contains(signal + " was ignored (inherited from the parent process); now handled"), server.output());
            }
            assertStopsWithin(server, "INT", Duration.ofSeconds(10), "a quick stop, not the master's kill after 10 s");
            assertTrue(server.output().contains("Handling signal: int"), server.output());
        }
    }

    @Test
    void theGracefulTimeoutBoundsTheWait() throws Exception {
        try (ServerProcess server = ServerProcess.start("corpus", "--threads", "2", "--graceful-timeout", "1");
             RawHttp hung = sleeping(server, 30, "hung")) {
            assertStopsWithin(server, "TERM", Duration.ofSeconds(5), "stopped soon after the graceful timeout");
            assertTrue(hung.isClosedByPeer(), "the hung request's connection was closed");
            assertTrue(server.output().contains("Graceful timeout (1 s) expired"), server.output());
            assertTrue(server.output().matches("(?s).*py-worker-\\d+ is still running Python code.*"), server.output());
        }
    }
}
