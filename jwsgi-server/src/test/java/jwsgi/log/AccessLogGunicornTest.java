package jwsgi.log;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jwsgi.testing.ServerProcess;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The access log against gunicorn's own: Debian's gunicorn (on /usr/bin/python3) and jwsgi
 * serve the same app with the same {@code access_log_format} (every atom, printf widths,
 * escaping), get the same requests, and must write the same lines byte for byte once the
 * timing atoms (t T D M L) and the process id (p) are set aside.
 */
class AccessLogGunicornTest {
    private static final Path GUNICORN = Path.of("/usr/bin/gunicorn");
    private static final String FORMAT = "%(h)s %(l)s %(u)s %(t)s \"%(r)s\" %(s)s %(b)s \"%(f)s\" \"%(a)s\""
            + " m=%(m)s U=%(U)s q=%(q)s H=%(H)s B=%(B)s p=%(p)s"
            + " xff=%({x-forwarded-for}i)s ct=%({Content-Type}i)s app=%({x-app}o)s loc=%({location}o)s"
            + " user=%({remote_user}e)s scheme=%({wsgi.url_scheme}e)s path=%({path_info}e)s"
            + " none=%(nosuch)s,%({nosuch}i)s,%({nosuch}o)s,%({nosuch}e)s"
            + " pad=[%(s)5s|%(B)08d|%(a).4s|%(h)-12s|%(m)r] pct=100%%"
            + " T=%(T)s D=%(D)s M=%(M)s L=%(L)s";

