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
 * Every way to get a setting wrong in a config file, and the command line and JWSGI_CMD_ARGS end
 * to end: exit code 2, a message that names the flag or setting, its value and where it came
 * from, the closest valid flag or value when there is one, and never a Java stack trace. The
 * message of every bad flag is {@link CliTest}'s, without starting the command.
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

    /**
     * One bad command line of each kind, through the command (CliTest has every message): picocli's
     * unknown option and value conversion, a validation, a file the server cannot open.
     */
    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        "--thread 2|Unknown option: '--thread'; did you mean '--threads'?",
        "--threads many|Invalid value for option '--threads': 'many' is not an int",
        "-w 0|--workers 0: must be at least 1",
        "--error-logfile /no/such/dir/error.log|cannot open the error log: /no/such/dir/error.log: directory /no/such/dir does not exist",
    })
    void badCommandLines(String args, String message) {
        assertUsageError(ServerProcess.launch(List.of(args.split(" ")), Map.of()), message);
    }

    @Test
    void badJwsgiCmdArgs() {
        assertUsageError(ServerProcess.launch(List.of("corpus"), Map.of(SettingsSources.ENV_ARGS, "--threads 'unclosed")),
                "JWSGI_CMD_ARGS: no closing quotation (')");
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
