package jwsgi.testing;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Random;

import com.fasterxml.jackson.databind.JsonNode;

import jwsgi.embed.PythonAppOptions;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the embedding tests (Jetty handler, servlet) share: the options of the test app
 * {@code embedded.py} in the test JVM's own Python, and the checks each container must pass
 * over real HTTP on loopback.
 *
 * <p>The test JVM's Python is {@link EmbeddedPython}'s, held for the JVM's life: the apps share
 * it, so closing one never finalises the Python the other tests use.
 */
public final class EmbeddedApps {
    private static final Duration MARKER_WAIT = Duration.ofSeconds(30);

    private EmbeddedApps() {}

    /** {@code embedded:application} in the test JVM's Python, with {@code threads} Python threads. */
    public static PythonAppOptions.Builder options(int threads) {
        EmbeddedPython.runtime();
        return PythonAppOptions.builder("embedded:application").python(Pythons.DEBIAN.toString())
                .pythonpath(Pythons.APPS.toString()).threads(threads);
    }

    /** "Basic ..." for {@code user:password}. */
    public static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    /** The environ values of {@code /environ} under {@code base} (e.g. http://127.0.0.1:PORT/ctx/py/secure). */
    public static JsonNode environ(String base, String authorization) {
        HttpRequest.Builder r = HttpRequest.newBuilder(URI.create(base + "/environ?x=1")).timeout(Duration.ofSeconds(30));
        if (authorization != null) r.header("Authorization", authorization);
        HttpResponse<String> response = Http.send(r.build());
        assertEquals(200, response.statusCode(), response.body());
        return Http.json(response.body());
    }

    /**
     * A response streams as the app yields: the first chunk arrives while the app still waits
     * (for the marker this test creates only once it has that chunk).
     */
    public static void streams(String base, Path dir) throws IOException, InterruptedException {
        Path marker = dir.resolve("stream-" + System.nanoTime());
        HttpRequest r = HttpRequest.newBuilder(URI.create(base + "/stream?" + marker)).timeout(Duration.ofSeconds(30)).build();
        HttpResponse<InputStream> response = Http.client().send(r, HttpResponse.BodyHandlers.ofInputStream());
        assertEquals(200, response.statusCode());
        try (InputStream in = response.body()) {
            String first = new String(in.readNBytes("first\n".length()), StandardCharsets.UTF_8);
            assertEquals("first\n", first, "the first chunk came before the app went on");
            Files.createFile(marker);
            assertEquals("second\nthird\n", new String(in.readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    /** A 3 MB upload reaches the app whole. */
    public static void uploads(String base) throws NoSuchAlgorithmException {
        byte[] body = new byte[3 << 20];
        new Random(21).nextBytes(body);
        HttpResponse<String> response = Http.post(base + "/upload", body, "application/octet-stream");
        assertEquals(200, response.statusCode(), response.body());
        JsonNode json = Http.json(response.body());
        assertEquals(body.length, json.get("length").asInt());
        assertEquals(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body)), json.get("sha256").asText());
    }

    /** A request past the app's timeout is answered 504, and the log shows where it was in Python. */
    public static void timesOut(String base) {
        try (LogCapture log = LogCapture.of("jwsgi.wsgi.Watchdog")) {
            HttpResponse<String> response = Http.get(base + "/hang");
            assertEquals(504, response.statusCode(), response.body());
            assertTrue(log.contains("WORKER TIMEOUT"), log.toString());
            assertTrue(log.contains("in application") && log.contains("time.sleep(0.01)"), "the app's Python stack is logged:\n" + log);
        }
    }

    /** Waits for the {@code .started} file of a {@code /wait} request. */
    public static void awaitStarted(Path marker) throws InterruptedException {
        Marker.await(Path.of(marker + ".started"), MARKER_WAIT);
    }
}
