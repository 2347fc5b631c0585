package jwsgi.server;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import jwsgi.posix.Libc;
import jwsgi.testing.Http;
import jwsgi.testing.Pythons;
import jwsgi.testing.ServerProcess;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * {@code --user}/{@code --group} (through libc): started as root, the server binds a privileged
 * port, writes its pid file and opens its logs as root, then runs the app as the user, with no
 * supplementary groups, and can still write (and reopen) its logs.
 */
class UserSwitchTest {
    @Test
    void startedAsRootItBindsAPrivilegedPortThenRunsTheAppAsTheUser(@TempDir Path dir) throws Exception {
        assumeTrue(Libc.geteuid() == 0, "needs root");
        Libc.User nobody = Libc.userByName("nobody").orElse(null);
        assumeTrue(nobody != null, "needs the user 'nobody'");
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path hooks = dir.resolve("hooks.conf.py");
        Files.writeString(hooks, """
                import os
                def post_fork(server, worker):
                    server.log.info("post_fork as uid %d", os.getuid())
                def post_worker_init(worker):
                    worker.log.info("post_worker_init as uid %d gid %d groups %s", os.getuid(), os.getgid(), os.getgroups())
                """);
        int port = freePrivilegedPort();
        Path access = dir.resolve("access.log");
        Path pid = dir.resolve("jwsgi.pid");
        ServerProcess server = ServerProcess.startRaw(List.of("--python", Pythons.DEBIAN.toString(), "--chdir",
                ServerProcess.APPS.toString(), "-c", hooks.toString(), "-b", "127.0.0.1:" + port, "--user", "nobody",
                "--access-logfile", access.toString(), "--pid", pid.toString(), "corpus"), Map.of());
        try {
            // "Listening at" comes first: the sockets are bound as root, then the process switches.
            assertTrue(server.awaitOutput("Running as user nobody", Duration.ofSeconds(20)), server.output());
            // As under gunicorn, the master stays root (to bind again on a reload); the worker switches.
            long worker = server.awaitWorkers(1, List.of(), Duration.ofSeconds(20)).get(0);
            String status = Files.readString(Path.of("/proc/" + worker + "/status"));
            String uid = Integer.toString(nobody.uid());
            String gid = Integer.toString(nobody.gid());
            assertTrue(status.contains("\nUid:\t" + uid + "\t" + uid + "\t" + uid + "\t" + uid + "\n"), status);
            assertTrue(status.contains("\nGid:\t" + gid + "\t" + gid + "\t" + gid + "\t" + gid + "\n"), status);
            assertTrue(status.matches("(?s).*\nGroups:\\s*\n.*"), "no supplementary groups:\n" + status);
            assertEquals(Long.toString(server.pid()), Files.readString(pid).strip());
            assertTrue(server.awaitOutput("post_worker_init as uid " + uid + " gid " + gid + " groups []", Duration.ofSeconds(20)),
                    server.output());
            String out = server.output();
            assertTrue(out.contains("post_fork as uid 0"), "post_fork runs before the switch, as in gunicorn:\n" + out);
            assertTrue(out.contains("Running as user nobody (uid " + uid + ", gid " + gid + ")"), out);
            JsonNode info = Http.getJson("http://127.0.0.1:" + port + "/info");
            assertEquals(ServerProcess.APPS.toString(), info.get("cwd").asText());
            assertEquals(nobody.uid(), (int) Files.getAttribute(access, "unix:uid"), "the access log was given to the user");
            Files.move(access, dir.resolve("access.log.1"));
            server.signal("USR1");
            // The worker's line comes after it reopened (or logged why it could not).
            assertTrue(server.awaitOutput("Reopened the log files", Duration.ofSeconds(10)), server.output());
            assertTrue(Files.exists(access), "reopened as the user:\n" + server.output());
            assertFalse(server.output().contains("Cannot reopen"), server.output());
            server.signal("TERM");
            assertEquals(0, server.waitFor(Duration.ofSeconds(20)), server.output());
            assertFalse(Files.exists(pid), "the pid file is removed on exit");
        } finally {
            server.close();
        }
    }

    /** A port below 1024 that is free on the loopback address (only root may bind it). */
    private static int freePrivilegedPort() {
        for (int port = 1000; port > 600; port--) {
            try (ServerSocket s = new ServerSocket(port, 1, InetAddress.getByName("127.0.0.1"))) {
                return port;
            } catch (IOException taken) {
                // try the next
            }
        }
        throw new IllegalStateException("no free port between 601 and 1000");
    }

    @Test
    void aUserThatDoesNotExistIsAUsageError() {
        ServerProcess p = ServerProcess.launch(List.of("--user", "no_such_user_zz", "corpus"), Map.of());
        assertEquals(2, p.waitFor(Duration.ofSeconds(20)), p.output());
        assertTrue(p.output().contains("--user no_such_user_zz: no such user"), p.output());
    }

    @Test
    void aPidFileOfALiveProcessRefusesTheStart(@TempDir Path dir) throws Exception {
        Path pid = dir.resolve("jwsgi.pid");
        Files.writeString(pid, ProcessHandle.current().pid() + "\n");
        ServerProcess p = ServerProcess.launch(ServerProcess.args("--pid", pid.toString(), "corpus"), Map.of());
        assertEquals(1, p.waitFor(Duration.ofSeconds(30)), p.output());
        assertTrue(p.output().contains("Cannot write the pid file " + pid + ": Already running on PID " + ProcessHandle.current().pid()
                + " (or pid file '" + pid + "' is stale)"), p.output());
        assertEquals(ProcessHandle.current().pid() + "\n", Files.readString(pid), "someone else's file is left alone");
    }
}
