package jwsgi.ops;

import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.atomic.AtomicInteger;

import jwsgi.testing.Http;
import jwsgi.testing.Marker;
import jwsgi.testing.Metrics;
import jwsgi.testing.RawHttp;
import jwsgi.testing.ServerProcess;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The master's --metrics-bind listener: exact counts from every worker in one scrape, health and readiness. */
class OpsServerTest {
    private static final Duration SETTLE = Duration.ofSeconds(10);

    /** Sends {@code perClient} keep-alive requests from each of {@code clients} threads at once; returns how many got 200. */
    private static int load(ServerProcess server, int clients, int perClient) throws InterruptedException {
        AtomicInteger ok = new AtomicInteger();
        List<Thread> threads = new ArrayList<>();
        for (int c = 0; c < clients; c++) {
            threads.add(Thread.ofPlatform().start(() -> {
                try (RawHttp connection = RawHttp.to(server)) {
                    for (int i = 0; i < perClient; i++) {
                        if (connection.send("GET /pid HTTP/1.1\r\nHost: m\r\n\r\n").read().status() == 200) ok.incrementAndGet();
                    }
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            }));
        }
        for (Thread t : threads) t.join();
        return ok.get();
    }

    /**
     * A request is counted once its response is written, which its client may see first: the
     * scrape is repeated until it shows them all (or {@link #SETTLE} passes), then checked exactly.
     */
    private static List<Metrics.Sample> scrapeUntil(String url, String name, double total) throws InterruptedException {
        long deadline = System.nanoTime() + SETTLE.toNanos();
        while (true) {
            List<Metrics.Sample> samples = Metrics.scrape(url);
            if (Metrics.sum(samples, name) >= total || System.nanoTime() - deadline > 0) return samples;
            Thread.sleep(20);
        }
    }

    /**
     * Waits until the master reports {@code workers} ready: the server answers once its first
     * worker listens, and a connection made before the second listens all goes to the first.
     */
    private static void awaitReady(String url, int workers) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (Metrics.sum(Metrics.scrape(url), "jwsgi_workers", l -> l.get("state").equals("ready")) < workers) {
            if (System.nanoTime() - deadline > 0) throw new AssertionError("fewer than " + workers + " workers ready after 60 s");
            Thread.sleep(20);
        }
    }

    @Test
    void oneScrapeShowsTheExactCountsOfEveryWorker() throws Exception {
        try (ServerProcess server = ServerProcess.start("lifecycle", "-w", "2", "--metrics-bind", "127.0.0.1:0")) {
            String url = Metrics.url(server);
            awaitReady(url, 2);
            assertEquals(600, load(server, 6, 100));
            List<Metrics.Sample> s = scrapeUntil(url, "jwsgi_requests_total", 600);
            String why = Metrics.named(s, "jwsgi_requests_total").toString();
            assertEquals(600, Metrics.sum(s, "jwsgi_requests_total"), why);
            assertEquals(600, Metrics.sum(s, "jwsgi_requests_total", l -> l.get("method").equals("GET") && l.get("status").equals("200")), why);
            Set<String> workers = new TreeSet<>();
            for (Metrics.Sample x : Metrics.named(s, "jwsgi_requests_total")) if (x.value() > 0) workers.add(x.labels().get("worker"));
            assertEquals(Set.of("1", "2"), workers, "both workers served, each counted under its own label: " + why);
            assertEquals(600, Metrics.sum(s, "jwsgi_request_duration_seconds_count"));
            assertEquals(600, Metrics.sum(s, "jwsgi_request_duration_seconds_bucket", l -> l.get("le").equals("+Inf")));
            assertEquals(600, Metrics.sum(s, "jwsgi_gil_wait_seconds_count"), "each request took the GIL once");
            assertEquals(600, Metrics.sum(s, "jwsgi_queue_wait_seconds_count"));
            assertEquals(2, Metrics.sum(s, "jwsgi_workers", l -> l.get("state").equals("ready")));
            assertEquals(6, Metrics.sum(s, "jwsgi_connections_accepted_total"));
            assertEquals(0, Metrics.sum(s, "jwsgi_requests_in_flight"));

            // The server's own refusals are counted as such (a malformed header is refused by Jetty's parser).
            try (RawHttp bad = RawHttp.to(server)) {
                assertEquals(400, bad.send("GET /pid HTTP/1.1\r\nHost: m\r\nBad Header\r\n\r\n").read().status());
            }
            s = scrapeUntil(url, "jwsgi_requests_total", 601);
            assertEquals(601, Metrics.sum(s, "jwsgi_requests_total"));
            assertEquals(1, Metrics.sum(s, "jwsgi_requests_refused_total", l -> l.get("status").equals("400")),
                    Metrics.named(s, "jwsgi_requests_refused_total").toString());
            assertEquals(600, Metrics.sum(s, "jwsgi_gil_wait_seconds_count"), "a refused request never reached Python");
        }
    }

