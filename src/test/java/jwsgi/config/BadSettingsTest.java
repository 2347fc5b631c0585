package jwsgi.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import jwsgi.testing.Pythons;
import jwsgi.testing.ServerProcess;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Every way to get a setting wrong, on the command line, in JWSGI_CMD_ARGS and in a config file:
 * exit code 2, a message that names the flag or setting, its value and where it came from, the
 * closest valid flag or value when there is one, and never a Java stack trace.
 */
class BadSettingsTest {
    private static void assertUsageError(ServerProcess p, String... expected) {
        assertEquals(2, p.waitFor(Duration.ofSeconds(30)), p.output());
        for (String e : expected) assertTrue(p.output().contains(e), "'" + e + "' in:\n" + p.output());
        assertTrue(p.output().contains("jwsgi: error: "), p.output());
        assertTrue(p.output().contains("Run 'jwsgi --help' for the options."), p.output());
        assertFalse(p.output().contains("\tat "), "no Java stack trace:\n" + p.output());
        assertFalse(p.output().contains("Listening at"), p.output());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        "--thread 2|Unknown option: '--thread'; did you mean '--threads'?",
        "--acess-logfile -|Unknown option: '--acess-logfile'; did you mean '--access-logfile'?",
        "--log-levl debug|Unknown option: '--log-levl'; did you mean '--log-level'?",
        "--bnd 127.0.0.1:0|Unknown option: '--bnd'; did you mean '--bind'?",
        "--frobnicate|Unknown option: '--frobnicate'",
        "-w 0|--workers 0: must be at least 1",
        "--worker-class gevent|--worker-class gevent: jwsgi has no greenlet or event-loop workers",
        "-k uvicorn.workers.UvicornWorker|that is an ASGI worker, and jwsgi serves WSGI apps",
        "-t -1|--timeout -1: must be 0 or more seconds",
        "--max-requests -1|--max-requests -1: must be 0 or more",
        "--min-worker-lifetime -1|--min-worker-lifetime -1: must be 0 or more seconds",
        "--threads many|Invalid value for option '--threads': 'many' is not an int",
        "--threads 0|--threads 0: must be at least 1",
        "--backlog 0|--backlog 0: must be at least 1",
        "--keep-alive -5|--keep-alive -5: must be 0 or more seconds",
        "--log-level warn|--log-level warn: expected one of debug, info, warning, error, critical; did you mean 'warning'?",
        "--log-level loud|--log-level loud: expected one of debug, info, warning, error, critical",
        "`--access-logformat %(h)d`|--access-logformat '%(h)d': access log format: at \"%(h)d\": %(h)d needs a number",
        "`--access-logformat 100%`|a '%' must start %(name)s, or be doubled as %% for a percent sign",
        "--umask 0999|--umask 0999: expected a mode mask from 0 to 0777",
        "--umask 0o1000|--umask 0o1000: expected a mode mask from 0 to 0777",
        "--user no_such_user_zz|--user no_such_user_zz: no such user",
        "--group no_such_group_zz|--group no_such_group_zz: no such group",
        "--pid /no/such/dir/jwsgi.pid|--pid /no/such/dir/jwsgi.pid: directory /no/such/dir does not exist",
        "--log-config /no/such/logging.ini|--log-config /no/such/logging.ini: no such file",
        "--error-logfile /no/such/dir/error.log|cannot open the error log: /no/such/dir/error.log: directory /no/such/dir does not exist",
        "corpus other|unexpected argument 'other': jwsgi serves one APP",
        "-b 127.0.0.1:99999|port 99999 is not in 0-65535",
        "--chdir /no/such/dir|--chdir /no/such/dir: no such directory",
        "-e NOEQUALS|-e NOEQUALS: expected KEY=VALUE",
        "--static-map /static=/no/such/dir|--static-map /static=/no/such/dir: /no/such/dir does not exist; create it",
    })
    void badCommandLines(String args, String message) {
        assertUsageError(ServerProcess.launch(List.of(args.split(" ")), Map.of()), message);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        "`--threads 'unclosed`|JWSGI_CMD_ARGS: no closing quotation (')",
        "--thread 2|JWSGI_CMD_ARGS: Unknown option: '--thread'; did you mean '--threads'?",
        "--threads 0|--threads 0: must be at least 1 (from JWSGI_CMD_ARGS)",
        "--log-level verbose|--log-level verbose: expected one of debug, info, warning, error, critical (from JWSGI_CMD_ARGS)",
    })
    void badJwsgiCmdArgs(String value, String message) {
        assertUsageError(ServerProcess.launch(List.of("corpus"), Map.of(SettingsSources.ENV_ARGS, value)), message);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        "`threads = 2 +`|failed to read config file {file}: SyntaxError: invalid syntax|`    threads = 2 +`",
        "`raise RuntimeError('no settings today')`|failed to read config file {file}: RuntimeError: no settings today|Traceback",
        "`threads = 'many'`|threads = 'many' in {file}: Invalid value for option '--threads': 'many' is not an int|",
        "`threads = 0`|--threads 0: must be at least 1 (from threads = 0 in {file})|",
        "`http2_max_frame_size = 100`|--http2-max-frame-size 100: HTTP/2 allows frame sizes from 16384 to 16777215 bytes|(from http2_max_frame_size = 100 in {file})",
        "`bind = ['127.0.0.1:http']`|--bind 127.0.0.1:http: expected HOST:PORT|(from bind = ['127.0.0.1:http'] in {file})",
        "`threads = [1, 2]`|threads = [1, 2] in {file}: expected one value, not 2|",
        "`capture_output = 'maybe'`|capture_output = 'maybe' in {file}: expected True or False|",
        "`loglevel = 'warn'`|--log-level warn: expected one of debug, info, warning, error, critical; did you mean 'warning'? (from loglevel = 'warn' in {file})|",
        "`access_log_format = '%(h)i'`|--access-logformat '%(h)i': access log format|(from access_log_format = '%(h)i' in {file})",
        "`def post_fork(server):\\n    pass`|post_fork takes 1 argument, but gunicorn (and jwsgi) call it with 2: def post_fork(server, worker)|",
        "`def post_request(worker):\\n    pass`|post_request takes 1 argument, but gunicorn (and jwsgi) call it with 4|",
        "`on_starting = 5`|on_starting = 5 is not callable; define it as def on_starting(server): ...|",
        "`when_ready = 'nowhere.hook'`|when_ready = 'nowhere.hook': cannot import nowhere: No module named 'nowhere'|",
        "`logconfig_dict = {'version': 1, 'handlers': {'h': {'class': 'no.such.Handler'}}}`|logconfig_dict: Unable to configure handler 'h'|",
    })
    void badConfigFiles(String content, String message, String more, @TempDir Path dir) throws Exception {
        Path file = dir.resolve("gunicorn.conf.py");
        Files.writeString(file, content.replace("\\n", "\n") + "\n");
        ServerProcess p = ServerProcess.launch(List.of("--python", Pythons.DEBIAN.toString(), "--chdir",
                ServerProcess.APPS.toString(), "-c", file.toString(), "corpus"), Map.of());
        if (more == null) assertUsageError(p, message.replace("{file}", file.toString()));
        else assertUsageError(p, message.replace("{file}", file.toString()), more.replace("{file}", file.toString()));
    }

    @Test
    void aMissingConfigFileIsNamed() {
        assertUsageError(ServerProcess.launch(List.of("--python", Pythons.DEBIAN.toString(), "-c", "/no/such/gunicorn.conf.py"),
                Map.of()), "config file /no/such/gunicorn.conf.py does not exist");
    }

    @Test
    void aConfigFileCannotChooseAnotherPython(@TempDir Path dir) throws Exception {
        // Without --python, jwsgi embeds python3 from PATH; a file naming another interpreter cannot be obeyed.
        String onPath = Pythons.run(Path.of("python3"), "import sys; print('%d.%d' % sys.version_info[:2])").strip();
        Optional<Path> other = Pythons.supported().stream()
                .filter(p -> !Pythons.run(p, "import sys; print('%d.%d' % sys.version_info[:2])").strip().equals(onPath))
                .findFirst();
        assumeTrue(other.isPresent(), "needs a Python of another version than python3 on PATH");
        Path file = dir.resolve("gunicorn.conf.py");
        Files.writeString(file, "python = '" + other.get() + "'\n");
        assertUsageError(ServerProcess.launch(List.of("-c", file.toString()), Map.of()),
                "python = '" + other.get() + "' in " + file + ": the config file runs inside Python, so it cannot choose which Python",
                "give --python " + other.get() + " on the command line or in JWSGI_CMD_ARGS");
        ServerProcess overridden = ServerProcess.launch(List.of("--python", Pythons.DEBIAN.toString(), "-c", file.toString(),
                "--check-config"), Map.of());
        assertEquals(0, overridden.waitFor(Duration.ofSeconds(30)), "--python wins over the file, as any flag does:\n"
                + overridden.output());
    }

    @Test
    void gunicornFlagsThatMeanNothingInAJvmAreAcceptedWithAWarning() {
        ServerProcess p = ServerProcess.launch(List.of("--python", Pythons.DEBIAN.toString(), "--chdir", ServerProcess.APPS.toString(),
                "--preload", "--worker-tmp-dir", "/dev/shm", "--no-sendfile", "--check-config", "corpus"), Map.of());
        assertEquals(0, p.waitFor(Duration.ofSeconds(30)), p.output());
        assertTrue(p.output().contains("[WARNING] --preload (gunicorn's preload_app, from the command line) has no effect: a JVM cannot fork"),
                p.output());
        assertTrue(p.output().contains("--worker-tmp-dir (gunicorn's worker_tmp_dir, from the command line) has no effect"), p.output());
        assertTrue(p.output().contains("--no-sendfile (gunicorn's sendfile, from the command line) has no effect"), p.output());
    }
}
