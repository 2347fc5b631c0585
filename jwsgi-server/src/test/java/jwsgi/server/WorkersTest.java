package jwsgi.server;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.MatchResult;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import jwsgi.testing.Http;
import jwsgi.testing.LoadLoop;
import jwsgi.testing.RawHttp;
import jwsgi.testing.ServerProcess;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * Worker processes under a master, with real signals and crashes (the lifecycle app): a worker
 * killed with -9 or crashed by a C-level fault comes back while the others serve; SIGTTIN and
 * SIGTTOU change their number. One server for those; the tests leave it with two workers.
 */
class WorkersTest {
    private static final Duration REPLACED = Duration.ofSeconds(60);
    private static final ObjectMapper JSON = new ObjectMapper();
    private static ServerProcess server;

    @BeforeAll
    static void start() {
        server = ServerProcess.start("lifecycle", "-w", "2", "--graceful-timeout", "2");
        server.awaitWorkers(2, List.of(), REPLACED);
    }

    @AfterAll
    static void stop() {
        if (server != null) server.close();
    }

    private static long pidOfAnswer(String path) {
        return Http.getJson(server.url() + path).get("pid").asLong();
    }

    @Test
    void aWorkerKilledWithSigkillUnderLoadComesBackWhileTheOtherServes() throws Exception {
        List<Long> before = server.awaitWorkers(2, List.of(), REPLACED);
        long victim = before.get(0);
        try (LoadLoop load = LoadLoop.start(server, "/pid", 4)) {
            assertTrue(load.awaitAnswered(50, Duration.ofSeconds(30)), load.toString());
            ProcessHandle.of(victim).ifPresent(ProcessHandle::destroyForcibly);
            int answeredAtKill = load.answered();
            List<Long> after = server.awaitWorkers(2, List.of(victim), REPLACED);
            assertTrue(after.contains(before.get(1)), "the other worker was left alone: " + before + " -> " + after);
            assertTrue(load.awaitAnswered(answeredAtKill + 100, Duration.ofSeconds(30)), "requests go on being answered: " + load);
            load.close();
            // Only requests the killed worker had taken can fail: a few, not the traffic.
            int failed = load.failures().values().stream().mapToInt(Integer::intValue).sum();
            assertTrue(failed <= 8, "failures: " + load);
        }
        assertTrue(server.awaitOutput("(pid " + victim + ") was killed by SIGKILL", Duration.ofSeconds(5)), server.output());
    }

    @Test
    void aSegfaultInNativeCodeFailsOnlyThatRequest() throws Exception {
        List<Long> before = server.awaitWorkers(2, List.of(), REPLACED);
        try (RawHttp crash = RawHttp.to(server)) {
            crash.send("GET /segv HTTP/1.1\r\nHost: h\r\n\r\n");
            assertThrowsOrClosed(crash);
        }
        // The crashed worker may still be writing its crash report: wait until it is gone and replaced.
        List<Long> after = awaitReplaced(before);
        long crashed = before.stream().filter(p -> !after.contains(p)).findFirst().orElseThrow();
        long other = before.get(0) == crashed ? before.get(1) : before.get(0);
        assertTrue(after.contains(other), "only the crashed worker goes: " + before + " -> " + after);
        for (int i = 0; i < 10; i++) assertEquals(200, Http.get(server.url() + "/pid").statusCode());
        assertTrue(server.awaitOutput("(pid " + crashed + ") was killed by SIGABRT", Duration.ofSeconds(5)), server.output());
        String log = server.output();
        Path report = WorkerCommand.crashReport(Long.toString(crashed));
        try {
            assertTrue(log.contains("crash report " + report), log);
            assertTrue(log.contains("SIGSEGV (0xb)"), "the signal from the JVM's crash report:\n" + log);
        } finally {
            Files.deleteIfExists(report);
        }
    }

