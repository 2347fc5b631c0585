package jwsgi.wsgi;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;

import jwsgi.testing.EmbeddedPython;
import jwsgi.testing.MemoryExchange;
import jwsgi.testing.MemoryExchange.End;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.ResourceLock;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link WsgiInput} through a real runner: a body read whole, a body streamed in small pieces
 * through readinto, reads after the request ended, a failing read, and the rule that an HTTP
 * thread never waits for a client.
 */
@Tag("fast")
@ResourceLock(RunnerHarness.CORPUS)
class WsgiInputTest {
    private static final String APPS = """
            KEPT = {}

            def application(environ, start_response):
                KEPT["input"] = environ["wsgi.input"]
                try:
                    body = environ["wsgi.input"].read()
                except Exception as e:
                    body = f"{type(e).__name__}: {e}".encode()
                start_response("200 OK", [])
                return [body]

            def read_kept():
                try:
                    return KEPT["input"].read(1)
                except Exception as e:
                    return f"{type(e).__name__}: {e}"
            """;

    private static final byte[] LINES = "first line\nsecond line\nno newline".getBytes(StandardCharsets.UTF_8);

    @Test
    void aBodyReadWholeIsABytesIO() {
        try (RunnerHarness corpus = RunnerHarness.corpus()) {
            assertEquals("[\"first line\\nsecond line\\nno newline\"]",
                    corpus.run(MemoryExchange.request("POST", "/input/read").body(LINES)).text());
            assertEquals("[\"\"]", corpus.run(MemoryExchange.request("POST", "/input/read")).text());
        }
    }

    @Test
    void aStreamedBodyIsReadAsTheAppAsks() {
        try (RunnerHarness corpus = RunnerHarness.corpus()) {
            MemoryExchange ex = MemoryExchange.request("POST", "/input/readline").streamedBody(LINES, 3, true);
            assertEquals("[\"first line\\n\", \"second line\\n\", \"no newline\", \"\"]", corpus.run(ex).text());
        }
    }

    @Test
    void aLargeStreamedBodyArrivesWhole() throws Exception {
        byte[] body = new byte[1 << 20];
        new Random(7).nextBytes(body);
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(body));
        try (RunnerHarness corpus = RunnerHarness.corpus()) {
            String text = corpus.run(MemoryExchange.request("POST", "/input/sha256").streamedBody(body, 8191, true)).text();
            assertTrue(text.contains(sha) && text.contains("\"length\": 1048576"), text);
        }
    }

    @Test
    void anInputKeptPastItsRequestReadsNothingMore() {
        try (RunnerHarness app = new RunnerHarness(EmbeddedPython.app("input_apps", APPS))) {
            assertEquals("abcdef", app.run(MemoryExchange.request("POST", "/").streamedBody("abcdef".getBytes(), 3, true)).text());
            assertEquals("ValueError: wsgi.input read after its request ended", app.python("input_apps", "read_kept"));
        }
    }

    @Test
    void aFailingReadIsAnOSErrorInTheApp() {
        try (RunnerHarness app = new RunnerHarness(EmbeddedPython.app("input_apps", APPS))) {
            MemoryExchange ex = MemoryExchange.request("POST", "/").body((Exchange.Body.Streamed) into -> {
                throw new IOException("the client went away");
            });
            assertEquals("OSError: error reading the request body: the client went away", app.run(ex).text());
        }
    }

    @Test
    void anHttpThreadNeverWaitsForAClient() {
        RunnerOptions options = new RunnerOptions(null, List.of(), false, null);
        try (RunnerHarness http = new RunnerHarness(EmbeddedPython.app("input_apps", APPS), options, false)) {
            MemoryExchange waits = MemoryExchange.request("POST", "/").streamedBody("abc".getBytes(), 3, true);
            assertEquals("RuntimeError: jwsgi internal error: streamed request body on an I/O thread", http.run(waits).text());
            MemoryExchange spooled = MemoryExchange.request("POST", "/").streamedBody("abc".getBytes(), 3, false);
            assertEquals("abc", http.run(spooled).text(), "a body already kept in a file may be read there");
            assertEquals(new End.Last(), spooled.end());
        }
    }
}
