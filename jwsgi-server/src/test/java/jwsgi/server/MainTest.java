package jwsgi.server;

import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import jwsgi.testing.Http;
import jwsgi.testing.Pythons;
import jwsgi.testing.ServerProcess;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The {@code jwsgi} command: help and version exit 0, a port in use is a clear start-up error
 * (exit 1), and without an app the demo is served. Bad flags are {@code config.CliTest}'s and
 * {@code config.BadSettingsTest}'s.
 */
class MainTest {

    private static ServerProcess run(String... args) {
        return ServerProcess.launch(List.of(args), Map.of());
    }

    @Test
    void helpPrintsTheUsageAndExitsZero() {
        ServerProcess p = run("--help");
        assertEquals(0, p.waitFor(Duration.ofSeconds(20)));
        assertTrue(p.output().startsWith("Usage: jwsgi "), p.output());
        assertTrue(p.output().contains("--graceful-timeout"), p.output());
    }

    @Test
    void versionPrintsTheVersionAndExitsZero() {
        ServerProcess p = run("--version");
        assertEquals(0, p.waitFor(Duration.ofSeconds(20)));
        assertTrue(p.output().startsWith("jwsgi "), p.output());
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
