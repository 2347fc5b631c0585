package jwsgi.http;

import java.io.IOException;
import java.time.Duration;
import java.util.List;

import jwsgi.testing.RawHttp;
import jwsgi.testing.ServerProcess;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The access log of a request the app never saw (refused before it ran) shows the environ
 * values the app would have seen: the same rules, from the same place, as for a request it
 * answered. Here two requests differ only in a body over --limit-request-body.
 */
class AccessLogBridgeTest {
    private static final String FORMAT = "s=%(s)s U=%(U)s q=%(q)s r=\"%(r)s\" h=%(h)s script=%({script_name}e)s"
            + " cookie=%({http_cookie}e)s ct=%({content_type}e)s port=%({server_port}e)s";

    @Test
    void aRefusedRequestIsLoggedWithTheEnvironItWouldHaveHad() throws IOException {
        try (ServerProcess server = ServerProcess.start("corpus", "--root-path", "/app", "--limit-request-body", "10",
                "--access-logfile", "-", "--access-logformat", FORMAT)) {
            String head = "GET /app/caf%C3%A9/x?q=1 HTTP/1.1\r\nHost: example.com:8080\r\nCookie: a=1\r\nCookie: b=2\r\n"
                    + "Content-Type: text/plain\r\n";
            try (RawHttp c = RawHttp.to(server)) {
                assertEquals(404, c.send(head + "\r\n").read().status(), "the app answers");
            }
            try (RawHttp c = RawHttp.to(server)) {
                assertEquals(413, c.send(head + "Content-Length: 20\r\n\r\n" + "x".repeat(20)).read().status(),
                        "refused before the app runs");
            }
            assertTrue(server.awaitOutput("s=413 ", Duration.ofSeconds(5)), server.output());
            List<String> lines = server.stdout().lines().filter(l -> l.startsWith("s=")).toList();
            assertEquals(2, lines.size(), server.stdout());
            assertEquals("s=404 U=/caf\u00c3\u00a9/x q=q=1 r=\"GET /app/caf%C3%A9/x?q=1 HTTP/1.1\" h=127.0.0.1 script=/app"
                    + " cookie=a=1; b=2 ct=text/plain port=8080", lines.get(0));
            assertEquals(lines.get(0).replace("s=404", "s=413"), lines.get(1));
        }
    }
}
