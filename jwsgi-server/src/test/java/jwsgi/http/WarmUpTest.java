package jwsgi.http;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jwsgi.testing.Http;
import jwsgi.testing.Marker;
import jwsgi.testing.Pythons;
import jwsgi.testing.ServerProcess;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * --warmup: a worker sends itself synthetic requests before it takes connections, through its own
 * request path to jwsgi's warm-up app. The user's app, its hooks, the access log and
 * --max-requests never see them.
 */
class WarmUpTest {
    private static final Pattern WARMED = Pattern.compile("Warmed up in [\\d.]+ s: (\\d+) (HTTP|uwsgi) requests");

    @Test
    void theWorkerWarmsUpBeforeItServesAndNothingOfTheUsersSeesIt(@TempDir Path dir) throws Exception {
        Path seen = dir.resolve("seen.txt");
        Files.writeString(dir.resolve("recording.py"), """
                def application(environ, start_response):
                    with open(%s, "a") as f:
                        f.write(environ["PATH_INFO"] + "\\n")
                    start_response("200 OK", [("Content-Type", "text/plain")])
                    return [b"mine"]
                """.formatted(pyString(seen)));
        Path hooked = dir.resolve("hooks.txt");
        Path posted = dir.resolve("posted");
        Files.writeString(dir.resolve("hooks.conf.py"), """
                def pre_request(worker, req):
                    with open(%1$s, "a") as f:
                        f.write("pre " + req.path + "\\n")

                def post_request(worker, req, environ, resp):
                    with open(%1$s, "a") as f:
                        f.write("post " + req.path + "\\n")
                    open(%2$s, "w").close()
                """.formatted(pyString(hooked), pyString(posted)));
        Path access = dir.resolve("access.log");
        try (ServerProcess s = ServerProcess.startRaw(List.of("--python", Pythons.DEBIAN.toString(), "--chdir", dir.toString(),
                "-b", "127.0.0.1:0", "-w", "1", "--warmup", "3", "-c", dir.resolve("hooks.conf.py").toString(),
                "--access-logfile", access.toString(), "--max-requests", "3", "recording"), Map.of())) {
            Matcher warmed = WARMED.matcher(s.output());
            assertTrue(warmed.find(), "the worker says it warmed up:\n" + s.output());
            assertTrue(Long.parseLong(warmed.group(1)) > 100, "warm-up requests: " + warmed.group(1));
            assertEquals("HTTP", warmed.group(2), "the requests the listener takes");
            assertTrue(s.output().indexOf("Warmed up") < s.output().indexOf("Listening at"),
                    "warmed up before the worker was ready:\n" + s.output());
            // --max-requests 3 would have been reached hundreds of times over, long before the worker listened.
            assertTrue(!s.output().contains("Served --max-requests"), "warm-up requests were counted:\n" + s.output());
            assertTrue(!Files.exists(seen), "the app saw no warm-up request");
            assertTrue(!Files.exists(hooked), "no hook ran for a warm-up request");
            assertEquals("mine", Http.get(s.url() + "/first").body());
            assertEquals("/first\n", Files.readString(seen), "the app saw the one real request");
            Marker.await(posted, Duration.ofSeconds(10));
            assertEquals("pre /first\npost /first\n", Files.readString(hooked), "the hooks saw the one real request");
            long worker = s.workerPid();
            Http.get(s.url() + "/second");
            assertEquals(worker, s.workerPid(), "two requests of --max-requests 3: warm-up requests were not counted");
            Http.get(s.url() + "/third");
            assertTrue(s.awaitOutput("Served --max-requests (3 requests)", Duration.ofSeconds(10)),
                    "the third real request reaches --max-requests:\n" + s.output());
        }
        List<String> logged = Files.readAllLines(access);
        assertEquals(3, logged.size(), "access log:\n" + String.join("\n", logged));
        assertTrue(logged.get(0).contains("/first"), logged.get(0));
    }

    private static String pyString(Path p) {
        return "'" + p.toString().replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

    /** Behind uwsgi_pass, the warm-up speaks uwsgi: the path compiled is the one nginx's requests take. */
    @Test
    void aUwsgiListenerIsWarmedUpWithUwsgiRequests() throws Exception {
        try (ServerProcess s = ServerProcess.startRaw(List.of("--python", Pythons.DEBIAN.toString(), "-b", "127.0.0.1:0", "-w", "1",
                "--warmup", "2", "--protocol", "uwsgi"), Map.of())) {
            Matcher warmed = WARMED.matcher(s.output());
            assertTrue(warmed.find(), "the worker says it warmed up:\n" + s.output());
            assertTrue(Long.parseLong(warmed.group(1)) > 100, "warm-up requests: " + warmed.group(1) + "\n" + s.output());
            assertEquals("uwsgi", warmed.group(2), "the requests the listener takes");
            try (java.net.Socket socket = new java.net.Socket("127.0.0.1", s.port())) {
                socket.getOutputStream().write(UwsgiPacketTest.packet(0, "REQUEST_METHOD", "GET", "REQUEST_URI", "/", "PATH_INFO", "/",
                        "SERVER_NAME", "127.0.0.1", "SERVER_PORT", "80", "SERVER_PROTOCOL", "HTTP/1.1", "HTTP_HOST", "127.0.0.1"));
                String response = new String(socket.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.ISO_8859_1);
                assertTrue(response.startsWith("HTTP/1.1 200"), "a real uwsgi request after the warm-up:\n" + response);
            }
        }
    }
}
