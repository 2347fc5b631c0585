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
import org.junit.jupiter.api.TestInstance;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What every real framework app must get right on jwsgi, whatever the framework: the test apps
 * (Flask's {@code flaskapp.py}, Django's {@code djangosite}) have the same routes on purpose,
 * so the cases that do not depend on the framework's own conventions are written once here.
 * A subclass starts its app on one server for the class and names what its framework does
 * its own way (content types, session cookies); its own cases cover the rest.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class FrameworkAppTest {
    /**
     * What a framework does its own way.
     *
     * @param name          what the app's /api/info reports as its framework
     * @param plainTextType the Content-Type of its plain-text responses
     * @param sessionCookie the name of its session cookie
     * @param forgedSession a session cookie value that says {"count": 99} with a signature it must refuse
     */
    record Conventions(String name, String plainTextType, String sessionCookie, String forgedSession) {}

    private final Conventions framework;
    ServerProcess server;

    FrameworkAppTest(Conventions framework) {
        this.framework = framework;
    }

    /** Starts the app under test; it is stopped after the class. */
    abstract ServerProcess startServer();

    @BeforeAll
    void start() {
        server = startServer();
    }

    @AfterAll
    void stop() {
        server.close();
    }

    String url(String path) {
        return server.url() + path;
    }

    /** A client of its own that keeps cookies like a browser and shows redirects instead of following them. */
    static HttpClient browser() {
        return HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .cookieHandler(new CookieManager(null, CookiePolicy.ACCEPT_ALL))
                .followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(Duration.ofSeconds(5))
                .build();
    }

    static HttpResponse<String> send(HttpClient client, HttpRequest request) {
        try {
            return client.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    HttpResponse<String> get(HttpClient client, String path) {
        return send(client, HttpRequest.newBuilder(URI.create(url(path))).timeout(Duration.ofSeconds(30)).build());
    }

    static String contentType(HttpResponse<?> r) {
        return r.headers().firstValue("Content-Type").orElse("");
    }

    /** An application/x-www-form-urlencoded body of name, value pairs. */
    static String form(String... pairs) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < pairs.length; i += 2) {
            if (!b.isEmpty()) b.append('&');
            b.append(enc(pairs[i])).append('=').append(enc(pairs[i + 1]));
        }
        return b.toString();
    }

    static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
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

    static byte[] randomBytes(int size, long seed) {
        byte[] data = new byte[size];
        new Random(seed).nextBytes(data);
        return data;
    }

    /** What the app's /stream?n= sends. */
    static String expectedStream(int n) {
        return IntStream.range(0, n).mapToObj(i -> "chunk " + i + " of " + n + "\n").collect(Collectors.joining());
    }

    /** Posts a multipart upload of {@code file} to /upload; returns what the app says it received, checked against the file. */
    JsonNode uploadSeveralMegabytes(byte[] file) {
        String boundary = "----jwsgi-" + framework.name() + "-" + Long.toHexString(System.nanoTime());
        byte[] body = multipart(boundary, "description", "random bytes", "file", "data.bin", "application/octet-stream", file);
        HttpResponse<String> r = Http.post(url("/upload"), body, "multipart/form-data; boundary=" + boundary);
        assertEquals(200, r.statusCode(), r.body());
        JsonNode json = Http.json(r.body());
        assertEquals(file.length, json.path("size").asLong());
        assertEquals(sha256(file), json.path("sha256").asText());
        assertEquals("data.bin", json.path("filename").asText());
        assertEquals("application/octet-stream", json.path("content_type").asText());
        assertEquals("random bytes", json.path("description").asText());
        return json;
    }

    /** The validator's server output says nothing of a PEP 3333 violation nor of a failed request. */
    static void assertValidatorQuiet(ServerProcess validated) {
        String log = validated.output();
        assertFalse(log.contains("AssertionError"), log);
        assertFalse(log.contains("Error handling request"), log);
        assertFalse(log.contains("WSGIWarning"), log);
    }

    // ---- JSON -----------------------------------------------------------------------------

    @Test
    void jsonEndpointSeesTheRequestAsTheFrameworkParsedIt() {
        HttpResponse<String> r = Http.get(url("/api/info?a=1&b=two%20words"));
        assertEquals(200, r.statusCode());
        assertEquals("application/json", contentType(r));
        JsonNode json = Http.json(r.body());
        assertEquals(framework.name(), json.path("framework").asText());
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

    // ---- cookies, sessions, redirects ---------------------------------------------------------

    @Test
    void cookieIsSetWithItsAttributesAndReadBack() {
        HttpClient client = browser();
        HttpResponse<String> set = get(client, "/cookies/set?flavour=ginger");
        assertEquals(200, set.statusCode());
        assertEquals(framework.plainTextType(), contentType(set));
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
        assertTrue(cookie.startsWith(framework.sessionCookie() + "=") && cookie.contains("HttpOnly"), cookie);
        assertEquals(2, Http.json(get(alice, "/session").body()).path("count").asInt());
        assertEquals(3, Http.json(get(alice, "/session").body()).path("count").asInt());

        assertEquals(1, Http.json(get(browser(), "/session").body()).path("count").asInt(), "a new client has a new session");
        assertEquals(4, Http.json(get(alice, "/session").body()).path("count").asInt());
    }

    @Test
    void tamperedSessionCookieIsIgnored() {
        HttpResponse<String> r = Http.send(HttpRequest.newBuilder(URI.create(url("/session")))
                .header("Cookie", framework.sessionCookie() + "=" + framework.forgedSession()).build());
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

    // ---- streamed responses -------------------------------------------------------------------

    @Test
    void streamedResponseArrivesWhole() {
        HttpResponse<String> r = Http.get(url("/stream?n=200"));
        assertEquals(200, r.statusCode());
        assertEquals(framework.plainTextType(), contentType(r));
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
    private List<Integer> sessionCountsOfOneClient(int id) {
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
    void serverKeepsServingAfterA500() throws IOException {
        try (RawHttp c = RawHttp.to(server)) {
            assertEquals(500, c.send("GET /boom HTTP/1.1\r\nHost: t\r\n\r\n").read().status());
            RawHttp.Response next = c.send("GET /api/info HTTP/1.1\r\nHost: t\r\n\r\n").read();
            assertEquals(200, next.status(), "the same connection serves the next request");
            assertEquals("/api/info", Http.json(next.text()).path("path").asText());
        }
        assertEquals(200, Http.get(url("/")).statusCode());
    }
}
