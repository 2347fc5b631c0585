package jwsgi.frontend;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

import com.fasterxml.jackson.databind.JsonNode;

import jwsgi.testing.Http;
import jwsgi.testing.ServerProcess;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Forwarded headers believed from trusted peers only (--forwarded-allow-ips, Unix-socket peers),
 * gunicorn's secure_scheme_headers, RFC 7239 Forwarded, --forwarder-headers and --root-path. Raw
 * requests from 127.0.0.1 (trusted by default) and 127.0.0.2 (not).
 */
class TrustedProxyTest {
    @TempDir
    static Path dir;
    private static Path socket;
    /** Defaults (trusts 127.0.0.1 and ::1), plus a Unix socket with --umask 007 and an access log on stdout. */
    private static ServerProcess server;
    /** --root-path /app, a custom secure scheme header, and --forwarder-headers naming another header than the default. */
    private static ServerProcess mounted;

    @BeforeAll
    static void start() {
        socket = dir.resolve("app.sock");
        CompletableFuture<ServerProcess> a = CompletableFuture.supplyAsync(() -> ServerProcess.start("corpus:application",
                "-b", "127.0.0.1:0", "-b", "unix:" + socket, "--umask", "007", "--access-logfile", "-"));
        CompletableFuture<ServerProcess> b = CompletableFuture.supplyAsync(() -> ServerProcess.start("corpus:application",
                "--root-path", "/app/", "--secure-scheme-headers", "X-Scheme=secure", "--forwarder-headers", "Remote_User"));
        server = a.join();
        mounted = b.join();
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
        if (mounted != null) mounted.close();
    }

