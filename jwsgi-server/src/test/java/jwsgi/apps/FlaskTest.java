package jwsgi.apps;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;

import jwsgi.testing.Http;
import jwsgi.testing.RawHttp;
import jwsgi.testing.ServerProcess;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * jwsgi serves a real Flask 2.2 app ({@code jwsgi-core/src/test/python/apps/flaskapp.py}, loaded through its
 * {@code create_app()} factory, on four Python threads) over real HTTP: Jinja pages, JSON, form,
 * multipart (also behind {@code Expect: 100-continue}) and chunked request bodies, cookies,
 * signed sessions, redirects, streamed responses (and HEAD of them), send_file (and its 304),
 * and Flask's own 404 and 500 handling, including the traceback reaching the server's log. A second
 * server runs the same app inside wsgiref's validator to catch PEP 3333 violations on either side.
 * The cases every framework shares are in {@link FrameworkAppTest}.
 */
class FlaskTest extends FrameworkAppTest {
    FlaskTest() {
        super(new Conventions("flask", "text/plain; charset=utf-8", "session", "eyJjb3VudCI6OTl9.forged.signature"));
    }

    @Override
    ServerProcess startServer() {
        // Several Python threads, as deployments run Flask, so request contexts must stay apart.
        return ServerProcess.start("flaskapp:create_app()", "--threads", "4");
    }

