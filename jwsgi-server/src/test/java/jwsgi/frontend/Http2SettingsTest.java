package jwsgi.frontend;

import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;

import com.fasterxml.jackson.databind.JsonNode;

import jwsgi.testing.Certificates;
import jwsgi.testing.Http;
import jwsgi.testing.ServerProcess;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * gunicorn's HTTP/2 settings (http2_max_concurrent_streams, http2_initial_window_size,
 * http2_max_frame_size, http2_max_header_list_size): what the server's SETTINGS frame tells a
 * client, read off the wire, with the defaults over h2c and values from a config file
 * over TLS; and the header list limit as curl meets it.
 */
class Http2SettingsTest {
    private static final int MAX_CONCURRENT_STREAMS = 3;
    private static final int INITIAL_WINDOW_SIZE = 4;
    private static final int MAX_FRAME_SIZE = 5;
    private static final int MAX_HEADER_LIST_SIZE = 6;
    /** RFC 9113 6.5.2 and 6.9.2: what a setting the server does not send is. */
    private static final int DEFAULT_WINDOW = 65_535;
    private static final int DEFAULT_FRAME = 16_384;

    @TempDir
    static Path dir;
    /** h2c and HTTP/1.1 with the defaults (gunicorn's, but a larger window). */
    private static ServerProcess defaults;
    /** TLS with h2 only, the HTTP/2 settings from a config file by gunicorn's names. */
    private static ServerProcess tuned;
    private static Certificates.Pair cert;

    @BeforeAll
    static void start() throws IOException {
        cert = Certificates.selfSigned(dir, "server");
        Path config = dir.resolve("gunicorn.conf.py");
        Files.writeString(config, """
                http2_max_concurrent_streams = 7
                http2_initial_window_size = 4 * 1024 * 1024
                http2_max_frame_size = 65536
                http2_max_header_list_size = 4096
                """);
        CompletableFuture<ServerProcess> d = CompletableFuture.supplyAsync(() -> ServerProcess.start("corpus:application",
                "--http-protocols", "h2,h1"));
        CompletableFuture<ServerProcess> t = CompletableFuture.supplyAsync(() -> ServerProcess.start("corpus:application",
                "-c", config.toString(), "--certfile", cert.cert().toString(), "--keyfile", cert.key().toString(),
                "--http-protocols", "h2"));
        defaults = d.join();
        tuned = t.join();
    }

    @AfterAll
    static void stop() {
        if (defaults != null) defaults.close();
        if (tuned != null) tuned.close();
    }

    /** What the server's first frames say: its SETTINGS, and the increment of its connection window (0 if none). */
    private record Preface(Map<Integer, Long> settings, long connectionWindowIncrement) {}

    /** Sends the client preface and an empty SETTINGS frame, then reads frames until the server's SETTINGS and window. */
    private static Preface preface(Socket socket) throws IOException {
        socket.setSoTimeout(10_000);
        OutputStream out = socket.getOutputStream();
        out.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        out.write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0});
        out.flush();
        DataInputStream in = new DataInputStream(socket.getInputStream());
        Map<Integer, Long> settings = null;
        long increment = 0;
        for (int frames = 0; frames < 8 && (settings == null || increment == 0); frames++) {
            int length = in.readUnsignedByte() << 16 | in.readUnsignedByte() << 8 | in.readUnsignedByte();
            int type = in.readUnsignedByte();
            int flags = in.readUnsignedByte();
            int stream = in.readInt() & 0x7FFF_FFFF;
            DataInputStream payload = new DataInputStream(new ByteArrayInputStream(in.readNBytes(length)));
            if (type == 0x4 && (flags & 0x1) == 0) {
                settings = new HashMap<>();
                for (int i = 0; i < length / 6; i++) settings.put(payload.readUnsignedShort(), payload.readInt() & 0xFFFF_FFFFL);
            } else if (type == 0x8 && stream == 0) {
                increment = payload.readInt() & 0x7FFF_FFFF;
            }
        }
        assertTrue(settings != null, "the server sent no SETTINGS frame");
        return new Preface(settings, increment);
    }

    @Test
    void defaultsOverH2c() throws IOException {
        try (Socket s = new Socket("127.0.0.1", defaults.port())) {
            Preface p = preface(s);
            assertEquals(100L, p.settings().get(MAX_CONCURRENT_STREAMS), p.toString());
            assertEquals(512L << 10, p.settings().get(INITIAL_WINDOW_SIZE), "jwsgi's default, larger than gunicorn's: " + p);
            assertEquals(DEFAULT_FRAME, p.settings().getOrDefault(MAX_FRAME_SIZE, (long) DEFAULT_FRAME), p.toString());
            assertEquals(65_536L, p.settings().get(MAX_HEADER_LIST_SIZE), p.toString());
        }
    }

    @Test
    void configFileSettingsOverTls() throws IOException {
        try (SSLSocket s = (SSLSocket) Certificates.trusting(cert.cert()).getSocketFactory().createSocket("127.0.0.1", tuned.port())) {
            SSLParameters parameters = s.getSSLParameters();
            parameters.setApplicationProtocols(new String[] {"h2"});
            s.setSSLParameters(parameters);
            s.startHandshake();
            assertEquals("h2", s.getApplicationProtocol());
            Preface p = preface(s);
            assertEquals(7L, p.settings().get(MAX_CONCURRENT_STREAMS), p.toString());
            assertEquals(4L << 20, p.settings().get(INITIAL_WINDOW_SIZE), p.toString());
            assertEquals(65_536L, p.settings().get(MAX_FRAME_SIZE), p.toString());
            assertEquals(4096L, p.settings().get(MAX_HEADER_LIST_SIZE), p.toString());
            assertEquals((4L << 20) - DEFAULT_WINDOW, p.connectionWindowIncrement(), "the connection window holds one stream's");
        }
    }

    @Test
    void headersPastTheHeaderListSizeCostTheConnection() {
        String url = "https://localhost:" + tuned.port() + "/environ";
        JsonNode env = Http.json(Curl.run("--http2", "--cacert", cert.cert().toString(), "-H", "X-Big: " + "a".repeat(3000), url));
        assertEquals(3000, env.get("HTTP_X_BIG").get(1).asText().length());
        Curl.Result refused = Curl.attempt("--http2", "--cacert", cert.cert().toString(), "-H", "X-Big: " + "a".repeat(5000),
                "-o", "/dev/null", "-w", "%{http_code}", url);
        assertNotEquals("200", refused.out(), "4096 bytes of headers at most: " + refused);
        String defaultLimit = Curl.run("--http2-prior-knowledge", "-H", "X-Big: " + "a".repeat(5000), "-o", "/dev/null",
                "-w", "%{http_code}", "http://127.0.0.1:" + defaults.port() + "/environ");
        assertEquals("200", defaultLimit, "65536 bytes by default");
    }
}
