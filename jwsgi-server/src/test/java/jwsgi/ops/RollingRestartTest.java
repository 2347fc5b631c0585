package jwsgi.ops;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

import jwsgi.testing.FrontServer;
import jwsgi.testing.LoadLoop;
import jwsgi.testing.ServerProcess;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * A rolling update behind a real load balancer: HAProxy in front of two jwsgi instances,
 * health-checking each one's /readyz; each instance is stopped (TERM) and started again in turn,
 * then one reloads (HUP), all under a steady load. No request may fail.
 *
 * <p>HAProxy is told not to send a failed request to the other server ({@code option
 * redispatch} is off): a request it sent to a closed listener would fail. So the test holds
 * only if /readyz turns 503 at TERM and the instance serves on (--drain-delay) until HAProxy
 * has taken it out, and a started instance is ready before /readyz says so.
 */
class RollingRestartTest {
    private static final Path HAPROXY = Path.of("/usr/sbin/haproxy");
    /** Twice what HAProxy needs to see a 503 here (checks every 100 ms, down after 2), with room for a loaded machine. */
    private static final String DRAIN = "1.5";

    /** One jwsgi instance on fixed ports, so that it can be started again where it was. */
    private record Instance(int port, int metricsPort) {
        ServerProcess start() {
            return ServerProcess.start("lifecycle", "-b", "127.0.0.1:" + port, "--metrics-bind", "127.0.0.1:" + metricsPort,
                    "--drain-delay", DRAIN, "--no-control-socket");
        }

        String haproxyLine(String name) {
            return "    server " + name + " 127.0.0.1:" + port + " check port " + metricsPort + "\n";
        }
    }

    /** Waits until answers (which name the process that served them) come from a worker of {@code server}. */
    private static void awaitAnswersFrom(LoadLoop load, ServerProcess server) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            List<Long> workers = server.workerPids();
            if (load.bodies().stream().anyMatch(b -> workers.stream().anyMatch(pid -> b.contains("\"pid\": " + pid + ",")))) return;
            if (System.nanoTime() - deadline > 0) throw new AssertionError("HAProxy never sent a request to " + workers + ": " + load);
            Thread.sleep(20);
        }
    }

    /** TERM, then the same instance again: its replacement is in rotation again once answers come from it. */
    private static ServerProcess restart(ServerProcess old, Instance instance, LoadLoop load) throws InterruptedException {
        old.signal("TERM");
        assertEquals(0, old.waitFor(Duration.ofSeconds(30)), old.output());
        ServerProcess started = instance.start();
        awaitAnswersFrom(load, started);
        return started;
    }

    @Test
    void restartingEachInstanceInTurnAndReloadingOneLosesNoRequest(@TempDir Path tmp) throws Exception {
        assumeTrue(Files.isExecutable(HAPROXY), "needs Debian's haproxy (./test installs it)");
        Instance a = new Instance(FrontServer.freePort(), FrontServer.freePort());
        Instance b = new Instance(FrontServer.freePort(), FrontServer.freePort());
        int front = FrontServer.freePort();
        String config = """
                defaults
                    mode http
                    log global
                    option httplog
                    timeout connect 2s
                    timeout client 30s
                    timeout server 30s
                    timeout check 2s
                    retries 3
                frontend web
                    bind 127.0.0.1:%d
                    default_backend jwsgi
                backend jwsgi
                    option httpchk GET /readyz
                    http-check expect status 200
                    default-server inter 100ms fall 2 rise 1
                """.formatted(front) + a.haproxyLine("a") + b.haproxyLine("b");
        CompletableFuture<ServerProcess> starting = CompletableFuture.supplyAsync(b::start);
        ServerProcess first = a.start();
        ServerProcess second = starting.join();
        try (FrontServer haproxy = FrontServer.haproxy(tmp, config, List.of(front))) {
            LoadLoop load = LoadLoop.start("127.0.0.1", front, "/pid", 4);
            try {
                awaitAnswersFrom(load, first);
                awaitAnswersFrom(load, second);
                first = restart(first, a, load);
                second = restart(second, b, load);
                List<Long> before = first.workerPids();
                first.signal("HUP");
                first.awaitWorkers(1, before, Duration.ofSeconds(30));
                awaitAnswersFrom(load, first);
            } finally {
                load.close();
            }
            assertTrue(load.answered() > 100, load.toString());
            assertEquals("{}", load.failures().toString(), load + "\nHAProxy:\n" + haproxy.log());
        } finally {
            first.close();
            second.close();
        }
    }
}
