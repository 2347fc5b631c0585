package jwsgi.wsgi;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

import jwsgi.testing.RawHttp;
import jwsgi.testing.ServerProcess;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * wsgiref's PEP 3333 checker wrapped around the corpus apps: it raises on any violation by the
 * server (environ types, wsgi.input methods, start_response, close) as well as by the app.
 */
class ValidatorTest {
    private static ServerProcess server;

    @BeforeAll
    static void start() {
        server = ServerProcess.start("corpus:validated()", "-b", "127.0.0.1:0", "-b", "[::1]:0");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    @Test
    void noViolationAcrossTheCorpus() throws IOException {
        List<String> requests = List.of(
                "GET /environ HTTP/1.1\r\nHost: h\r\nCookie: a=1\r\n\r\n",
                "GET /environ HTTP/1.0\r\n\r\n",
                "POST /input/readn?n=3 HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nhello world",
                "POST /input/readline HTTP/1.1\r\nHost: h\r\nContent-Length: 12\r\n\r\nline1\nline2\n",
                "POST /input/iter HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nline1\n\r\n0\r\n\r\n",
                "GET /chunked?n=5 HTTP/1.1\r\nHost: h\r\n\r\n",
                "GET /close?tag=v HTTP/1.1\r\nHost: h\r\n\r\n",
                "GET /stream?n=3&delay=0 HTTP/1.1\r\nHost: h\r\n\r\n",
                "GET /big?n=200000&chunk=30000 HTTP/1.1\r\nHost: h\r\n\r\n",
                "GET /file?kind=bytesio HTTP/1.1\r\nHost: h\r\n\r\n",
                "GET /errors HTTP/1.1\r\nHost: h\r\n\r\n",
                "GET /exc-info?when=before HTTP/1.1\r\nHost: h\r\n\r\n",
                "HEAD /status?body=x HTTP/1.1\r\nHost: h\r\n\r\n",
                "GET /status?status=204+No+Content HTTP/1.1\r\nHost: h\r\n\r\n");
        for (String request : requests) {
            try (RawHttp c = RawHttp.to(server)) {
                RawHttp.Response r = c.send(request).read(request.startsWith("HEAD"));
                int expected = request.contains("exc-info") ? 500 : request.contains("204") ? 204 : 200;
                assertEquals(expected, r.status(), request + "\n" + server.output());
            }
        }
        server.awaitOutput("wsgi.errors", Duration.ofMillis(500));
        assertFalse(server.output().contains("AssertionError"), server.output());
        assertFalse(server.output().contains("WSGIWarning"), server.output());
    }

    @Test
    void bothBindsServe() throws IOException {
        server.awaitOutput("Listening at: http://[::1]:", Duration.ofSeconds(5));
        assertEquals(2, server.output().lines().filter(l -> l.contains("Listening at: http://")).count(), server.output());
        String v6 = server.output().lines().filter(l -> l.contains("Listening at: http://[::1]:")).findFirst().orElseThrow();
        int port = Integer.parseInt(v6.replaceAll(".*\\[::1]:(\\d+) .*", "$1"));
        try (RawHttp c = new RawHttp("::1", port)) {
            assertEquals(200, c.send("GET /environ HTTP/1.1\r\nHost: h\r\n\r\n").read().status());
        }
    }
}