    /** The body as HTTP/1.1 chunks of {@code chunkSize} bytes, with the last-chunk marker. */
    static byte[] chunked(byte[] body, int chunkSize) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < body.length; i += chunkSize) {
            int n = Math.min(chunkSize, body.length - i);
            out.writeBytes((Integer.toHexString(n) + "\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(body, i, n);
            out.writeBytes("\r\n".getBytes(StandardCharsets.US_ASCII));
        }
        out.writeBytes("0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        return out.toByteArray();
    }

    // ---- pages ----------------------------------------------------------------------------

    @Test
    void htmlPageIsRenderedFromAJinjaTemplateWithEscaping() {
        HttpResponse<String> r = Http.get(url("/?name=" + enc("<b>Zoë</b>")));
        assertEquals(200, r.statusCode());
        assertEquals("text/html; charset=utf-8", contentType(r));
        assertTrue(r.body().contains("<title>jwsgi flask</title>"), r.body());
        assertTrue(r.body().contains("<h1>Hello, &lt;b&gt;Zoë&lt;/b&gt;!</h1>"), r.body());
        assertTrue(r.body().contains("<li>one</li><li>two</li><li>three</li>"), r.body());
        assertEquals(r.body().getBytes(StandardCharsets.UTF_8).length,
                Integer.parseInt(r.headers().firstValue("Content-Length").orElseThrow()));
    }

    @Test
    void headRequestGetsTheHeadersWithoutABody() throws IOException {
        try (RawHttp c = RawHttp.to(server)) {
            RawHttp.Response head = c.send("HEAD / HTTP/1.1\r\nHost: t\r\n\r\n").read(true);
            assertEquals(200, head.status());
            assertTrue(Integer.parseInt(head.header("Content-Length")) > 100, head.headers().toString());
            // Had a body been sent, it would be read here as the next response's status line.
            RawHttp.Response next = c.send("GET /api/info HTTP/1.1\r\nHost: t\r\n\r\n").read();
            assertEquals(200, next.status());
            assertEquals("flask", Http.json(next.text()).path("framework").asText());
        }
    }

    // ---- request bodies -------------------------------------------------------------------

    @Test
    void multipartUploadOfSeveralMegabytesArrivesIntact() {
        uploadSeveralMegabytes(randomBytes(3 * 1024 * 1024 + 17, 42));
    }

    @Test
    void chunkedRequestBodiesAreReadWhole() throws IOException {
        // 10 kB is buffered before the app runs; 2 MB is past the buffered limit and streamed to it.
        for (int size : new int[] {10_000, 2 * 1024 * 1024}) {
            byte[] body = randomBytes(size, size);
            try (RawHttp c = RawHttp.to(server)) {
                c.send("POST /raw HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\n"
                        + "Transfer-Encoding: chunked\r\n\r\n");
                c.send(chunked(body, 7919));
                RawHttp.Response r = c.read();
                assertEquals(200, r.status(), r.text());
                JsonNode json = Http.json(r.text());
                assertEquals(size, json.path("size").asInt(), "size of a chunked body of " + size);
                assertEquals(sha256(body), json.path("sha256").asText());
                assertEquals("chunked", json.path("transfer_encoding").asText());
            }
        }
    }

    // ---- file responses -----------------------------------------------------------------------

    @Test
    void sendFileServesTheFileExactly() throws IOException {
        byte[] expected = Files.readAllBytes(ServerProcess.APPS.resolve("flaskapp.py"));
        HttpResponse<byte[]> r;
        try {
            r = Http.client().send(HttpRequest.newBuilder(URI.create(url("/source"))).build(), HttpResponse.BodyHandlers.ofByteArray());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
        assertEquals(200, r.statusCode());
        assertTrue(contentType(r).startsWith("text/x-python"), contentType(r));
        assertEquals(Long.toString(expected.length), r.headers().firstValue("Content-Length").orElse(null));
        assertArrayEquals(expected, r.body());
    }

    @Test
    void headOfAStreamedResponseDoesNotClaimAnEmptyBody() throws IOException {
        // Werkzeug answers HEAD with GET's headers and an empty body. A streamed response has no
        // Content-Length, and RFC 9110 8.6 forbids sending one other than what GET would send.
        try (RawHttp c = RawHttp.to(server)) {
            RawHttp.Response get = c.send("GET /stream?n=7 HTTP/1.1\r\nHost: t\r\n\r\n").read();
            RawHttp.Response head = c.send("HEAD /stream?n=7 HTTP/1.1\r\nHost: t\r\n\r\n").read(true);
            assertEquals(200, head.status());
            String length = head.header("Content-Length");
            assertTrue(length == null || length.equals(Integer.toString(get.body().length)),
                    "HEAD says Content-Length: " + length + " but GET sends " + get.body().length + " bytes; " + head.headers());
            RawHttp.Response next = c.send("GET /stream?n=2 HTTP/1.1\r\nHost: t\r\n\r\n").read();
            assertEquals(expectedStream(2), next.text(), "no stray body bytes after the HEAD response");
        }
    }

    @Test
    void conditionalGetOfAFileIs304WithoutABodyOrAFalseLength() throws IOException {
        HttpResponse<String> full = Http.get(url("/source"));
        String etag = full.headers().firstValue("ETag").orElseThrow();
        String fullLength = full.headers().firstValue("Content-Length").orElseThrow();
        try (RawHttp c = RawHttp.to(server)) {
            RawHttp.Response r = c.send("GET /source HTTP/1.1\r\nHost: t\r\nIf-None-Match: " + etag + "\r\n\r\n").read();
            assertEquals(304, r.status());
            assertEquals(etag, r.header("ETag"));
            // Werkzeug drops Content-Length from a 304; RFC 9110 8.6 allows only the 200's length there.
            String length = r.header("Content-Length");
            assertTrue(length == null || length.equals(fullLength),
                    "304 says Content-Length: " + length + " but the file is " + fullLength + " bytes; " + r.headers());
            RawHttp.Response next = c.send("GET /api/info HTTP/1.1\r\nHost: t\r\n\r\n").read();
            assertEquals(200, next.status(), "no body bytes followed the 304");
        }
    }

    // ---- errors ---------------------------------------------------------------------------

    @Test
    void abortAndUnknownRoutesGiveFlasks404Page() {
        assertEquals(200, Http.get(url("/items/1")).statusCode());
        for (String path : new String[] {"/items/99", "/no/such/route"}) {
            HttpResponse<String> r = Http.get(url(path));
            assertEquals(404, r.statusCode(), path);
            assertEquals("text/html; charset=utf-8", contentType(r), path);
            assertTrue(r.body().contains("<title>404 Not Found</title>"), r.body());
        }
    }

    @Test
    void wrongMethodIs405WithAllow() {
        HttpResponse<String> r = Http.post(url("/session"), new byte[0], "text/plain");
        assertEquals(405, r.statusCode());
        assertTrue(r.headers().firstValue("Allow").orElse("").contains("GET"), r.headers().toString());
    }

    @Test
    void raisingRouteGivesFlasks500PageAndItsTracebackIsLogged() {
        HttpResponse<String> r = Http.get(url("/boom"));
        assertEquals(500, r.statusCode());
        assertEquals("text/html; charset=utf-8", contentType(r));
        assertTrue(r.body().contains("<title>500 Internal Server Error</title>"), r.body());
        assertFalse(r.body().contains("flask boom"), "the exception must not leak to the client");

        // Flask logs through its default handler into wsgi.errors, which is the server's error log.
        assertTrue(server.awaitOutput("RuntimeError: flask boom for the jwsgi test", Duration.ofSeconds(10)), server.output());
        String log = server.output();
        assertTrue(log.contains("] [ERROR] [") && log.contains("ERROR in app: Exception on /boom [GET]"), log);
        assertTrue(log.contains("Traceback (most recent call last):"), log);
        assertTrue(log.contains("flaskapp.py\", line"), log);
    }

    // ---- PEP 3333 conformance -----------------------------------------------------------------

    @Test
    void wsgirefValidatorFindsNoViolation() {
        try (ServerProcess validated = ServerProcess.start("validated_flask:application")) {
            String base = validated.url();
            HttpResponse<String> page = Http.get(base + "/?name=v");
            assertEquals(200, page.statusCode(), page.body());
            assertTrue(page.body().contains("Hello, v!"), page.body());

            HttpResponse<String> form = Http.post(base + "/form", form("name", "v", "colour", "blue").getBytes(StandardCharsets.US_ASCII),
                    "application/x-www-form-urlencoded");
            assertEquals(200, form.statusCode(), form.body());
            assertEquals("v", Http.json(form.body()).path("name").asText());

            HttpResponse<String> json = Http.get(base + "/api/info?x=1");
            assertEquals(200, json.statusCode(), json.body());
            assertEquals("1", Http.json(json.body()).path("args").path("x").asText());

            HttpResponse<String> stream = Http.get(base + "/stream?n=4");
            assertEquals(200, stream.statusCode(), stream.body());
            assertEquals(expectedStream(4), stream.body());

            assertValidatorQuiet(validated);
        }
    }
}
