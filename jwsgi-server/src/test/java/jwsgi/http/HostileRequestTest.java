package jwsgi.http;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import jwsgi.testing.Http;
import jwsgi.testing.RawHttp;
import jwsgi.testing.ServerProcess;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Hostile and malformed requests against one live server, over raw sockets: request smuggling
 * material (RFC 9110/9112), gunicorn's limits, bodies past --limit-request-body, bodies spooled
 * to disk, and slowloris heads and bodies. Every refusal is checked for its exact status, for
 * the connection being closed, and for the server serving the next request on a fresh connection.
 */
class HostileRequestTest {
    private static final String HOST = "Host: h\r\n";
    private static final int BODY_LIMIT = 100_000;
    private static ServerProcess server;

    @BeforeAll
    static void start() {
        server = ServerProcess.start("hardening", "--limit-request-body", Integer.toString(BODY_LIMIT),
                "--body-buffer-size", "1000", "--header-timeout", "2", "--body-timeout", "1", "--body-min-rate", "0",
                "--http-protocols", "h1,h2");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static String post(String headers, String body) {
        return "POST /echo HTTP/1.1\r\n" + HOST + headers + "\r\n" + body;
    }

    private static String get(String headers) {
        return "GET /echo HTTP/1.1\r\n" + HOST + headers + "\r\n";
    }

    static Stream<Arguments> refused() {
        String chunked = "Transfer-Encoding: chunked\r\n";
        return Stream.of(
                // framing: RFC 9112 6.1-6.3
                Arguments.of("Content-Length with Transfer-Encoding", post("Content-Length: 5\r\n" + chunked, "0\r\n\r\n"), 400),
                Arguments.of("differing Content-Lengths", post("Content-Length: 5\r\nContent-Length: 6\r\n", "hello!"), 400),
                Arguments.of("repeated Content-Length", post("Content-Length: 5\r\nContent-Length: 5\r\n", "hello"), 400),
                Arguments.of("Content-Length list", post("Content-Length: 5, 5\r\n", "hello"), 400),
                Arguments.of("Content-Length with +", post("Content-Length: +5\r\n", "hello"), 400),
                Arguments.of("negative Content-Length", post("Content-Length: -5\r\n", "hello"), 400),
                Arguments.of("Content-Length with junk", post("Content-Length: 5x\r\n", "hello"), 400),
                Arguments.of("hex Content-Length", post("Content-Length: 0x5\r\n", "hello"), 400),
                Arguments.of("Content-Length with inner space", post("Content-Length: 5 5\r\n", "hello"), 400),
                Arguments.of("Content-Length overflowing", post("Content-Length: 99999999999999999999999\r\n", "hello"), 400),
                Arguments.of("unknown transfer coding", post("Transfer-Encoding: gzip\r\n", "hello"), 400),
                Arguments.of("identity transfer coding", post("Transfer-Encoding: identity\r\n", "hello"), 400),
                Arguments.of("chunked twice in one field", post("Transfer-Encoding: chunked, chunked\r\n", "0\r\n\r\n"), 400),
                Arguments.of("chunked twice in two fields", post(chunked + chunked, "0\r\n\r\n"), 400),
                Arguments.of("chunked not last", post("Transfer-Encoding: chunked, gzip\r\n", "0\r\n\r\n"), 400),
                Arguments.of("coding before chunked", post("Transfer-Encoding: gzip, chunked\r\n", "0\r\n\r\n"), 501),
                Arguments.of("xchunked", post("Transfer-Encoding: xchunked\r\n", "0\r\n\r\n"), 400),
                Arguments.of("Transfer-Encoding in HTTP/1.0", "POST /echo HTTP/1.0\r\n" + chunked + "\r\n0\r\n\r\n", 400),
                // chunks: RFC 9112 7.1
                Arguments.of("chunk size not hex", post(chunked, "zz\r\nhello\r\n0\r\n\r\n"), 400),
                Arguments.of("negative chunk size", post(chunked, "-1\r\nhello\r\n0\r\n\r\n"), 400),
                Arguments.of("0x chunk size", post(chunked, "0x5\r\nhello\r\n0\r\n\r\n"), 400),
                Arguments.of("chunk size overflowing", post(chunked, "fffffffffffffffff5\r\nhello\r\n0\r\n\r\n"), 400),
                Arguments.of("space before chunk size", post(chunked, " 5\r\nhello\r\n0\r\n\r\n"), 400),
                Arguments.of("space after chunk size", post(chunked, "5 \r\nhello\r\n0\r\n\r\n"), 400),
                Arguments.of("control character in chunk extension", post(chunked, "5;a\u0001b\r\nhello\r\n0\r\n\r\n"), 400),
                Arguments.of("empty chunk extension", post(chunked, "5;\r\nhello\r\n0\r\n\r\n"), 400),
                Arguments.of("bare LF in chunk extension", post(chunked, "5;a\nb\r\nhello\r\n0\r\n\r\n"), 400),
                Arguments.of("chunk data longer than its size", post(chunked, "5\r\nhelloXX0\r\n\r\n"), 400),
                Arguments.of("bare LF chunk lines", post(chunked, "5\nhello\n0\n\n"), 400),
                // fields: RFC 9110 5, RFC 9112 5
                Arguments.of("obs-fold", get("X-A: a\r\n b\r\n"), 400),
                Arguments.of("bare CR in a value", get("X-A: a\rb\r\n"), 400),
                Arguments.of("bare CR ending the request line", "GET /echo HTTP/1.1\rHost: h\r\n\r\n", 400),
                Arguments.of("bare LF line ends", "GET /echo HTTP/1.1\nHost: h\n\n", 400),
                Arguments.of("NUL in a value", get("X-A: a\u0000b\r\n"), 400),
                Arguments.of("control character in a value", get("X-A: a\u0001b\r\n"), 400),
                Arguments.of("DEL in a value", get("X-A: a\u007fb\r\n"), 400),
                Arguments.of("NUL in a name", get("X\u0000A: ab\r\n"), 400),
                Arguments.of("space before the colon", get("X-A : a\r\n"), 400),
                Arguments.of("tab before the colon", get("X-A\t: a\r\n"), 400),
                Arguments.of("no colon", get("X-A a\r\n"), 400),
                Arguments.of("empty field name", get(": a\r\n"), 400),
                Arguments.of("whitespace before the first field", "GET /echo HTTP/1.1\r\n Host: h\r\n\r\n", 400),
                // request line: RFC 9112 3
                Arguments.of("method with a delimiter", "G(T /echo HTTP/1.1\r\n" + HOST + "\r\n", 400),
                Arguments.of("empty method", " /echo HTTP/1.1\r\n" + HOST + "\r\n", 400),
                Arguments.of("NUL in the target", "GET /ec\u0000ho HTTP/1.1\r\n" + HOST + "\r\n", 400),
                Arguments.of("space in the target", "GET /e cho HTTP/1.1\r\n" + HOST + "\r\n", 400),
                Arguments.of("fragment in the target", "GET /echo#x HTTP/1.1\r\n" + HOST + "\r\n", 400),
                Arguments.of("relative target", "GET echo HTTP/1.1\r\n" + HOST + "\r\n", 400),
                Arguments.of("query bytes that are not UTF-8", "GET /echo?q=\u0091 HTTP/1.1\r\n" + HOST + "\r\n", 400),
                Arguments.of("raw non-ASCII in the path", "GET /caf\u00c3\u00a9 HTTP/1.1\r\n" + HOST + "\r\n", 400),
                Arguments.of("HTTP/1.2", "GET /echo HTTP/1.2\r\n" + HOST + "\r\n", 505),
                Arguments.of("HTTP/1.10", "GET /echo HTTP/1.10\r\n" + HOST + "\r\n", 505),
                Arguments.of("junk after the version", "GET /echo HTTP/1.1x\r\n" + HOST + "\r\n", 505),
                Arguments.of("HTTP/3.0", "GET /echo HTTP/3.0\r\n" + HOST + "\r\n", 505),
                Arguments.of("HTTP/0.9", "GET /echo\r\n\r\n", 505),
                Arguments.of("HTTP/2.0 on an HTTP/1 request line", "GET /echo HTTP/2.0\r\n" + HOST + "\r\n", 426),
                // Host: RFC 9112 3.2
                Arguments.of("no Host in HTTP/1.1", "GET /echo HTTP/1.1\r\n\r\n", 400),
                Arguments.of("two Hosts", "GET /echo HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
                Arguments.of("empty Host", "GET /echo HTTP/1.1\r\nHost:\r\n\r\n", 400),
                Arguments.of("Host that is no host", "GET /echo HTTP/1.1\r\nHost: a b\r\n\r\n", 400),
                Arguments.of("absolute target naming another host", "GET http://other/echo HTTP/1.1\r\n" + HOST + "\r\n", 400),
                Arguments.of("unknown expectation", post("Expect: bogus\r\nContent-Length: 1\r\n", "x"), 417),
                // gunicorn's limits
                Arguments.of("request line of 4095 bytes", "GET /" + "a".repeat(4095 - "GET / HTTP/1.1".length())
                        + " HTTP/1.1\r\n" + HOST + "\r\n", 414),
                Arguments.of("request line of 1 MiB", "GET /" + "a".repeat(1 << 20) + " HTTP/1.1\r\n" + HOST + "\r\n", 414),
                Arguments.of("101 header fields", get(fields(100)), 431),
                Arguments.of("header field of 8191 bytes", get(field(8191)), 431),
                // --limit-request-body
                Arguments.of("Content-Length over the limit", post("Content-Length: " + (BODY_LIMIT + 1) + "\r\n", "abc"), 413),
                Arguments.of("chunked body over the limit", post(chunked, ("10000\r\n" + "x".repeat(0x10000) + "\r\n").repeat(2)), 413));
    }

    /** {@code n} header fields besides Host. */
    private static String fields(int n) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < n; i++) b.append("X-").append(i).append(": v\r\n");
        return b.toString();
    }

