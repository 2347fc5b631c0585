package jwsgi.wsgi;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;

import jwsgi.testing.Http;
import jwsgi.testing.RawHttp;
import jwsgi.testing.ServerProcess;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The response side of PEP 3333: start_response and its exc_info rules, header validation,
 * write(), framing (Content-Length, chunked, close-delimited, HEAD, 204/304), errors, and
 * wsgi.file_wrapper.
 */
class ResponseTest {
    private static ServerProcess server;

    @BeforeAll
    static void start() {
        server = ServerProcess.start("corpus");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static RawHttp.Response get(String target) throws IOException {
        return request("GET", target, "HTTP/1.1");
    }

    private static RawHttp.Response request(String method, String target, String version) throws IOException {
        try (RawHttp c = RawHttp.to(server)) {
            c.send(method + " " + target + " " + version + "\r\nHost: h\r\n\r\n");
            return c.read(method.equals("HEAD"));
        }
    }

    private static String events() {
        return Http.get(server.url() + "/events").body();
    }

    @Test
    void contentLengthFromTheAppIsSent() throws IOException {
        RawHttp.Response r = get("/length?declared=5&actual=5");
        assertEquals("length", r.framing());
        assertEquals("5", r.header("Content-Length"));
        assertEquals("zzzzz", r.text());
    }

    @Test
    void aSingleChunkWithoutLengthGetsAContentLength() throws IOException {
        RawHttp.Response r = get("/status?body=abc");
        assertEquals("length", r.framing());
        assertEquals("3", r.header("Content-Length"));
        assertEquals("abc", r.text());
    }

    @Test
    void unknownLengthIsChunkedOnHttp11() throws IOException {
        RawHttp.Response r = get("/chunked?n=4");
        assertEquals("chunked", r.framing());
        assertEquals("part0;part1;part2;part3;", r.text());
    }

    @Test
    void unknownLengthIsCloseDelimitedOnHttp10() throws IOException {
        try (RawHttp c = RawHttp.to(server)) {
            RawHttp.Response r = c.send("GET /chunked?n=3 HTTP/1.0\r\n\r\n").read();
            assertEquals("close", r.framing());
            assertNull(r.header("Transfer-Encoding"));
            assertEquals("part0;part1;part2;", r.text());
        }
    }

    @Test
    void headSendsTheHeadersOfGetWithoutTheBody() throws IOException {
        RawHttp.Response get = get("/big?n=5000&chunk=5000");
        RawHttp.Response head = request("HEAD", "/big?n=5000&chunk=5000", "HTTP/1.1");
        assertEquals(200, head.status());
        assertEquals(get.header("Content-Length"), head.header("Content-Length"));
        assertEquals(get.header("Content-Type"), head.header("Content-Type"));
        try (RawHttp c = RawHttp.to(server)) {
            // Nothing follows the head: the next response on the connection starts right after it.
            c.send("HEAD /big?n=5000 HTTP/1.1\r\nHost: h\r\n\r\nGET /status?body=next HTTP/1.1\r\nHost: h\r\n\r\n");
            assertEquals(200, c.read(true).status());
            assertEquals("next", c.read().text());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"204+No+Content", "304+Not+Modified"})
    void statusesWithoutBodySendNone(String status) throws IOException {
        try (RawHttp c = RawHttp.to(server)) {
            c.send("GET /status?status=" + status + "&body=must-not-appear HTTP/1.1\r\nHost: h\r\n\r\n"
                    + "GET /status?body=next HTTP/1.1\r\nHost: h\r\n\r\n");
            RawHttp.Response r = c.read();
            assertEquals(Integer.parseInt(status.substring(0, 3)), r.status());
            assertNull(r.header("Transfer-Encoding"));
            RawHttp.Response next = c.read();
            assertEquals("next", next.text(), "the discarded body did not leak into the next response");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"418 Short And Stout", "599 Custom", "200 OK", "404 NOT FOUND", "200 Fine, Thanks"})
    void theAppsReasonPhraseIsOnTheStatusLine(String status) throws IOException {
        RawHttp.Response r = get("/status?status=" + status.replace(' ', '+').replace(",", "%2C") + "&body=x");
        assertEquals("HTTP/1.1 " + status, r.statusLine());
        assertEquals("x", r.text());
    }

    @Test
    void aStatusWithoutAPhraseGetsTheStandardOneAndAPhraseStaysWithItsResponse() throws IOException {
        try (RawHttp c = RawHttp.to(server)) {
            c.send("GET /status?status=418+Short+And+Stout&body=x HTTP/1.1\r\nHost: h\r\n\r\n"
                    + "GET /status?status=418&body=y HTTP/1.1\r\nHost: h\r\n\r\n");
            assertEquals("HTTP/1.1 418 Short And Stout", c.read().statusLine());
            RawHttp.Response next = c.read();
            assertEquals("HTTP/1.1 418 I'm a Teapot", next.statusLine(), "the next response on the connection has its own");
            assertEquals("y", next.text());
        }
    }

    @Test
    void interimStatusFromTheAppIsRefused() throws IOException {
        RawHttp.Response r = get("/status?status=103+Early+Hints&body=x");
        assertEquals(500, r.status());
        assertTrue(server.awaitOutput("cannot send an interim (1xx) response", Duration.ofSeconds(5)));
    }

    @ParameterizedTest
    @ValueSource(strings = {"crlf-value", "lf-value", "nul-value", "space-name", "colon-name", "nonlatin-value",
            "bytes-value", "not-tuple", "crlf-status"})
    void invalidHeadersBecome500AndNeverReachTheWire(String kind) throws IOException {
        try (RawHttp c = RawHttp.to(server)) {
            c.send("GET /bad-header?kind=" + kind + " HTTP/1.1\r\nHost: h\r\n\r\n");
            RawHttp.Response r = c.read();
            assertEquals(500, r.status(), kind);
            assertNull(r.header("Set-Cookie"), "an injected header must not be sent");
            assertNull(r.header("X-Injected"));
            assertNull(r.header("X-Evil"));
            assertFalse(r.text().contains("should not be sent"));
        }
        assertTrue(server.awaitOutput("Error handling request GET /bad-header?kind=" + kind, Duration.ofSeconds(5)), server.output());
    }

    @Test
    void aRefusedStartResponseSwallowedByTheAppIsStill500() throws IOException {
        RawHttp.Response r = get("/bad-header?kind=crlf-value&swallow=1");
        assertEquals(500, r.status());
        assertFalse(r.text().contains("after a refused"));
        assertTrue(server.awaitOutput("its response head is invalid: value of header 'X-Injected' contains CR",
                Duration.ofSeconds(5)), server.output());
    }

    @Test
    void theWriteCallableSendsBytesInOrder() throws IOException {
        assertEquals("written;also-written;", get("/write").text());
        assertEquals("written;also-written;returned;", get("/write?also=1").text());
    }

    @Test
    void excInfoBeforeHeadersAreSentReplacesTheHead() throws IOException {
        RawHttp.Response r = get("/exc-info?when=before");
        assertEquals(500, r.status());
        assertEquals("replaced by exc_info", r.text());
    }

    @Test
    void startResponseTwiceWithoutExcInfoIsAnError() throws IOException {
        events();
        assertEquals(500, get("/exc-info?when=twice").status());
        assertTrue(events().contains("twice:RuntimeError"));
    }

    @Test
    void excInfoAfterHeadersAreSentIsReRaised() throws IOException {
        events();
        // The app yielded its first chunk, so start_response(..., exc_info) must re-raise. That
        // chunk was still held back (jwsgi sends a chunk once it knows whether it is the last),
        // so the client gets a clean 500 rather than a 200 cut short.
        RawHttp.Response r = get("/exc-info?when=after");
        assertEquals(500, r.status());
        assertFalse(r.text().contains("first;"));
        assertTrue(events().contains("after-sent:re-raised"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"before", "after-start", "systemexit", "keyboard", "no-start", "nonbytes"})
    void appFailuresBecome500AndTheServerKeepsServing(String when) throws IOException {
        RawHttp.Response r = get("/error?when=" + when);
        assertEquals(500, r.status(), when);
        assertEquals("Internal Server Error", r.text().strip());
        assertTrue(server.awaitOutput("Error handling request GET /error?when=" + when, Duration.ofSeconds(5)));
        assertEquals("ok", get("/status?body=ok").text(), "served after the failure");
    }

    @Test
    void theTracebackOfAFailureIsInTheErrorLog() throws IOException {
        get("/error?when=before");
        assertTrue(server.awaitOutput("RuntimeError: error before start_response", Duration.ofSeconds(5)));
        assertTrue(server.output().contains("Traceback (most recent call last):"));
        assertTrue(server.output().contains("corpus.py\", line"));
    }

    @Test
    void aFailureAfterBytesWereSentClosesTheConnectionMidBody() throws IOException {
        try (RawHttp c = RawHttp.to(server)) {
            c.send("GET /error?when=after-stream HTTP/1.1\r\nHost: h\r\n\r\n");
            String raw = c.readAll();
            assertTrue(raw.startsWith("HTTP/1.1 200"), raw.substring(0, 40));
            assertFalse(raw.endsWith("0\r\n\r\n"), "an incomplete body must not be terminated as complete");
        }
    }

    @Test
    void aShortBodyForItsContentLengthClosesTheConnection() throws IOException {
        try (RawHttp c = RawHttp.to(server)) {
            c.send("GET /length?declared=10&actual=4 HTTP/1.1\r\nHost: h\r\n\r\n");
            String raw = c.readAll();
            assertTrue(raw.endsWith("zzzz"), raw);
        }
        assertTrue(server.awaitOutput("the app sent 4 bytes but declared Content-Length 10", Duration.ofSeconds(5)));
    }

    @Test
    void bytesBeyondTheContentLengthAreNotSent() throws IOException {
        try (RawHttp c = RawHttp.to(server)) {
            c.send("GET /length?declared=3&actual=8 HTTP/1.1\r\nHost: h\r\n\r\nGET /status?body=next HTTP/1.1\r\nHost: h\r\n\r\n");
            assertEquals("zzz", c.read().text());
            assertEquals("next", c.read().text(), "the excess did not leak into the next response");
        }
    }

    @Test
    void keepAliveServesManyRequestsOnOneConnection() throws IOException {
        try (RawHttp c = RawHttp.to(server)) {
            for (int i = 0; i < 20; i++) {
                c.send("GET /status?body=n" + i + " HTTP/1.1\r\nHost: h\r\n\r\n");
                assertEquals("n" + i, c.read().text());
            }
        }
    }

    @Test
    void pipelinedRequestsAreAnsweredInOrder() throws IOException {
        try (RawHttp c = RawHttp.to(server)) {
            StringBuilder batch = new StringBuilder();
            for (int i = 0; i < 10; i++) {
                batch.append("GET /").append(i % 2 == 0 ? "chunked?n=" + i : "status?body=p" + i).append(" HTTP/1.1\r\nHost: h\r\n\r\n");
            }
            c.send(batch.toString());
            for (int i = 0; i < 10; i++) {
                String text = c.read().text();
                if (i % 2 == 0) assertEquals(expectedParts(i), text);
                else assertEquals("p" + i, text);
            }
        }
    }

    private static String expectedParts(int n) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) b.append("part").append(i).append(';');
        return b.toString();
    }

