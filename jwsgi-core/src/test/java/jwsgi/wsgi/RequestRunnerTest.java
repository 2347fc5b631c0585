package jwsgi.wsgi;

import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import jwsgi.python.CPython;
import jwsgi.testing.EmbeddedPython;
import jwsgi.testing.MemoryExchange;
import jwsgi.testing.MemoryExchange.End;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.parallel.ResourceLock;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link RequestRunner} with an in-memory exchange: requests in a row on one thread state,
 * app failures, pre_request/post_request and the status post_request is told, the environ
 * values handed to the access log, --max-requests counting, and the watchdog answering a hung
 * request in the runner's place.
 */
@Tag("fast")
@ResourceLock(RunnerHarness.CORPUS)
class RequestRunnerTest {
    private static final End ERROR_500 = new End.Error(500, "Internal Server Error");

    private static final String APPS = """
            import os, time
            NOTES = []

            def wait_for(path):
                for _ in range(10000):
                    if os.path.exists(path):
                        return
                    time.sleep(0.001)
                raise TimeoutError(f"{path} never appeared")

            def application(environ, start_response):
                path = environ["PATH_INFO"]
                if path == "/log":
                    environ["HTTP_X_ADDED"] = "by the app"
                    environ["REMOTE_USER"] = 42
                    environ["HTTP_X_UNPRINTABLE"] = "\\udc80"
                    start_response("200 OK", [])
                    return [b"logged"]
                if path == "/held":
                    write = start_response("200 OK", [])
                    if environ.get("HTTP_X_ANSWER_FIRST"):
                        write(b"begun;")
                    open(environ["HTTP_X_STARTED"], "w").close()
                    wait_for(environ["HTTP_X_RELEASE"])
                    try:
                        write(b"late;")
                    except OSError as e:
                        NOTES.append(f"{type(e).__name__}: {e}")
                    return [b"done"]
                start_response("200 OK", [])
                return [b"ok"]

            def notes():
                taken = " | ".join(NOTES)
                NOTES.clear()
                return taken
            """;

    private static WsgiApplication apps() {
        return EmbeddedPython.app("runner_apps", APPS);
    }

    /** pre_request and post_request as a config file's hooks would see them. */
    private static final class RecordingHooks implements RequestHooks {
        private final CPython api = apps().interpreter().api();
        final List<String> calls = new ArrayList<>();
        boolean failPre;
        /** The exchange whose ends post_request reports, to show it runs once the response is over. */
        MemoryExchange exchange;

        @Override
        public boolean hasPreRequest() {
            return true;
        }

        @Override
        public boolean hasPostRequest() {
            return true;
        }

        @Override
        public MemorySegment preRequest(MemorySegment environ) {
            calls.add("pre");
            if (failPre) {
                api.raise(CPython.Exc.RUNTIME_ERROR, "pre_request failed on purpose");
                return MemorySegment.NULL;
            }
            api.incRef(api.none);
            return api.none;
        }

        @Override
        public boolean postRequest(MemorySegment req, MemorySegment environ, String status, ResponseHead head, long sent) {
            calls.add("post " + status + ", head " + (head == null ? "none" : head.status()) + ", " + sent + " bytes, "
                    + (exchange == null ? "?" : exchange.ends().size()) + " end");
            return true;
        }
    }

    @Test
    void requestsInARowShareNothingButTheThreadState() {
        try (RunnerHarness corpus = RunnerHarness.corpus()) {
            assertEquals(201, corpus.get("/status?status=201+Created&body=a").head().status());
            MemoryExchange second = corpus.get("/status?body=b");
            assertEquals(200, second.head().status());
            assertEquals("b", second.text());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"before", "after-start", "systemexit", "keyboard", "no-start"})
    void appFailuresAre500AndTheRunnerServesOn(String when) {
        try (RunnerHarness corpus = RunnerHarness.corpus()) {
            assertEquals(ERROR_500, corpus.get("/error?when=" + when).end());
            assertTrue(corpus.log().contains("Error handling request GET /error?when=" + when), corpus.log().toString());
            assertEquals("ok", corpus.get("/status?body=ok").text());
        }
    }

    @Test
    void aFailureIsLoggedWithItsTraceback() {
        try (RunnerHarness corpus = RunnerHarness.corpus()) {
            corpus.get("/error?when=before");
            String log = corpus.log().toString();
            assertTrue(log.contains("Traceback (most recent call last):"), log);
            assertTrue(log.contains("corpus.py\", line"), log);
            assertTrue(log.contains("RuntimeError: error before start_response"), log);
        }
    }

    @Test
    void postRequestIsToldTheStatusSentOnceTheResponseIsOver() {
        RecordingHooks hooks = new RecordingHooks();
        try (RunnerHarness app = new RunnerHarness(EmbeddedPython.app("corpus:application"),
                new RunnerOptions(hooks, List.of(), false, null), true)) {
            for (String target : List.of("/status?body=abc", "/status?status=299&body=x", "/error?when=before")) {
                hooks.exchange = MemoryExchange.get(target);
                app.run(hooks.exchange);
            }
        }
        assertEquals(List.of("pre", "post 200 OK, head 200, 3 bytes, 1 end", "pre", "post 299, head 299, 1 bytes, 1 end",
                "pre", "post 500 Internal Server Error, head none, 0 bytes, 1 end"), hooks.calls);
    }

