package jwsgi.apps;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPOutputStream;

import jwsgi.testing.Http;
import jwsgi.testing.Pythons;
import jwsgi.testing.RawHttp;
import jwsgi.testing.ServerProcess;

import org.eclipse.jetty.util.IO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A real Django 3.2 site whole from one server: the test project with Django's admin
 * ({@code djangosite.static_settings}), its static files gathered by {@code collectstatic} into
 * STATIC_ROOT with hashed names (ManifestStaticFilesStorage), and jwsgi serving them with
 * {@code static_map} from a config file, over real HTTP: the admin login page's CSS, ETag and
 * 304, Range, HEAD, precompressed siblings, Cache-Control per mount and {@code immutable} for
 * hashed names, and every way out of the directory refused while the app keeps its paths. A second
 * server mounts the site at /app (--root-path) with a relative STATIC_URL, as Django puts it
 * under SCRIPT_NAME.
 */
class DjangoStaticFilesTest {
    private static final Pattern STYLESHEET = Pattern.compile("<link rel=\"stylesheet\" type=\"text/css\" href=\"([^\"]+)\">");
    private static final String SECRET = "SECRET_KEY = 'outside-the-mapped-directory-5b7a'";
    private static Path site;
    private static Path staticRoot;
    private static ServerProcess server;

    @BeforeAll
    static void collectAndStart() throws Exception {
        site = Files.createTempDirectory("jwsgi-django-static");
        staticRoot = site.resolve("staticfiles");
        collectstatic(staticRoot);
        // What a deployment also has near STATIC_ROOT, and what must never be served from it.
        Files.writeString(site.resolve("settings.py"), SECRET);
        Files.writeString(staticRoot.resolve(".env"), SECRET);
        Files.createSymbolicLink(staticRoot.resolve("admin/css/settings.css"), site.resolve("settings.py"));
        gzip(staticRoot.resolve("admin/css/base.css"));
        Path media = Files.createDirectories(site.resolve("media"));
        Files.writeString(media.resolve("notes.txt"), "media notes: ünïcode\n");
        Path config = Files.writeString(site.resolve("jwsgi.conf.py"), """
                static_map = ["/static=%s", "/static/media=%s"]
                static_max_age = ["/static/media=0", "3600"]
                accesslog = "-"
                """.formatted(staticRoot, media));
        server = ServerProcess.startRaw(ServerProcess.args("-c", config.toString(), "djangosite.wsgi:application"), siteEnv("/static/"));
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
        IO.delete(site.toFile());
    }

    /** The environment of a server running the site: Django finds its manifest (hashed names) in STATIC_ROOT. */
    private static Map<String, String> siteEnv(String staticUrl) {
        return Map.of("DJANGO_SETTINGS_MODULE", "djangosite.static_settings", "JWSGI_TEST_STATIC_ROOT", staticRoot.toString(),
                "JWSGI_TEST_STATIC_URL", staticUrl);
    }

