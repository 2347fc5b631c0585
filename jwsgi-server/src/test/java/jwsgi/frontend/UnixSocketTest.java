package jwsgi.frontend;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import jwsgi.testing.Pythons;
import jwsgi.testing.ServerProcess;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The socket file of --bind unix:PATH: a stale one is replaced, a live one or a plain file never, and a clean exit removes it. */
class UnixSocketTest {
    @TempDir
    Path dir;

    private static ServerProcess launch(Path socket) {
        return ServerProcess.launch(List.of("--python", Pythons.DEBIAN.toString(), "--chdir", ServerProcess.APPS.toString(),
                "-b", "unix:" + socket, "corpus:application"), Map.of());
    }

    /** A socket file nobody listens on, as a killed server leaves it. */
    private static void stale(Path socket) throws IOException {
        try (ServerSocketChannel ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
            ch.bind(UnixDomainSocketAddress.of(socket));
        }
        assertTrue(Files.exists(socket));
    }

    @Test
    void aStaleSocketIsReplacedALiveOneIsNotAndACleanExitRemovesIt() throws IOException {
        Path socket = dir.resolve("app.sock");
        stale(socket);
        ServerProcess server = ServerProcess.startRaw(List.of("--python", Pythons.DEBIAN.toString(), "--chdir",
                ServerProcess.APPS.toString(), "-b", "unix:" + socket, "corpus:application"), Map.of());
        try {
            assertTrue(server.output().contains("Removing the stale socket " + socket), server.output());
            assertTrue(server.output().contains("Listening at: unix:" + socket), server.output());
            assertEquals("200", Curl.run("--unix-socket", socket.toString(), "-o", "/dev/null", "-w", "%{http_code}", "http://x/environ"));
            ServerProcess second = launch(socket);
            assertEquals(1, second.waitFor(Duration.ofSeconds(60)));
            assertTrue(second.output().contains("another server is listening on it"), second.output());
            assertEquals("200", Curl.run("--unix-socket", socket.toString(), "-o", "/dev/null", "-w", "%{http_code}", "http://x/environ"),
                    "the first server still serves");
        } finally {
            server.signal("TERM");
            assertEquals(0, server.waitFor(Duration.ofSeconds(30)));
        }
        assertFalse(Files.exists(socket), "removed on a clean exit");
    }

    @Test
    void aFileThatIsNotASocketIsNeverReplaced() throws IOException {
        Path file = Files.writeString(dir.resolve("data.txt"), "precious");
        ServerProcess p = launch(file);
        assertEquals(1, p.waitFor(Duration.ofSeconds(60)));
        assertTrue(p.output().contains("a file that is not a socket is in the way"), p.output());
        assertEquals("precious", Files.readString(file));
        ServerProcess q = launch(dir.resolve("missing/app.sock"));
        assertEquals(1, q.waitFor(Duration.ofSeconds(60)));
        assertTrue(q.output().contains("does not exist; create it first"), q.output());
    }
}
