package jwsgi.wsgi;

import java.io.IOException;

import jwsgi.testing.Http;
import jwsgi.testing.RawHttp;
import jwsgi.testing.ServerProcess;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The environ a real request produces: every CGI key and wsgi.* entry of PEP 3333, with its type. */
class EnvironTest {
    private static ServerProcess server;

    @BeforeAll
    static void start() {
        server = ServerProcess.start("corpus", "-b", "[::1]:0");
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static JsonNode environ(String request) throws IOException {
        try (RawHttp c = RawHttp.to(server)) {
            RawHttp.Response r = c.send(request).read();
            assertEquals(200, r.status(), r.text());
            return Http.json(r.text());
        }
    }

    private static void assertStr(JsonNode env, String key, String value) {
        assertEquals("str", env.path(key).path(0).asText(), key + " type in " + env);
        assertEquals(value, env.path(key).path(1).asText(), key);
    }

    @Test
    void cgiKeysOfAGetRequest() throws IOException {
        JsonNode env = environ("GET /environ/a%20b?x=1&y=%20z HTTP/1.1\r\nHost: example.test:8080\r\n"
                + "User-Agent: t/1\r\nAccept: */*\r\n\r\n");
        assertStr(env, "REQUEST_METHOD", "GET");
        assertStr(env, "SCRIPT_NAME", "");
        assertStr(env, "PATH_INFO", "/environ/a b");
        assertStr(env, "QUERY_STRING", "x=1&y=%20z");
        assertStr(env, "RAW_URI", "/environ/a%20b?x=1&y=%20z");
        assertStr(env, "SERVER_NAME", "example.test");
        assertStr(env, "SERVER_PORT", "8080");
        assertStr(env, "SERVER_PROTOCOL", "HTTP/1.1");
        assertStr(env, "HTTP_HOST", "example.test:8080");
        assertStr(env, "HTTP_USER_AGENT", "t/1");
        assertStr(env, "HTTP_ACCEPT", "*/*");
        assertStr(env, "REMOTE_ADDR", "::1");
        assertEquals("str", env.path("REMOTE_PORT").path(0).asText());
        assertTrue(Integer.parseInt(env.path("REMOTE_PORT").path(1).asText()) > 0);
        assertFalse(env.has("CONTENT_TYPE"), "no Content-Type was sent");
        assertFalse(env.has("CONTENT_LENGTH"), "no Content-Length was sent");
    }

    @Test
    void wsgiKeysHaveTheirPep3333Types() throws IOException {
        JsonNode env = environ("GET /environ HTTP/1.1\r\nHost: h\r\n\r\n");
        assertEquals("tuple", env.path("wsgi.version").path(0).asText());
        assertEquals("[1,0]", env.path("wsgi.version").path(1).toString());
        assertStr(env, "wsgi.url_scheme", "http");
        for (String flag : new String[] {"wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once"}) {
            assertEquals("bool", env.path(flag).path(0).asText(), flag);
            assertFalse(env.path(flag).path(1).asBoolean(), flag + " with one thread and one process");
        }
        assertEquals("BytesIO", env.path("wsgi.input").path(0).asText());
        assertEquals("ErrorStream", env.path("wsgi.errors").path(0).asText());
        assertEquals("type", env.path("wsgi.file_wrapper").path(0).asText());
    }

    @Test
    void postHasContentTypeAndLengthWithoutHttpPrefix() throws IOException {
        JsonNode env = environ("POST /environ HTTP/1.1\r\nHost: h\r\nContent-Type: text/plain; charset=utf-8\r\n"
                + "Content-Length: 5\r\n\r\nhello");
        assertStr(env, "REQUEST_METHOD", "POST");
        assertStr(env, "CONTENT_TYPE", "text/plain; charset=utf-8");
        assertStr(env, "CONTENT_LENGTH", "5");
        assertFalse(env.has("HTTP_CONTENT_TYPE"));
        assertFalse(env.has("HTTP_CONTENT_LENGTH"));
    }

    @Test
    void pathInfoIsTheDecodedBytesAsLatin1() throws IOException {
        // "café" in UTF-8 is 63 61 66 C3 A9; PEP 3333 gives each byte as one code point.
        JsonNode env = environ("GET /environ/caf%C3%A9/%2F/%ff HTTP/1.1\r\nHost: h\r\n\r\n");
        assertStr(env, "PATH_INFO", "/environ/caf\u00c3\u00a9///\u00ff");
        assertStr(env, "RAW_URI", "/environ/caf%C3%A9/%2F/%ff");
    }

    @Test
    void repeatedHeadersAreJoinedAndCookiesWithSemicolons() throws IOException {
        JsonNode env = environ("GET /environ HTTP/1.1\r\nHost: h\r\nX-Multi: one\r\nX-Multi: two\r\nx-multi: three\r\n"
                + "Cookie: a=1\r\nCookie: b=2\r\n\r\n");
        assertStr(env, "HTTP_X_MULTI", "one, two, three");
        assertStr(env, "HTTP_COOKIE", "a=1; b=2");
    }

    @Test
    void headersWithUnderscoresNeverReachTheApp() throws IOException {
        // Otherwise "X-Forwarded_For" from a client could pass for "X-Forwarded-For" set by a proxy.
        JsonNode env = environ("GET /environ HTTP/1.1\r\nHost: h\r\nX-Forwarded_For: 6.6.6.6\r\nX-Real-Ip: 1.2.3.4\r\n\r\n");
        assertFalse(env.has("HTTP_X_FORWARDED_FOR"), env.toString());
        assertStr(env, "HTTP_X_REAL_IP", "1.2.3.4");
    }

    @Test
    void headerValuesKeepTheirBytesAsLatin1() throws IOException {
        JsonNode env = environ("GET /environ HTTP/1.1\r\nHost: h\r\nX-Bytes: caf\u00c3\u00a9 \u00ff\r\n\r\n");
        assertStr(env, "HTTP_X_BYTES", "caf\u00c3\u00a9 \u00ff");
    }

    @Test
    void http10RequestsSayHttp10() throws IOException {
        try (RawHttp c = RawHttp.to(server)) {
            RawHttp.Response r = c.send("GET /environ HTTP/1.0\r\n\r\n").read();
            JsonNode env = Http.json(r.text());
            assertStr(env, "SERVER_PROTOCOL", "HTTP/1.0");
            assertEquals("::1", env.path("SERVER_NAME").path(1).asText().replace("[", "").replace("]", ""));
        }
    }

    @Test
    void absoluteFormTargetsGiveTheirPathAndHost() throws IOException {
        JsonNode env = environ("GET http://other.test:9000/environ/abs?q=1 HTTP/1.1\r\nHost: other.test:9000\r\n\r\n");
        assertStr(env, "PATH_INFO", "/environ/abs");
        assertStr(env, "QUERY_STRING", "q=1");
        assertStr(env, "SERVER_NAME", "other.test");
        assertStr(env, "SERVER_PORT", "9000");
    }
}
