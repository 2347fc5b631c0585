package jwsgi.wsgi;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import jwsgi.testing.EmbeddedPython;
import jwsgi.testing.MemoryExchange;
import jwsgi.testing.MemoryExchange.End;
import jwsgi.testing.MemoryExchange.Flush;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.ResourceLock;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link ResponseBody} through a real runner and an in-memory exchange: chunks held back by
 * one, Content-Length too long and too short, HEAD and bodiless statuses, failures before and
 * after bytes went out, write(), wsgi.file_wrapper, and close() exactly once on every path.
 */
@Tag("fast")
@ResourceLock(RunnerHarness.CORPUS)
class ResponseBodyTest {
    private static final End ERROR_500 = new End.Error(500, "Internal Server Error");

    /** Iterables that record their close() calls; what they do depends on the path. */
    private static final String APPS = """
            import io
            CLOSED = []

            class Recorded:
                def __init__(self, parts, fail_at=None):
                    self.parts, self.fail_at = parts, fail_at
                def __iter__(self):
                    for i, part in enumerate(self.parts):
                        if i == self.fail_at:
                            raise ValueError("failed in the middle of the body")
                        yield part
                def close(self):
                    CLOSED.append("close")

            class RecordedFile(io.FileIO):
                def close(self):
                    if not self.closed:
                        CLOSED.append("close")
                    super().close()

            def application(environ, start_response):
                path = environ["PATH_INFO"]
                if path == "/no-start-response":
                    return Recorded([b"a"])
                if path.startswith("/file"):
                    status = "304 Not Modified" if path == "/file-304" else "200 OK"
                    start_response(status, [])
                    return environ["wsgi.file_wrapper"](RecordedFile(environ["QUERY_STRING"], "rb"))
                write = start_response("200 OK", [("Content-Type", "text/plain")])
                if path == "/write-then-iterate":
                    try:
                        write(b"written;")
                    except OSError as e:
                        CLOSED.append(f"write raised {type(e).__name__}: {e}")
                    return Recorded([b"a;", b"b;"])
                return Recorded([b"a;", b"b;", b"c;"], 1 if path == "/fail-in-iteration" else None)

            def closed():
                taken = ",".join(CLOSED)
                CLOSED.clear()
                return taken
            """;

    private final RunnerHarness corpus = RunnerHarness.corpus();

    @AfterEach
    void close() {
        corpus.close();
    }

    /** The apps above, with no close() left recorded from earlier tests. */
    private static RunnerHarness recorded() {
        RunnerHarness app = new RunnerHarness(EmbeddedPython.app("response_body_apps", APPS));
        app.python("response_body_apps", "closed");
        return app;
    }

    @Test
    void aSingleChunkIsHeldBackForTheLastFlush() {
        MemoryExchange ex = corpus.get("/status?body=abc");
        assertEquals(List.of(new Flush(true, true, 3)), ex.flushes(), "one flush, the last: the HTTP layer can send a Content-Length");
        assertEquals("abc", ex.text());
    }

    @Test
    void chunksAreFlushedOneBehind() {
        MemoryExchange ex = corpus.get("/chunked?n=3");
        assertEquals(List.of(new Flush(false, true, 6), new Flush(false, true, 6), new Flush(true, true, 6)), ex.flushes());
        assertEquals("part0;part1;part2;", ex.text());
    }

    @Test
    void anHttpThreadNeverAsksToWait() {
        try (RunnerHarness http = new RunnerHarness(EmbeddedPython.app("corpus:application"),
                new RunnerOptions(null, List.of(), false, null), false)) {
            MemoryExchange ex = http.get("/chunked?n=2");
            assertEquals(List.of(new Flush(false, false, 6), new Flush(true, false, 6)), ex.flushes());
        }
    }

    @Test
    void theDeclaredLengthIsSent() {
        MemoryExchange ex = corpus.get("/length?declared=5&actual=5");
        assertEquals(5, ex.head().contentLength());
        assertEquals("zzzzz", ex.text());
        assertEquals(new End.Last(), ex.end());
    }

    @Test
    void bytesBeyondTheDeclaredLengthAreNotSent() {
        MemoryExchange ex = corpus.get("/length?declared=3&actual=8");
        assertEquals("zzz", ex.text());
        assertEquals(new End.Last(), ex.end());
        assertTrue(corpus.log().contains("GET /length?declared=3&actual=8: the app sent more than its Content-Length (3); the excess is not sent"),
                corpus.log().toString());
    }

    @Test
    void aBodyShorterThanItsLengthClosesTheConnection() {
        MemoryExchange ex = corpus.get("/length?declared=10&actual=4");
        assertEquals("zzzz", ex.text(), "what was sent is flushed before the connection closes");
        assertEquals("response shorter than its Content-Length", assertInstanceOf(End.Aborted.class, ex.end()).cause().getMessage());
        assertTrue(corpus.log().contains("the app sent 4 bytes but declared Content-Length 10; closing the connection"), corpus.log().toString());
    }

    @Test
    void headAndBodilessStatusesSendNoBodyAndMayBeShort() {
        MemoryExchange head = corpus.run(MemoryExchange.request("HEAD", "/length?declared=10&actual=0"));
        assertEquals(new End.Last(), head.end());
        assertEquals(10, head.head().contentLength());
        for (String status : List.of("204+No+Content", "304+Not+Modified")) {
            MemoryExchange ex = corpus.get("/status?status=" + status + "&body=must-not-appear&length=15");
            assertEquals(new End.Last(), ex.end(), status);
            assertEquals("", ex.text(), status);
        }
    }