    /** One header field line of {@code size} bytes with its CRLF, as gunicorn counts it. */
    private static String field(int size) {
        return "X-A: " + "v".repeat(size - "X-A: \r\n".length()) + "\r\n";
    }

    @ParameterizedTest(name = "{0}: {2}")
    @MethodSource
    void refused(String name, String request, int status) throws IOException {
        try (RawHttp c = RawHttp.to(server)) {
            c.setTimeout(5000);
            c.send(request);
            RawHttp.Response r = c.read();
            assertEquals(status, r.status(), name + ": " + r.statusLine() + " " + r.text());
            assertEquals("close", r.header("Connection"), name);
            c.setTimeout(1000);  // less than --keep-alive: closed because of the refusal
            assertTrue(c.isClosedByPeer(), name + ": the connection stays open after " + status);
        }
        assertServed();
    }

    /** A plain request on a fresh connection is served. */
    private static void assertServed() throws IOException {
        try (RawHttp c = RawHttp.to(server)) {
            RawHttp.Response r = c.send(get("")).read();
            assertEquals(200, r.status(), r.text());
        }
    }

    private static JsonNode echo(String request) throws IOException {
        try (RawHttp c = RawHttp.to(server)) {
            RawHttp.Response r = c.send(request).read();
            assertEquals(200, r.status(), r.text());
            return Http.json(r.text());
        }
    }

