package jwsgi.apps;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.CookieManager;
import java.net.CookiePolicy;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import jwsgi.testing.Http;
import jwsgi.testing.RawHttp;
import jwsgi.testing.ServerProcess;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * jwsgi serves a real Flask 2.2 app ({@code src/test/python/apps/flaskapp.py}, loaded through its
 * {@code create_app()} factory, on four Python threads) over real HTTP: Jinja pages, JSON, form,
 * multipart (also behind {@code Expect: 100-continue}) and chunked request bodies, cookies,
 * signed sessions, redirects, streamed responses (and HEAD of them), send_file (and its 304),
 * and Flask's own 404 and 500 handling, including the traceback reaching the server's log. A second
 * server runs the same app inside wsgiref's validator to catch PEP 3333 violations on either side.
 */
class FlaskTest {
    private static ServerProcess server;

    @BeforeAll
    static void start() {
        // Several Python threads, as deployments run Flask, so request contexts must stay apart.
        server = ServerProcess.start("flaskapp:create_app()", "--threads", "4");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static String url(String path) {
        return server.url() + path;
    }

    /** A client of its own that keeps cookies like a browser and shows redirects instead of following them. */
    private static HttpClient browser() {
        return HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .cookieHandler(new CookieManager(null, CookiePolicy.ACCEPT_ALL))
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(Duration.ofSeconds(5))
                .build();
    }

    private static HttpResponse<String> get(HttpClient client, String path) {
        try {
            return client.send(HttpRequest.newBuilder(URI.create(url(path))).timeout(Duration.ofSeconds(30)).build(),
                    HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static String contentType(HttpResponse<?> r) {
        return r.headers().firstValue("Content-Type").orElse("");
    }

    private static String form(String... pairs) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < pairs.length; i += 2) {
            if (!b.isEmpty()) b.append('&');
            b.append(URLEncoder.encode(pairs[i], StandardCharsets.UTF_8)).append('=')
                    .append(URLEncoder.encode(pairs[i + 1], StandardCharsets.UTF_8));
        }
        return b.toString();
    }

    static String sha256(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A multipart/form-data body with one text field and one file, built by hand so nothing hides the bytes. */
    static byte[] multipart(String boundary, String field, String value, String fileField, String filename,
                            String fileType, byte[] content) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        String text = "--" + boundary + "\r\n"
                + "Content-Disposition: form-data; name=\"" + field + "\"\r\n\r\n"
                + value + "\r\n"
                + "--" + boundary + "\r\n"
                + "Content-Disposition: form-data; name=\"" + fileField + "\"; filename=\"" + filename + "\"\r\n"
                + "Content-Type: " + fileType + "\r\n\r\n";
        out.writeBytes(text.getBytes(StandardCharsets.UTF_8));
        out.writeBytes(content);
        out.writeBytes(("\r\n--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        return out.toByteArray();
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

    static byte[] randomBytes(int size, long seed) {
        byte[] data = new byte[size];
        new Random(seed).nextBytes(data);
        return data;
    }

    // ---- pages and JSON -------------------------------------------------------------------

    @Test
    void htmlPageIsRenderedFromAJinjaTemplateWithEscaping() {
        HttpResponse<String> r = Http.get(url("/?name=" + URLEncoder.encode("<b>Zoë</b>", StandardCharsets.UTF_8)));
        assertEquals(200, r.statusCode());
        assertEquals("text/html; charset=utf-8", contentType(r));
        assertTrue(r.body().contains("<title>jwsgi flask</title>"), r.body());
        assertTrue(r.body().contains("<h1>Hello, &lt;b&gt;Zoë&lt;/b&gt;!</h1>"), r.body());
        assertTrue(r.body().contains("<li>one</li><li>two</li><li>three</li>"), r.body());
        assertEquals(r.body().getBytes(StandardCharsets.UTF_8).length,
                Integer.parseInt(r.headers().firstValue("Content-Length").orElseThrow()));
    }

    @Test
    void jsonEndpointSeesTheRequestAsFlaskParsedIt() {
        HttpResponse<String> r = Http.get(url("/api/info?a=1&b=two%20words"));
        assertEquals(200, r.statusCode());
        assertEquals("application/json", contentType(r));
        JsonNode json = Http.json(r.body());
        assertEquals("flask", json.path("framework").asText());
        assertEquals("GET", json.path("method").asText());
        assertEquals("/api/info", json.path("path").asText());
        assertEquals("1", json.path("args").path("a").asText());
        assertEquals("two words", json.path("args").path("b").asText());
        assertEquals("127.0.0.1:" + server.port(), json.path("host").asText());
        assertEquals("http", json.path("scheme").asText());
        assertEquals("127.0.0.1", json.path("remote_addr").asText());
    }

    @Test
    void jsonRequestBodyIsParsed() {
        String body = "{\"name\":\"Zoë\",\"tags\":[1,2,3],\"nested\":{\"ok\":true}}";
        HttpResponse<String> r = Http.post(url("/api/echo"), body.getBytes(StandardCharsets.UTF_8), "application/json");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode json = Http.json(r.body());
        assertEquals(Http.json(body), json.path("received"));
        assertEquals("[\"name\",\"nested\",\"tags\"]", json.path("keys").toString());
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
    void urlEncodedFormIsParsed() {
        byte[] body = form("name", "Jürgen", "colour", "red", "colour", "green", "comment", "a b&c=d").getBytes(StandardCharsets.US_ASCII);
        HttpResponse<String> r = Http.post(url("/form"), body, "application/x-www-form-urlencoded");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode json = Http.json(r.body());
        assertEquals("Jürgen", json.path("name").asText());
        assertEquals("[\"red\",\"green\"]", json.path("colours").toString());
        assertEquals("a b&c=d", json.path("comment").asText());
    }

    @Test
    void multipartUploadOfSeveralMegabytesArrivesIntact() {
        byte[] file = randomBytes(3 * 1024 * 1024 + 17, 42);
        String boundary = "----jwsgi-flask-" + Long.toHexString(System.nanoTime());
        byte[] body = multipart(boundary, "description", "random bytes", "file", "data.bin", "application/octet-stream", file);
        HttpResponse<String> r = Http.post(url("/upload"), body, "multipart/form-data; boundary=" + boundary);
        assertEquals(200, r.statusCode(), r.body());
        JsonNode json = Http.json(r.body());
        assertEquals(file.length, json.path("size").asLong());
        assertEquals(sha256(file), json.path("sha256").asText());
        assertEquals("data.bin", json.path("filename").asText());
        assertEquals("application/octet-stream", json.path("content_type").asText());
        assertEquals("random bytes", json.path("description").asText());
    }

    @Test
    void uploadWithExpect100ContinueLikeCurlSendsIt() throws IOException {
        byte[] file = randomBytes(2 * 1024 * 1024, 7);
        String boundary = "curl-like-" + Long.toHexString(System.nanoTime());
        byte[] body = multipart(boundary, "description", "continued", "file", "c.bin", "application/octet-stream", file);
        try (RawHttp c = RawHttp.to(server)) {
            c.send("POST /upload HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: " + body.length
                    + "\r\nContent-Type: multipart/form-data; boundary=" + boundary + "\r\n\r\n");
            assertEquals(100, c.read().status(), "the body is only sent once the server asks for it");
            RawHttp.Response r = c.send(body).read();
            assertEquals(200, r.status(), r.text());
            JsonNode json = Http.json(r.text());
            assertEquals(file.length, json.path("size").asInt());
            assertEquals(sha256(file), json.path("sha256").asText());
            assertEquals("continued", json.path("description").asText());
        }
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

    // ---- cookies, sessions, redirects ---------------------------------------------------------

    @Test
    void cookieIsSetWithItsAttributesAndReadBack() {
        HttpClient client = browser();
        HttpResponse<String> set = get(client, "/cookies/set?flavour=ginger");
        assertEquals(200, set.statusCode());
        assertEquals("text/plain; charset=utf-8", contentType(set));
        assertEquals(List.of("flavour=ginger; HttpOnly; Path=/; SameSite=Lax"), set.headers().allValues("Set-Cookie"));

        HttpResponse<String> read = get(client, "/cookies/read");
        assertEquals(200, read.statusCode());
        assertEquals("ginger", Http.json(read.body()).path("cookies").path("flavour").asText());
    }

    @Test
    void severalCookiesInOneHeaderAreAllSeen() {
        HttpResponse<String> r = Http.send(HttpRequest.newBuilder(URI.create(url("/cookies/read")))
                .header("Cookie", "a=1; b=two; c=\"quoted value\"").build());
        JsonNode cookies = Http.json(r.body()).path("cookies");
        assertEquals("1", cookies.path("a").asText());
        assertEquals("two", cookies.path("b").asText());
        assertEquals("quoted value", cookies.path("c").asText());
    }

    @Test
    void sessionCounterIncreasesAcrossRequestsOfOneClientOnly() {
        HttpClient alice = browser();
        HttpResponse<String> first = get(alice, "/session");
        assertEquals(1, Http.json(first.body()).path("count").asInt());
        String cookie = first.headers().firstValue("Set-Cookie").orElseThrow();
        assertTrue(cookie.startsWith("session=") && cookie.contains("HttpOnly"), cookie);
        assertEquals(2, Http.json(get(alice, "/session").body()).path("count").asInt());
        assertEquals(3, Http.json(get(alice, "/session").body()).path("count").asInt());

        assertEquals(1, Http.json(get(browser(), "/session").body()).path("count").asInt(), "a new client has a new session");
        assertEquals(4, Http.json(get(alice, "/session").body()).path("count").asInt());
    }

    @Test
    void tamperedSessionCookieIsIgnored() {
        HttpResponse<String> r = Http.send(HttpRequest.newBuilder(URI.create(url("/session")))
                .header("Cookie", "session=eyJjb3VudCI6OTl9.forged.signature").build());
        assertEquals(1, Http.json(r.body()).path("count").asInt(), "a forged {\"count\":99} must not be trusted");
    }

    @Test
    void redirectNamesTheTargetInLocation() {
        HttpResponse<String> r = get(browser(), "/redirect");
        assertEquals(302, r.statusCode());
        assertEquals("/?name=redirected", r.headers().firstValue("Location").orElse(null));

        HttpClient following = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .followRedirects(HttpClient.Redirect.NORMAL).build();
        HttpResponse<String> followed = get(following, "/redirect");
        assertEquals(200, followed.statusCode());
        assertEquals("/", followed.uri().getPath());
        assertTrue(followed.body().contains("<h1>Hello, redirected!</h1>"), followed.body());
    }

    // ---- streamed and file responses ----------------------------------------------------------

    private static String expectedStream(int n) {
        return IntStream.range(0, n).mapToObj(i -> "chunk " + i + " of " + n + "\n").collect(Collectors.joining());
    }

    @Test
    void streamedResponseArrivesWhole() {
        HttpResponse<String> r = Http.get(url("/stream?n=200"));
        assertEquals(200, r.statusCode());
        assertEquals("text/plain; charset=utf-8", contentType(r));
        assertEquals(expectedStream(200), r.body());
    }

    @Test
    void streamedResponseIsChunkedOnHttp11AndCloseDelimitedOnHttp10() throws IOException {
        try (RawHttp c = RawHttp.to(server)) {
            RawHttp.Response r = c.send("GET /stream?n=7 HTTP/1.1\r\nHost: t\r\n\r\n").read();
            assertEquals(200, r.status());
            assertEquals("chunked", r.framing(), "no length is known in advance: " + r.headers());
            assertNull(r.header("Content-Length"));
            assertEquals(expectedStream(7), r.text());
            // The connection stays usable after the terminating chunk.
            RawHttp.Response again = c.send("GET /stream?n=3 HTTP/1.1\r\nHost: t\r\n\r\n").read();
            assertEquals(expectedStream(3), again.text());
        }
        try (RawHttp c = RawHttp.to(server)) {
            RawHttp.Response r = c.send("GET /stream?n=7 HTTP/1.0\r\n\r\n").read();
            assertEquals(200, r.status());
            assertEquals("close", r.framing(), "HTTP/1.0 has no chunked encoding: " + r.headers());
            assertEquals(expectedStream(7), r.text());
        }
    }

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

    // ---- concurrency ----------------------------------------------------------------------

    @Test
    void concurrentClientsKeepTheirOwnRequestsAndSessions() {
        try (ExecutorService pool = Executors.newFixedThreadPool(8)) {
            List<CompletableFuture<List<Integer>>> clients = IntStream.range(0, 8)
                    .mapToObj(i -> CompletableFuture.supplyAsync(() -> sessionCountsOfOneClient(i), pool))
                    .toList();
            List<Integer> expected = IntStream.rangeClosed(1, 10).boxed().toList();
            for (CompletableFuture<List<Integer>> client : clients) {
                assertEquals(expected, client.join(), "each client's session counts 1..10 on its own");
            }
        }
    }

    /** Ten requests of one client, each checked to be its own; returns the session counts seen. */
    private static List<Integer> sessionCountsOfOneClient(int id) {
        HttpClient client = browser();
        List<Integer> counts = new ArrayList<>();
        for (int n = 0; n < 10; n++) {
            JsonNode args = Http.json(get(client, "/api/info?client=" + id + "&n=" + n).body()).path("args");
            assertEquals(id + "/" + n, args.path("client").asText() + "/" + args.path("n").asText());
            counts.add(Http.json(get(client, "/session").body()).path("count").asInt());
        }
        return counts;
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

    @Test
    void serverKeepsServingAfterA500() throws IOException {
        try (RawHttp c = RawHttp.to(server)) {
            assertEquals(500, c.send("GET /boom HTTP/1.1\r\nHost: t\r\n\r\n").read().status());
            RawHttp.Response next = c.send("GET /api/info HTTP/1.1\r\nHost: t\r\n\r\n").read();
            assertEquals(200, next.status(), "the same connection serves the next request");
            assertEquals("/api/info", Http.json(next.text()).path("path").asText());
        }
        assertEquals(200, Http.get(url("/")).statusCode());
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

            String log = validated.output();
            assertFalse(log.contains("AssertionError"), log);
            assertFalse(log.contains("Error handling request"), log);
            assertFalse(log.contains("WSGIWarning"), log);
        }
    }
}