    @Test
    void aLargeStreamedResponseArrivesWhole() throws IOException {
        RawHttp.Response r = get("/big?n=6000000&chunk=65536");
        assertEquals(6_000_000, r.body().length);
        for (byte b : r.body()) {
            if (b != 'b') throw new AssertionError("corrupted body");
        }
    }

    @Test
    void aChunkLargerThanAPooledBufferArrivesInOrder() throws IOException {
        RawHttp.Response r = get("/pattern?n=300001");
        assertEquals(300_001, r.body().length);
        for (int i = 0; i < r.body().length; i++) {
            if ((r.body()[i] & 0xFF) != i % 251) throw new AssertionError("byte " + i + " is " + (r.body()[i] & 0xFF));
        }
    }

    @Test
    void fileWrapperSendsARealFile(@TempDir Path dir) throws IOException {
        byte[] content = new byte[300_000];
        new Random(3).nextBytes(content);
        Path file = dir.resolve("data.bin");
        Files.write(file, content);
        RawHttp.Response r = get("/file?path=" + file);
        assertEquals("300000", r.header("Content-Length"));
        assertArrayEquals(content, r.body());
        RawHttp.Response skipped = get("/file?path=" + file + "&skip=1000");
        assertArrayEquals(java.util.Arrays.copyOfRange(content, 1000, content.length), skipped.body(),
                "the file is sent from its current position");
        RawHttp.Response limited = get("/file?path=" + file + "&length=10");
        assertArrayEquals(java.util.Arrays.copyOfRange(content, 0, 10), limited.body(), "Content-Length limits what is sent");
    }