    @Test
    void aFailingPreRequestIs500WithoutCallingTheApp() {
        RecordingHooks hooks = new RecordingHooks();
        hooks.failPre = true;
        try (RunnerHarness app = new RunnerHarness(EmbeddedPython.app("corpus:application"),
                new RunnerOptions(hooks, List.of(), false, null), true)) {
            assertEquals(ERROR_500, app.get("/sleep?s=0&tag=pre").end());
            hooks.failPre = false;
            assertEquals("[]", app.events(), "the app did not run");
            assertTrue(app.log().contains("Error in the pre_request hook for GET /sleep?s=0&tag=pre"), app.log().toString());
            assertTrue(app.log().contains("RuntimeError: pre_request failed on purpose"), app.log().toString());
        }
        assertEquals("post 500 Internal Server Error, head none, 0 bytes, ? end", hooks.calls.get(1));
    }

    @Test
    void theAccessLogGetsTheEnvironAsTheAppLeftIt() {
        List<String> keys = List.of("PATH_INFO", "HTTP_X_ADDED", "REMOTE_USER", "HTTP_X_UNPRINTABLE", "QUERY_STRING", "HTTP_X_ABSENT");
        try (RunnerHarness app = new RunnerHarness(apps(), new RunnerOptions(null, keys, false, null), true)) {
            LoggedEnviron logged = app.get("/log?q=1").loggedEnviron();
            assertEquals("/log", logged.get("PATH_INFO"));
            assertEquals("q=1", logged.get("QUERY_STRING"));
            assertEquals("by the app", logged.get("HTTP_X_ADDED"));
            assertEquals("42", logged.get("REMOTE_USER"), "a value that is no str is logged as str() gives it");
            assertNull(logged.get("HTTP_X_UNPRINTABLE"), "lone surrogates cannot be printed: the log shows -");
            assertTrue(logged.has("HTTP_X_ABSENT"));
            assertNull(logged.get("HTTP_X_ABSENT"));
            assertFalse(logged.has("SERVER_NAME"), "only the keys the format shows are read");
        }
        try (RunnerHarness app = new RunnerHarness(apps())) {
            assertNull(app.get("/log").loggedEnviron(), "nothing is read without an access log");
        }
    }

    @Test
    void everyAnsweredRequestCountsForMaxRequests() {
        AtomicInteger reached = new AtomicInteger();
        RequestCounter counter = new RequestCounter(3, reached::incrementAndGet);
        try (RunnerHarness app = new RunnerHarness(EmbeddedPython.app("corpus:application"),
                new RunnerOptions(null, List.of(), false, counter), true)) {
            app.get("/status?body=a");
            app.get("/error?when=before");
            assertEquals(0, reached.get());
            app.get("/status?body=c");
            assertEquals(1, reached.get());
        }
    }

    @Test
    void theWatchdogAnswersAHungRequestInTheRunnersPlace(@TempDir Path dir) throws Exception {
        RecordingHooks hooks = new RecordingHooks();
        try (RunnerHarness app = new RunnerHarness(apps(), new RunnerOptions(hooks, List.of(), true, null), true)) {
            app.python("runner_apps", "notes");
            Path started = dir.resolve("started");
            Path release = dir.resolve("release");
            MemoryExchange ex = MemoryExchange.get("/held").header("X-Started", started.toString()).header("X-Release", release.toString());
            hooks.exchange = ex;
            Future<?> running = app.start(ex);
            awaitFile(started);
            RequestRunner runner = app.runner();
            assertEquals("GET /held", runner.describeCurrent());
            assertTrue(runner.answerInPlace(runner.clock.state()));
            assertFalse(runner.answerInPlace(runner.clock.state()), "only once");
            assertEquals(new End.Error(504, "Gateway Timeout: the app ran longer than the server's --timeout"), ex.end());
            Files.createFile(release);
            running.get(10, TimeUnit.SECONDS);
            assertEquals(1, ex.ends().size(), "the runner's own response is discarded");
            assertNull(ex.head());
            assertNull(runner.describeCurrent());
            assertEquals("OSError: the request ran past --timeout and was answered 504 in its place", app.python("runner_apps", "notes"));
            assertEquals("post 504 Gateway Timeout, head none, 0 bytes, 1 end", hooks.calls.get(1));
            assertEquals("ok", app.get("/").text(), "the runner serves on");
        }
    }

    @Test
    void theWatchdogLeavesARequestWhoseAnswerHasBegun(@TempDir Path dir) throws Exception {
        try (RunnerHarness app = new RunnerHarness(apps(), new RunnerOptions(null, List.of(), true, null), true)) {
            Path started = dir.resolve("started");
            Path release = dir.resolve("release");
            MemoryExchange ex = MemoryExchange.get("/held").header("X-Answer-First", "1")
                    .header("X-Started", started.toString()).header("X-Release", release.toString());
            Future<?> running = app.start(ex);
            awaitFile(started);
            assertFalse(app.runner().answerInPlace(app.runner().clock.state()));
            Files.createFile(release);
            running.get(10, TimeUnit.SECONDS);
            assertEquals(new End.Last(), ex.end());
            assertEquals("begun;late;done", ex.text());
        }
    }

    /** Waits (bounded) for the app to say it runs. */
    private static void awaitFile(Path path) throws InterruptedException {
        for (int i = 0; i < 10_000 && !Files.exists(path); i++) Thread.sleep(1);
        assertTrue(Files.exists(path), "the app never started: " + path);
    }
}
