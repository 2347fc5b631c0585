package jwsgi.frontend;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;

import com.fasterxml.jackson.databind.JsonNode;

import jwsgi.testing.Certificates;
import jwsgi.testing.Http;
import jwsgi.testing.ServerProcess;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * jwsgi facing clients itself: TLS from PEM files, HTTP/2 by ALPN and as h2c (prior knowledge
 * and upgrade), each stream an ordinary WSGI request, and the PROXY protocol from a load
 * balancer in front. Clients: java.net.http and Debian's curl (built with nghttp2).
 */
class DirectClientsTest {
    @TempDir
    static Path dir;
    private static Certificates.Pair cert;
    /** TLS, HTTP/2 and HTTP/1.1. */
    private static ServerProcess tls;
    /** Clear text, h2c and HTTP/1.1, PROXY protocol from 127.0.0.1. */
    private static ServerProcess clear;
    private static HttpClient h2;

    @BeforeAll
    static void start() {
        cert = Certificates.selfSigned(dir, "server");
        CompletableFuture<ServerProcess> t = CompletableFuture.supplyAsync(() -> ServerProcess.start("corpus:application",
                "--certfile", cert.cert().toString(), "--keyfile", cert.key().toString(), "--http-protocols", "h2,h1",
                "--threads", "4"));
        CompletableFuture<ServerProcess> c = CompletableFuture.supplyAsync(() -> ServerProcess.start("corpus:application",
                "--http-protocols", "h2,h1", "--proxy-protocol", "--threads", "4"));
        tls = t.join();
        clear = c.join();
        h2 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).sslContext(Certificates.trusting(cert.cert()))
                .connectTimeout(Duration.ofSeconds(5)).build();
    }

    @AfterAll
    static void stop() {
        if (tls != null) tls.close();
        if (clear != null) clear.close();
    }

    private static String value(JsonNode environ, String key) {
        JsonNode v = environ.get(key);
        return v == null ? null : v.get(1).asText();
    }

    private static HttpResponse<String> send(HttpClient client, HttpRequest request) throws Exception {
        return client.send(request, HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void http2OverTlsIsAnOrdinaryWsgiRequest() throws Exception {
        String url = "https://localhost:" + tls.port() + "/environ/x%20y?a=1";
        assertTrue(tls.output().contains("Listening at: https://127.0.0.1:" + tls.port()), tls.output());
        HttpResponse<String> r = send(h2, HttpRequest.newBuilder(URI.create(url)).header("X-Custom", "v").build());
        assertEquals(200, r.statusCode(), r.body());
        assertEquals(HttpClient.Version.HTTP_2, r.version());
        JsonNode env = Http.json(r.body());
        assertEquals("https", value(env, "wsgi.url_scheme"));
        assertEquals("HTTP/2.0", value(env, "SERVER_PROTOCOL"));
        assertEquals("localhost:" + tls.port(), value(env, "HTTP_HOST"), "made from :authority");
        assertEquals("localhost", value(env, "SERVER_NAME"));
        assertEquals(Integer.toString(tls.port()), value(env, "SERVER_PORT"));
        assertEquals("/environ/x y", value(env, "PATH_INFO"));
        assertEquals("a=1", value(env, "QUERY_STRING"));
        assertEquals("v", value(env, "HTTP_X_CUSTOM"));
    }

    @Test
    void http2BodiesWithoutContentLengthAreRead() throws Exception {
        byte[] body = new byte[3 << 20];
        new Random(2).nextBytes(body);
        // ofInputStream has no known length: the body comes in DATA frames with no content-length header.
        HttpRequest request = HttpRequest.newBuilder(URI.create("https://localhost:" + tls.port() + "/input/sha256"))
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body))).build();
        HttpResponse<String> r = send(h2, request);
        assertEquals(HttpClient.Version.HTTP_2, r.version());
        JsonNode json = Http.json(r.body());
        assertEquals(body.length, json.get("length").asInt());
        assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body)), json.get("sha256").asText());
    }

    @Test
    void manyConcurrentStreamsOnOneConnection() throws Exception {
        List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            all.add(h2.sendAsync(HttpRequest.newBuilder(URI.create("https://localhost:" + tls.port() + "/echo-path/" + i)).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        for (int i = 0; i < 20; i++) {
            HttpResponse<String> r = all.get(i).get();
            assertEquals(HttpClient.Version.HTTP_2, r.version());
            assertEquals("/echo-path/" + i, Http.json(r.body()).get("path").asText());
        }
    }

    @Test
    void http11OverTlsStillWorks() throws Exception {
        HttpClient h1 = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).sslContext(Certificates.trusting(cert.cert())).build();
        HttpResponse<String> r = send(h1, HttpRequest.newBuilder(URI.create("https://localhost:" + tls.port() + "/environ")).build());
        assertEquals(HttpClient.Version.HTTP_1_1, r.version());
        assertEquals("https", value(Http.json(r.body()), "wsgi.url_scheme"));
    }

    @Test
    void curlNegotiatesH2ByAlpnAndH1WhenAsked() {
        String url = "https://localhost:" + tls.port() + "/environ";
        assertEquals("2", Curl.run("--cacert", cert.cert().toString(), "--http2", "-o", "/dev/null", "-w", "%{http_version}", url));
        assertEquals("1.1", Curl.run("--cacert", cert.cert().toString(), "--http1.1", "-o", "/dev/null", "-w", "%{http_version}", url));
        JsonNode env = Http.json(Curl.run("--cacert", cert.cert().toString(), "--http2", url));
        assertEquals("HTTP/2.0", value(env, "SERVER_PROTOCOL"));
    }

    @Test
    void onlyTls12AndNewerAreOffered() {
        String url = "https://localhost:" + tls.port() + "/environ";
        assertEquals("200", Curl.run("--cacert", cert.cert().toString(), "--tlsv1.2", "--tls-max", "1.2", "-o", "/dev/null",
                "-w", "%{http_code}", url));
        Curl.Result old = Curl.attempt("--cacert", cert.cert().toString(), "--tlsv1.1", "--tls-max", "1.1", url);
        assertTrue(old.exit() != 0, "TLS 1.1 must be refused: " + old);
    }

    @Test
    void h2cByPriorKnowledgeAndByUpgrade() throws Exception {
        String url = "http://127.0.0.1:" + clear.port() + "/environ";
        assertEquals("2", Curl.run("--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version}", url));
        assertEquals("2", Curl.run("--http2", "-o", "/dev/null", "-w", "%{http_version}", url), "Upgrade: h2c");
        // java.net.http asks for h2c by Upgrade on http:// URLs.
        HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
        HttpResponse<String> first = send(client, HttpRequest.newBuilder(URI.create(url)).build());
        HttpResponse<String> second = send(client, HttpRequest.newBuilder(URI.create(url)).build());
        assertEquals(HttpClient.Version.HTTP_2, second.version());
        JsonNode env = Http.json(second.body());
        assertEquals("HTTP/2.0", value(env, "SERVER_PROTOCOL"));
        assertEquals("http", value(env, "wsgi.url_scheme"));
        assertEquals("127.0.0.1:" + clear.port(), value(env, "HTTP_HOST"));
        assertEquals(200, first.statusCode());
    }

    @Test
    void h2cPostWithoutLength() {
        // With HTTP/2 curl turns "Transfer-Encoding: chunked" into DATA frames and no content-length.
        String out = Curl.withInput("hello h2c body", "--http2-prior-knowledge", "-H", "Transfer-Encoding: chunked",
                "-H", "Content-Type: text/plain", "--data-binary", "@-", "http://127.0.0.1:" + clear.port() + "/environ");
        JsonNode env = Http.json(out);
        assertEquals("HTTP/2.0", value(env, "SERVER_PROTOCOL"));
        assertEquals(null, value(env, "CONTENT_LENGTH"), "the body came without a length");
        String echoed = Curl.withInput("hello h2c body", "--http2-prior-knowledge", "-H", "Transfer-Encoding: chunked",
                "--data-binary", "@-", "http://127.0.0.1:" + clear.port() + "/input/read");
        assertEquals("[\"hello h2c body\"]", echoed);
    }

    @Test
    void http11StaysTheDefault() {
        assertEquals("1.1", Curl.run("-o", "/dev/null", "-w", "%{http_version}", "http://127.0.0.1:" + clear.port() + "/environ"));
    }

    // ---- PROXY protocol -------------------------------------------------------------------

    private static String rawGet(String from, byte[] proxyHeader) throws IOException {
        try (Socket s = new Socket()) {
            s.bind(new InetSocketAddress(InetAddress.getByName(from), 0));
            s.connect(new InetSocketAddress("127.0.0.1", clear.port()), 5000);
            s.setSoTimeout(15000);
            OutputStream out = s.getOutputStream();
            out.write(proxyHeader);
            out.write("GET /environ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.ISO_8859_1);
        }
    }

    private static JsonNode body(String response) {
        assertTrue(response.startsWith("HTTP/1.1 200"), response);
        return Http.json(response.substring(response.indexOf("\r\n\r\n") + 4));
    }

    /** A PROXY v2 header for a TCP over IPv4 connection. */
    static byte[] proxyV2(String source, int sourcePort, String destination, int destinationPort) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(28);
        b.put(new byte[] {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A});
        b.put((byte) 0x21).put((byte) 0x11).putShort((short) 12);
        b.put(InetAddress.getByName(source).getAddress()).put(InetAddress.getByName(destination).getAddress());
        b.putShort((short) sourcePort).putShort((short) destinationPort);
        return b.array();
    }

    @Test
    void proxyV1AndV2FromAnAllowedPeerNameTheClient() throws IOException {
        JsonNode v1 = body(rawGet("127.0.0.1", "PROXY TCP4 203.0.113.9 127.0.0.1 5555 80\r\n".getBytes(StandardCharsets.US_ASCII)));
        assertEquals("203.0.113.9", value(v1, "REMOTE_ADDR"));
        assertEquals("5555", value(v1, "REMOTE_PORT"));
        JsonNode v1six = body(rawGet("127.0.0.1", "PROXY TCP6 2001:db8::7 ::1 6666 80\r\n".getBytes(StandardCharsets.US_ASCII)));
        assertEquals("2001:db8::7", value(v1six, "REMOTE_ADDR"));
        JsonNode v2 = body(rawGet("127.0.0.1", proxyV2("198.51.100.4", 7777, "127.0.0.1", 80)));
        assertEquals("198.51.100.4", value(v2, "REMOTE_ADDR"));
        assertEquals("7777", value(v2, "REMOTE_PORT"));
        // The header is optional: the balancer's health checks come without it.
        assertEquals("127.0.0.1", value(body(rawGet("127.0.0.1", new byte[0])), "REMOTE_ADDR"));
    }

    @Test
    void spoofedProxyHeadersFromOtherPeersAreRefused() throws IOException {
        String v1 = rawGet("127.0.0.3", "PROXY TCP4 203.0.113.9 127.0.0.1 5555 80\r\n".getBytes(StandardCharsets.US_ASCII));
        assertTrue(v1.startsWith("HTTP/1.1 400"), v1);
        assertFalse(v1.contains("203.0.113.9"), v1);
        String v2 = rawGet("127.0.0.3", proxyV2("198.51.100.4", 7777, "127.0.0.1", 80));
        assertTrue(v2.isEmpty() || v2.startsWith("HTTP/1.1 400"), v2);
        assertFalse(v2.contains("198.51.100.4"), v2);
        // Without a header the same peer is served, as itself.
        assertEquals("127.0.0.3", value(body(rawGet("127.0.0.3", new byte[0])), "REMOTE_ADDR"));
    }

    // ---- certificates ---------------------------------------------------------------------

    private static ServerProcess failing(String... args) {
        List<String> all = new ArrayList<>(List.of("--python", jwsgi.testing.Pythons.DEBIAN.toString(), "-b", "127.0.0.1:0"));
        all.addAll(List.of(args));
        ServerProcess p = ServerProcess.launch(all, Map.of());
        p.waitFor(Duration.ofSeconds(30));
        return p;
    }

    @Test
    void aMissingCertificateIsAClearStartUpError() {
        ServerProcess p = failing("--certfile", dir.resolve("nope.crt").toString(), "--keyfile", cert.key().toString());
        assertEquals(2, p.waitFor(Duration.ofSeconds(5)));
        assertTrue(p.output().contains("--certfile " + dir.resolve("nope.crt") + ": no such file"), p.output());
    }

    @Test
    void aKeyThatIsNotTheCertificatesIsRefused() {
        Certificates.Pair other = Certificates.selfSigned(dir, "other");
        ServerProcess p = failing("--certfile", cert.cert().toString(), "--keyfile", other.key().toString());
        assertEquals(1, p.waitFor(Duration.ofSeconds(5)));
        assertTrue(p.output().contains("does not belong to the certificate"), p.output());
    }

    @Test
    void garbageAndEncryptedKeysAreRefusedWithTheReason() throws IOException {
        Path garbage = Files.writeString(dir.resolve("garbage.pem"), "not a pem file\n");
        ServerProcess p = failing("--certfile", garbage.toString(), "--keyfile", cert.key().toString());
        assertEquals(1, p.waitFor(Duration.ofSeconds(5)));
        assertTrue(p.output().contains("--certfile " + garbage + ": no PEM certificate in it"), p.output());
        Path encrypted = dir.resolve("encrypted.key");
        Certificates.openssl(dir, "pkey", "-in", cert.key().toString(), "-aes256", "-passout", "pass:secret", "-out", encrypted.toString());
        ServerProcess q = failing("--certfile", cert.cert().toString(), "--keyfile", encrypted.toString());
        assertEquals(1, q.waitFor(Duration.ofSeconds(5)));
        assertTrue(q.output().contains("the private key is encrypted"), q.output());
    }

    @Test
    void traditionalRsaAndEcKeysAndAKeyInsideTheCertfileWork() throws IOException {
        // openssl 1.x's "BEGIN RSA PRIVATE KEY" (PKCS#1), and an EC key ("BEGIN EC PRIVATE KEY", SEC1) in the cert file.
        Path rsa = dir.resolve("rsa-traditional.key");
        Certificates.openssl(dir, "pkey", "-in", cert.key().toString(), "-traditional", "-out", rsa.toString());
        assertTrue(Files.readString(rsa).contains("BEGIN RSA PRIVATE KEY"));
        Path ecKey = dir.resolve("ec.key");
        Path ecCert = dir.resolve("ec.crt");
        Certificates.openssl(dir, "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", ecKey.toString());
        Certificates.openssl(dir, "req", "-x509", "-key", ecKey.toString(), "-days", "2", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost", "-out", ecCert.toString());
        Path combined = Files.writeString(dir.resolve("combined.pem"), Files.readString(ecCert) + Files.readString(ecKey));
        for (List<String> args : List.of(List.of("--certfile", cert.cert().toString(), "--keyfile", rsa.toString()),
                List.of("--certfile", combined.toString()))) {
            List<String> all = new ArrayList<>(List.of("corpus:application"));
            all.addAll(args);
            try (ServerProcess s = ServerProcess.start(all.toArray(new String[0]))) {
                Path trust = args.contains(combined.toString()) ? ecCert : cert.cert();
                HttpClient client = HttpClient.newBuilder().sslContext(Certificates.trusting(trust)).build();
                HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create("https://localhost:" + s.port() + "/environ")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertEquals(200, r.statusCode(), args.toString());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
