package jwsgi.wsgi;

import java.io.IOException;
import java.io.OutputStream;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

import jwsgi.testing.Http;
import jwsgi.testing.RawHttp;
import jwsgi.testing.ServerProcess;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * wsgi.input: every read method PEP 3333 names, with the right end of body for Content-Length
 * and chunked requests, for bodies read before the app runs and bodies streamed as it reads.
 */
class InputTest {
    private static final String BODY = "first line\nsecond line\n\nfourth, no newline";
    private static ServerProcess server;

    @BeforeAll
    static void start() {
        server = ServerProcess.start("corpus");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    /** Sends BODY with Content-Length, chunked (in odd pieces), or with Expect: 100-continue (streamed). */
    private static List<String> parts(String path, String framing) throws IOException {
        try (RawHttp c = RawHttp.to(server)) {
            byte[] body = BODY.getBytes(StandardCharsets.UTF_8);
            String head = "POST " + path + " HTTP/1.1\r\nHost: h\r\n";
            switch (framing) {
                case "length" -> c.send(head + "Content-Length: " + body.length + "\r\n\r\n").send(body);
                case "chunked" -> {
                    c.send(head + "Transfer-Encoding: chunked\r\n\r\n");
                    for (int i = 0; i < body.length; i += 7) {
                        int n = Math.min(7, body.length - i);
                        c.send(Integer.toHexString(n) + "\r\n").send(java.util.Arrays.copyOfRange(body, i, i + n)).send("\r\n");
                    }
                    c.send("0\r\n\r\n");
                }
                case "expect" -> {
                    c.send(head + "Content-Length: " + body.length + "\r\nExpect: 100-continue\r\n\r\n");
                    RawHttp.Response cont = c.read();
                    assertEquals(100, cont.status());
                    c.send(body);
                }
                default -> throw new IllegalArgumentException(framing);
            }
            RawHttp.Response r = c.read();
            assertEquals(200, r.status(), r.text());
            return toList(Http.json(r.text()));
        }
    }

    private static List<String> toList(JsonNode array) {
        List<String> out = new java.util.ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    @ParameterizedTest
    @ValueSource(strings = {"length", "chunked", "expect"})
    void readAll(String framing) throws IOException {
        assertEquals(List.of(BODY), parts("/input/read", framing));
    }

    @ParameterizedTest
    @ValueSource(strings = {"length", "chunked", "expect"})
    void readN(String framing) throws IOException {
        List<String> parts = parts("/input/readn?n=10", framing);
        assertEquals("first line", parts.getFirst());
        assertEquals("", parts.getLast(), "read(n) returns b'' at the end of the body");
        assertEquals(BODY, String.join("", parts));
        for (int i = 0; i < parts.size() - 2; i++) assertEquals(10, parts.get(i).length(), "read(10) returns 10 bytes until the end");
    }

    @ParameterizedTest
    @ValueSource(strings = {"length", "chunked", "expect"})
    void readline(String framing) throws IOException {
        assertEquals(List.of("first line\n", "second line\n", "\n", "fourth, no newline", ""), parts("/input/readline", framing));
    }

    @ParameterizedTest
    @ValueSource(strings = {"length", "chunked", "expect"})
    void readlineWithLimit(String framing) throws IOException {
        List<String> parts = parts("/input/readline_n?n=6", framing);
        assertEquals(List.of("first ", "line\n", "second", " line\n", "\n", "fourth", ", no n", "ewline", ""), parts);
    }

    @ParameterizedTest
    @ValueSource(strings = {"length", "chunked", "expect"})
    void readlinesWithHint(String framing) throws IOException {
        // readlines(hint) stops once the lines read reach hint bytes; the rest is read() after it.
        List<String> parts = parts("/input/readlines?hint=12", framing);
        assertEquals(List.of("first line\n", "second line\n", "\nfourth, no newline"), parts);
        assertEquals(List.of("first line\n", "second line\n", "\n", "fourth, no newline", ""),
                parts("/input/readlines", framing));
    }

    @ParameterizedTest
    @ValueSource(strings = {"length", "chunked", "expect"})
    void iteration(String framing) throws IOException {
        assertEquals(List.of("first line\n", "second line\n", "\n", "fourth, no newline"), parts("/input/iter", framing));
    }

    @Test
    void emptyBodyReadsAsEmpty() throws IOException {
        try (RawHttp c = RawHttp.to(server)) {
            RawHttp.Response r = c.send("POST /input/read HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n").read();
            assertEquals("[\"\"]", r.text());
            r = c.send("GET /input/readline HTTP/1.1\r\nHost: h\r\n\r\n").read();
            assertEquals("[\"\"]", r.text(), "a GET without a body reads b''");
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {1000, 900_000, 3_000_000})
    void largeBodiesArriveWhole(int size) throws Exception {
        // Up to 1 MiB the body is read before the app runs; past it, it is streamed to the app.
        byte[] body = new byte[size];
        new Random(size).nextBytes(body);
        JsonNode r = Http.json(Http.post(server.url() + "/input/sha256", body, "application/octet-stream").body());
        assertEquals(size, r.path("length").asInt());
        assertEquals(sha256(body), r.path("sha256").asText());
    }

    @Test
    void largeChunkedBodyArrivesWhole() throws Exception {
        byte[] body = new byte[2_500_000];
        new Random(7).nextBytes(body);
        try (RawHttp c = RawHttp.to(server)) {
            c.send("POST /input/sha256 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
            OutputStream out = c.output();
            for (int i = 0; i < body.length; i += 100_000) {
                int n = Math.min(100_000, body.length - i);
                out.write((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
                out.write(body, i, n);
                out.write("\r\n".getBytes(StandardCharsets.US_ASCII));
            }
            c.send("0\r\n\r\n");
            JsonNode r = Http.json(c.read().text());
            assertEquals(body.length, r.path("length").asInt());
            assertEquals(sha256(body), r.path("sha256").asText());
        }
    }

    @Test
    void expectContinueIsAnsweredOnlyWhenTheAppReads() throws IOException {
        try (RawHttp c = RawHttp.to(server)) {
            // The app never reads: the final response comes without a 100, and the body is never sent.
            c.send("POST /input/ignore HTTP/1.1\r\nHost: h\r\nContent-Length: 1000000\r\nExpect: 100-continue\r\n\r\n");
            RawHttp.Response r = c.read();
            assertEquals(200, r.status());
            assertEquals("ignored", r.text());
        }
        try (RawHttp c = RawHttp.to(server)) {
            c.send("POST /input/read HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
            assertEquals(100, c.read().status(), "the app reads, so the client is told to continue");
            RawHttp.Response r = c.send("abc").read();
            assertEquals("[\"abc\"]", r.text());
        }
    }

    @Test
    void anHttp10ExpectationIsIgnoredAndItsBodyReadAsAnyOther() throws IOException {
        try (RawHttp c = RawHttp.to(server)) {
            // RFC 9110 10.1.1: no 100 Continue to HTTP/1.0; the server waits for the body (a bounded
            // wait for an absence: the 100 came at once before, as the app reads at once).
            c.send("POST /input/read HTTP/1.0\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
            c.setTimeout(1500);
            assertThrows(SocketTimeoutException.class, c::read, "no interim response");
            c.setTimeout(15000);
            RawHttp.Response r = c.send("abc").read();
            assertEquals(200, r.status());
            assertEquals("[\"abc\"]", r.text());
        }
    }

    @Test
    void unreadBodyDoesNotCorruptTheNextRequestOnTheConnection() throws IOException {
        try (RawHttp c = RawHttp.to(server)) {
            c.send("POST /input/ignore HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\nGET /evil\r\n");
            assertEquals("ignored", c.read().text());
            RawHttp.Response next = c.send("GET /echo-path/next HTTP/1.1\r\nHost: h\r\n\r\n").read();
            assertTrue(next.text().contains("/echo-path/next"), next.text());
        }
    }

    static String sha256(byte[] data) throws NoSuchAlgorithmException {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }
}
