package jwsgi.http;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

import jwsgi.testing.RawHttp;
import jwsgi.testing.ServerProcess;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Connections served on the thread that accepted them ({@link DirectEndPoint}): one worker with
 * one Python thread, so a single accepting thread stands between every client and the app. It
 * must answer and close connection-per-request clients, never wait for a silent, slow or not-reading client, and
 * hand kept-alive connections to a selector with their idle timeout.
 */
class DirectConnectionTest {
    private static ServerProcess server;

    @BeforeAll
    static void start() {
        server = ServerProcess.start("-w", "1", "--threads", "1", "--keep-alive", "1", "corpus");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void connectionPerRequestClientsGetWholeResponsesAndAnEndOfStream() throws IOException {
        for (int i = 0; i < 200; i++) {
            String version = i % 2 == 0 ? "HTTP/1.1" : "HTTP/1.0";
            String close = i % 2 == 0 ? "Connection: close\r\n" : "";
            try (RawHttp c = RawHttp.to(server)) {
                c.send("GET /echo-path/" + i + " " + version + "\r\nHost: x\r\n" + close + "\r\n");
                RawHttp.Response r = c.read();
                assertEquals(200, r.status(), r.statusLine());
                assertTrue(r.text().contains("/echo-path/" + i), r.text());
                assertTrue(c.isClosedByPeer(), "connection " + i + " (" + version + ") left open after its response");
            }
        }
    }

    @Test
    void requestsPipelinedAfterACloseAreDroppedWithoutAReset() throws IOException {
        try (RawHttp c = RawHttp.to(server)) {
            c.send("GET /echo-path/a HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "GET /echo-path/b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
                    + "GET /echo-path/c HTTP/1.1\r\nHost: x\r\n\r\n");
            assertTrue(c.read().text().contains("/echo-path/a"));
            assertTrue(c.read().text().contains("/echo-path/b"));
            assertEquals("", c.readAll(), "nothing after the response to the request that asked to close");
        }
    }

    @Test
    void silentAndSlowClientsDoNotHoldTheAcceptingThread() throws Exception {
        List<Socket> idle = new ArrayList<>();
        try {
            for (int i = 0; i < 10; i++) {
                Socket silent = new Socket();
                silent.connect(new InetSocketAddress(server.host(), server.port()), 5000);
                idle.add(silent);
                Socket slow = new Socket();
                slow.connect(new InetSocketAddress(server.host(), server.port()), 5000);
                slow.getOutputStream().write("GET /echo-path/slow HTTP/1.1\r\nHo".getBytes(StandardCharsets.ISO_8859_1));
                idle.add(slow);
            }
            for (int i = 0; i < 20; i++) {
                long start = System.nanoTime();
                try (RawHttp c = RawHttp.to(server)) {
                    c.setTimeout(3000);
                    c.send("GET /echo-path/" + i + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                    assertEquals(200, c.read().status());
                }
                long millis = (System.nanoTime() - start) / 1_000_000;
                assertTrue(millis < 1000, "request " + i + " took " + millis + " ms behind silent and slow clients");
            }
        } finally {
            for (Socket s : idle) s.close();
        }
    }

    @Test
    void aClientNotReadingItsBigResponseDoesNotHoldTheAcceptingThread() throws Exception {
        try (RawHttp hog = RawHttp.to(server)) {
            hog.send("GET /big?n=50000000 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
            for (int i = 0; i < 20; i++) {
                try (RawHttp c = RawHttp.to(server)) {
                    c.setTimeout(3000);
                    c.send("GET /echo-path/" + i + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
                    assertEquals(200, c.read().status(), "request " + i + " while a client does not read");
                }
            }
            RawHttp.Response big = hog.read();
            assertEquals(50_000_000, big.body().length, "the slow client still gets its whole response");
            byte[] first = new byte[16];
            java.util.Arrays.fill(first, (byte) 'b');
            assertArrayEquals(first, java.util.Arrays.copyOf(big.body(), 16));
        }
    }

    @Test
    void keptAliveConnectionsAreServedBetweenPausesAndClosedWhenIdle() throws Exception {
        try (RawHttp c = RawHttp.to(server)) {
            for (int i = 0; i < 5; i++) {
                c.send("GET /echo-path/" + i + " HTTP/1.1\r\nHost: x\r\n\r\n");
                // Between requests the connection waits in a selector.
                assertTrue(c.read().text().contains("/echo-path/" + i));
            }
            c.setTimeout(10_000);
            long start = System.nanoTime();
            assertTrue(c.isClosedByPeer(), "an idle kept-alive connection is closed");
            long millis = (System.nanoTime() - start) / 1_000_000;
            assertTrue(millis >= 500 && millis < 5000, "closed after " + millis + " ms with --keep-alive 1");
        }
    }

    @Test
    void aSilentConnectionIsClosedInTheEnd() throws Exception {
        try (Socket silent = new Socket()) {
            silent.connect(new InetSocketAddress(server.host(), server.port()), 5000);
            silent.setSoTimeout(20_000);
            assertEquals(-1, silent.getInputStream().read(), "a connection that never sends is closed");
        }
    }
}
