package jwsgi.apps;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jwsgi.testing.Http;
import jwsgi.testing.ServerProcess;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * jwsgi serves a real Django 3.2 project ({@code jwsgi-core/src/test/python/apps/djangosite}, loaded as
 * {@code djangosite.wsgi:application} exactly as a deployment would, on four Python threads) over
 * real HTTP, with DEBUG off: templates, JSON, form and multipart bodies (a large upload goes
 * through Django's temporary-file handler, also behind {@code Expect: 100-continue}), cookies,
 * signed-cookie sessions, CSRF protection, redirects,
 * StreamingHttpResponse, FileResponse through wsgi.file_wrapper, and Django's own 404 and 500
 * handling with the traceback in the server's output. A second server runs the project inside
 * wsgiref's validator to catch PEP 3333 violations on either side. The cases every framework
 * shares are in {@link FrameworkAppTest}.
 */
class DjangoTest extends FrameworkAppTest {
    private static final Pattern CSRF_INPUT = Pattern.compile("name=\"csrfmiddlewaretoken\" value=\"([^\"]+)\"");

    DjangoTest() {
        super(new Conventions("django", "text/plain", "sessionid", "eyJjb3VudCI6OTl9:forged:signature"));
    }

    @Override
    ServerProcess startServer() {
        // Several Python threads, as deployments run Django, so requests must stay apart.
        return ServerProcess.start("djangosite.wsgi:application", "--threads", "4");
    }

    private HttpRequest.Builder postForm(String path, String body) {
        return HttpRequest.newBuilder(URI.create(url(path))).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(body));
    }

    private static String csrfTokenIn(String html) {
        Matcher m = CSRF_INPUT.matcher(html);
        assertTrue(m.find(), "no csrf token input in: " + html);
        return m.group(1);
    }

    // ---- pages ----------------------------------------------------------------------------

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

    // ---- request bodies -------------------------------------------------------------------

    @Test
    void multipartUploadOfSeveralMegabytesArrivesIntact() {
        JsonNode json = uploadSeveralMegabytes(randomBytes(3 * 1024 * 1024 + 17, 43));
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

    // ---- file responses -----------------------------------------------------------------------

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

            assertValidatorQuiet(validated);
        }
    }
}
