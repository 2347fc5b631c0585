package jwsgi.server;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import jwsgi.testing.Certificates;
import jwsgi.testing.Http;
import jwsgi.testing.LoadLoop;
import jwsgi.testing.Pythons;
import jwsgi.testing.RawHttp;
import jwsgi.testing.ServerProcess;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code -k interpreter}: sub-interpreters with their own GIL in one worker process (Python
 * 3.13+). Each imports the app itself (Debian's pure-Python Flask, put on 3.13's path by
 * symlinks); an HTTP thread runs each request in whichever interpreter is free, with a thread
 * state of its own in each (C code calling back into Python finds the right one); an app whose
 * extension module refuses sub-interpreters is refused at start with a message naming it; older
 * Pythons are refused.
 */
class InterpreterWorkersTest {
    private static final Path PY313 = Path.of(System.getProperty("user.home"), ".pyenv", "versions", "3.13.0", "bin", "python3");
    private static final List<String> FLASK = List.of("flask", "jinja2", "werkzeug", "markupsafe", "itsdangerous", "click", "blinker");

    private static List<String> args(Path python, String... more) {
        List<String> all = new ArrayList<>(List.of("--python", python.toString(), "--chdir", ServerProcess.APPS.toString(),
                "-b", "127.0.0.1:0", "-k", "interpreter"));
        all.addAll(List.of(more));
        return all;
    }

    /** Debian's pure-Python Flask and its dependencies, for 3.13: symlinks to just those packages. */
    private static Path flaskFor313(Path dir) throws IOException {
        for (String p : FLASK) Files.createSymbolicLink(dir.resolve(p), Path.of("/usr/lib/python3/dist-packages", p));
        return dir;
    }