    private static String exchange(String from, int port, String headers, String target) throws IOException {
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
            s.connect(new InetSocketAddress("127.0.0.1", port), 5000);
            s.setSoTimeout(15000);
            OutputStream out = s.getOutputStream();
            out.write(("GET " + target + " HTTP/1.1\r\nHost: app.local:8080\r\n" + headers + "Connection: close\r\n\r\n")
                    .getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    private static JsonNode environ(String from, String headers) throws IOException {
        return environ(from, server.port(), headers, "/environ");
    }

    private static JsonNode environ(String from, int port, String headers, String target) throws IOException {
        String response = exchange(from, port, headers, target);
        assertTrue(response.startsWith("HTTP/1.1 200"), response);
        return Http.json(response.substring(response.indexOf("\r\n\r\n") + 4));
    }

    private static String value(JsonNode environ, String key) {
        JsonNode v = environ.get(key);
        return v == null ? null : v.get(1).asText();
    }

    private static final String FORWARDED = "X-Forwarded-For: 6.6.6.6, 203.0.113.7\r\nX-Forwarded-Proto: https\r\n"
            + "X-Forwarded-Host: www.example.com\r\nX-Forwarded-Port: 8443\r\n";

    @Test
    void aTrustedProxyIsBelieved() throws IOException {
        JsonNode env = environ("127.0.0.1", FORWARDED);
        assertEquals("203.0.113.7", value(env, "REMOTE_ADDR"), "the rightmost address that is not a trusted proxy");
        assertEquals("https", value(env, "wsgi.url_scheme"));
        assertEquals("www.example.com:8443", value(env, "HTTP_HOST"));
        assertEquals("www.example.com", value(env, "SERVER_NAME"));
        assertEquals("8443", value(env, "SERVER_PORT"));
    }

    @Test
    void anyOtherPeerIsLeftAsItSentTheRequest() throws IOException {
        JsonNode env = environ("127.0.0.2", FORWARDED);
        assertEquals("127.0.0.2", value(env, "REMOTE_ADDR"));
        assertEquals("http", value(env, "wsgi.url_scheme"));
        assertEquals("app.local:8080", value(env, "HTTP_HOST"));
        assertEquals("app.local", value(env, "SERVER_NAME"));
        assertEquals("8080", value(env, "SERVER_PORT"));
        assertEquals("6.6.6.6, 203.0.113.7", value(env, "HTTP_X_FORWARDED_FOR"), "the headers themselves reach the app");
        assertEquals("", value(env, "SCRIPT_NAME"));
        String spoofedMount = exchange("127.0.0.2", server.port(), "SCRIPT_NAME: /environ\r\n", "/environ/x");
        assertTrue(spoofedMount.contains("\"PATH_INFO\": [\"str\", \"/environ/x\"]"), spoofedMount);
    }

    @Test
    void rfc7239Forwarded() throws IOException {
        JsonNode env = environ("127.0.0.1", "Forwarded: for=6.6.6.6, for=\"[2001:db8::9]:1234\";proto=https;host=shop.example\r\n");
        assertEquals("2001:db8::9", value(env, "REMOTE_ADDR"));
        assertEquals("1234", value(env, "REMOTE_PORT"));
        assertEquals("https", value(env, "wsgi.url_scheme"));
        assertEquals("shop.example", value(env, "HTTP_HOST"));
        assertEquals("443", value(env, "SERVER_PORT"));
    }

    @Test
    void secureSchemeHeadersThatDisagreeAreABadRequest() throws IOException {
        String response = exchange("127.0.0.1", server.port(), "X-Forwarded-Proto: https\r\nX-Forwarded-Ssl: off\r\n", "/environ");
        assertTrue(response.startsWith("HTTP/1.1 400"), response);
        JsonNode env = environ("127.0.0.1", mounted.port(), "X-Scheme: secure\r\nX-Forwarded-Proto: https\r\n", "/app/environ");
        assertEquals("https", value(env, "wsgi.url_scheme"), "--secure-scheme-headers replaces gunicorn's defaults");
        assertEquals("http", value(environ("127.0.0.1", mounted.port(), "X-Forwarded-Proto: https\r\n", "/app/environ"),
                "wsgi.url_scheme"), "X-Forwarded-Proto is no longer one of them");
    }

    @Test
    void scriptNameHeaderFromATrustedProxy() throws IOException {
        JsonNode env = environ("127.0.0.1", server.port(), "SCRIPT_NAME: /mount\r\n", "/mount/environ/x");
        assertEquals("/mount", value(env, "SCRIPT_NAME"));
        assertEquals("/environ/x", value(env, "PATH_INFO"));
    }

    @Test
    void forwarderHeadersFromATrustedProxyReachTheEnvironAsGunicornPassesThem() throws IOException {
        JsonNode env = environ("127.0.0.1", server.port(), "SCRIPT_NAME: /mount\r\nPATH_INFO: /elsewhere\r\n"
                + "path_info: /again\r\nX_Tenant: acme\r\n", "/mount/environ/x");
        assertEquals("/mount", value(env, "SCRIPT_NAME"));
        assertEquals("/mount", value(env, "HTTP_SCRIPT_NAME"));
        assertEquals("/elsewhere, /again", value(env, "HTTP_PATH_INFO"), "listed by default, joined as repeated headers are");
        assertEquals("/environ/x", value(env, "PATH_INFO"), "as in gunicorn, the header does not replace the path");
        assertNull(value(env, "HTTP_X_TENANT"), "a header with '_' that is not listed is dropped");
    }

    @Test
    void forwarderHeadersFromAnyOtherPeerAreDropped() throws IOException {
        JsonNode env = environ("127.0.0.2", server.port(), "SCRIPT_NAME: /environ\r\nPATH_INFO: /elsewhere\r\n", "/environ");
        assertEquals("", value(env, "SCRIPT_NAME"));
        assertNull(value(env, "HTTP_SCRIPT_NAME"));
        assertNull(value(env, "HTTP_PATH_INFO"));
        assertNull(value(environ("127.0.0.2", mounted.port(), "Remote_User: mallory\r\n", "/app/environ"), "HTTP_REMOTE_USER"));
    }

    @Test
    void forwarderHeadersNamesTheHeadersThatPass() throws IOException {
        JsonNode env = environ("127.0.0.1", mounted.port(), "remote_user: alice\r\nSCRIPT_NAME: /other\r\nPATH_INFO: /x\r\n",
                "/app/environ");
        assertEquals("alice", value(env, "HTTP_REMOTE_USER"), "names match whatever their case");
        assertEquals("/app", value(env, "SCRIPT_NAME"), "SCRIPT_NAME is not listed, so --root-path stands");
        assertNull(value(env, "HTTP_SCRIPT_NAME"));
        assertNull(value(env, "HTTP_PATH_INFO"));
    }

    @Test
    void rootPathSplitsPathsUnderItAndLeavesOthers() throws IOException {
        JsonNode under = environ("127.0.0.2", mounted.port(), "", "/app/environ/y");
        assertEquals("/app", value(under, "SCRIPT_NAME"));
        assertEquals("/environ/y", value(under, "PATH_INFO"));
        // The front server removed the prefix already (proxy_pass http://jwsgi/;).
        JsonNode stripped = environ("127.0.0.2", mounted.port(), "", "/environ/y");
        assertEquals("/app", value(stripped, "SCRIPT_NAME"));
        assertEquals("/environ/y", value(stripped, "PATH_INFO"));
        String apple = exchange("127.0.0.2", mounted.port(), "", "/apple");
        assertTrue(apple.contains("not found: /apple"), "/apple is not under /app: " + apple);
    }

    @Test
    void theAccessLogShowsTheClientNotTheProxy() throws IOException {
        environ("127.0.0.1", "X-Forwarded-For: 198.51.100.77\r\n");
        assertTrue(server.awaitOutput("198.51.100.77 - - [", Duration.ofSeconds(10)), server.stdout());
    }

    @Test
    void unixSocketPeersAreTrustedAndTheSocketHasTheUmaskMode() throws IOException {
        assertEquals("rwxrwx---", PosixFilePermissions.toString(Files.getPosixFilePermissions(socket)));
        try (SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.connect(UnixDomainSocketAddress.of(socket));
            ch.write(ByteBuffer.wrap(("GET /environ HTTP/1.1\r\nHost: unix.local\r\nX-Forwarded-For: 192.0.2.5\r\n"
                    + "X-Forwarded-Proto: https\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII)));
            String response = new String(Channels.newInputStream(ch).readAllBytes(), StandardCharsets.ISO_8859_1);
            JsonNode env = Http.json(response.substring(response.indexOf("\r\n\r\n") + 4));
            assertEquals("192.0.2.5", value(env, "REMOTE_ADDR"));
            assertEquals("https", value(env, "wsgi.url_scheme"));
            assertEquals("unix.local", value(env, "SERVER_NAME"));
        }
    }
}