    /** Waits until the server again has as many workers as {@code before}, one of them new. */
    private static List<Long> awaitReplaced(List<Long> before) throws InterruptedException {
        long deadline = System.nanoTime() + REPLACED.toNanos();
        while (true) {
            List<Long> now = server.workerPids();
            if (now.size() == before.size() && !now.containsAll(before)) return now;
            if (System.nanoTime() > deadline) throw new AssertionError("no worker was replaced: " + before + " -> " + now);
            Thread.sleep(50);
        }
    }

    private static void assertThrowsOrClosed(RawHttp connection) {
        try {
            RawHttp.Response r = connection.read();
            throw new AssertionError("the crashing request was answered: " + r.statusLine());
        } catch (SocketTimeoutException e) {
            throw new AssertionError("the crashing request's connection neither answered nor closed", e);
        } catch (IOException expected) {
            // the worker died with the request: its connection ended without an answer
        }
    }

    /**
     * Keep-alive connections are spread by load, not by which acceptor ran first: when one
     * worker holds a batch of connections and the other none, new connections go to the
     * other. Without balancing the kernel deals them out in turn, half to each.
     */
    @Test
    void newConnectionsGoToTheWorkerWithFewer() throws Exception {
        server.awaitWorkers(2, List.of(), REPLACED);
        awaitBothAccepting();
        List<RawHttp> open = new ArrayList<>();
        try {
            Map<Long, List<RawHttp>> byWorker = new HashMap<>();
            for (int i = 0; i < 30; i++) {
                RawHttp c = RawHttp.to(server);
                open.add(c);
                byWorker.computeIfAbsent(pidOn(c), k -> new ArrayList<>()).add(c);
            }
            // The worker with more keeps its connections; the other's are closed, so it holds none.
            long loaded = byWorker.entrySet().stream().max(Map.Entry.comparingByValue(Comparator.comparingInt(List::size)))
                    .orElseThrow().getKey();
            for (Map.Entry<Long, List<RawHttp>> e : byWorker.entrySet()) {
                if (e.getKey() != loaded) for (RawHttp c : e.getValue()) c.close();
            }
            int held = byWorker.get(loaded).size();
            int toOther = 0;
            for (int i = 0; i < held; i++) {
                RawHttp c = RawHttp.to(server);
                open.add(c);
                if (pidOn(c) != loaded) toOther++;
            }
            assertTrue(toOther >= held * 3 / 4, toOther + " of " + held + " new connections went to the worker that had none"
                    + " (the other held " + held + ")");
        } finally {
            for (RawHttp c : open) c.close();
        }
    }

    /** Until each worker has answered on a fresh connection, one may not be accepting yet. */
    private static void awaitBothAccepting() throws Exception {
        Set<Long> answered = new HashSet<>();
        long deadline = System.nanoTime() + REPLACED.toNanos();
        while (answered.size() < 2) {
            if (System.nanoTime() > deadline) throw new AssertionError("only " + answered + " answered");
            try (RawHttp c = RawHttp.to(server)) {
                answered.add(pidOn(c));
            }
        }
    }

    private static long pidOn(RawHttp connection) throws IOException {
        RawHttp.Response r = connection.send("GET /pid HTTP/1.1\r\nHost: h\r\n\r\n").read();
        assertEquals(200, r.status(), r.statusLine());
        return JSON.readTree(r.body()).get("pid").asLong();
    }

    @Test
    void ttinAddsAWorkerAndTtouRemovesTheOldest() {
        List<Long> two = server.awaitWorkers(2, List.of(), REPLACED);
        server.signal("TTIN");
        List<Long> three = server.awaitWorkers(3, List.of(), REPLACED);
        assertTrue(three.containsAll(two), three.toString());
        server.signal("TTOU");
        List<Long> back = server.awaitWorkers(2, List.of(two.get(0)), REPLACED);
        assertFalse(back.contains(two.get(0)), "the oldest worker goes: " + two + " -> " + back);
        assertTrue(server.awaitOutput("Now running 3 workers", Duration.ofSeconds(5)), server.output());
        assertTrue(server.awaitOutput("Now running 2 workers", Duration.ofSeconds(5)), server.output());
    }

