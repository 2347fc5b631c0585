package jwsgi.embed;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import com.fasterxml.jackson.databind.JsonNode;

import jwsgi.testing.EmbeddedApps;
import jwsgi.testing.Http;
import jwsgi.testing.LoadLoop;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * examples/spring-boot end to end, as its README says to run it: {@code examples/spring-boot/run}
 * (which installs jwsgi, builds the app and starts it in the foreground) on a free loopback port;
 * Spring's endpoint, the Flask app behind Spring Security, 32 connections of load for 5 s, and a
 * stop by SIGTERM that finalises Python.
 */
class SpringBootExampleTest {
    private static final Path RUN = Path.of("examples/spring-boot/run").toAbsolutePath();
    /** The first run builds jwsgi and the Spring Boot app (and may download Spring Boot): minutes. */
    private static final Duration START_TIMEOUT = Duration.ofMinutes(10);
    private static final String STARTED = "Started FlaskInSpringApplication";
    private static final Duration LOAD = Duration.ofSeconds(5);

    @Test
    void flaskBehindSpringSecurityInOneJvm(@TempDir Path dir) throws Exception {
        int port = freePort();
        Path log = dir.resolve("run.log");
        ProcessBuilder pb = new ProcessBuilder(RUN.toString()).redirectErrorStream(true).redirectOutput(log.toFile());
        pb.environment().put("PORT", Integer.toString(port));
        pb.environment().remove("VIRTUAL_ENV");
        Process process = pb.start();
        try {
            awaitLine(process, log, STARTED);
            String base = "http://127.0.0.1:" + port;

            HttpResponse<String> hello = Http.get(base + "/api/hello");
            assertEquals(200, hello.statusCode(), hello.body());
            assertTrue(hello.body().contains("\"spring\""), hello.body());

            assertEquals(401, Http.get(base + "/py/whoami").statusCode(), "Spring Security wants credentials");

            HttpResponse<String> me = Http.send(HttpRequest.newBuilder(URI.create(base + "/py/whoami"))
                    .header("Authorization", EmbeddedApps.basic("demo", "demo")).build());
            assertEquals(200, me.statusCode(), me.body());
            JsonNode who = Http.json(me.body());
            assertEquals("/py", who.get("script_name").asText());
            assertEquals("/whoami", who.get("path_info").asText());
            assertEquals("demo", who.get("remote_user").asText());

            try (LoadLoop load = LoadLoop.start("127.0.0.1", port, "/py/whoami", 32,
                    "Authorization: " + EmbeddedApps.basic("demo", "demo") + "\r\n")) {
                Thread.sleep(LOAD);  // the load's duration, not an ordering: what happens meanwhile is counted
                load.close();
                assertTrue(load.failures().isEmpty(), "no request failed under load: " + load);
                assertTrue(load.answered() > 32, load.toString());
            }
        } finally {
            process.destroy();  // SIGTERM to the JVM: run execs java, so the PID is the JVM's
            if (!process.waitFor(60, TimeUnit.SECONDS)) process.destroyForcibly();
        }
        String output = Files.readString(log, StandardCharsets.UTF_8);
        assertTrue(output.contains("Stopped whoami:app; Python finalised"), "the container's stop finalised Python:\n" + tail(output));
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }

    private static void awaitLine(Process process, Path log, String line) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (true) {
            String output = Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
            if (output.contains(line)) return;
            if (!process.isAlive()) throw new AssertionError("examples/spring-boot/run exited " + process.exitValue() + ":\n" + tail(output));
            if (System.nanoTime() > deadline) throw new AssertionError("no '" + line + "' within " + START_TIMEOUT + ":\n" + tail(output));
            Thread.sleep(100);
        }
    }

    private static String tail(String output) {
        return output.length() > 6000 ? output.substring(output.length() - 6000) : output;
    }
}