    @Test
    void twoInterpretersServeInOneProcessEachWithTheAppImported(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isExecutable(PY313), "needs pyenv's Python 3.13.0");
        try (ServerProcess s = ServerProcess.startRaw(args(PY313, "-w", "2", "--pythonpath", flaskFor313(dir).toString(),
                "lifecycle"), Map.of())) {
            List<Long> workers = s.awaitWorkers(1, List.of(), Duration.ofSeconds(30));
            Set<String> interpreters;
            try (LoadLoop load = LoadLoop.start(s, "/loop?s=0.02", 4)) {
                assertTrue(load.awaitAnswered(100, Duration.ofSeconds(30)), load.toString());
                load.close();
                assertEquals(Map.of(), load.failures(), load.toString());
                assertEquals(Set.of(workers.get(0)), load.bodies().stream().map(b -> Http.json(b).get("pid").asLong())
                        .collect(Collectors.toSet()), "one worker process");
                interpreters = load.bodies().stream().map(b -> Http.json(b).get("interpreter").asText()).collect(Collectors.toSet());
            }
            assertEquals(2, interpreters.size(), "two sub-interpreters answered: " + interpreters);
            assertTrue(s.output().contains("Using worker: interpreter (1 process x 2 sub-interpreters x 1 Python thread)"), s.output());
            // Flask imports and runs in a sub-interpreter too.
            try (ServerProcess flask = ServerProcess.startRaw(args(PY313, "-w", "2", "--pythonpath", dir.toString(),
                    "flaskapp:create_app()"), Map.of())) {
                var r = Http.get(flask.url() + "/?name=interpreters");
                assertEquals(200, r.statusCode(), r.body() + flask.output());
                assertTrue(r.body().contains("<h1>Hello, interpreters!</h1>"), r.body());
            }
        }
    }

    @Test
    void anHttpThreadRunsRequestsInWhicheverInterpreterIsFreeWithItsOwnThreadStateInEach(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isExecutable(PY313), "needs pyenv's Python 3.13.0");
        // qsort calls back into Python from C: ctypes takes the GIL there with PyGILState_Ensure,
        // which must find the thread state of the interpreter this thread is running, not its first.
        Files.writeString(dir.resolve("callbacks.py"), """
                import ctypes, ctypes.util, json, os, threading, time
                import _interpreters

                LIBC = ctypes.CDLL(ctypes.util.find_library("c"))
                COMPARE = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))
                compare = COMPARE(lambda a, b: a[0] - b[0])

                def application(environ, start_response):
                    values = (ctypes.c_int * 5)(5, 3, 4, 1, 2)
                    LIBC.qsort(values, len(values), ctypes.sizeof(ctypes.c_int), compare)
                    if environ["QUERY_STRING"] == "hold":
                        # Says it runs, then keeps its interpreter until the test lets go (10 s at most).
                        open("started", "w").close()
                        deadline = time.monotonic() + 10
                        while not os.path.exists("released") and time.monotonic() < deadline:
                            time.sleep(0.01)
                    body = json.dumps({"sorted": list(values), "interpreter": str(_interpreters.get_current()),
                                       "thread": threading.get_native_id()}).encode()
                    start_response("200 OK", [("Content-Type", "application/json")])
                    return [body]
                """);
        try (ServerProcess s = ServerProcess.startRaw(List.of("--python", PY313.toString(), "--chdir", dir.toString(), "-b", "127.0.0.1:0",
                "-k", "interpreter", "-w", "2", "callbacks"), Map.of());
             RawHttp first = RawHttp.to(s);
             RawHttp second = RawHttp.to(s)) {
            // Each selector thread runs its own connections' requests (Jetty gives connections to
            // the two selectors in turn), each in the first interpreter that is free. Alone,
            // second's request runs in the first interpreter; while first's request holds that
            // one, in the other. Alone, the first interpreter's permit may not be free yet (the
            // previous request lets it go just after its response), so this goes round a few times.
            // A connection's first request runs on the thread that accepted it; from its second
            // on, the connection is its selector's.
            get(first, "");
            get(second, "");
            Set<String> secondRanIn = new HashSet<>();
            for (int round = 0; round < 5 && secondRanIn.size() < 2; round++) {
                JsonNode alone = get(second, "");
                Path started = dir.resolve("started");
                Path released = dir.resolve("released");
                Files.deleteIfExists(started);
                Files.deleteIfExists(released);
                first.send("GET /?hold HTTP/1.1\r\nHost: t\r\n\r\n");
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
                while (!Files.exists(started) && System.nanoTime() < deadline) Thread.sleep(10);
                JsonNode during = get(second, "");
                Files.writeString(released, "");
                JsonNode held = Http.json(first.read(false).text());
                for (JsonNode r : List.of(alone, during, held)) assertEquals("[1,2,3,4,5]", r.get("sorted").toString(), r.toString());
                assertEquals(alone.get("thread"), during.get("thread"), "one connection, one thread: " + alone + " " + during);
                assertNotEquals(held.get("thread"), during.get("thread"), "the two connections on two threads: " + held + " " + during);
                assertNotEquals(held.get("interpreter"), during.get("interpreter"), "one interpreter each at once: " + held + " " + during);
                secondRanIn.add(alone.get("interpreter").asText());
                secondRanIn.add(during.get("interpreter").asText());
            }
            assertEquals(2, secondRanIn.size(), "one thread ran requests in both interpreters: " + secondRanIn);
            assertTrue(s.output().contains("Using worker: interpreter (1 process x 2 sub-interpreters x 1 Python thread)"), s.output());
        }
    }

    private static JsonNode get(RawHttp connection, String query) throws IOException {
        RawHttp.Response r = connection.send("GET /?" + query + " HTTP/1.1\r\nHost: t\r\n\r\n").read(false);
        assertEquals(200, r.status(), r.text());
        return Http.json(r.text());
    }

    @Test
    void http2StreamsOfOneConnectionRunInBothInterpreters(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isExecutable(PY313), "needs pyenv's Python 3.13.0");
        // Jetty runs an HTTP/2 connection's streams one after the other on the thread reading it:
        // run inline, they would all wait for one interpreter.
        Certificates.Pair cert = Certificates.selfSigned(dir, "localhost");
        try (ServerProcess s = ServerProcess.startRaw(args(PY313, "-w", "2", "--http-protocols", "h2,h1",
                "--certfile", cert.cert().toString(), "--keyfile", cert.key().toString(), "lifecycle"), Map.of());
             HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2)
                     .sslContext(Certificates.trusting(cert.cert())).build()) {
            URI slow = URI.create("https://localhost:" + s.port() + "/sleep?s=0.3");
            // One request first, so the others share its connection.
            assertEquals(HttpClient.Version.HTTP_2, client.send(HttpRequest.newBuilder(slow).build(), HttpResponse.BodyHandlers.ofString()).version());
            List<CompletableFuture<HttpResponse<String>>> sent = new ArrayList<>();
            for (int i = 0; i < 8; i++) sent.add(client.sendAsync(HttpRequest.newBuilder(slow).build(), HttpResponse.BodyHandlers.ofString()));
            Set<String> interpreters = new HashSet<>();
            for (CompletableFuture<HttpResponse<String>> f : sent) {
                HttpResponse<String> r = f.get(30, TimeUnit.SECONDS);
                assertEquals(200, r.statusCode(), r.body());
                assertEquals(HttpClient.Version.HTTP_2, r.version());
                interpreters.add(Http.json(r.body()).get("interpreter").asText());
            }
            assertEquals(2, interpreters.size(), "both interpreters ran the streams: " + interpreters + "\n" + s.output());
        }
    }

    @Test
    void anExtensionModuleThatRefusesSubInterpretersIsNamedAtStart(@TempDir Path dir) throws Exception {
        assumeTrue(Files.isExecutable(PY313), "needs pyenv's Python 3.13.0");
        Files.writeString(dir.resolve("single_phase.py"), """
                import _testsinglephase

                def application(environ, start_response):
                    start_response("200 OK", [])
                    return [b""]
                """);
        ServerProcess p = ServerProcess.launch(List.of("--python", PY313.toString(), "--chdir", dir.toString(), "-b", "127.0.0.1:0",
                "-k", "interpreter", "-w", "2", "single_phase"), Map.of());
        assertEquals(4, p.waitFor(Duration.ofSeconds(60)), p.output());
        String out = p.output();
        assertTrue(out.contains("module _testsinglephase does not support loading in subinterpreters"), out);
        assertTrue(out.contains("run the app with process workers (-k sync)"), out);
    }

    /** Process workers on 3.13: the first worker points to -k interpreter once it has loaded the app. */
    @Test
    void processWorkersOn313AreToldOfInterpreterWorkers() {
        assumeTrue(Files.isExecutable(PY313), "needs pyenv's Python 3.13.0");
        String hint = "can run the 2 workers as sub-interpreters in one process: -k interpreter -w 2";
        try (ServerProcess s = ServerProcess.startRaw(List.of("--python", PY313.toString(), "--chdir", ServerProcess.APPS.toString(),
                "-b", "127.0.0.1:0", "-w", "2", "lifecycle"), Map.of())) {
            assertTrue(s.awaitOutput(hint, Duration.ofSeconds(60)), s.output());
        }
    }

    @Test
    void pythonsBefore313AreRefused() {
        ServerProcess p = ServerProcess.launch(args(Pythons.DEBIAN, "-w", "2", "lifecycle"), Map.of());
        assertEquals(2, p.waitFor(Duration.ofSeconds(60)), p.output());
        assertTrue(p.output().contains("Cannot run interpreter workers: they need Python 3.13 or later, and this is 3.11"), p.output());
    }

    /**
     * 3.12 has sub-interpreters with their own GIL, but CPython 3.12.1 alone aborts ("double free
     * or corruption") creating the second one once Flask (datetime) was imported in the first
     * (docs/benchmarks.md, "Memory"): refused before any is made, with the reason and what to do.
     * The app does not matter: the version is checked first.
     */
    @Test
    void python312IsRefusedWithTheReason() {
        Path py312 = Pythons.supported().stream().filter(py -> py.toString().contains("/3.12.")).findFirst().orElse(null);
        assumeTrue(py312 != null, "needs a pyenv Python 3.12");
        ServerProcess p = ServerProcess.launch(args(py312, "-w", "2", "lifecycle"), Map.of());
        assertEquals(2, p.waitFor(Duration.ofSeconds(60)), p.output());
        String out = p.output();
        assertTrue(out.contains("Cannot run interpreter workers: they need Python 3.13 or later, and this is 3.12"), out);
        assertTrue(out.contains("aborts creating a second isolated interpreter once datetime was imported"), out);
        assertTrue(out.contains("use process workers (-k sync) or Python 3.13"), out);
        assertFalse(out.contains("double free"), "refused before CPython could abort: " + out);
    }
}
