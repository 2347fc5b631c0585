package jwsgi.ops;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import jwsgi.testing.Http;
import jwsgi.testing.Marker;
import jwsgi.testing.Pythons;
import jwsgi.testing.ServerProcess;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** systemd drives the server: Type=notify notifications on a socket the test binds, and socket activation. */
class SystemdTest {
    private static final Path SCRIPTS = Path.of("jwsgi-server/src/test/python/ops").toAbsolutePath();

    /** A stand-in for systemd's notification socket, writing what it receives to a file. */
    private record Receiver(Process process, Path out) implements AutoCloseable {
        static Receiver bind(String address, Path dir) throws IOException, InterruptedException {
            Path out = dir.resolve("notifications");
            Path ready = dir.resolve("bound");
            Process p = new ProcessBuilder(Pythons.DEBIAN.toString(), SCRIPTS.resolve("notify_receiver.py").toString(), address,
                    out.toString(), ready.toString()).redirectErrorStream(true).start();
            Marker.await(ready, Duration.ofSeconds(10));
            return new Receiver(p, out);
        }

        /** Waits until the notifications received contain {@code text} {@code times} times. */
        void await(String text, int times) throws IOException, InterruptedException {
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (count(text) < times) {
                if (System.nanoTime() - deadline > 0) throw new AssertionError("no " + text + " (x" + times + ") in:\n" + received());
                Thread.sleep(20);
            }
        }

        int count(String text) throws IOException {
            String all = received();
            int n = 0;
            for (int i = all.indexOf(text); i >= 0; i = all.indexOf(text, i + 1)) n++;
            return n;
        }

        String received() throws IOException {
            return Files.exists(out) ? Files.readString(out) : "";
        }

        @Override
        public void close() {
            process.destroy();
        }
    }

    @Test
    void readyReloadingAndStoppingArriveOnTheNotifySocket(@TempDir Path tmp) throws Exception {
        Path socket = tmp.resolve("notify.sock");
        try (Receiver systemd = Receiver.bind(socket.toString(), tmp);
             ServerProcess server = ServerProcess.startRaw(ServerProcess.args("lifecycle", "-w", "2"), Map.of("NOTIFY_SOCKET", socket.toString()))) {
            systemd.await("READY=1", 1);
            assertTrue(systemd.received().startsWith("READY=1\nSTATUS=Serving with "), systemd.received());
            assertEquals(0, systemd.count("STOPPING=1"));
            server.signal("HUP");
            systemd.await("RELOADING=1\nMONOTONIC_USEC=", 1);
            systemd.await("READY=1", 2);
            server.signal("TERM");
            systemd.await("STOPPING=1", 1);
            assertEquals(0, server.waitFor(Duration.ofSeconds(20)), server.output());
            String all = systemd.received();
            assertTrue(all.indexOf("RELOADING=1") < all.lastIndexOf("READY=1") && all.lastIndexOf("READY=1") < all.indexOf("STOPPING=1"), all);
            assertTrue(!server.output().contains("Cannot notify systemd"), server.output());
        }
    }

    @Test
    void anAbstractNotifySocketIsReachedToo(@TempDir Path tmp) throws Exception {
        String name = "@jwsgi-test-" + ProcessHandle.current().pid() + "-" + System.nanoTime();
        try (Receiver systemd = Receiver.bind(name, tmp);
             ServerProcess server = ServerProcess.startRaw(ServerProcess.args("lifecycle"), Map.of("NOTIFY_SOCKET", name))) {
            systemd.await("READY=1", 1);
        }
    }

    /** As systemd passes it: descriptor 3, LISTEN_FDS=1, LISTEN_PID the server's own; --bind is then not used. */
    @Test
    void socketActivationServesOnTheInheritedSocket() throws Exception {
        List<String> launcher = List.of(Pythons.DEBIAN.toString(), SCRIPTS.resolve("socket_activate.py").toString());
        try (ServerProcess server = ServerProcess.startVia(launcher, Map.of(), "lifecycle", "-w", "2")) {
            assertTrue(server.output().contains("Using the socket systemd passed (web): 127.0.0.1:" + server.port() + "; --bind is not used"),
                    server.output());
            assertEquals(200, Http.get(server.url() + "/pid").statusCode());
            List<Long> before = server.workerPids();
            server.signal("HUP");  // a reload keeps systemd's socket: the new workers serve on it
            assertTrue(server.awaitOutput("Hang up: Master", Duration.ofSeconds(10)), server.output());
            List<Long> after = server.awaitWorkers(2, before, Duration.ofSeconds(60));
            for (int i = 0; i < 20; i++) {
                var response = Http.get(server.url() + "/pid");
                assertEquals(200, response.statusCode());
                var pid = java.util.regex.Pattern.compile("\"pid\": (\\d+)").matcher(response.body());
                assertTrue(pid.find() && after.contains(Long.parseLong(pid.group(1))), "served by a new worker " + after + ": " + response.body());
            }
        }
    }
}