    /** Runs Django's collectstatic for djangosite.static_settings into {@code root}, as a deployment does. */
    static void collectstatic(Path root) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(Pythons.DEBIAN.toString(), "-m", "django", "collectstatic", "--noinput")
                .directory(ServerProcess.APPS.toFile()).redirectErrorStream(true);
        pb.environment().putAll(Map.of("DJANGO_SETTINGS_MODULE", "djangosite.static_settings", "PYTHONPATH",
                ServerProcess.APPS.toString(), "JWSGI_TEST_STATIC_ROOT", root.toString()));
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "collectstatic did not finish");
        assertEquals(0, p.exitValue(), out);
        assertTrue(Files.isRegularFile(root.resolve("admin/css/base.css")), out);
    }

    private static void gzip(Path file) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (OutputStream gz = new GZIPOutputStream(bytes)) {
            gz.write(Files.readAllBytes(file));
        }
        Files.write(file.resolveSibling(file.getFileName() + ".gz"), bytes.toByteArray());
    }

    /** One request on a new connection; {@code headers} are whole lines without CRLF. */
    static RawHttp.Response request(ServerProcess server, String method, String target, String... headers) throws IOException {
        try (RawHttp http = RawHttp.to(server)) {
            StringBuilder req = new StringBuilder(method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n");
            for (String h : headers) req.append(h).append("\r\n");
            http.send(req.append("\r\n").toString());
            return http.read(method.equals("HEAD"));
        }
    }

    private static RawHttp.Response get(String target, String... headers) throws IOException {
        return request(server, "GET", target, headers);
    }

    static List<String> stylesheets(String html) {
        List<String> hrefs = new ArrayList<>();
        Matcher m = STYLESHEET.matcher(html);
        while (m.find()) hrefs.add(m.group(1));
        return hrefs;
    }

    private static byte[] file(String path) throws IOException {
        return Files.readAllBytes(staticRoot.resolve(path));
    }

    @Test
    void theAdminLoginPagesCssIsServedWithoutPython() throws Exception {
        RawHttp.Response page = get("/admin/login/");
        assertEquals(200, page.status(), page.text());
        List<String> css = stylesheets(page.text());
        assertTrue(css.contains("/static/" + hashedName("admin/css/base.css")), css.toString());
        for (String href : css) {
            RawHttp.Response r = get(href);
            assertEquals(200, r.status(), href);
            assertEquals("text/css;charset=utf-8", r.header("Content-Type"), href);
            assertArrayEquals(file(href.substring("/static/".length())), r.body(), href);
            // ManifestStaticFilesStorage names carry the content's hash: cached for good.
            assertEquals("public, max-age=31536000, immutable", r.header("Cache-Control"), href);
            assertNotNull(r.header("Last-Modified"), href);
        }
        // The unhashed name (collectstatic keeps both) gets the max-age of the config file.
        assertEquals("public, max-age=3600", get("/static/admin/css/base.css").header("Cache-Control"));
        // The access log has the static request, which the app never saw (Django would log it too otherwise).
        String line = "\"GET " + css.getFirst() + " HTTP/1.1\" 200 " + file(css.getFirst().substring(8)).length;
        assertTrue(server.awaitOutput(line, Duration.ofSeconds(5)), server.stdout());
    }

    /** admin/css/base.css's hashed name, from the manifest collectstatic wrote. */
    private static String hashedName(String name) throws IOException {
        Matcher m = Pattern.compile("\"" + Pattern.quote(name) + "\": \"([^\"]+)\"")
                .matcher(Files.readString(staticRoot.resolve("staticfiles.json")));
        assertTrue(m.find(), name);
        return m.group(1);
    }

    @Test
    void aSecondRequestWithTheEtagOrTheDateIs304() throws Exception {
        RawHttp.Response first = get("/static/admin/css/forms.css");
        String etag = first.header("ETag");
        assertNotNull(etag);
        RawHttp.Response again = get("/static/admin/css/forms.css", "If-None-Match: " + etag);
        assertEquals(304, again.status());
        assertEquals(etag, again.header("ETag"));
        assertEquals("public, max-age=3600", again.header("Cache-Control"));
        RawHttp.Response since = get("/static/admin/css/forms.css", "If-Modified-Since: " + first.header("Last-Modified"));
        assertEquals(304, since.status());
        assertEquals(200, get("/static/admin/css/forms.css", "If-None-Match: W/\"other\"").status());
    }

    @Test
    void rangesAre206AndAnUnsatisfiableOneIs416() throws Exception {
        byte[] whole = file("admin/css/widgets.css");
        RawHttp.Response r = get("/static/admin/css/widgets.css", "Range: bytes=0-9");
        assertEquals(206, r.status());
        assertArrayEquals(Arrays.copyOf(whole, 10), r.body());
        assertEquals("bytes 0-9/" + whole.length, r.header("Content-Range"));
        RawHttp.Response head = request(server, "HEAD", "/static/admin/css/widgets.css", "Range: bytes=-5");
        assertEquals(206, head.status());
        assertEquals("5", head.header("Content-Length"));
        // If-Range: the range of the same file, else the whole of the file as it is now.
        String lastModified = r.header("Last-Modified");
        assertEquals(206, get("/static/admin/css/widgets.css", "Range: bytes=0-9", "If-Range: " + lastModified).status());
        RawHttp.Response changed = get("/static/admin/css/widgets.css", "Range: bytes=0-9", "If-Range: Thu, 01 Jan 2004 00:00:00 GMT");
        assertEquals(200, changed.status());
        assertArrayEquals(whole, changed.body());
        assertEquals(200, get("/static/admin/css/widgets.css", "Range: bytes=0-9", "If-Range: " + r.header("ETag")).status(),
                "a weak ETag never satisfies If-Range");
        RawHttp.Response past = get("/static/admin/css/widgets.css", "Range: bytes=99999999-");
        assertEquals(416, past.status());
        assertEquals("bytes */" + whole.length, past.header("Content-Range"));
    }

    @Test
    void headAnswersTheHeadersOnly() throws Exception {
        RawHttp.Response r = request(server, "HEAD", "/static/admin/css/dashboard.css");
        assertEquals(200, r.status());
        assertEquals(Integer.toString(file("admin/css/dashboard.css").length), r.header("Content-Length"));
        assertEquals("text/css;charset=utf-8", r.header("Content-Type"));
    }

    @Test
    void aGzipSiblingIsChosenByAcceptEncoding() throws Exception {
        RawHttp.Response gz = get("/static/admin/css/base.css", "Accept-Encoding: gzip, deflate");
        assertEquals(200, gz.status());
        assertEquals("gzip", gz.header("Content-Encoding"));
        assertEquals("Accept-Encoding", gz.header("Vary"));
        assertEquals("text/css;charset=utf-8", gz.header("Content-Type"));
        assertArrayEquals(file("admin/css/base.css.gz"), gz.body());
        RawHttp.Response plain = get("/static/admin/css/base.css");
        assertNull(plain.header("Content-Encoding"));
        assertEquals("Accept-Encoding", plain.header("Vary"), "a cache must know the answer depends on Accept-Encoding");
        assertArrayEquals(file("admin/css/base.css"), plain.body());
        assertNull(get("/static/admin/css/forms.css", "Accept-Encoding: gzip").header("Content-Encoding"), "no sibling, no encoding");
    }

    @Test
    void traversalAttemptsNeverReturnAFileFromOutside() throws Exception {
        for (String attempt : List.of("/static/../settings.py", "/static/%2e%2e/settings.py", "/static/%2E%2E/settings.py",
                "/static/.%2e/settings.py", "/static/admin%2f..%2f..%2fsettings.py", "/static/..%2fsettings.py",
                "/static/..%5csettings.py", "/static/..\\settings.py", "/static/%252e%252e/settings.py",
                "/static/%252e%252e%252fsettings.py", "/static/admin/css/settings.css", "/static//../settings.py",
                "/static/%c0%ae%c0%ae/settings.py", "/static/admin/../../settings.py", "/static/.env", "/static/%2eenv",
                "/static/media/../../settings.py")) {
            RawHttp.Response r = get(attempt);
            assertTrue(r.status() == 404 || r.status() == 400, attempt + ": " + r.statusLine());
            assertFalse(r.text().contains("outside-the-mapped-directory"), attempt);
        }
    }

    @Test
    void directoriesAre404AndNeverListed() throws Exception {
        for (String dir : List.of("/static", "/static/", "/static/admin", "/static/admin/", "/static/admin/css/")) {
            RawHttp.Response r = get(dir);
            assertEquals(404, r.status(), dir);
            assertFalse(r.text().contains("base.css"), dir);
        }
    }

    @Test
    void missingFilesAnd304sKeepTheConnection() throws Exception {
        try (RawHttp http = RawHttp.to(server)) {
            http.send("GET /static/no/such.css HTTP/1.1\r\nHost: x\r\n\r\nGET /static/admin/css/login.css HTTP/1.1\r\nHost: x\r\n\r\n");
            assertEquals(404, http.read().status());
            RawHttp.Response ok = http.read();
            assertEquals(200, ok.status());
            http.send("GET /static/admin/css/login.css HTTP/1.1\r\nHost: x\r\nIf-None-Match: " + ok.header("ETag") + "\r\n\r\n"
                    + "GET /api/info HTTP/1.1\r\nHost: x\r\n\r\n");
            assertEquals(304, http.read().status());
            assertEquals(200, http.read().status(), "the app answers on the same connection");
        }
    }

    @Test
    void theAppKeepsEveryOtherPath() throws Exception {
        assertEquals("/api/info", Http.json(get("/api/info").text()).path("path").asText());
        RawHttp.Response notStatic = get("/staticfiles/admin/css/base.css");
        assertEquals(404, notStatic.status());
        assertTrue(notStatic.text().contains("<h1>Not Found</h1>"), "Django's own 404: " + notStatic.text());
        RawHttp.Response post = request(server, "POST", "/static/admin/css/base.css", "Content-Length: 0");
        assertEquals(405, post.status());
        assertEquals("GET, HEAD", post.header("Allow"));
    }

    @Test
    void theLongestPrefixWinsWithItsOwnMaxAgeAndTextHasACharset() throws Exception {
        RawHttp.Response r = get("/static/media/notes.txt");
        assertEquals(200, r.status());
        assertEquals("text/plain;charset=utf-8", r.header("Content-Type"));
        assertEquals("no-cache", r.header("Cache-Control"));
        assertEquals("media notes: ünïcode\n", r.text());
    }

    @Test
    void aSiteMountedUnderScriptNameLinksItsCssUnderTheMount() throws Exception {
        try (ServerProcess mounted = ServerProcess.startRaw(ServerProcess.args("--root-path", "/app", "--static-map",
                "/app/static=" + staticRoot, "djangosite.wsgi:application"),
                siteEnv("static/"))) {
            RawHttp.Response page = request(mounted, "GET", "/app/admin/login/");
            assertEquals(200, page.status(), page.text());
            List<String> css = stylesheets(page.text());
            assertTrue(css.contains("/app/static/" + hashedName("admin/css/base.css")), css.toString());
            for (String href : css) {
                RawHttp.Response r = request(mounted, "GET", href);
                assertEquals(200, r.status(), href);
                assertTrue(r.header("Content-Type").startsWith("text/css"), href);
            }
            assertEquals("/app/api/info", Http.json(request(mounted, "GET", "/app/api/info").text()).path("path").asText());
        }
    }
}
