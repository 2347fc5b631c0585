package jwsgi.server;

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
 * The master's listeners ({@link Listeners}) with {@code --reuse-port} (gunicorn's reuse_port): two
 * servers share one port; without it the second cannot bind.
 */
class ListenersTest {
    private static List<String> args(int port, String... more) {
        List<String> all = new java.util.ArrayList<>(List.of("--python", Pythons.DEBIAN.toString(), "--chdir",
                ServerProcess.APPS.toString(), "-b", "127.0.0.1:" + port, "corpus"));
        all.addAll(List.of(more));
        return all;
    }

    @Test
    void twoServersShareAPortWithReusePort() {
        try (ServerProcess first = ServerProcess.start("corpus", "--reuse-port")) {
            int port = first.port();
            try (ServerProcess second = ServerProcess.startRaw(args(port, "--reuse-port"), Map.of())) {
                assertEquals(port, second.port());
                assertEquals("shared", Http.get(second.url() + "/status?body=shared").body());
            }
            ServerProcess refused = ServerProcess.launch(args(port), Map.of());
            assertEquals(1, refused.waitFor(Duration.ofSeconds(30)), refused.output());
            assertTrue(refused.output().contains("Address already in use"), refused.output());
        }
    }
}
