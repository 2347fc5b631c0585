package jwsgi.wsgi;

import java.util.Map;
import java.util.stream.Stream;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

import jwsgi.testing.EmbeddedPython;
import jwsgi.testing.MemoryExchange;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

/**
 * {@link CgiView}: the CGI variables as Java strings are exactly the environ the app gets
 * ({@link EnvironBuilder} applies the same rules straight into Python), for requests that
 * exercise each rule: percent-decoding, the mount point, joined and dropped headers, latin-1
 * bytes, and variables a front server passed.
 */
@Tag("fast")
class CgiViewTest {
    /** The environ's str values, as JSON. */
    private static final String APP = """
            import json

            def application(environ, start_response):
                start_response("200 OK", [("Content-Type", "application/json")])
                return [json.dumps({k: v for k, v in environ.items() if isinstance(v, str)}).encode()]
            """;

    private static RunnerHarness app;

    @BeforeAll
    static void start() {
        app = new RunnerHarness(EmbeddedPython.app("cgi_view_environ", APP));
    }

    @AfterAll
    static void stop() {
        app.close();
    }

    /** What the app saw as its environ's str values. */
    private static Map<String, String> environ(MemoryExchange ex) throws Exception {
        return new ObjectMapper().readValue(app.run(ex).text(), new TypeReference<Map<String, String>>() {});
    }

    static Stream<MemoryExchange> requests() {
        return Stream.of(
                MemoryExchange.get("/"),
                MemoryExchange.get("/app/caf%C3%A9/x%2Fy%zz?q=%20&r=1").scriptName("/app"),
                MemoryExchange.get("/app").scriptName("/app"),
                MemoryExchange.get("/apple").scriptName("/app"),
                MemoryExchange.get("/caf\u00c3\u00a9").header("Cookie", "a=1").header("cookie", "b=2")
                        .header("Accept", "text/html").header("accept", "*/*").header("X_Forwarded_For", "hidden")
                        .header("X-Latin", "caf\u00e9").protocol("HTTP/1.0").scheme("https").server("example.com", 443)
                        .remote("::1", 5555),
                MemoryExchange.request("POST", "/submit").header("Content-Type", "text/plain").header("Content-Length", "3")
                        .body("abc".getBytes()),
                MemoryExchange.get("/front").extra("REMOTE_USER", "alice").extra("PATH_INFO", "/not-this")
                        .extra("HTTP_X_A", "not this either").header("X-A", "from the header").extra("X_EURO", "\u20ac"));
    }

    @ParameterizedTest
    @MethodSource("requests")
    void theViewIsTheEnvironTheAppGets(MemoryExchange ex) throws Exception {
        Map<String, String> environ = environ(ex);
        for (Map.Entry<String, String> e : environ.entrySet()) {
            if (e.getKey().equals("SERVER_SOFTWARE")) continue;  // the same for every request: not in the view
            assertEquals(e.getValue(), CgiView.variable(ex, e.getKey()), e.getKey() + " of " + ex.rawTarget());
        }
    }

    @Test
    void pathInfoIsTheDecodedBytesLessTheMountPoint() throws Exception {
        MemoryExchange ex = MemoryExchange.get("/app/caf%C3%A9/x%2Fy%zz").scriptName("/app");
        assertEquals("/caf\u00c3\u00a9/x/y%zz", environ(ex).get("PATH_INFO"), "bytes as latin-1; a bad escape is kept");
        assertEquals("/app", environ(ex).get("SCRIPT_NAME"));
        assertEquals("", CgiView.variable(MemoryExchange.get("/app").scriptName("/app"), "PATH_INFO"));
        assertEquals("/apple", CgiView.variable(MemoryExchange.get("/apple").scriptName("/app"), "PATH_INFO"), "not under /app");
    }

    @Test
    void headersAreJoinedOrDropped() throws Exception {
        Map<String, String> environ = environ(MemoryExchange.get("/").header("Cookie", "a=1").header("cookie", "b=2")
                .header("Accept", "text/html").header("accept", "*/*").header("X_Forwarded_For", "hidden")
                .header("Content-Type", "text/plain"));
        assertEquals("a=1; b=2", environ.get("HTTP_COOKIE"));
        assertEquals("text/html, */*", environ.get("HTTP_ACCEPT"));
        assertEquals("text/plain", environ.get("CONTENT_TYPE"));
        assertFalse(environ.containsKey("HTTP_CONTENT_TYPE"));
        assertFalse(environ.containsKey("HTTP_X_FORWARDED_FOR"), "a name with '_' never reaches the environ");
    }

    @Test
    void builtVariablesAndHeadersOverrideWhatAFrontServerPassed() throws Exception {
        MemoryExchange ex = MemoryExchange.get("/front").extra("REMOTE_USER", "alice").extra("PATH_INFO", "/not-this")
                .extra("HTTP_X_A", "not this either").header("X-A", "from the header").extra("X_EURO", "\u20ac");
        Map<String, String> environ = environ(ex);
        assertEquals("alice", environ.get("REMOTE_USER"));
        assertEquals("/front", environ.get("PATH_INFO"));
        assertEquals("from the header", environ.get("HTTP_X_A"));
        assertEquals("\u00e2\u0082\u00ac", environ.get("X_EURO"), "a char above U+00FF stands for its UTF-8 bytes");
    }

    @Test
    void variablesTheRequestDoesNotHaveAreNull() {
        MemoryExchange ex = MemoryExchange.get("/");
        assertNull(CgiView.variable(ex, "HTTP_REFERER"));
        assertNull(CgiView.variable(ex, "wsgi.version"));
        assertNull(CgiView.variable(ex, "http_referer"), "names are exact, as dict keys are");
    }
}