    /** Each sent on its own connection, as a browser, a proxy or curl would. */
    private static final List<byte[]> REQUESTS = List.of(
            request("GET / HTTP/1.1\r\nHost: example.com\r\nUser-Agent: test-agent/1.0\r\n"),
            request("GET /caf%C3%A9/x%20y?q=1&r=%22two%22 HTTP/1.1\r\nHost: example.com\r\n"
                    + "Referer: http://example.com/a\"b\r\nUser-Agent: Mozilla/5.0 \"quoted\"\r\n"),
            request("POST /submit HTTP/1.1\r\nHost: example.com\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                    + "Content-Length: 11\r\n\r\nfield=value"),
            request("GET /login?next=/home HTTP/1.1\r\nHost: example.com\r\nAuthorization: Basic YWxpY2U6c2VjcmV0\r\n"
                    + "X-Forwarded-For: 10.0.0.1, 10.0.0.2\r\n"),
            request("GET /missing HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-For: 10.0.0.1\r\nX-Forwarded-For: 10.0.0.9\r\n"),
            request("GET /redirect HTTP/1.0\r\n"),
            request("GET /empty HTTP/1.1\r\nHost: example.com\r\n"),
            request("GET /stream HTTP/1.1\r\nHost: example.com\r\n"),
            request("HEAD / HTTP/1.1\r\nHost: example.com\r\n"),
            latin1Header());

    private static byte[] request(String head) {
        int blank = head.indexOf("\r\n\r\n");
        String text = blank >= 0 ? head.substring(0, blank) + "\r\nConnection: close" + head.substring(blank)
                : head + "Connection: close\r\n\r\n";
        return text.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** A header value with a byte above 0x7F: both servers read it as latin-1 and log it as UTF-8. */
    private static byte[] latin1Header() {
        return request("GET /latin1 HTTP/1.1\r\nHost: example.com\r\nX-Forwarded-For: caf\u00e9\r\n");
    }

    @Test
    void everyLineMatchesGunicornsByteForByte(@TempDir Path dir) throws Exception {
        Path gunicornLog = dir.resolve("gunicorn-access.log");
        Path jwsgiLog = dir.resolve("jwsgi-access.log");
        Process gunicorn = new ProcessBuilder(GUNICORN.toString(), "--chdir", ServerProcess.APPS.toString(), "-b", "127.0.0.1:0",
                "--workers", "1", "--access-logfile", gunicornLog.toString(), "--access-logformat", FORMAT,
                "accesslog_app:application").redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
        // gunicorn 20 never takes the client's address from X-Forwarded-For; jwsgi does for trusted
        // proxies (loopback by default), so here no proxy is trusted.
        try (ServerProcess jwsgi = ServerProcess.start("accesslog_app:application", "--access-logfile", jwsgiLog.toString(),
                "--access-logformat", FORMAT, "--forwarded-allow-ips", "192.0.2.1")) {
            GunicornStarted started = awaitGunicorn(gunicorn);
            long worker = jwsgi.awaitWorkers(1, List.of(), Duration.ofSeconds(30)).get(0);
            for (byte[] request : REQUESTS) {
                exchange(started.port(), request);
                exchange(jwsgi.port(), request);
            }
            List<String> expected = awaitLines(gunicornLog, REQUESTS.size());
            List<String> actual = awaitLines(jwsgiLog, REQUESTS.size());
            for (int i = 0; i < REQUESTS.size(); i++) {
                String request = new String(REQUESTS.get(i), StandardCharsets.ISO_8859_1).lines().findFirst().orElseThrow();
                assertEquals(normalise(expected.get(i), started.workerPid()), normalise(actual.get(i), worker),
                        "access log line for " + request);
            }
        } finally {
            gunicorn.destroy();
            gunicorn.waitFor(10, TimeUnit.SECONDS);
        }
    }

    private record GunicornStarted(int port, long workerPid) {}

    private static GunicornStarted awaitGunicorn(Process gunicorn) throws Exception {
        CompletableFuture<GunicornStarted> started = new CompletableFuture<>();
        StringBuilder log = new StringBuilder();
        Thread reader = new Thread(() -> {
            Pattern listening = Pattern.compile("Listening at: http://127\\.0\\.0\\.1:(\\d+)");
            Pattern booting = Pattern.compile("Booting worker with pid: (\\d+)");
            int port = -1;
            try (BufferedReader r = new BufferedReader(new InputStreamReader(gunicorn.getErrorStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    log.append(line).append('\n');
                    Matcher m = listening.matcher(line);
                    if (m.find()) port = Integer.parseInt(m.group(1));
                    Matcher b = booting.matcher(line);
                    if (b.find() && port > 0) started.complete(new GunicornStarted(port, Long.parseLong(b.group(1))));
                }
            } catch (IOException ignored) {
                // gunicorn ended
            }
            started.completeExceptionally(new IllegalStateException("gunicorn did not start:\n" + log));
        }, "gunicorn-stderr");
        reader.setDaemon(true);
        reader.start();
        return started.get(60, TimeUnit.SECONDS);
    }

    /** Sends one request and reads the whole response, until the server closes the connection. */
    private static void exchange(int port, byte[] request) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            socket.getOutputStream().write(request);
            socket.getOutputStream().flush();
            InputStream in = socket.getInputStream();
            byte[] buffer = new byte[8192];
            while (in.read(buffer) >= 0) {
                // drain
            }
        }
    }

    /** The log's lines (bytes read as latin-1, so the comparison is byte for byte), once it has {@code count}. */
    private static List<String> awaitLines(Path log, int count) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        List<String> lines = List.of();
        while (System.nanoTime() < deadline) {
            if (Files.exists(log)) {
                lines = new ArrayList<>(List.of(new String(Files.readAllBytes(log), StandardCharsets.ISO_8859_1).split("\n")));
                lines.removeIf(String::isEmpty);
                if (lines.size() >= count) return lines;
            }
            Thread.sleep(50);
        }
        throw new AssertionError(log + " has " + lines.size() + " of " + count + " lines: " + lines);
    }

    /** Sets aside what legitimately differs: the clock, the durations and the process id (checked to be the worker's). */
    private static String normalise(String line, long pid) {
        assertTrue(line.contains(" p=<" + pid + "> "), "p is the worker's pid " + pid + ": " + line);
        String time = "\\[\\d{2}/[A-Z][a-z]{2}/\\d{4}:\\d{2}:\\d{2}:\\d{2} [+-]\\d{4}]";
        assertTrue(Pattern.compile(time).matcher(line).find(), "a CLF time in: " + line);
        assertTrue(line.matches(".* T=\\d+ D=\\d+ M=\\d+ L=\\d+\\.\\d{6}$"), "T, D, M and L are numbers: " + line);
        return line.replaceFirst(time, "[TIME]").replace(" p=<" + pid + "> ", " p=<PID> ")
                .replaceFirst(" T=\\d+ D=\\d+ M=\\d+ L=\\d+\\.\\d{6}$", " T=t D=d M=m L=l");
    }
}
