package jwsgi.server;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import jwsgi.testing.Http;
import jwsgi.testing.Pythons;
import jwsgi.testing.ServerProcess;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The command line: help, version, the demo app, and a clear message and exit code 2 for every bad flag. */
class CliTest {

    private static ServerProcess run(String... args) {
        return ServerProcess.launch(List.of(args), Map.of());
    }

    @Test
    void helpListsTheGunicornFlags() {
        ServerProcess p = run("--help");
        assertEquals(0, p.waitFor(Duration.ofSeconds(20)));
        for (String flag : List.of("--bind", "--threads", "--python", "--chdir", "--pythonpath", "--env", "--log-level",
                "--access-logfile", "--graceful-timeout")) {
            assertTrue(p.output().contains(flag), flag + " in:\n" + p.output());
        }
    }

    @Test
    void versionPrintsTheVersion() {
        ServerProcess p = run("--version");
        assertEquals(0, p.waitFor(Duration.ofSeconds(20)));
        assertTrue(p.output().startsWith("jwsgi "), p.output());
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "--thread 2|Unknown option: '--thread'|--threads",
        "--threads 0|--threads 0: must be at least 1|",
        "--threads many|Invalid value for option '--threads': 'many' is not an int|",
        "-b 127.0.0.1:99999|port 99999 is not in 0-65535|",
        "-b 127.0.0.1:http|expected HOST:PORT, [IPv6]:PORT, HOST, :PORT or unix:PATH|",
        "-b ::1:8000|expected HOST:PORT, [IPv6]:PORT, HOST, :PORT or unix:PATH|",
        "-e NOEQUALS|-e NOEQUALS: expected KEY=VALUE|",
        "--log-level loud|--log-level loud: expected one of debug, info, warning, error, critical|",
        "--graceful-timeout -1|--graceful-timeout -1: must be 0 or more seconds|",
        "--chdir /no/such/dir corpus|--chdir /no/such/dir: no such directory|",
    })
    void badFlagsExitWithCode2AndAMessage(String args, String message, String suggestion) {
        ServerProcess p = run(args.split(" "));
        assertEquals(2, p.waitFor(Duration.ofSeconds(20)), p.output());
        assertTrue(p.output().contains(message), p.output());
        if (suggestion != null) assertTrue(p.output().contains(suggestion), "suggests " + suggestion + ":\n" + p.output());
        assertFalse(p.output().contains("\tat "), "no Java stack trace:\n" + p.output());
    }

    @Test
    void aPortInUseIsAClearStartupError() throws Exception {
        try (ServerSocket taken = new ServerSocket(0, 50, java.net.InetAddress.getByName("127.0.0.1"))) {
            ServerProcess p = run("--python", Pythons.DEBIAN.toString(), "--chdir", ServerProcess.APPS.toString(),
                    "-b", "127.0.0.1:" + taken.getLocalPort(), "corpus");
            assertEquals(1, p.waitFor(Duration.ofSeconds(30)), p.output());
            assertTrue(p.output().contains("Cannot listen on [127.0.0.1:" + taken.getLocalPort() + "]"), p.output());
            assertTrue(p.output().contains("Address already in use"), p.output());
        }
    }

    @Test
    void withoutAnAppTheDemoIsServed() {
        try (ServerProcess p = ServerProcess.startRaw(List.of("--python", Pythons.DEBIAN.toString(), "-b", "127.0.0.1:0"), Map.of())) {
            String page = Http.get(p.url() + "/").body();
            assertTrue(page.contains("jwsgi is serving"), page);
            assertTrue(page.contains("REQUEST_METHOD"), page);
            String posted = Http.post(p.url() + "/", "message=hello+demo".getBytes(), "application/x-www-form-urlencoded").body();
            assertTrue(posted.contains("You posted: <b>hello demo</b>"), posted);
        }
    }
}
