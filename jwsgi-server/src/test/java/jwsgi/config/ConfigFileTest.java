package jwsgi.config;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jwsgi.testing.Http;
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

/**
 * Config files, run in the embedded interpreter as gunicorn runs them: gunicorn's own sample
 * config works unchanged, every server hook fires once, in its process (master or worker), at its moment,
 * with gunicorn's arguments, and the config file sits below JWSGI_CMD_ARGS and the command line.
 */
class ConfigFileTest {
    static final Path CONFIGS = Path.of("jwsgi-server/src/test/python/configs").toAbsolutePath();

    /** --python and --chdir for the test apps, plus {@code args}. */
    static List<String> args(String... args) {
        List<String> all = new ArrayList<>(List.of("--python", Pythons.DEBIAN.toString(), "--chdir", ServerProcess.APPS.toString()));
        all.addAll(List.of(args));
        return all;
    }

    static int count(String text, String part) {
        int n = 0;
        for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + part.length())) n++;
        return n;
    }

    @Test
    void gunicornsExampleConfigRunsUnchanged(@TempDir Path dir) throws Exception {
        // Found as ./gunicorn.conf.py, as gunicorn finds it; its bind (port 8000) yields to the command line's.
        Files.copy(CONFIGS.resolve("gunicorn_example.conf.py"), dir.resolve("gunicorn.conf.py"));
        ServerProcess server = ServerProcess.startIn(dir, args("-b", "127.0.0.1:0", "corpus"), Map.of());
        try {
            String pid = Long.toString(server.pid());
            // post_fork runs in the worker, when_ready in the master, as under gunicorn.
            String worker = Long.toString(server.awaitWorkers(1, List.of(), Duration.ofSeconds(10)).get(0));
            assertTrue(server.awaitOutput("Worker spawned (pid: " + worker + ")", Duration.ofSeconds(10)), server.output());
            assertTrue(server.awaitOutput("[" + pid + "] [INFO] Server is ready. Spawning workers", Duration.ofSeconds(10)), server.output());
            assertEquals(1, count(server.output(), "Server is ready. Spawning workers"), server.output());
            JsonNode info = Http.getJson(server.url() + "/info?env=SPAM,DJANGO_SECRET_KEY");
            assertEquals("eggs", info.get("env").get("SPAM").asText(), "raw_env reached the app");
            assertEquals("something", info.get("env").get("DJANGO_SECRET_KEY").asText());
            assertTrue(server.awaitOutput("\"GET /info?env=SPAM,DJANGO_SECRET_KEY HTTP/1.1\" 200 ", Duration.ofSeconds(5)),
                    "accesslog = '-' writes gunicorn's default format to stdout:\n" + server.stdout());
            server.signal("INT");
            assertEquals(0, server.waitFor(Duration.ofSeconds(20)), server.output());
        } finally {
            server.close();
        }
        String out = server.output();
        assertEquals(1, count(out, "worker received INT or QUIT signal"), out);
        assertTrue(out.contains("defines pre_exec, which is never called: a JVM cannot re-exec itself"), out);
        assertFalse(out.contains("defines worker_abort, which is never called"), out);
        for (String quiet : List.of("workers = 1", "worker_class", "worker_connections", "timeout = 30", "spew", "daemon",
                "tmp_upload_dir", "proc_name")) {
            assertFalse(out.contains(quiet + " "), "no warning for " + quiet + ", whose value asks for nothing jwsgi lacks:\n" + out);
        }
        assertFalse(out.contains("Traceback"), out);
    }

    @Test
    void everyHookFiresOnceInTheServersProcessWithGunicornsArguments(@TempDir Path dir) throws Exception {
        Path hooksLog = dir.resolve("hooks.jsonl");
        ServerProcess server = ServerProcess.startRaw(args("-c", CONFIGS.resolve("all_hooks.conf.py").toString(),
                "-b", "127.0.0.1:0", "corpus"), Map.of("HOOKS_LOG", hooksLog.toString()));
        try {
            try (RawHttp http = RawHttp.to(server)) {
                http.send("GET /status?body=one HTTP/1.1\r\nHost: h\r\nX-Hook: marked\r\n\r\n");
                assertEquals("one", http.read().text());
                http.send("GET /echo-path/two HTTP/1.1\r\nHost: h\r\n\r\n");
                assertEquals(200, http.read().status());
                http.send("GET /hook-fails-before HTTP/1.1\r\nHost: h\r\n\r\n");
                assertEquals(500, http.read().status(), "pre_request raising is the request's error, as in gunicorn");
                http.send("GET /hook-fails-after HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n");
                assertEquals(404, http.read().status(), "post_request raising does not change the response");
            }
            server.signal("INT");
            assertEquals(0, server.waitFor(Duration.ofSeconds(20)), server.output());
        } finally {
            server.close();
        }
        String out = server.output();
        assertTrue(out.contains("Error in the pre_request hook for GET /hook-fails-before"), out);
        assertTrue(out.contains("RuntimeError: pre_request refuses /hook-fails-before"), out);
        assertTrue(out.contains("Exception in post_request hook for GET /hook-fails-after"), out);
        assertTrue(out.contains("[INFO] hook on_starting"), "server.log writes to the error log:\n" + out);

        List<JsonNode> calls = new ArrayList<>();
        for (String line : Files.readAllLines(hooksLog)) calls.add(Http.json(line));
        List<String> order = calls.stream().map(c -> c.get("hook").asText()).toList();
        List<String> lifecycle = order.stream().filter(h -> !h.endsWith("_request")).toList();
        assertEquals(List.of("nworkers_changed", "on_starting", "pre_fork", "post_fork", "post_worker_init", "when_ready",
                "worker_int", "worker_exit", "child_exit", "on_exit"), lifecycle, out);
        int booted = order.indexOf("when_ready");
        int stopping = order.indexOf("worker_int");
        List<String> requests = order.subList(booted + 1, stopping);
        // With two Python threads, the next request on the connection may start while the last
        // one's post_request (which runs once the response is sent) is still running.
        assertEquals(3, requests.stream().filter(h -> h.equals("pre_request")).count(), order.toString());
        assertEquals(3, requests.stream().filter(h -> h.equals("post_request")).count(),
                "one each for /status and /echo-path, and one after the pre_request that raised (gunicorn calls "
                        + "post_request in a finally); the post_request that raised records nothing: " + order);
        assertEquals(requests.size(), 6, order.toString());
        long worker = first(calls, "post_fork").get("pid").asLong();
        assertNotEquals(server.pid(), worker, "post_fork runs in the worker process");
        for (JsonNode c : calls) {
            boolean inMaster = Set.of("nworkers_changed", "on_starting", "pre_fork", "when_ready", "child_exit", "on_exit")
                    .contains(c.get("hook").asText());
            assertEquals(inMaster ? server.pid() : worker, c.get("pid").asLong(), "each hook runs in its process (master or worker): " + c);
        }
        assertEquals(worker, first(calls, "child_exit").get("worker_pid").asLong(), "child_exit names the worker that exited");

        Map<String, JsonNode> first = new LinkedHashMap<>();
        for (JsonNode c : calls) first.putIfAbsent(c.get("hook").asText(), c);
        assertEquals(1, first.get("nworkers_changed").get("new").asInt());
        assertTrue(first.get("nworkers_changed").get("old").isNull());
        assertEquals(server.pid(), first.get("on_starting").get("server_pid").asLong());
        assertEquals(2, first.get("on_starting").get("threads").asInt(), "server.cfg holds the effective settings");
        assertEquals("127.0.0.1:0", first.get("on_starting").get("bind").get(0).asText());
        assertEquals(1, first.get("post_fork").get("age").asInt());
        assertTrue(first.get("post_worker_init").get("booted").asBoolean());
        JsonNode pre = first.get("pre_request");
        assertEquals("GET", pre.get("method").asText());
        assertEquals("/status", pre.get("path").asText());
        assertEquals("body=one", pre.get("query").asText());
        assertEquals("/status?body=one", pre.get("uri").asText());
        assertEquals("[1,1]", pre.get("version").toString());
        assertEquals("marked", pre.get("header").asText(), "req.headers has gunicorn's upper-case names");
        assertEquals(1, pre.get("nr").asInt(), "worker.nr counts requests");
        // With two threads, /echo-path/two's post_request may be recorded before /status's.
        JsonNode post = calls.stream().filter(c -> c.get("hook").asText().equals("post_request")
                && "/status".equals(c.path("path_info").asText())).findFirst().orElseThrow();
        assertTrue(post.get("same_req").asBoolean(), "post_request gets the req that pre_request got");
        assertEquals("/status", post.get("path_info").asText());
        assertEquals("200 OK", post.get("status").asText());
        assertEquals(200, post.get("status_code").asInt());
        assertEquals(3, post.get("sent").asInt());
        assertEquals("[[\"Content-Type\",\"text/plain\"]]", post.get("headers").toString());
        assertFalse(out.contains("defines on_reload, which is never called"), out);
        assertFalse(out.contains("defines worker_abort, which is never called"), out);
        assertTrue(out.contains("defines pre_exec, which is never called"), out);
    }

    private static JsonNode first(List<JsonNode> calls, String hook) {
        return calls.stream().filter(c -> c.get("hook").asText().equals(hook)).findFirst().orElseThrow(() -> new AssertionError(hook));
    }

    @Test
    void aHookThatRaisesAtStartStopsTheServerWithItsTraceback(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("bad_start.conf.py");
        Files.writeString(config, "def on_starting(server):\n    raise ValueError('no database')\n");
        ServerProcess p = ServerProcess.launch(args("-c", config.toString(), "-b", "127.0.0.1:0", "corpus"), Map.of());
        assertEquals(1, p.waitFor(Duration.ofSeconds(30)), p.output());
        assertTrue(p.output().contains("Stopping: the on_starting hook raised ValueError: no database"), p.output());
        assertTrue(p.output().contains("raise ValueError('no database')"), "the traceback:\n" + p.output());
    }

    /** What --print-config prints: {@code name = value} lines. */
    static Map<String, String> printConfig(Path cwd, List<String> args, Map<String, String> env) {
        ServerProcess p = ServerProcess.launch(args, env, cwd);
        assertEquals(0, p.waitFor(Duration.ofSeconds(30)), p.output());
        Map<String, String> settings = new LinkedHashMap<>();
        Matcher m = Pattern.compile("(?m)^([a-z0-9_]+) +=(?: (.*))?$").matcher(p.stdout());
        while (m.find()) settings.put(m.group(1), m.group(2) == null ? "" : m.group(2));
        assertTrue(settings.size() > 20, p.output());
        return settings;
    }

    @Test
    void theCommandLineWinsOverJwsgiCmdArgsWhichWinsOverTheFile(@TempDir Path dir) throws IOException {
        Path config = dir.resolve("gunicorn.conf.py");
        Files.writeString(config, """
                bind = ["127.0.0.1:7001", "127.0.0.1:7002"]
                threads = 3
                keepalive = 9
                loglevel = "debug"
                raw_env = ["FROM=file"]
                capture_output = True
                access_log_format = "%(h)s file"
                wsgi_app = "corpus:application"
                """);
        Map<String, String> s = printConfig(dir, args("--print-config", "--threads", "4"),
                Map.of(SettingsSources.ENV_ARGS, "--threads 2 -b 127.0.0.1:7003 --access-logformat '%(h)s \"env\"'"));
        assertEquals("4", s.get("threads"), "command line over environment over file");
        assertEquals("['127.0.0.1:7003']", s.get("bind"), "a list from a higher source replaces the file's, it does not add to it");
        assertEquals("%(h)s \"env\"", s.get("access_log_format"), "JWSGI_CMD_ARGS is split as a shell would");
        assertEquals("9", s.get("keepalive"), "the file over the default");
        assertEquals("debug", s.get("loglevel"));
        assertEquals("['FROM=file']", s.get("raw_env"));
        assertEquals("True", s.get("capture_output"));
        assertEquals("30", s.get("graceful_timeout"), "the default");
        assertEquals("corpus:application", s.get("wsgi_app"));
        assertEquals(config.toString(), s.get("config"));

        Map<String, String> noEnv = printConfig(dir, args("--print-config"), Map.of());
        assertEquals("3", noEnv.get("threads"));
        assertEquals("['127.0.0.1:7001', '127.0.0.1:7002']", noEnv.get("bind"));
    }

    @Test
    void pythonListsDictsAndBooleansReachTheOptionsTheyMean(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("gunicorn.conf.py"), """
                forwarded_allow_ips = ["10.0.0.1", "10.0.0.0/24"]
                secure_scheme_headers = {"X-FORWARDED-PROTO": "https", "X-FORWARDED-SSL": "on"}
                proxy_protocol = True
                reuse_port = True
                raw_env = "ONE=1"
                """);
        Map<String, String> s = printConfig(dir, args("--print-config", "corpus"), Map.of());
        assertEquals("10.0.0.1,10.0.0.0/24", s.get("forwarded_allow_ips"), "a list for a comma-separated option");
        assertEquals("X-FORWARDED-PROTO=https,X-FORWARDED-SSL=on", s.get("secure_scheme_headers"), "a dict, as HEADER=VALUE pairs");
        assertEquals("auto", s.get("proxy_protocol"), "gunicorn 20's boolean proxy_protocol = True");
        assertEquals("True", s.get("reuse_port"));
        assertEquals("['ONE=1']", s.get("raw_env"), "a str for a list setting, gunicorn's legacy form");
    }

    @Test
    void requestLimitsComeFromTheConfigFileByGunicornsNames(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("gunicorn.conf.py"), """
                limit_request_line = 1000
                limit_request_fields = 20
                limit_request_field_size = 2000
                limit_request_body = 65536
                body_buffer_size = 4096
                header_timeout = 5
                backlog = 64
                """);
        Map<String, String> s = printConfig(dir, args("--print-config", "corpus"), Map.of());
        assertEquals("1000", s.get("limit_request_line"));
        assertEquals("20", s.get("limit_request_fields"));
        assertEquals("2000", s.get("limit_request_field_size"));
        assertEquals("65536", s.get("limit_request_body"), "jwsgi's own settings, by their flag's name");
        assertEquals("4096", s.get("body_buffer_size"));
        assertEquals("5", s.get("header_timeout"));
        assertEquals("64", s.get("backlog"));
    }

    @Test
    void whichConfigFileIsRead(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("gunicorn.conf.py"), "threads = 5\n");
        assertEquals("5", printConfig(dir, args("--print-config", "corpus"), Map.of()).get("threads"), "./gunicorn.conf.py");
        Files.writeString(dir.resolve("jwsgi.conf.py"), "threads = 6\n");
        assertEquals("6", printConfig(dir, args("--print-config", "corpus"), Map.of()).get("threads"), "./jwsgi.conf.py first");
        Path other = dir.resolve("other.py");
        Files.writeString(other, "threads = 7\n");
        assertEquals("7", printConfig(dir, args("--print-config", "corpus"), Map.of(SettingsSources.ENV_ARGS, "-c " + other))
                .get("threads"), "-c in JWSGI_CMD_ARGS");
        assertEquals("7", printConfig(dir, args("--print-config", "-c", "file:" + other, "corpus"), Map.of()).get("threads"), "file:PATH");
        Files.writeString(dir.resolve("settings_module.py"), "threads = 8\n");
        assertEquals("8", printConfig(dir, args("--print-config", "-c", "python:settings_module", "corpus"), Map.of())
                .get("threads"), "python:MODULE, importable from the start directory");
        assertEquals("9", printConfig(dir, args("--print-config", "corpus"), Map.of(SettingsSources.GUNICORN_ENV_ARGS, "--threads 9"))
                .get("threads"), "GUNICORN_CMD_ARGS when JWSGI_CMD_ARGS is not set");
    }

    @Test
    void checkConfigLoadsTheAppAndSaysSo(@TempDir Path dir) throws IOException {
        ServerProcess ok = ServerProcess.launch(args("--check-config", "corpus"), Map.of(), dir);
        assertEquals(0, ok.waitFor(Duration.ofSeconds(30)), ok.output());
        assertTrue(ok.output().contains("Configuration OK: the app loads"), ok.output());
        assertFalse(ok.output().contains("Listening at"), "nothing is bound:\n" + ok.output());
        ServerProcess bad = ServerProcess.launch(args("--check-config", "no_such_module"), Map.of(), dir);
        assertEquals(4, bad.waitFor(Duration.ofSeconds(30)), bad.output());
        assertTrue(bad.output().contains("no module named 'no_such_module'"), bad.output());
    }

    @Test
    void settingsJwsgiCannotUseAreNamedInOneWarningEach(@TempDir Path dir) throws IOException {
        Path config = dir.resolve("gunicorn.conf.py");
        Files.writeString(config, """
                import multiprocessing
                workers = multiprocessing.cpu_count() * 2 + 1
                preload_app = True
                sendfile = False
                worker_tmp_dir = "/dev/shm"
                max_requests = 1000
                logger_class = "myapp.logging.Logger"
                thread = 4
                helper_value = 42
                def on_starting(server):
                    pass
                """);
        Map<String, String> s = printConfig(dir, args("--print-config", "corpus"), Map.of());
        assertEquals("<on_starting()>", s.get("on_starting"));
        ServerProcess p = ServerProcess.launch(args("--check-config", "corpus"), Map.of(), dir);
        assertEquals(0, p.waitFor(Duration.ofSeconds(30)), p.output());
        String out = p.output();
        String in = " in " + config;
        assertEquals(0, count(out, "workers = "), "workers is a setting jwsgi has:\n" + out);
        assertTrue(out.contains("preload_app = True" + in + " has no effect: a JVM cannot fork"), out);
        assertTrue(out.contains("sendfile = False" + in + " has no effect"), out);
        assertTrue(out.contains("worker_tmp_dir = '/dev/shm'" + in + " has no effect: jwsgi's workers send their heartbeats"), out);
        assertFalse(out.contains("max_requests = 1000"), "max_requests is a setting jwsgi has:\n" + out);
        assertTrue(out.contains("logger_class = 'myapp.logging.Logger'" + in + " has no effect"), out);
        assertTrue(out.contains("thread" + in + " is not a setting, so it is ignored; did you mean 'threads'?"), out);
        assertFalse(out.contains("helper_value"), "other names are the file's own business, as in gunicorn:\n" + out);
        assertFalse(out.contains("multiprocessing"), out);
    }
}
