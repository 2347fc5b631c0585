package jwsgi.frontend;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;

import jwsgi.testing.Certificates;
import jwsgi.testing.FrontServer;
import jwsgi.testing.Http;
import jwsgi.testing.ServerProcess;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * jwsgi behind real Debian nginx and Apache, through every way they speak to a Python app
 * server: HTTP over TCP and over a Unix socket, uwsgi and FastCGI. One nginx, one Apache and
 * three jwsgi servers (HTTP on TCP and a Unix socket, uwsgi, FastCGI) serve the whole class.
 *
 * <p>The test client connects from 127.0.0.2, so the client's address is told apart from the
 * proxies' (127.0.0.1, or 127.0.0.3 for the untrusted nginx servers).
 */
class FrontEndTest {
    private static final String CLIENT = "127.0.0.2";
    private static final String UNTRUSTED_PROXY = "127.0.0.3";

    /** A front server and the protocol it speaks to jwsgi. */
    enum Route {
        NGINX_HTTP, NGINX_UNIX_SOCKET, NGINX_UWSGI, NGINX_FASTCGI, APACHE_HTTP, APACHE_UWSGI, APACHE_FASTCGI;

        boolean cgi() {
            return name().endsWith("UWSGI") || name().endsWith("FASTCGI");
        }
    }

    @TempDir
    static Path dir;
    private static ServerProcess http;
    private static ServerProcess uwsgi;
    private static ServerProcess fastcgi;
    private static FrontServer nginx;
    private static FrontServer apache;
    private static final Map<Route, Integer> PORTS = new java.util.EnumMap<>(Route.class);
    private static final Map<String, Integer> NGINX_PORTS = new java.util.HashMap<>();
    private static HttpClient client;
    private static HttpClient tlsClient;