    @Test
    void fileWrapperOverANonFileIsIterated() throws IOException {
        RawHttp.Response r = get("/file?kind=bytesio");
        assertEquals("from a BytesIO, iterated".repeat(3), r.text());
    }

    @Test
    void wsgiErrorsGoesToTheErrorLog() throws IOException {
        assertEquals("ok", get("/errors").text());
        assertTrue(server.awaitOutput("a line to wsgi.errors", Duration.ofSeconds(5)));
        assertTrue(server.awaitOutput("parts", Duration.ofSeconds(5)));
    }

    @Test
    void anUnknownPathIsThe404OfTheApp() throws IOException {
        RawHttp.Response r = get("/no/such/thing");
        assertEquals(404, r.status());
        assertEquals("not found: /no/such/thing", r.text());
    }

    @Test
    void malformedRequestsGet400WithoutReachingTheApp() throws IOException {
        try (RawHttp c = RawHttp.to(server)) {
            c.send("GET /status?body=x HTTP/1.1\r\nHost: h\r\nBad Header: x\r\n\r\n");
            assertEquals(400, c.read().status());
        }
        assertThrows(IOException.class, () -> {
            try (RawHttp c = RawHttp.to(server)) {
                c.send("\u0000\u0001garbage\r\n\r\n");
                RawHttp.Response r = c.read();
                if (r.status() >= 400) throw new IOException("rejected with " + r.status());
            }
        });
        assertEquals("ok", new String(get("/status?body=ok").body(), StandardCharsets.UTF_8));
    }
}
