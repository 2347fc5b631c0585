package jwsgi.wsgi;

import jwsgi.testing.EmbeddedPython;
import jwsgi.testing.LogCapture;
import jwsgi.testing.MemoryExchange;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.ResourceLock;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link StartResponse} through a real runner and an in-memory exchange: PEP 3333's exc_info
 * rules, heads refused by type or by {@link HeadRules} (500 even when the app swallows the
 * error), and the calls write() refuses.
 */
@Tag("fast")
@ResourceLock(RunnerHarness.CORPUS)
class StartResponseTest {
    /** Apps that break the rules on purpose; each records what start_response or write raised. */
    private static final String APPS = """
            import sys
            KEPT = {}
            NOTES = []

            def raised(call, *args):
                try:
                    call(*args)
                    return "accepted"
                except Exception as e:
                    return f"{type(e).__name__}: {e}"

            def application(environ, start_response):
                path = environ["PATH_INFO"]
                KEPT["start_response"] = start_response
                if path == "/type-errors":
                    for args in [(b"200 OK", []), ("200 OK", ()), ("200 OK", [("A",)]), ("200 OK", [("A", 1)]), ("200 OK",)]:
                        NOTES.append(raised(start_response, *args))
                    start_response("200 OK", [("Content-Type", "text/plain")])
                    return [b"a valid head after refused ones"]
                if path == "/kept-write":
                    NOTES.append(raised(KEPT["write"], b"too early"))
                    start_response("200 OK", [])
                    return []
                write = start_response("200 OK", [])
                KEPT["write"] = write
                if path == "/write-arguments":
                    NOTES.extend([raised(write, "a str"), raised(write, b"a", b"b"), raised(write)])
                    return [b"ok"]
                if path == "/invalid-then-write":
                    try:
                        raise KeyError("boom")
                    except KeyError:
                        NOTES.append(raised(start_response, "500 Oops", [("Bad Name", "x")], sys.exc_info()))
                    NOTES.append(raised(write, b"x"))
                    return []
                if path == "/exc-info-shape":
                    def body():
                        yield b"first;"
                        NOTES.append(raised(start_response, "500 Oops", [], "not a tuple"))
                        yield b"second;"
                    return body()
                return [b"ok"]

            def outside():
                return raised(KEPT["start_response"], "200 OK", []) + " | " + raised(KEPT["write"], b"x")

            def notes():
                taken = " | ".join(NOTES)
                NOTES.clear()
                return taken
            """;

    private final RunnerHarness corpus = RunnerHarness.corpus();

    @AfterEach
    void close() {
        corpus.close();
    }

    /** The apps above, with no notes left from earlier tests. */
    private static RunnerHarness rules() {
        RunnerHarness app = new RunnerHarness(EmbeddedPython.app("start_response_rules", APPS));
        app.python("start_response_rules", "notes");
        return app;
    }

    @Test
    void aValidHeadGoesOutWithTheBody() {
        MemoryExchange ex = corpus.get("/status?status=201+Created&body=abc");
        assertEquals(201, ex.head().status());
        assertEquals("Created", ex.head().reason());
        assertEquals("Content-Type", ex.head().headers().getFirst().name());
        assertEquals("abc", ex.text());
        assertEquals(new MemoryExchange.End.Last(), ex.end());
    }

    @Test
    void excInfoBeforeTheHeadIsSentReplacesIt() {
        MemoryExchange ex = corpus.get("/exc-info?when=before");
        assertEquals(500, ex.head().status());
        assertEquals("Oops", ex.head().reason());
        assertEquals("replaced by exc_info", ex.text());
    }

    @Test
    void aSecondCallWithoutExcInfoRaisesRuntimeError() {
        assertEquals(new MemoryExchange.End.Error(500, "Internal Server Error"), corpus.get("/exc-info?when=twice").end());
        assertTrue(corpus.events().contains("twice:RuntimeError"));
    }

    @Test
    void excInfoAfterTheHeadIsSentIsReRaised() {
        MemoryExchange ex = corpus.get("/exc-info?when=after");
        // The first chunk was still held back, so nothing reached the client: a clean 500.
        assertEquals(new MemoryExchange.End.Error(500, "Internal Server Error"), ex.end());
        assertEquals("", ex.text());
        assertTrue(corpus.events().contains("after-sent:re-raised"));
    }

    @Test
    void excInfoThatIsNoTupleIsATypeErrorOnceTheHeadIsSent() {
        try (RunnerHarness app = rules()) {
            assertEquals("first;second;", app.get("/exc-info-shape").text());
            assertEquals("TypeError: exc_info must be a (type, value, traceback) tuple", app.python("start_response_rules", "notes"));
        }
    }

