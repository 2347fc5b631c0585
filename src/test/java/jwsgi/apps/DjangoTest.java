package jwsgi.apps;

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
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import jwsgi.testing.Http;
import jwsgi.testing.RawHttp;
import jwsgi.testing.ServerProcess;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static jwsgi.apps.FlaskTest.multipart;
import static jwsgi.apps.FlaskTest.randomBytes;
import static jwsgi.apps.FlaskTest.sha256;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * jwsgi serves a real Django 3.2 project ({@code src/test/python/apps/djangosite}, loaded as
 * {@code djangosite.wsgi:application} exactly as a deployment would, on four Python threads) over
 * real HTTP, with DEBUG off: templates, JSON, form and multipart bodies (a large upload goes
 * through Django's temporary-file handler, also behind {@code Expect: 100-continue}), cookies,
 * signed-cookie sessions, CSRF protection, redirects,
 * StreamingHttpResponse, FileResponse through wsgi.file_wrapper, and Django's own 404 and 500
 * handling with the traceback in the server's output. A second server runs the project inside
 * wsgiref's validator to catch PEP 3333 violations on either side.
 */
class DjangoTest {
    private static final Pattern CSRF_INPUT = Pattern.compile("name=\"csrfmiddlewaretoken\" value=\"([^\"]+)\"");
    private static ServerProcess server;

    @BeforeAll
    static void start() {
        // Several Python threads, as deployments run Django, so requests must stay apart.
        server = ServerProcess.start("djangosite.wsgi:application", "--threads", "4");
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

    private static HttpResponse<String> send(HttpClient client, HttpRequest request) {
        try {
            return client.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static HttpResponse<String> get(HttpClient client, String path) {
        return send(client, HttpRequest.newBuilder(URI.create(url(path))).timeout(Duration.ofSeconds(30)).build());
    }

    private static HttpRequest.Builder postForm(String path, String body) {
        return HttpRequest.newBuilder(URI.create(url(path))).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(body));
    }

    private static String contentType(HttpResponse<?> r) {
        return r.headers().firstValue("Content-Type").orElse("");
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static String csrfTokenIn(String html) {
        Matcher m = CSRF_INPUT.matcher(html);
        assertTrue(m.find(), "no csrf token input in: " + html);
        return m.group(1);
    }

    // ---- pages and JSON -------------------------------------------------------------------

    @Test
    void htmlPageIsRenderedFromADjangoTemplateWithEscaping() {
        HttpResponse<String> r = Http.get(url("/?name=" + enc("<b>Zoë</b>")));
        assertEquals(200, r.statusCode());
        assertEquals("text/html; charset=utf-8", contentType(r));
        assertTrue(r.body().contains("<title>jwsgi django</title>"), r.body());
        assertTrue(r.body().contains("<h1>Hello, &lt;b&gt;Zoë&lt;/b&gt;!</h1>"), r.body());
        assertTrue(r.body().contains("<li>one</li><li>two</li><li>three</li>"), r.body());
        assertTrue(r.body().contains("<p>GET /</p>"), "request.method and request.path from the environ: " + r.body());
    }

    @Test
    void jsonEndpointSeesTheRequestAsDjangoParsedIt() {
        HttpResponse<String> r = Http.get(url("/api/info?a=1&b=two%20words"));
        assertEquals(200, r.statusCode());
        assertEquals("application/json", contentType(r));
        JsonNode json = Http.json(r.body());
        assertEquals("django", json.path("framework").asText());
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
        String body = "name=" + enc("Jürgen") + "&colour=red&colour=green&comment=" + enc("a b&c=d");
        HttpResponse<String> r = Http.post(url("/form"), body.getBytes(StandardCharsets.US_ASCII), "application/x-www-form-urlencoded");
        assertEquals(200, r.statusCode(), r.body());
        JsonNode json = Http.json(r.body());
        assertEquals("Jürgen", json.path("name").asText());
        assertEquals("[\"red\",\"green\"]", json.path("colours").toString());
        assertEquals("a b&c=d", json.path("comment").asText());
    }

    @Test
    void multipartUploadOfSeveralMegabytesArrivesIntact() {
        byte[] file = randomBytes(3 * 1024 * 1024 + 17, 43);
        String boundary = "----jwsgi-django-" + Long.toHexString(System.nanoTime());
        byte[] body = multipart(boundary, "description", "random bytes", "file", "data.bin", "application/octet-stream", file);
        HttpResponse<String> r = Http.post(url("/upload"), body, "multipart/form-data; boundary=" + boundary);
        assertEquals(200, r.statusCode(), r.body());
        JsonNode json = Http.json(r.body());
        assertEquals(file.length, json.path("size").asLong());
        assertEquals(sha256(file), json.path("sha256").asText());
        assertEquals("data.bin", json.path("filename").asText());
        assertEquals("application/octet-stream", json.path("content_type").asText());
        assertEquals("random bytes", json.path("description").asText());
        // Past FILE_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) Django spools the file to disk while reading wsgi.input.
        assertEquals("TemporaryUploadedFile", json.path("handler").asText());
    }

    @Test
    void smallMultipartUploadStaysInMemory() {
        byte[] file = randomBytes(1000, 44);
        String boundary = "small-" + Long.toHexString(System.nanoTime());
        byte[] body = multipart(boundary, "description", "ä small one", "file", "small.bin", "application/x-test", file);
        HttpResponse<String> r = Http.post(url("/upload"), body, "multipart/form-data; boundary=" + boundary);
        assertEquals(200, r.statusCode(), r.body());
        JsonNode json = Http.json(r.body());
        assertEquals(1000, json.path("size").asInt());
        assertEquals(sha256(file), json.path("sha256").asText());
        assertEquals("ä small one", json.path("description").asText());
        assertEquals("InMemoryUploadedFile", json.path("handler").asText());
    }

    @Test
    void uploadWithExpect100ContinueLikeCurlSendsIt() throws IOException {
        byte[] file = randomBytes(2 * 1024 * 1024, 8);
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

    // ---- CSRF -----------------------------------------------------------------------------

    @Test
    void csrfProtectedFormAcceptsAPostWithTheToken() {
        HttpClient client = browser();
        HttpResponse<String> page = get(client, "/csrf");
        assertEquals(200, page.statusCode());
        assertTrue(page.headers().allValues("Set-Cookie").stream().anyMatch(c -> c.startsWith("csrftoken=")),
                page.headers().toString());
        String token = csrfTokenIn(page.body());

        HttpResponse<String> post = send(client, postForm("/csrf", "csrfmiddlewaretoken=" + enc(token) + "&message=" + enc("hi <there>")).build());
        assertEquals(200, post.statusCode(), post.body());
        assertTrue(post.body().contains("<p id=\"message\">hi &lt;there&gt;</p>"), post.body());

        // The X-CSRFToken header is what JavaScript clients send instead of the form field.
        HttpResponse<String> ajax = send(client, postForm("/csrf", "message=ajax").header("X-CSRFToken", token).build());
        assertEquals(200, ajax.statusCode(), ajax.body());
        assertTrue(ajax.body().contains("<p id=\"message\">ajax</p>"), ajax.body());
    }

    @Test
    void csrfProtectedFormRejectsAPostWithoutTheToken() {
        HttpClient client = browser();
        assertEquals(200, get(client, "/csrf").statusCode());  // has the cookie, but will not send the token
        HttpResponse<String> noToken = send(client, postForm("/csrf", "message=forged").build());
        assertEquals(403, noToken.statusCode());
        assertTrue(noToken.body().contains("CSRF verification failed"), noToken.body());
        assertFalse(noToken.body().contains("forged"), noToken.body());

        HttpResponse<String> wrongToken = send(client, postForm("/csrf", "csrfmiddlewaretoken=" + "x".repeat(64) + "&message=forged").build());
        assertEquals(403, wrongToken.statusCode());

        HttpResponse<String> noCookie = send(browser(), postForm("/csrf", "message=forged").build());
        assertEquals(403, noCookie.statusCode());
        assertTrue(noCookie.body().contains("CSRF verification failed"), noCookie.body());
    }

    // ---- cookies, sessions, redirects ---------------------------------------------------------

    @Test
    void cookieIsSetWithItsAttributesAndReadBack() {
        HttpClient client = browser();
        HttpResponse<String> set = get(client, "/cookies/set?flavour=cardamom");
        assertEquals(200, set.statusCode());
        assertEquals("text/plain", contentType(set));
        assertEquals(List.of("flavour=cardamom; HttpOnly; Path=/; SameSite=Lax"), set.headers().allValues("Set-Cookie"));

        HttpResponse<String> read = get(client, "/cookies/read");
        assertEquals(200, read.statusCode());
        assertEquals("cardamom", Http.json(read.body()).path("cookies").path("flavour").asText());
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
        assertTrue(cookie.startsWith("sessionid=") && cookie.contains("HttpOnly"), cookie);
        assertEquals(2, Http.json(get(alice, "/session").body()).path("count").asInt());
        assertEquals(3, Http.json(get(alice, "/session").body()).path("count").asInt());

        assertEquals(1, Http.json(get(browser(), "/session").body()).path("count").asInt(), "a new client has a new session");
        assertEquals(4, Http.json(get(alice, "/session").body()).path("count").asInt());
    }

    @Test
    void tamperedSessionCookieIsIgnored() {
        HttpResponse<String> r = Http.send(HttpRequest.newBuilder(URI.create(url("/session")))
                .header("Cookie", "sessionid=eyJjb3VudCI6OTl9:forged:signature").build());
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
    void streamingHttpResponseArrivesWhole() {
        HttpResponse<String> r = Http.get(url("/stream?n=200"));
        assertEquals(200, r.statusCode());
        assertEquals("text/plain", contentType(r));
        assertEquals(expectedStream(200), r.body());
    }

    @Test
    void streamingHttpResponseIsChunkedOnHttp11AndCloseDelimitedOnHttp10() throws IOException {
        try (RawHttp c = RawHttp.to(server)) {
            RawHttp.Response r = c.send("GET /stream?n=7 HTTP/1.1\r\nHost: t\r\n\r\n").read();
            assertEquals(200, r.status());
            assertEquals("chunked", r.framing(), "no length is known in advance: " + r.headers());
            assertNull(r.header("Content-Length"));
            assertEquals(expectedStream(7), r.text());
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
    void fileResponseServesTheFileExactly() throws IOException, InterruptedException {
        byte[] expected = Files.readAllBytes(ServerProcess.APPS.resolve("djangosite/views.py"));
        HttpResponse<byte[]> r = Http.client().send(HttpRequest.newBuilder(URI.create(url("/source"))).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, r.statusCode());
        assertEquals("text/x-python", contentType(r));
        assertEquals(Long.toString(expected.length), r.headers().firstValue("Content-Length").orElse(null));
        assertArrayEquals(expected, r.body());
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
    void http404AndUnknownRoutesGiveDjangos404Page() {
        assertEquals(200, Http.get(url("/items/1")).statusCode());
        for (String path : new String[] {"/items/99", "/no/such/route"}) {
            HttpResponse<String> r = Http.get(url(path));
            assertEquals(404, r.statusCode(), path);
            assertEquals("text/html", contentType(r), path);
            assertTrue(r.body().contains("<h1>Not Found</h1>"), r.body());
            assertFalse(r.body().contains("no such item"), "DEBUG is off: the message stays on the server");
        }
    }

    @Test
    void wrongMethodIs405WithAllow() {
        HttpResponse<String> r = Http.get(url("/form"));
        assertEquals(405, r.statusCode());
        assertEquals("POST", r.headers().firstValue("Allow").orElse(null));
    }

    @Test
    void raisingViewGivesDjangos500PageAndItsTracebackIsLogged() {
        HttpResponse<String> r = Http.get(url("/boom"));
        assertEquals(500, r.statusCode());
        assertEquals("text/html", contentType(r));
        assertTrue(r.body().contains("<h1>Server Error (500)</h1>"), r.body());
        assertFalse(r.body().contains("django boom"), "DEBUG is off: the exception must not leak to the client");

        // Django's handler catches the exception, so jwsgi sees a normal 500; the traceback comes
        // from the project's LOGGING (django.request to stderr), which the server process passes on.
        assertTrue(server.awaitOutput("RuntimeError: django boom for the jwsgi test", Duration.ofSeconds(10)), server.output());
        String log = server.output();
        assertTrue(log.contains("django ERROR django.request: Internal Server Error: /boom"), log);
        assertTrue(log.contains("Traceback (most recent call last):"), log);
        assertTrue(log.contains("djangosite/views.py\", line"), log);
        assertFalse(log.contains("Error handling request GET /boom"), "jwsgi itself saw no error: " + log);
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
        try (ServerProcess validated = ServerProcess.start("djangosite.validated:application")) {
            String base = validated.url();
            HttpResponse<String> page = Http.get(base + "/?name=v");
            assertEquals(200, page.statusCode(), page.body());
            assertTrue(page.body().contains("Hello, v!"), page.body());

            HttpResponse<String> form = Http.post(base + "/form", "name=v&colour=blue".getBytes(StandardCharsets.US_ASCII),
                    "application/x-www-form-urlencoded");
            assertEquals(200, form.statusCode(), form.body());
            assertEquals("v", Http.json(form.body()).path("name").asText());

            HttpResponse<String> json = Http.post(base + "/api/echo", "{\"k\":[1,2]}".getBytes(StandardCharsets.UTF_8), "application/json");
            assertEquals(200, json.statusCode(), json.body());
            assertEquals("[1,2]", Http.json(json.body()).path("received").path("k").toString());

            HttpResponse<String> stream = Http.get(base + "/stream?n=4");
            assertEquals(200, stream.statusCode(), stream.body());
            assertEquals(expectedStream(4), stream.body());

            HttpResponse<String> missing = Http.get(base + "/no/such/route");
            assertEquals(404, missing.statusCode(), missing.body());
            assertNotEquals(-1, missing.body().indexOf("Not Found"));

            String log = validated.output();
            assertFalse(log.contains("AssertionError"), log);
            assertFalse(log.contains("Error handling request"), log);
            assertFalse(log.contains("WSGIWarning"), log);
        }
    }
}
