package jwsgi.log;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;

import jwsgi.testing.RawHttp;
import jwsgi.testing.ServerProcess;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** --access-logfile writes one line per request in gunicorn's default format, to stdout or a file. */
class AccessLogTest {
    /** h l u t "r" s b "f" "a", as gunicorn's default access_log_format renders them. */
    private static final Pattern LINE = Pattern.compile(
            "127\\.0\\.0\\.1 - (-|alice) \\[\\d{2}/\\w{3}/\\d{4}:\\d{2}:\\d{2}:\\d{2} [+-]\\d{4}] \"(GET|POST) [^\"]+ HTTP/1\\.[01]\" \\d{3} (\\d+|-) \"[^\"]*\" \"[^\"]*\"");

    @Test
    void linesGoToStdoutInGunicornsDefaultFormat() throws Exception {
        try (ServerProcess server = ServerProcess.start("corpus", "--access-logfile", "-")) {
            try (RawHttp c = RawHttp.to(server)) {
                c.send("GET /status?body=hello HTTP/1.1\r\nHost: h\r\nReferer: http://ref.test/\r\nUser-Agent: agent/1.0\r\n"
                        + "Authorization: Basic YWxpY2U6c2VjcmV0\r\n\r\n").read();
                c.send("GET /no/such HTTP/1.1\r\nHost: h\r\n\r\n").read();
            }
            assertTrue(server.awaitOutput("\"GET /no/such HTTP/1.1\" 404", Duration.ofSeconds(5)), server.output());
            List<String> lines = server.stdout().lines().toList();
            assertEquals(2, lines.size(), server.stdout());
            for (String line : lines) assertTrue(LINE.matcher(line).matches(), line);
            assertTrue(lines.get(0).endsWith("\"GET /status?body=hello HTTP/1.1\" 200 5 \"http://ref.test/\" \"agent/1.0\""), lines.get(0));
            assertTrue(lines.get(0).startsWith("127.0.0.1 - alice ["), "Basic auth user name: " + lines.get(0));
            assertTrue(lines.get(1).contains(" 404 "), lines.get(1));
        }
    }

    @Test
    void linesAreAppendedToAFile(@TempDir Path dir) throws IOException {
        Path log = dir.resolve("access.log");
        Files.writeString(log, "an earlier line\n");
        try (ServerProcess server = ServerProcess.start("corpus", "--access-logfile", log.toString())) {
            try (RawHttp c = RawHttp.to(server)) {
                c.send("POST /input/read HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc").read();
            }
        }
        List<String> lines = Files.readAllLines(log);
        assertEquals("an earlier line", lines.getFirst());
        assertEquals(2, lines.size(), lines.toString());
        assertTrue(LINE.matcher(lines.get(1)).matches(), lines.get(1));
        assertTrue(lines.get(1).contains("\"POST /input/read HTTP/1.1\" 200 7 \"-\" \"-\""), lines.get(1));
    }
}
