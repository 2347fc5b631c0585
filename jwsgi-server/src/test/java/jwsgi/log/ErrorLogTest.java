package jwsgi.log;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

import jwsgi.testing.Http;
import jwsgi.testing.Pythons;
import jwsgi.testing.ServerProcess;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The error log: gunicorn's line format and levels, to a file, the app's stdout and stderr
 * captured into it, the app's Python logging where gunicorn would put it, and both logs
 * reopened on USR1 after logrotate moved them.
 */
class ErrorLogTest {
    /** {@code [2026-11-25 08:15:09 +0000] [1234] [INFO] message}. */
    private static final Pattern LINE = Pattern.compile("^\\[\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}:\\d{2} [+-]\\d{4}] \\[(\\d+)] "
            + "\\[(DEBUG|INFO|WARNING|ERROR|CRITICAL)] .*");

    private static ServerProcess start(Path dir, String... args) {
        List<String> all = new ArrayList<>(ServerProcess.args("logging_app"));
        all.addAll(List.of(args));
        int file = all.indexOf("--error-logfile");
        if (file < 0) return ServerProcess.startIn(dir, all, Map.of());
        return ServerProcess.launch(all, Map.of(), dir).awaitListening(Path.of(all.get(file + 1)));
    }

    private static String awaitContent(Path file, String text) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        String content = "";
        while (System.nanoTime() < deadline) {
            content = Files.exists(file) ? Files.readString(file, StandardCharsets.UTF_8) : "";
            if (content.contains(text)) return content;
            Thread.sleep(50);
        }
        throw new AssertionError("'" + text + "' not in " + file + ":\n" + content);
    }

    @Test
    void theErrorLogFileHasGunicornsFormatAndTheAppsOutputWithCaptureOutput(@TempDir Path dir) throws Exception {
        Path errors = dir.resolve("error.log");
        ServerProcess server = start(dir, "--error-logfile", errors.toString(), "--capture-output");
        try {
            Http.get(server.url() + "/print?one");
            Http.get(server.url() + "/stderr?two");
            Http.get(server.url() + "/gunicorn-error?three");
            String log = awaitContent(errors, "exception via gunicorn.error three");
            awaitContent(errors, "printed by the app one");
            awaitContent(errors, "written to stderr by the app two");
            long pid = server.pid();
            // The app's lines come from the worker process, with its pid (as under gunicorn).
            long worker = server.awaitWorkers(1, List.of(), Duration.ofSeconds(30)).get(0);
            for (String level : List.of("INFO", "WARNING", "CRITICAL", "ERROR")) {
                assertTrue(log.contains("] [" + worker + "] [" + level + "] "), level + " in:\n" + log);
            }
            assertTrue(log.contains("[" + pid + "] [INFO] Listening at: http://127.0.0.1:" + server.port() + " (" + pid + ")"), log);
            assertTrue(log.contains("[CRITICAL] critical via gunicorn.error three"), log);
            assertTrue(log.contains("[ERROR] exception via gunicorn.error three\nTraceback (most recent call last):"), log);
            assertTrue(log.contains("ValueError: boom three"), log);
            for (String line : log.split("\n")) {
                if (line.startsWith("[")) assertTrue(LINE.matcher(line).matches(), "gunicorn's format: " + line);
            }
            assertFalse(server.output().contains("Listening at"), "nothing on the terminal:\n" + server.output());
        } finally {
            server.close();
        }
    }

    @Test
    void theLevelFiltersTheServersAndTheAppsLinesAlike(@TempDir Path dir) throws Exception {
        // At warning, not even "Listening at" is logged: find the port first, then wait for it to answer.
        int port = jwsgi.testing.FrontServer.freePort();
        ServerProcess server = ServerProcess.launch(List.of("--python", Pythons.DEBIAN.toString(), "--chdir",
                ServerProcess.APPS.toString(), "-b", "127.0.0.1:" + port, "logging_app", "--log-level", "warning"), Map.of(), dir);
        try {
            String url = "http://127.0.0.1:" + port;
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (true) {
                try (java.net.Socket s = new java.net.Socket("127.0.0.1", port)) {
                    break;
                } catch (java.io.IOException notYet) {
                    assertTrue(System.nanoTime() < deadline && server.isAlive(), server.output());
                    Thread.sleep(100);
                }
            }
            Http.get(url + "/gunicorn-error?four");
            assertTrue(server.awaitOutput("[WARNING] warning via gunicorn.error four", Duration.ofSeconds(10)), server.output());
            assertFalse(server.output().contains("info via gunicorn.error"), server.output());
            assertFalse(server.output().contains("[INFO]"), server.output());
        } finally {
            server.close();
        }
    }

    @Test
    void theAppsOwnLoggersGoWhereTheyGoUnderGunicorn(@TempDir Path dir) throws Exception {
        ServerProcess plain = start(dir);
        try {
            Http.get(plain.url() + "/app-log?five");
            // Unconfigured, Python's last-resort handler prints WARNING and above, bare, on stderr.
            assertTrue(plain.awaitOutput("\nwarning via the app's logger five\n", Duration.ofSeconds(10)), plain.output());
            assertFalse(plain.output().contains("info via the app's logger"), plain.output());
        } finally {
            plain.close();
        }
        Files.writeString(dir.resolve("gunicorn.conf.py"), """
                logconfig_dict = {"loggers": {"app": {"level": "INFO", "handlers": ["console"], "propagate": False}}}
                """);
        ServerProcess configured = start(dir);
        try {
            Http.get(configured.url() + "/app-log?six");
            // gunicorn's defaults complete the dict: its "console" handler and "generic" format, on stdout.
            long worker = configured.awaitWorkers(1, List.of(), Duration.ofSeconds(30)).get(0);
            String expected = "[" + worker + "] [INFO] info via the app's logger six";
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (!configured.stdout().contains(expected) && System.nanoTime() < deadline) Thread.sleep(50);
            assertTrue(configured.stdout().contains(expected), configured.output());
        } finally {
            configured.close();
        }
    }

    @Test
    void usr1ReopensBothLogsAfterLogrotateMovedThem(@TempDir Path dir) throws Exception {
        Path errors = dir.resolve("error.log");
        Path access = dir.resolve("access.log");
        ServerProcess server = start(dir, "--error-logfile", errors.toString(), "--access-logfile", access.toString(),
                "--capture-output");
        try {
            Http.get(server.url() + "/print?before");
            awaitContent(access, "GET /print?before ");
            Files.move(errors, dir.resolve("error.log.1"));
            Files.move(access, dir.resolve("access.log.1"));
            server.signal("USR1");
            awaitContent(dir.resolve("error.log.1"), "Handling signal: usr1");
            // The master's line only says the signal was forwarded; the worker's says it switched.
            awaitContent(errors, "Reopened the log files");
            Http.get(server.url() + "/print?after");
            awaitContent(access, "GET /print?after ");
            assertFalse(Files.readString(access).contains("before"), "a new file");
            assertTrue(Files.readString(dir.resolve("access.log.1")).contains("GET /print?before "));
            server.signal("TERM");
            assertEquals(0, server.waitFor(Duration.ofSeconds(20)));
            awaitContent(errors, "Shutting down: Master");
            // The app's last output too, written after the worker closed its listener copy.
            awaitContent(errors, "printed by the app at exit");
            assertFalse(Files.readString(dir.resolve("error.log.1")).contains("at exit"), "the rotated file got no new lines");
        } finally {
            server.close();
        }
    }

    @Test
    void theAccessLogCanBeJsonLines(@TempDir Path dir) throws Exception {
        Path access = dir.resolve("access.jsonl");
        ServerProcess server = start(dir, "--access-logfile", access.toString(), "--access-log-json",
                "--access-logformat", "%(h)s %(r)s %(s)s %(B)s %(D)s %({user-agent}i)s");
        try {
            Http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create(server.url() + "/print?json"))
                    .header("User-Agent", "json \"agent\"").build());
            String line = awaitContent(access, "}\n").strip();
            JsonNode json = Http.json(line);
            assertEquals("127.0.0.1", json.get("remote_addr").asText());
            assertEquals("GET /print?json HTTP/1.1", json.get("request").asText());
            assertEquals(200, json.get("status").asInt());
            assertEquals(2, json.get("bytes").asInt());
            assertTrue(json.get("duration_us").isNumber());
            assertEquals("json \"agent\"", json.get("request_headers").get("user-agent").asText());
        } finally {
            server.close();
        }
    }
}