    /** SIGHUP under continuous load: new workers with the new code take over and not one request fails. */
    @Test
    void reloadUnderLoadFailsNoRequestAndServesTheNewCode(@TempDir Path dir) throws Exception {
        Path code = Files.writeString(dir.resolve("code.txt"), "v1\n");
        try (ServerProcess s = ServerProcess.startRaw(ServerProcess.args("lifecycle", "-w", "2", "--graceful-timeout", "5"),
                Map.of("LIFECYCLE_CODE", code.toString()))) {
            List<Long> old = s.awaitWorkers(2, List.of(), REPLACED);
            try (LoadLoop load = LoadLoop.start(s, "/pid", 6)) {
                assertTrue(load.awaitAnswered(100, Duration.ofSeconds(30)), load.toString());
                Files.writeString(code, "v2\n");
                s.signal("HUP");
                s.awaitWorkers(2, old, REPLACED);
                int atReload = load.answered();
                assertTrue(load.awaitAnswered(atReload + 200, Duration.ofSeconds(30)), load.toString());
                load.close();
                assertEquals(Map.of(), load.failures(), "no request failed during the reload: " + load);
            }
            for (int i = 0; i < 5; i++) {
                JsonNode answer = Http.getJson(s.url() + "/pid");
                assertEquals("v2", answer.get("code").asText(), "the new code is served: " + answer);
            }
            assertTrue(s.output().contains("Handling signal: hup"), s.output());
        }
    }

    /** --max-requests: each worker is replaced after its requests, under load, without a failed request. */
    @Test
    void maxRequestsRecyclesWorkersWithoutAFailedRequest() throws Exception {
        try (ServerProcess s = ServerProcess.start("lifecycle", "-w", "2", "--max-requests", "60", "--max-requests-jitter", "10",
                "--min-worker-lifetime", "0", "--graceful-timeout", "5")) {
            List<Long> first = s.awaitWorkers(2, List.of(), REPLACED);
            try (LoadLoop load = LoadLoop.start(s, "/pid", 4)) {
                // Under load, workers keep being replaced: wait until the first two are gone, whatever the count.
                long deadline = System.nanoTime() + REPLACED.toNanos();
                while (s.workerPids().stream().anyMatch(first::contains)) {
                    assertTrue(System.nanoTime() < deadline, "the first workers were replaced:\n" + s.output());
                    Thread.sleep(50);
                }
                assertTrue(load.awaitAnswered(load.answered() + 50, Duration.ofSeconds(30)), load.toString());
                load.close();
                assertEquals(Map.of(), load.failures(), "no request failed while workers were replaced: " + load);
                long pids = load.bodies().stream().map(b -> Http.json(b).get("pid").asLong()).distinct().count();
                assertTrue(pids >= 3, "answers came from the first workers and their replacements: " + pids);
            }
            assertTrue(s.output().contains("it has served --max-requests"), s.output());
        }
    }

