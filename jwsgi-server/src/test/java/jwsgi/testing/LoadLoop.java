package jwsgi.testing;

import java.io.IOException;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Clients that send one request after another to a server until stopped (or for at most a
 * bound), never retrying: half open a new connection per request ({@code Connection: close}),
 * half keep theirs alive and reconnect only when the server says {@code Connection: close}. A
 * failure is anything but a 200: a refused or reset connection, a connection closed without an
 * answer, an error status. For tests that replace workers under load.
 */
public final class LoadLoop implements AutoCloseable {
    private static final Duration LIMIT = Duration.ofSeconds(60);

    private final String host;
    private final int port;
    private final String path;
    /** Header lines each request carries besides Host (e.g. "Authorization: ...\r\n"), or "". */
    private final String headers;
    private final Thread[] clients;
    private final AtomicBoolean stopping = new AtomicBoolean();
    private final AtomicInteger answered = new AtomicInteger();
    private final Map<String, AtomicInteger> failures = new ConcurrentHashMap<>();
    /** What the answers said, when they say where they came from (e.g. {"pid": ...}). */
    private final Set<String> bodies = ConcurrentHashMap.newKeySet();
    private final long deadline = System.nanoTime() + LIMIT.toNanos();

    private LoadLoop(String host, int port, String path, int clients, String headers) {
        this.host = host;
        this.port = port;
        this.path = path;
        this.headers = headers;
        this.clients = new Thread[clients];
        for (int i = 0; i < clients; i++) {
            boolean keepAlive = i % 2 == 1;
            this.clients[i] = Thread.ofPlatform().daemon(true).name("load-" + i).unstarted(() -> run(keepAlive));
        }
    }

    /** Starts {@code clients} clients requesting {@code path}; they stop at {@link #close} or after a minute. */
    public static LoadLoop start(ServerProcess server, String path, int clients) {
        return start(server.host(), server.port(), path, clients, "");
    }

    /** Starts {@code clients} clients requesting {@code path} from {@code host:port} (a proxy in front of servers). */
    public static LoadLoop start(String host, int port, String path, int clients) {
        return start(host, port, path, clients, "");
    }

    /** The same against any server, each request with {@code headers} (whole lines, each ending in CRLF). */
    public static LoadLoop start(String host, int port, String path, int clients, String headers) {
        LoadLoop loop = new LoadLoop(host, port, path, clients, headers);
        for (Thread t : loop.clients) t.start();
        return loop;
    }

    private void run(boolean keepAlive) {
        RawHttp connection = null;
        while (!stopping.get() && System.nanoTime() < deadline) {
            try {
                if (connection == null) {
                    connection = new RawHttp(host, port);
                    connection.setTimeout(30_000);
                }
                connection.send("GET " + path + " HTTP/1.1\r\nHost: load\r\n" + headers + (keepAlive ? "" : "Connection: close\r\n") + "\r\n");
                RawHttp.Response r = connection.read();
                if (r.status() == 200) {
                    answered.incrementAndGet();
                    bodies.add(r.text());
                } else {
                    fail("HTTP " + r.status());
                }
                if (!keepAlive || "close".equalsIgnoreCase(r.header("Connection"))) {
                    connection.close();
                    connection = null;
                }
            } catch (IOException | RuntimeException e) {
                fail(e.getClass().getSimpleName() + ": " + e.getMessage());
                closeQuietly(connection);
                connection = null;
                pause();
            }
        }
        closeQuietly(connection);
    }

    private void fail(String why) {
        failures.computeIfAbsent(why, k -> new AtomicInteger()).incrementAndGet();
    }

    private static void closeQuietly(RawHttp connection) {
        if (connection == null) return;
        try {
            connection.close();
        } catch (IOException ignored) {
            // closing a broken connection
        }
    }

    private static void pause() {
        try {
            Thread.sleep(10);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public int answered() {
        return answered.get();
    }

    /** The failures so far, by kind. */
    public Map<String, Integer> failures() {
        Map<String, Integer> copy = new TreeMap<>();
        failures.forEach((k, v) -> copy.put(k, v.get()));
        return copy;
    }

    /** The distinct bodies of the answers so far. */
    public Set<String> bodies() {
        return Set.copyOf(bodies);
    }

    /** Waits until at least {@code n} requests were answered (at most {@code timeout}). */
    public boolean awaitAnswered(int n, Duration timeout) throws InterruptedException {
        long until = System.nanoTime() + timeout.toNanos();
        while (answered.get() < n) {
            if (System.nanoTime() > until) return false;
            Thread.sleep(20);
        }
        return true;
    }

    /** Stops the clients and waits for them. */
    @Override
    public void close() throws InterruptedException {
        stopping.set(true);
        for (Thread t : clients) t.join(35_000);
    }

    @Override
    public String toString() {
        return answered() + " answered, failures " + failures();
    }
}