    @ParameterizedTest
    @CsvSource({
            "crlf-value, ValueError, value of header 'X-Injected' contains CR (would allow response splitting)",
            "nul-value, ValueError, value of header 'X-Nul' contains NUL",
            "space-name, ValueError, header name 'Bad Name' contains a space",
            "nonlatin-value, ValueError, is not latin-1",
            "bytes-value, TypeError, must hold two str, not (str, bytes)",
            "not-tuple, TypeError, must be a (name, value) tuple, not list",
            "crlf-status, ValueError, status '200 OK\\r\\nX-Evil: 1' contains a control character"})
    void refusedHeadsRaiseInTheAppAndAreAnswered500(String kind, String raised, String why) {
        LogCapture log = corpus.log();
        MemoryExchange ex = corpus.get("/bad-header?kind=" + kind);
        assertEquals(new MemoryExchange.End.Error(500, "Internal Server Error"), ex.end());
        assertNull(ex.head(), "nothing of a refused head reaches the exchange");
        assertTrue(corpus.events().contains("bad-header:" + raised), kind);
        assertTrue(log.contains("Error handling request GET /bad-header?kind=" + kind), log.toString());
        assertTrue(log.contains(why), log.toString());
    }

    @Test
    void aRefusedHeadSwallowedByTheAppIsStill500() {
        LogCapture log = corpus.log();
        MemoryExchange ex = corpus.get("/bad-header?kind=crlf-value&swallow=1");
        assertEquals(new MemoryExchange.End.Error(500, "Internal Server Error"), ex.end());
        assertEquals("", ex.text());
        assertTrue(log.contains("its response head is invalid: value of header 'X-Injected' contains CR"), log.toString());
    }

    @Test
    void anInterimStatusIsRefused() {
        LogCapture log = corpus.log();
        assertEquals(new MemoryExchange.End.Error(500, "Internal Server Error"), corpus.get("/status?status=103+Early+Hints&body=x").end());
        assertTrue(log.contains("a WSGI app cannot send an interim (1xx) response"), log.toString());
    }

    @Test
    void wrongTypesAreTypeErrorsThatLeaveNoHeadBehind() {
        try (RunnerHarness app = rules()) {
            MemoryExchange ex = app.get("/type-errors");
            assertEquals("a valid head after refused ones", ex.text());
            assertEquals(String.join(" | ",
                    "TypeError: status must be a str, not bytes",
                    "TypeError: response_headers must be a list, not tuple",
                    "TypeError: response_headers[0] must be a (name, value) tuple, not tuple",
                    "TypeError: response_headers[0] must hold two str, not (str, int)",
                    "TypeError: start_response() takes 2 or 3 arguments (1 given)"), app.python("start_response_rules", "notes"));
        }
    }

    @Test
    void writeTakesExactlyOneBytes() {
        try (RunnerHarness app = rules()) {
            assertEquals("ok", app.get("/write-arguments").text());
            assertEquals(String.join(" | ",
                    "TypeError: write() argument must be bytes, not str",
                    "TypeError: write() takes exactly one argument",
                    "TypeError: write() takes exactly one argument"), app.python("start_response_rules", "notes"));
        }
    }

    @Test
    void writeAfterARefusedHeadSaysWhy() {
        try (RunnerHarness app = rules()) {
            assertEquals(new MemoryExchange.End.Error(500, "Internal Server Error"), app.get("/invalid-then-write").end());
            String notes = app.python("start_response_rules", "notes");
            assertTrue(notes.startsWith("ValueError: header name 'Bad Name' contains a space"), notes);
            assertTrue(notes.contains(" | RuntimeError: write() after an invalid start_response(): header name 'Bad Name'"), notes);
        }
    }

    @Test
    void eachRequestStartsWithoutAHead() {
        try (RunnerHarness app = rules()) {
            app.get("/");
            MemoryExchange ex = app.get("/kept-write");
            assertEquals(new MemoryExchange.End.Last(), ex.end());
            assertEquals("RuntimeError: write() called before start_response()", app.python("start_response_rules", "notes"));
        }
    }

    @Test
    void startResponseAndWriteKeptPastTheirRequestAreRefused() {
        try (RunnerHarness app = rules()) {
            app.get("/");
            assertEquals("RuntimeError: start_response() called outside of its request | RuntimeError: write() called outside of its request",
                    app.python("start_response_rules", "outside"));
        }
    }
}