    /**
     * A worker that reaches --max-requests young is replaced only once it has run
     * --min-worker-lifetime: a replacement is a JVM to start and warm, so at a high request
     * rate gunicorn's own setting (1000) would otherwise keep every worker cold. Workers started
     * together are replaced at different times (the second of two waits half the floor more).
     */
    @Test
    void maxRequestsWaitForTheMinimumWorkerLifetime() throws Exception {
        try (ServerProcess s = ServerProcess.start("lifecycle", "-w", "2", "--max-requests", "5", "--min-worker-lifetime", "8",
                "--graceful-timeout", "2")) {
            List<Long> first = s.awaitWorkers(2, List.of(), REPLACED);
            Pattern served = Pattern.compile("\\[(\\d+)\\] \\[INFO\\] Served --max-requests \\(5 requests\\) in [0-9.]+ s; "
                    + "this worker is replaced once it has run ([0-9.]+) s \\((.*?)\\), in ([0-9.]+) s");
            Map<Long, MatchResult> told = new HashMap<>();
            Map<Long, Long> seenAt = new HashMap<>();
            try (LoadLoop load = LoadLoop.start(s, "/pid", 4)) {
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (told.size() < 2 && System.nanoTime() < deadline) {
                    Matcher m = served.matcher(s.output());
                    while (m.find()) {
                        long pid = Long.parseLong(m.group(1));
                        if (told.putIfAbsent(pid, m.toMatchResult()) == null) seenAt.put(pid, System.nanoTime());
                    }
                    Thread.sleep(20);
                }
            }
            assertEquals(Set.copyOf(first), told.keySet(), "both workers reached --max-requests under load:\n" + s.output());
            long early = first.stream().filter(pid -> floor(told.get(pid)).equals("8.0")).findFirst().orElseThrow(
                    () -> new AssertionError("one worker waits 8 s:\n" + s.output()));
            long late = first.stream().filter(pid -> pid != early).findFirst().orElseThrow();
            assertEquals("12.0", floor(told.get(late)), s.output());
            assertTrue(s.output().contains("(--min-worker-lifetime 8 s + 4.0 s as worker 2 of 2 started together)"), s.output());
            double wait = Double.parseDouble(told.get(early).group(4));
            assertTrue(wait > 0 && wait < 8, "the wait is what remains of the 8 s: " + s.output());
            long deadline = System.nanoTime() + REPLACED.toNanos();
            while (s.workerPids().contains(early)) {
                assertTrue(System.nanoTime() < deadline, "the first worker was replaced:\n" + s.output());
                Thread.sleep(50);
            }
            double replacedAfter = (System.nanoTime() - seenAt.get(early)) / 1e9;
            assertTrue(replacedAfter >= wait - 0.5, "replaced after " + replacedAfter + " s, not before its lifetime was up (in "
                    + wait + " s):\n" + s.output());
            assertTrue(s.workerPids().contains(late), "the other worker, started with it, is replaced later:\n" + s.output());
            assertTrue(s.output().contains("it has served --max-requests (5 requests) and run 8.0 s (--min-worker-lifetime 8 s)"),
                    s.output());
            s.awaitWorkers(2, first, REPLACED);
            assertEquals(200, Http.get(s.url() + "/pid").statusCode());
        }
    }

    private static String floor(MatchResult served) {
        return served.group(2);
    }

    static int count(String text, String part) {
        int n = 0;
        for (int i = text.indexOf(part); i >= 0; i = text.indexOf(part, i + part.length())) n++;
        return n;
    }

    /** More worker processes than cores: the master says once what they cost and what to run instead. */
    @Test
    void moreWorkersThanCoresAreExplainedOnce() {
        try (ServerProcess s = ServerProcess.startWithMasterOptions(List.of("-XX:ActiveProcessorCount=1"),
                ServerProcess.args("lifecycle", "-w", "2", "--threads", "3"))) {
            s.awaitWorkers(2, List.of(), REPLACED);
            assertEquals(1, count(s.output(), "-w 2 runs 2 worker processes on 1 core."), s.output());
            assertTrue(s.output().contains("the same concurrency costs less as threads: -w 1 --threads 6"), s.output());
            assertEquals(200, Http.get(s.url() + "/pid").statusCode());
        }
    }

    @Test
    void asManyWorkersAsCoresNeedNoExplaining() {
        assumeTrue(Runtime.getRuntime().availableProcessors() >= 2, "a machine with 2 cores or more");
        assertFalse(server.output().contains("worker processes on"), server.output());
    }

    @Test
    void theOtherWorkersPidIsNotTheMasters() {
        long answered = pidOfAnswer("/pid");
        assertNotEquals(server.pid(), answered, "requests are served by worker processes");
        assertTrue(server.workerPids().contains(answered), answered + " in " + server.workerPids());
    }
}