    /**
     * A worker's counts survive it: the worker replaced after --max-requests hands its slot on,
     * and the sum over every worker label stays exactly the requests served.
     */
    @Test
    void countsSurviveTheWorkersThatMadeThem() throws Exception {
        try (ServerProcess server = ServerProcess.start("lifecycle", "--max-requests", "40", "--min-worker-lifetime", "0",
                "--metrics-bind", "127.0.0.1:0")) {
            String url = Metrics.url(server);
            long first = server.workerPid();
            assertEquals(40, load(server, 1, 40));
            server.awaitWorkers(1, List.of(first), Duration.ofSeconds(60));
            assertEquals(40, load(server, 1, 40));
            List<Metrics.Sample> s = scrapeUntil(url, "jwsgi_requests_total", 80);
            assertEquals(80, Metrics.sum(s, "jwsgi_requests_total"), Metrics.named(s, "jwsgi_requests_total").toString());
            assertEquals(80, Metrics.sum(s, "jwsgi_request_duration_seconds_count"));
            assertTrue(Metrics.sum(s, "jwsgi_worker_restarts_total", l -> l.get("cause").equals("max_requests")) >= 1,
                    Metrics.named(s, "jwsgi_worker_restarts_total").toString());
            Set<String> labels = new TreeSet<>();
            for (Metrics.Sample x : Metrics.named(s, "jwsgi_requests_total")) labels.add(x.labels().get("worker"));
            assertEquals(Set.of("1", "2"), labels, "a worker and its replacement overlap: two slots, reused after");
        }
    }

    @Test
    void readyzTurns503WithinAFractionOfASecondOfTermWhileARequestRuns(@TempDir Path tmp) throws Exception {
        Path started = tmp.resolve("started");
        try (ServerProcess server = ServerProcess.start("lifecycle", "--threads", "2", "--metrics-bind", "127.0.0.1:0");
             RawHttp running = RawHttp.to(server)) {
            String url = Metrics.url(server);
            assertEquals(200, Http.get(url + "/readyz").statusCode());
            assertEquals(200, Http.get(url + "/healthz").statusCode());
            running.send("GET /sleep?s=3&started=" + started + " HTTP/1.1\r\nHost: m\r\n\r\n");
            Marker.await(started, Duration.ofSeconds(10));
            long term = System.nanoTime();
            server.signal("TERM");
            HttpResponse<String> readyz;
            do {
                readyz = Http.get(url + "/readyz");
            } while (readyz.statusCode() == 200 && System.nanoTime() - term < Duration.ofSeconds(5).toNanos());
            long flipped = System.nanoTime() - term;
            assertEquals(503, readyz.statusCode(), readyz.body());
            assertEquals("stopping\n", readyz.body());
            assertTrue(flipped < Duration.ofMillis(700).toNanos(), "/readyz answered 503 " + flipped / 1_000_000 + " ms after TERM");
            assertTrue(Files.exists(started) && server.isAlive(), "the request still runs: the stop waits for it");
            assertEquals(1, Metrics.sum(Metrics.scrape(url), "jwsgi_requests_in_flight"), "the sleeping request is in flight");
            assertEquals(200, running.read().status(), "the running request finished");
            assertEquals(0, server.waitFor(Duration.ofSeconds(20)), server.output());
        }
    }

    /** --drain-delay: after TERM the server goes on serving, unready, so a load balancer can stop sending first. */
    @Test
    void aDrainDelayKeepsServingWhileReadyzSays503() throws Exception {
        try (ServerProcess server = ServerProcess.start("lifecycle", "--metrics-bind", "127.0.0.1:0", "--drain-delay", "30")) {
            String url = Metrics.url(server);
            server.signal("TERM");
            assertTrue(server.awaitOutput("Draining for 30.0 s", Duration.ofSeconds(10)), server.output());
            assertEquals(503, Http.get(url + "/readyz").statusCode());
            assertEquals(200, Http.get(url + "/healthz").statusCode(), "the workers still serve");
            assertEquals(200, Http.get(server.url() + "/pid").statusCode(), "requests are served while draining");
            server.signal("INT");  // a quick stop ends the drain at once
            assertEquals(0, server.waitFor(Duration.ofSeconds(20)), server.output());
        }
    }
}