    @Test
    void limitsAreInclusive() throws IOException {
        String line = "GET /echo" + "a".repeat(4094 - "GET /echo HTTP/1.1".length()) + " HTTP/1.1\r\n" + HOST + "\r\n";
        assertEquals(4094 - "GET  HTTP/1.1".length(), echo(line).get("raw").asText().length());
        assertEquals(99, echo(get(fields(99))).get("headers").size() - 1, "100 fields with Host");
        assertEquals(8190 - "X-A: \r\n".length(), echo(get(field(8190))).get("headers").get("HTTP_X_A").asText().length());
    }

    @Test
    void namesDifferingOnlyByUnderscoreNeverBothReachTheEnviron() throws IOException {
        for (String headers : List.of("X-Foo: dash\r\nX_Foo: underscore\r\n", "X_Foo: underscore\r\nX-Foo: dash\r\n")) {
            JsonNode seen = echo(get(headers)).get("headers");
            assertEquals("dash", seen.get("HTTP_X_FOO").asText(), seen.toString());
        }
        assertFalse(echo(get("X_Only: underscore\r\n")).get("headers").has("HTTP_X_ONLY"));
    }

    @Test
    void leniencyTheRfcAllowsIsKept() throws IOException {
        JsonNode chunked = echo(post("Transfer-Encoding: Chunked\r\n", "5;name=value\r\nhello\r\n0\r\n\r\n"));
        assertEquals(5, chunked.get("length").asInt(), "coding names are case-insensitive; extensions are ignored");
        JsonNode http10 = echo("GET /echo HTTP/1.0\r\n\r\n");
        assertEquals("/echo", http10.get("raw").asText());
        assertEquals("/echo", echo("\r\n" + get("")).get("raw").asText(), "empty lines before a request are ignored");
        String utf8 = "/echo?q=" + new String("caf\u00e9".getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
        assertEquals(utf8, echo("GET " + utf8 + " HTTP/1.1\r\n" + HOST + "\r\n").get("raw").asText(), "raw UTF-8 in the query");
    }

    @Test
    void expectContinueOverTheLimitIsRefusedBeforeTheBodyIsSent() throws IOException {
        try (RawHttp c = RawHttp.to(server)) {
            c.send(post("Content-Length: " + (BODY_LIMIT + 1) + "\r\nExpect: 100-continue\r\n", ""));
            RawHttp.Response r = c.read();
            assertEquals(413, r.status(), "no 100 Continue for a body that would be refused");
            assertTrue(c.isClosedByPeer());
        }
        assertServed();
    }

    @Test
    void bodiesPastTheMemoryBufferAreSpooledAndArriveWhole() throws Exception {
        byte[] body = new byte[BODY_LIMIT];
        new Random(5).nextBytes(body);
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body));
        int spoolsBefore = spoolFiles();
        for (String framing : List.of("length", "chunked")) {
            try (RawHttp c = RawHttp.to(server)) {
                String head = "POST /read HTTP/1.1\r\n" + HOST
                        + (framing.equals("length") ? "Content-Length: " + body.length + "\r\n" : "Transfer-Encoding: chunked\r\n") + "\r\n";
                c.send(head);
                if (framing.equals("length")) {
                    c.send(body);
                } else {
                    for (int i = 0; i < body.length; i += 7000) {
                        int n = Math.min(7000, body.length - i);
                        c.send(Integer.toHexString(n) + "\r\n").send(java.util.Arrays.copyOfRange(body, i, i + n)).send("\r\n");
                    }
                    c.send("0\r\n\r\n");
                }
                JsonNode seen = Http.json(c.read().text());
                assertEquals(body.length, seen.get("length").asInt(), framing);
                assertEquals(sha, seen.get("sha256").asText(), framing);
                assertEquals("BufferedReader", seen.get("input").asText(), framing + ": read from the temp file");
            }
        }
        for (int i = 0; i < 50 && spoolFiles() != spoolsBefore; i++) Thread.sleep(50);  // closed as the response completes
        assertEquals(spoolsBefore, spoolFiles(), "every spooled body's temp file is closed");
    }

    /** Unlinked files the server holds open: spooled request bodies and spilled responses. */
    private static int spoolFiles() throws IOException {
        int n = 0;
        try (var fds = Files.list(Path.of("/proc", Long.toString(server.workerPid()), "fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    if (Files.readSymbolicLink(fd).toString().contains(".spill")) n++;
                } catch (IOException ignored) {
                    // closed meanwhile
                }
            }
        }
        return n;
    }

    @Test
    void aHeadThatTricklesGets408AtItsDeadline() throws IOException, InterruptedException {
        try (RawHttp c = RawHttp.to(server)) {
            byte[] head = (get("X-Slow: " + "a".repeat(100) + "\r\n")).getBytes(StandardCharsets.ISO_8859_1);
            long start = System.nanoTime();
            try {
                for (byte b : head) {
                    c.send(new byte[] {b});
                    Thread.sleep(300);
                }
            } catch (IOException closedMeanwhile) {
                // the 408 is already waiting to be read
            }
            RawHttp.Response r = c.read();
            long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start);
            assertEquals(408, r.status(), r.text());
            assertTrue(seconds >= 2 && seconds < 6, "408 after " + seconds + " s with --header-timeout 2");
            assertTrue(c.isClosedByPeer());
        }
        assertServed();
    }

    @Test
    void aBodyThatTricklesGets408() throws IOException, InterruptedException {
        try (RawHttp c = RawHttp.to(server)) {
            c.send(post("Content-Length: 100\r\n", ""));
            long start = System.nanoTime();
            try {
                for (int i = 0; i < 10; i++) {
                    c.send("x");
                    Thread.sleep(300);
                }
            } catch (IOException closedMeanwhile) {
                // the 408 is already waiting to be read
            }
            RawHttp.Response r = c.read();
            assertEquals(408, r.status(), r.text());
            assertTrue(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start) < 5000);
            assertTrue(c.isClosedByPeer());
        }
        assertServed();
    }

    @Test
    void anIdleConnectionIsClosedAfterKeepAlive() throws IOException {
        try (RawHttp c = RawHttp.to(server)) {
            c.setTimeout(6000);
            long start = System.nanoTime();
            assertTrue(c.isClosedByPeer());
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            assertTrue(millis >= 1500 && millis < 5000, "closed after " + millis + " ms with --keep-alive 2");
        }
    }

    @Test
    void http2RequestsHaveTheSameLimits() {
        String base = server.url();
        assertEquals("200", curl("--http2-prior-knowledge", base + "/echo"));
        assertEquals("414", curl("--http2-prior-knowledge", base + "/" + "a".repeat(5000)));
        List<String> many = new ArrayList<>(List.of("--http2-prior-knowledge"));
        for (int i = 0; i < 101; i++) many.addAll(List.of("-H", "X-" + i + ": v"));
        many.add(base + "/echo");
        assertEquals("431", curl(many.toArray(new String[0])));
        assertEquals("431", curl("--http2-prior-knowledge", "-H", "X-A: " + "v".repeat(9000), base + "/echo"));
        assertEquals("413", curl("--http2-prior-knowledge", "--data-binary", "@-", base + "/echo"));
    }

    /** curl's status code for a request; bodies from "@-" are BODY_LIMIT + 1 bytes on its stdin. */
    private static String curl(String... args) {
        List<String> cmd = new ArrayList<>(List.of("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "20"));
        cmd.addAll(List.of(args));
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            try (var in = p.getOutputStream()) {
                if (cmd.contains("@-")) in.write(new byte[BODY_LIMIT + 1]);
            }
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            assertTrue(p.waitFor(30, TimeUnit.SECONDS));
            return out;
        } catch (IOException e) {
            throw new IllegalStateException("cannot run curl", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