    @BeforeAll
    static void start() throws Exception {
        Path socket = dir.resolve("jwsgi.sock");
        CompletableFuture<ServerProcess> h = CompletableFuture.supplyAsync(() -> ServerProcess.start("corpus:application",
                "-b", "127.0.0.1:0", "-b", "unix:" + socket, "--threads", "4"));
        CompletableFuture<ServerProcess> u = CompletableFuture.supplyAsync(() -> ServerProcess.start("corpus:application",
                "--protocol", "uwsgi", "--threads", "4"));
        CompletableFuture<ServerProcess> f = CompletableFuture.supplyAsync(() -> ServerProcess.start("corpus:application",
                "--protocol", "fastcgi", "--threads", "4"));
        http = h.join();
        uwsgi = u.join();
        fastcgi = f.join();
        for (Route p : Route.values()) PORTS.put(p, FrontServer.freePort());
        for (String k : List.of("untrusted-http", "untrusted-uwsgi", "untrusted-fastcgi", "tls-http", "tls-uwsgi", "tls-fastcgi")) {
            NGINX_PORTS.put(k, FrontServer.freePort());
        }
        Certificates.Pair cert = Certificates.selfSigned(dir, "nginx");
        nginx = FrontServer.nginx(Files.createDirectories(dir.resolve("nginx")), nginxConfig(socket, cert), nginxPorts());
        apache = FrontServer.apache(Files.createDirectories(dir.resolve("apache")), apacheConfig(), List.of(
                PORTS.get(Route.APACHE_HTTP), PORTS.get(Route.APACHE_UWSGI), PORTS.get(Route.APACHE_FASTCGI)));
        client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).localAddress(InetAddress.getByName(CLIENT))
                .connectTimeout(Duration.ofSeconds(5)).build();
        tlsClient = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).localAddress(InetAddress.getByName(CLIENT))
                .sslContext(Certificates.trusting(cert.cert())).connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void stop() {
        for (AutoCloseable c : new AutoCloseable[] {apache, nginx, http, uwsgi, fastcgi}) {
            try {
                if (c != null) c.close();
            } catch (Exception ignored) {
                // the others are still stopped
            }
        }
    }

    private static List<Integer> nginxPorts() {
        List<Integer> ports = new ArrayList<>(NGINX_PORTS.values());
        for (Route p : List.of(Route.NGINX_HTTP, Route.NGINX_UNIX_SOCKET, Route.NGINX_UWSGI, Route.NGINX_FASTCGI)) ports.add(PORTS.get(p));
        return ports;
    }

    /** The directives that pass a request on, for one protocol; {@code mount} adds the SCRIPT_NAME for /prefix. */
    private static String pass(String protocol, String upstream, boolean mount, String bind) {
        return switch (protocol) {
            case "http" -> "proxy_pass http://" + upstream + "; proxy_http_version 1.1; proxy_set_header Connection \"\";"
                    + " proxy_set_header Host $http_host; proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;"
                    + " proxy_set_header X-Forwarded-Proto $scheme; proxy_buffering off; proxy_request_buffering off;"
                    + (mount ? " proxy_set_header SCRIPT_NAME /prefix;" : "") + (bind == null ? "" : " proxy_bind " + bind + ";");
            case "uwsgi" -> "include /etc/nginx/uwsgi_params; uwsgi_pass " + upstream + "; uwsgi_buffering off;"
                    + " uwsgi_request_buffering off;" + (mount ? " uwsgi_param SCRIPT_NAME /prefix;" : "")
                    + (bind == null ? "" : " uwsgi_bind " + bind + ";");
            case "fastcgi" -> "include /etc/nginx/fastcgi_params; fastcgi_pass " + upstream + "; fastcgi_keep_conn on;"
                    + " fastcgi_buffering off; fastcgi_request_buffering off;" + (mount ? " fastcgi_param SCRIPT_NAME /prefix;" : "")
                    + (bind == null ? "" : " fastcgi_bind " + bind + ";");
            default -> throw new IllegalArgumentException(protocol);
        };
    }

    private static String server(int port, String extra, String protocol, String upstream, String bind) {
        return "  server { listen 127.0.0.1:" + port + extra + ";\n"
                + "    location / { " + pass(protocol, upstream, false, bind) + " }\n"
                + "    location /prefix/ { " + pass(protocol, upstream, true, bind) + " }\n  }\n";
    }

    private static String nginxConfig(Path socket, Certificates.Pair cert) {
        String tls = " ssl; ssl_certificate " + cert.cert() + "; ssl_certificate_key " + cert.key();
        return "  upstream jw_tcp { server 127.0.0.1:" + http.port() + "; keepalive 4; }\n"
                + "  upstream jw_unix { server unix:" + socket + "; keepalive 4; }\n"
                + "  upstream jw_uwsgi { server 127.0.0.1:" + uwsgi.port() + "; }\n"
                + "  upstream jw_fastcgi { server 127.0.0.1:" + fastcgi.port() + "; keepalive 4; }\n"
                + server(PORTS.get(Route.NGINX_HTTP), "", "http", "jw_tcp", null)
                + server(PORTS.get(Route.NGINX_UNIX_SOCKET), "", "http", "jw_unix", null)
                + server(PORTS.get(Route.NGINX_UWSGI), "", "uwsgi", "jw_uwsgi", null)
                + server(PORTS.get(Route.NGINX_FASTCGI), "", "fastcgi", "jw_fastcgi", null)
                // No upstream keep-alive here: a cached connection must never cross from an untrusted server to a trusted one.
                + server(NGINX_PORTS.get("untrusted-http"), "", "http", "127.0.0.1:" + http.port(), UNTRUSTED_PROXY)
                + server(NGINX_PORTS.get("untrusted-uwsgi"), "", "uwsgi", "127.0.0.1:" + uwsgi.port(), UNTRUSTED_PROXY)
                + server(NGINX_PORTS.get("untrusted-fastcgi"), "", "fastcgi", "127.0.0.1:" + fastcgi.port(), UNTRUSTED_PROXY)
                + server(NGINX_PORTS.get("tls-http"), tls, "http", "jw_tcp", null)
                + server(NGINX_PORTS.get("tls-uwsgi"), tls, "uwsgi", "jw_uwsgi", null)
                + server(NGINX_PORTS.get("tls-fastcgi"), tls, "fastcgi", "jw_fastcgi", null);
    }

    private static String apacheConfig() {
        String h = "http://127.0.0.1:" + http.port();
        String u = "uwsgi://127.0.0.1:" + uwsgi.port();
        String f = "fcgi://127.0.0.1:" + fastcgi.port();
        return "<VirtualHost 127.0.0.1:" + PORTS.get(Route.APACHE_HTTP) + ">\n"
                + "  AllowEncodedSlashes NoDecode\n  ProxyPreserveHost On\n"
                // Apache appends X-Forwarded-For itself, but passes a client's X-Forwarded-Proto on: replace it.
                + "  RequestHeader set X-Forwarded-Proto expr=%{REQUEST_SCHEME}\n"
                + "  <Location /prefix/>\n    RequestHeader set SCRIPT_NAME /prefix\n  </Location>\n"
                + "  ProxyPass /prefix/ " + h + "/prefix/ nocanon\n  ProxyPass / " + h + "/ nocanon\n</VirtualHost>\n"
                // mod_proxy_uwsgi tells the mount by PATH_INFO: /prefix maps to the server's root.
                + "<VirtualHost 127.0.0.1:" + PORTS.get(Route.APACHE_UWSGI) + ">\n"
                + "  ProxyPass /prefix " + u + "\n  ProxyPass / " + u + "/\n</VirtualHost>\n"
                // mod_proxy_fcgi sends the whole path as SCRIPT_NAME; ProxyFCGISetEnvIf says where the app is mounted.
                + "<VirtualHost 127.0.0.1:" + PORTS.get(Route.APACHE_FASTCGI) + ">\n"
                + "  <Location /prefix/>\n    ProxyFCGISetEnvIf \"true\" SCRIPT_NAME \"/prefix\"\n  </Location>\n"
                + "  ProxyPass /prefix/ " + f + "/prefix/ enablereuse=on flushpackets=on\n"
                + "  ProxyPass / " + f + "/ enablereuse=on flushpackets=on\n</VirtualHost>\n";
    }

    private static String url(Route path, String target) {
        return "http://127.0.0.1:" + PORTS.get(path) + target;
    }

    private static HttpResponse<String> get(HttpClient c, String url, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30));
        for (int i = 0; i < headers.length; i += 2) b.header(headers[i], headers[i + 1]);
        try {
            return c.send(b.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new IllegalStateException(url + ": " + e + "\nnginx:\n" + nginx.log() + "\napache:\n" + apache.log(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    private static JsonNode environ(HttpClient c, String url, String... headers) {
        HttpResponse<String> r = get(c, url, headers);
        assertEquals(200, r.statusCode(), url + " -> " + r.body());
        return Http.json(r.body());
    }

    private static String value(JsonNode environ, String key) {
        JsonNode v = environ.get(key);
        return v == null ? null : v.get(1).asText();
    }

    @ParameterizedTest
    @EnumSource(Route.class)
    void getWithQueryAndPercentEncodedPath(Route path) {
        // The client tries to pass for someone else and for https; the front servers overwrite or append.
        JsonNode env = environ(client, url(path, "/environ/caf%C3%A9%20x?q=1&r=%C3%A9&s=a+b"),
                "X-Forwarded-For", "6.6.6.6", "X-Forwarded-Proto", "https");
        assertEquals("GET", value(env, "REQUEST_METHOD"));
        assertEquals("/environ/caf\u00c3\u00a9 x", value(env, "PATH_INFO"), "UTF-8 bytes as latin-1, as PEP 3333 has it");
        assertEquals("", value(env, "SCRIPT_NAME"));
        assertEquals("q=1&r=%C3%A9&s=a+b", value(env, "QUERY_STRING"));
        assertEquals("/environ/caf%C3%A9%20x?q=1&r=%C3%A9&s=a+b", value(env, "RAW_URI"));
        assertEquals(CLIENT, value(env, "REMOTE_ADDR"), "the client, as the trusted front server saw it");
        assertEquals("http", value(env, "wsgi.url_scheme"));
        assertEquals("HTTP/1.1", value(env, "SERVER_PROTOCOL"));
        assertEquals(Integer.toString(PORTS.get(path)), value(env, "SERVER_PORT"));
        assertEquals("127.0.0.1", value(env, "SERVER_NAME"));
    }

    @ParameterizedTest
    @EnumSource(Route.class)
    void tenMegabyteUpload(Route path) throws Exception {
        byte[] body = new byte[10 << 20];
        new Random(4).nextBytes(body);
        HttpRequest request = HttpRequest.newBuilder(URI.create(url(path, "/input/sha256"))).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/octet-stream").POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        HttpResponse<String> r = client.send(request, HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), r.body());
        JsonNode json = Http.json(r.body());
        assertEquals(body.length, json.get("length").asInt());
        assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body)), json.get("sha256").asText());
    }

    /** On every route the parts arrive as the app yields them; the routes are tried at once (each takes 3 s). */
    @Test
    void streamedResponsesArriveAsTheAppYieldsThem() {
        try (ExecutorService clients = Executors.newVirtualThreadPerTaskExecutor()) {
            List<Executable> checks = new ArrayList<>();
            for (Route route : Route.values()) {
                Future<?> streamed = clients.submit(() -> {
                    assertStreamed(route);
                    return null;
                });
                checks.add(() -> {
                    try {
                        streamed.get(60, TimeUnit.SECONDS);
                    } catch (ExecutionException e) {
                        throw new AssertionError(route + ": " + e.getCause().getMessage(), e.getCause());
                    }
                });
            }
            assertAll(checks);
        }
    }

    private static void assertStreamed(Route path) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(url(path, "/stream?n=3&delay=1&size=4"))).timeout(Duration.ofSeconds(30)).build();
        long start = System.nanoTime();
        HttpResponse<InputStream> r = client.send(request, HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, r.statusCode());
        try (InputStream in = r.body()) {
            int first = in.read();
            long firstAt = System.nanoTime();
            byte[] rest = in.readAllBytes();
            long endAt = System.nanoTime();
            assertEquals('A', first);
            assertEquals("AAABBBBCCCC", new String(rest, StandardCharsets.US_ASCII));
            // The app sleeps 1 s after each part: a buffered response would arrive all at once at the end.
            assertTrue(Duration.ofNanos(endAt - firstAt).toMillis() > 1200,
                    "first byte after " + Duration.ofNanos(firstAt - start).toMillis() + " ms, last after "
                            + Duration.ofNanos(endAt - start).toMillis() + " ms");
        }
    }

    @ParameterizedTest
    @EnumSource(value = Route.class, names = {"NGINX_HTTP", "NGINX_FASTCGI", "APACHE_HTTP", "APACHE_FASTCGI"})
    void keepAliveToTheUpstream(Route path) {
        int backend = path.name().endsWith("FASTCGI") ? fastcgi.port() : http.port();
        Set<Integer> proxySide = new HashSet<>();
        int requests = 8;
        for (int i = 0; i < requests; i++) {
            assertEquals(200, get(client, url(path, "/environ")).statusCode());
            proxySide.addAll(TcpTable.peersOf(backend));
        }
        assertTrue(!proxySide.isEmpty() && proxySide.size() < requests,
                requests + " requests came over " + proxySide.size() + " connections: " + proxySide);
    }

    @Test
    void uwsgiClosesTheConnectionAfterEachResponseAsTheProtocolHasIt() {
        for (int i = 0; i < 3; i++) assertEquals(200, get(client, url(Route.NGINX_UWSGI, "/environ")).statusCode());
        long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (!TcpTable.peersOf(uwsgi.port()).isEmpty() && System.nanoTime() < deadline) Thread.onSpinWait();
        assertEquals(Set.of(), TcpTable.peersOf(uwsgi.port()));
    }

    @ParameterizedTest
    @EnumSource(Route.class)
    void appMountedUnderAPrefix(Route path) {
        JsonNode env = environ(client, url(path, "/prefix/environ/x?y=1"));
        assertEquals("/prefix", value(env, "SCRIPT_NAME"));
        assertEquals("/environ/x", value(env, "PATH_INFO"));
        assertEquals("y=1", value(env, "QUERY_STRING"));
        assertEquals("/prefix/environ/x?y=1", value(env, "RAW_URI"));
    }

    @Test
    void anUntrustedHttpProxyIsTheClient() {
        JsonNode env = environ(client, "http://127.0.0.1:" + NGINX_PORTS.get("untrusted-http") + "/environ");
        assertEquals(UNTRUSTED_PROXY, value(env, "REMOTE_ADDR"), "X-Forwarded-For from a proxy not in --forwarded-allow-ips is not believed");
        assertEquals(CLIENT, value(env, "HTTP_X_FORWARDED_FOR"), "but is passed on as the header it is");
        assertEquals("http", value(env, "wsgi.url_scheme"));
    }

    @Test
    void anUntrustedProxyMayNotSpeakUwsgiOrFastCgi() {
        for (String k : List.of("untrusted-uwsgi", "untrusted-fastcgi")) {
            HttpResponse<String> r = get(client, "http://127.0.0.1:" + NGINX_PORTS.get(k) + "/environ");
            assertEquals(403, r.statusCode(), k + ": " + r.body());
        }
        assertTrue(uwsgi.output().contains("Refused a uwsgi request from " + UNTRUSTED_PROXY), uwsgi.output());
        assertTrue(fastcgi.output().contains("Refused a fcgi/1.0 request from " + UNTRUSTED_PROXY), fastcgi.output());
    }

    @Test
    void httpsWhenNginxTerminatesTls() {
        for (String k : List.of("tls-http", "tls-uwsgi", "tls-fastcgi")) {
            int port = NGINX_PORTS.get(k);
            JsonNode env = environ(tlsClient, "https://localhost:" + port + "/environ");
            assertEquals("https", value(env, "wsgi.url_scheme"), k);
            assertEquals(Integer.toString(port), value(env, "SERVER_PORT"), k);
            assertEquals(CLIENT, value(env, "REMOTE_ADDR"), k);
        }
    }

    // ---- the wire protocols, byte by byte -------------------------------------------------

    private static java.net.Socket connect(String from, int port) throws IOException {
        java.net.Socket s = new java.net.Socket();
        s.bind(new java.net.InetSocketAddress(InetAddress.getByName(from), 0));
        s.connect(new java.net.InetSocketAddress("127.0.0.1", port), 5000);
        s.setSoTimeout(15000);
        return s;
    }

    private static JsonNode jsonBody(String response) {
        assertTrue(response.startsWith("HTTP/1.1 200") || response.startsWith("Content-Type"), response);
        return Http.json(response.substring(response.indexOf("\r\n\r\n") + 4));
    }

    @Test
    void uwsgiBodyAndThePacketsOwnVariables() throws IOException {
        try (java.net.Socket s = connect("127.0.0.1", uwsgi.port())) {
            s.getOutputStream().write(CgiWire.uwsgi(0, List.of(Map.entry("REQUEST_METHOD", "POST"),
                    Map.entry("REQUEST_URI", "/input/read"), Map.entry("CONTENT_LENGTH", "11"), Map.entry("CONTENT_TYPE", "text/plain"),
                    Map.entry("HTTP_HOST", "a.example"), Map.entry("REMOTE_ADDR", "192.0.2.1"))));
            s.getOutputStream().write("hello world and more".getBytes(StandardCharsets.US_ASCII));
            String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertTrue(response.endsWith("[\"hello world\"]"), "exactly CONTENT_LENGTH bytes: " + response);
        }
        try (java.net.Socket s = connect("127.0.0.1", uwsgi.port())) {
            s.getOutputStream().write(CgiWire.uwsgi(0, List.of(Map.entry("REQUEST_METHOD", "GET"), Map.entry("REQUEST_URI", "/environ"),
                    Map.entry("REMOTE_USER", "alice"), Map.entry("MY_SETTING", "on"), Map.entry("SERVER_SOFTWARE", "fake/1"))));
            JsonNode env = jsonBody(new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1));
            assertEquals("alice", value(env, "REMOTE_USER"), "variables the environ does not build itself are passed on");
            assertEquals("on", value(env, "MY_SETTING"));
            assertTrue(value(env, "SERVER_SOFTWARE").startsWith("jwsgi/"), "but never replace what the server says");
        }
    }

    /** A packet larger than the first buffer (4 KiB) is read whole, and the body after it too. */
    @Test
    void aLargeUwsgiPacketAndTheBodyAfterIt() throws IOException {
        String large = "c".repeat(40_000);
        try (java.net.Socket s = connect("127.0.0.1", uwsgi.port())) {
            s.getOutputStream().write(CgiWire.uwsgi(0, List.of(Map.entry("REQUEST_METHOD", "GET"), Map.entry("REQUEST_URI", "/environ"),
                    Map.entry("MY_SETTING", large))));
            JsonNode env = jsonBody(new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1));
            assertEquals(large, value(env, "MY_SETTING"));
        }
        try (java.net.Socket s = connect("127.0.0.1", uwsgi.port())) {
            byte[] packet = CgiWire.uwsgi(0, List.of(Map.entry("REQUEST_METHOD", "POST"), Map.entry("REQUEST_URI", "/input/read"),
                    Map.entry("CONTENT_LENGTH", "11"), Map.entry("MY_SETTING", large)));
            byte[] body = "hello world".getBytes(StandardCharsets.US_ASCII);
            byte[] both = java.util.Arrays.copyOf(packet, packet.length + body.length);
            System.arraycopy(body, 0, both, packet.length, body.length);
            s.getOutputStream().write(both);
            String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertTrue(response.endsWith("[\"hello world\"]"), "the body after a large packet: " + response);
        }
    }

    @Test
    void aMalformedUwsgiPacketClosesTheConnection() throws IOException {
        try (java.net.Socket s = connect("127.0.0.1", uwsgi.port())) {
            s.getOutputStream().write(CgiWire.uwsgi(5, List.of(Map.entry("REQUEST_METHOD", "GET"))));
            assertEquals(-1, s.getInputStream().read());
        }
        assertTrue(uwsgi.awaitOutput("only WSGI requests (0) are served", Duration.ofSeconds(5)), uwsgi.output());
    }

    @Test
    void aUwsgiPeerNotAllowedGets403() throws IOException {
        try (java.net.Socket s = connect(UNTRUSTED_PROXY, uwsgi.port())) {
            s.getOutputStream().write(CgiWire.uwsgi(0, List.of(Map.entry("REQUEST_METHOD", "GET"), Map.entry("REQUEST_URI", "/environ"),
                    Map.entry("REMOTE_ADDR", "192.0.2.1"))));
            String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertTrue(response.startsWith("HTTP/1.1 403"), response);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"418 Short And Stout", "599 Custom", "200 OK", "200 Fine"})
    void theAppsReasonPhraseGoesToTheFrontServer(String status) throws IOException {
        List<Map.Entry<String, String>> vars = List.of(Map.entry("REQUEST_METHOD", "GET"),
                Map.entry("REQUEST_URI", "/status?status=" + status.replace(' ', '+') + "&body=x"));
        try (java.net.Socket s = connect("127.0.0.1", uwsgi.port())) {
            s.getOutputStream().write(CgiWire.uwsgi(0, vars));
            String response = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertTrue(response.startsWith("HTTP/1.1 " + status + "\r\n"), response);
        }
        try (java.net.Socket s = connect("127.0.0.1", fastcgi.port())) {
            s.getOutputStream().write(CgiWire.fastCgiHead(1, false, vars));
            s.getOutputStream().write(CgiWire.record(CgiWire.STDIN, 1, new byte[0]));
            String response = CgiWire.fastCgiResponse(s.getInputStream());
            // A plain 200 goes without a Status line: the front servers take its absence as 200 OK.
            if (status.equals("200 OK")) assertFalse(response.contains("Status:"), response);
            else assertTrue(response.startsWith("Status: " + status + "\r\n"), response);
        }
    }

    @Test
    void fastCgiKeepsTheConnectionAcrossRequestsAndSkipsUnreadBodies() throws Exception {
        try (java.net.Socket s = connect("127.0.0.1", fastcgi.port())) {
            var out = s.getOutputStream();
            // 1: a 2 MiB body the app never reads; the rest of it is skipped after the response.
            byte[] big = new byte[2 << 20];
            out.write(CgiWire.fastCgiHead(1, true, List.of(Map.entry("REQUEST_METHOD", "POST"), Map.entry("REQUEST_URI", "/input/ignore"),
                    Map.entry("CONTENT_LENGTH", Integer.toString(big.length)))));
            for (int at = 0; at < big.length; at += 32768) {
                out.write(CgiWire.record(CgiWire.STDIN, 1, java.util.Arrays.copyOfRange(big, at, at + 32768)));
            }
            out.write(CgiWire.record(CgiWire.STDIN, 1, new byte[0]));
            out.flush();
            assertTrue(CgiWire.fastCgiResponse(s.getInputStream()).endsWith("ignored"));
            // 2: the end of STDIN comes after the response (nginx and Apache may send it late).
            out.write(CgiWire.fastCgiHead(1, true, List.of(Map.entry("REQUEST_METHOD", "GET"), Map.entry("REQUEST_URI", "/environ"))));
            out.flush();
            assertTrue(CgiWire.fastCgiResponse(s.getInputStream()).contains("\"REQUEST_METHOD\""));
            out.write(CgiWire.record(CgiWire.STDIN, 1, new byte[0]));
            // 3: a body read to its CONTENT_LENGTH on the same connection.
            byte[] body = "0123456789".getBytes(StandardCharsets.US_ASCII);
            out.write(CgiWire.fastCgiHead(1, true, List.of(Map.entry("REQUEST_METHOD", "POST"), Map.entry("REQUEST_URI", "/input/sha256"),
                    Map.entry("CONTENT_LENGTH", "10"))));
            out.write(CgiWire.record(CgiWire.STDIN, 1, body));
            out.write(CgiWire.record(CgiWire.STDIN, 1, new byte[0]));
            out.flush();
            String response = CgiWire.fastCgiResponse(s.getInputStream());
            assertTrue(response.contains(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body))), response);
        }
    }

    @Test
    void http2IsOffUnlessAskedFor() {
        Curl.Result r = Curl.attempt("--http2-prior-knowledge", "http://127.0.0.1:" + http.port() + "/environ");
        assertTrue(r.exit() != 0 || !r.out().contains("HTTP/2.0"), r.toString());
        assertEquals("1.1", Curl.run("--http2", "-o", "/dev/null", "-w", "%{http_version}", "http://127.0.0.1:" + http.port() + "/environ"));
    }
}