    @Test
    void aFailureBeforeAnyByteWentOutIs500() {
        try (RunnerHarness app = recorded()) {
            MemoryExchange ex = app.get("/fail-in-iteration");
            assertEquals(ERROR_500, ex.end());
            assertEquals("", ex.text(), "the chunk held back never goes out");
            assertTrue(app.log().contains("ValueError: failed in the middle of the body"), app.log().toString());
        }
    }

    @Test
    void aFailureAfterBytesWentOutClosesTheConnectionMidBody() {
        MemoryExchange ex = corpus.get("/error?when=after-stream");
        assertInstanceOf(End.Aborted.class, ex.end());
        assertEquals("x".repeat(70000), ex.text());
    }

    @Test
    void aChunkThatIsNotBytesIs500() {
        assertEquals(ERROR_500, corpus.get("/error?when=nonbytes").end());
        assertTrue(corpus.log().contains("TypeError: the response iterable yielded a str; WSGI response bodies must be bytes"),
                corpus.log().toString());
    }

    @Test
    void noStartResponseIs500() {
        try (RunnerHarness app = recorded()) {
            assertEquals(ERROR_500, app.get("/no-start-response").end());
            assertTrue(app.log().contains("Error handling request GET /no-start-response: the app returned without calling start_response()"),
                    app.log().toString());
            assertEquals("close", app.python("response_body_apps", "closed"));
        }
    }

    @Test
    void writeSendsAtOnceAndInOrder() {
        MemoryExchange ex = corpus.get("/write?also=1");
        assertEquals("written;also-written;returned;", ex.text());
        assertEquals(new Flush(false, true, 8), ex.flushes().getFirst(), "write() flushes what it was given");
        assertEquals(new End.Last(), ex.end());
    }

    @Test
    void writeRaisesOSErrorOnceTheClientHasGone() {
        try (RunnerHarness app = recorded()) {
            MemoryExchange ex = app.run(MemoryExchange.get("/write-then-iterate").clientGone("Broken pipe"));
            assertInstanceOf(End.Aborted.class, ex.end());
            assertEquals("write raised OSError: client disconnected: Broken pipe,close", app.python("response_body_apps", "closed"));
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"/", "/fail-in-iteration", "/write-then-iterate", "/no-start-response", "/client-gone"})
    void closeIsCalledExactlyOnce(String path) {
        try (RunnerHarness app = recorded()) {
            MemoryExchange ex = MemoryExchange.get(path);
            if (path.equals("/client-gone")) ex.clientGone("Connection reset by peer");
            assertEquals(1, app.run(ex).ends().size(), "one end of the response");
            assertEquals("close", app.python("response_body_apps", "closed"));
        }
    }

    @Test
    void closeIsNotCalledWhenTheAppRaisedBeforeReturning() {
        assertEquals(ERROR_500, corpus.get("/close?how=raise-before-start&tag=early").end());
        assertEquals("[\"early:called\"]", corpus.events());
    }

    @Test
    void anExceptionInCloseIsLoggedAndTheResponseStillSent() {
        MemoryExchange ex = corpus.get("/close-raises");
        assertEquals("body", ex.text());
        assertEquals(new End.Last(), ex.end());
        assertTrue(corpus.log().contains("Error closing the response of GET /close-raises"), corpus.log().toString());
        assertTrue(corpus.log().contains("RuntimeError: close() failed on purpose"), corpus.log().toString());
    }

    @Test
    void fileWrapperSendsARealFileFromJava(@TempDir Path dir) throws Exception {
        byte[] content = new byte[300_000];
        new Random(3).nextBytes(content);
        Path file = dir.resolve("data.bin");
        Files.write(file, content);
        MemoryExchange whole = corpus.get("/file?path=" + file);
        assertEquals(new End.File(0, content.length), whole.end());
        assertArrayEquals(content, whole.sent());
        MemoryExchange skipped = corpus.get("/file?path=" + file + "&skip=1000");
        assertEquals(new End.File(1000, content.length - 1000), skipped.end(), "from the file's position");
        assertArrayEquals(Arrays.copyOfRange(content, 1000, content.length), skipped.sent());
        assertEquals(new End.File(0, 10), corpus.get("/file?path=" + file + "&length=10").end(), "no further than its Content-Length");
    }

    @Test
    void fileWrapperClosesTheFileOnceAndSendsNoBodyFor304(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("data.txt");
        Files.writeString(file, "twelve bytes");
        try (RunnerHarness app = recorded()) {
            assertEquals(new End.File(0, 12), app.run(MemoryExchange.get("/file?" + file)).end());
            assertEquals("close", app.python("response_body_apps", "closed"));
            assertEquals(new End.File(0, 0), app.run(MemoryExchange.get("/file-304?" + file)).end());
            assertEquals("close", app.python("response_body_apps", "closed"));
        }
    }

    @Test
    void fileWrapperOverANonFileIsIterated() {
        MemoryExchange ex = corpus.get("/file?kind=bytesio");
        assertEquals("from a BytesIO, iterated".repeat(3), ex.text());
        assertEquals(new End.Last(), ex.end());
    }
}
