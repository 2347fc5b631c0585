package jwsgi.http;

import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import jwsgi.embed.PythonApp;
import jwsgi.jetty.RequestAttributes;
import jwsgi.jetty.WsgiHandler;

import org.eclipse.jetty.server.ConnectionFactory;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.QueuedThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A worker's warm-up before it takes connections (--warmup): synthetic requests through a private
 * copy of its HTTP and WSGI path, on a loopback port of its own, until the JIT has compiled that
 * path or the time is up. A JVM otherwise serves its first seconds at a fraction of its speed
 * while its compiler catches up (docs/benchmarks.md); warmed first, it is at full speed when it
 * says it is ready, and a reload or a --max-requests replacement puts no cold worker in service.
 *
 * <p>The copy is a Jetty server of its own with the same connection handling, request handler
 * classes and {@link WorkerPool}, so the code compiled is the code that serves: connections
 * served on their accepting thread and kept-alive ones on a selector, GET and POST, bodies in one
 * chunk and in several; uwsgi packets when the listener speaks uwsgi. Its requests run jwsgi's warm-up app in each interpreter (marked with
 * {@link RequestAttributes#WARM_UP}), never the user's app; no hook, --max-requests count or log sees them.
 *
 * <p>The JIT is taken as settled once the path has run often enough for its hottest methods to
 * reach the optimizing compiler ({@link #AT_LEAST_REQUESTS}, past C2's invocation thresholds) and
 * its compilation time grew by less than {@link #SETTLED_MS} in the last second.
 */
final class WarmUp {
    private static final Logger LOG = LoggerFactory.getLogger(WarmUp.class);
    private static final long SETTLED_MS = 25;
    private static final long AT_LEAST_REQUESTS = 20_000;
    private static final Duration AT_LEAST = Duration.ofSeconds(1);
    private static final int[] SIZES = {13, 1024, 20_000};
    private static final byte[] BODY = "warm=up&".repeat(128).getBytes(StandardCharsets.ISO_8859_1);

    /** What a warm-up did: its requests, how long it took, and whether the JIT settled before the limit. */
    record Result(long requests, Duration took, boolean settled) {}

    /** What the warm-up's clients speak: the protocol of the worker's shared listener. */
    enum Wire {
        HTTP("HTTP"), UWSGI("uwsgi");

        final String label;

        Wire(String label) {
            this.label = label;
        }
    }

    private final AtomicLong requests = new AtomicLong();
    private volatile boolean running = true;

    private WarmUp() {}

    /**
     * Runs the warm-up for at most {@code limit}; returns once every client and the private
     * server have stopped.
     *
     * @param connections how to speak the listeners' protocol as the real listeners do
     * @param wire        that protocol, for the clients
     * @param acceptors   the accepting threads the real shared listener has
     */
    static Result run(PythonApp app, WsgiHandler.Options handling, ConnectionFactory connections, Wire wire, int acceptors, int selectors,
                      Duration limit) throws Exception {
        QueuedThreadPool threads = new HttpThreadPool(16, 4, 1_000, app.pool().threadFactory());
        threads.setName("warm-up");
        Server server = new Server(threads, new CoarseScheduler("warm-up-timeouts"), new DelayedReuseBufferPool());
        TcpConnector connector = TcpConnector.warmUp(server, acceptors, selectors, connections);
        server.addConnector(connector);
        Handler handler = new WsgiHandler(app, handling);
        server.setHandler(new Handler.Wrapper(handler) {
            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception {
                request.setAttribute(RequestAttributes.WARM_UP, Boolean.TRUE);
                return super.handle(request, response, callback);
            }
        });
        try {
            server.start();
            return new WarmUp().load(connector.getLocalPort(), wire, System.nanoTime(), limit);
        } finally {
            server.stop();
        }
    }

    private Result load(int port, Wire wire, long start, Duration limit) throws InterruptedException {
        List<Thread> clients = new ArrayList<>();
        if (wire == Wire.UWSGI) {
            // The protocol carries one request per connection.
            clients.add(client("warm-up-uwsgi-get", () -> uwsgiEach(port, "GET", null)));
            clients.add(client("warm-up-uwsgi-post", () -> uwsgiEach(port, "POST", BODY)));
        } else {
            clients.add(client("warm-up-keep-alive", () -> keptAlive(port, "GET", null)));
            clients.add(client("warm-up-post", () -> keptAlive(port, "POST", BODY)));
            clients.add(client("warm-up-close", () -> closeEach(port)));
        }
        boolean settled;
        try {
            settled = awaitSettled(start, limit, requests);
        } finally {
            running = false;
        }
        for (Thread t : clients) t.join(5_000);
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        LOG.info("Warmed up in {} s: {} {} requests through the worker's own request path; {}", String.format("%.1f", took.toMillis() / 1000.0),
                requests.get(), wire.label, settled ? "the JIT has compiled it" : "the JIT was still compiling at --warmup's limit");
        return new Result(requests.get(), took, settled);
    }

    /** Waits until the JIT's compilation time stops growing, or {@code limit} has passed. */
    private static boolean awaitSettled(long start, Duration limit, AtomicLong requests) throws InterruptedException {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        if (jit == null || !jit.isCompilationTimeMonitoringSupported()) {
            Thread.sleep(limit.toMillis());
            return false;
        }
        long[] window = new long[4];  // compilation time at each of the last 4 quarter seconds
        for (int i = 0; ; i++) {
            Thread.sleep(250);
            long compiled = jit.getTotalCompilationTime();
            long elapsed = System.nanoTime() - start;
            boolean quiet = i >= window.length && compiled - window[i % window.length] < SETTLED_MS;
            if (quiet && elapsed >= AT_LEAST.toNanos() && requests.get() >= AT_LEAST_REQUESTS) return true;
            if (elapsed >= limit.toNanos()) return false;
            window[i % window.length] = compiled;
        }
    }

    private interface Work {
        void run() throws IOException;
    }

    private Thread client(String name, Work work) {
        return Thread.ofPlatform().name(name).daemon(true).start(() -> {
            while (running) {
                try {
                    work.run();
                } catch (IOException e) {
                    LOG.debug("Warm-up request failed: {}", e.toString());
                }
            }
        });
    }

    /** Requests one after another on one connection, until the warm-up ends. */
    private void keptAlive(int port, String method, byte[] body) throws IOException {
        try (Socket socket = connect(port)) {
            InputStream in = new BufferedInputStream(socket.getInputStream());
            OutputStream out = socket.getOutputStream();
            for (int i = 0; running; i++) {
                send(out, method, SIZES[i % SIZES.length], body, false);
                if (!read(in)) return;
                requests.incrementAndGet();
            }
        }
    }

    /** One request per connection, as nginx's default upstream sends them. */
    private void closeEach(int port) throws IOException {
        for (int i = 0; running; i++) {
            try (Socket socket = connect(port)) {
                send(socket.getOutputStream(), "GET", SIZES[i % SIZES.length], null, true);
                if (read(new BufferedInputStream(socket.getInputStream()))) requests.incrementAndGet();
            }
        }
    }

    /** One uwsgi request per connection, as nginx's uwsgi_pass sends them. */
    private void uwsgiEach(int port, String method, byte[] body) throws IOException {
        byte[][] packets = new byte[SIZES.length][];
        for (int i = 0; i < SIZES.length; i++) packets[i] = uwsgiPacket(method, SIZES[i], body);
        for (int i = 0; running; i++) {
            try (Socket socket = connect(port)) {
                OutputStream out = socket.getOutputStream();
                out.write(packets[i % SIZES.length]);
                if (body != null) out.write(body);
                out.flush();
                if (read(new BufferedInputStream(socket.getInputStream()))) requests.incrementAndGet();
            }
        }
    }

    /** The variables nginx's uwsgi_params send. */
    private static byte[] uwsgiPacket(String method, int size, byte[] body) {
        List<String> vars = new ArrayList<>(List.of("REQUEST_METHOD", method, "REQUEST_URI", "/warm-up?" + size, "PATH_INFO", "/warm-up",
                "QUERY_STRING", Integer.toString(size), "SERVER_PROTOCOL", "HTTP/1.1", "REQUEST_SCHEME", "http",
                "REMOTE_ADDR", "127.0.0.1", "REMOTE_PORT", "40000", "SERVER_NAME", "127.0.0.1", "SERVER_PORT", "80",
                "HTTP_HOST", "127.0.0.1", "HTTP_USER_AGENT", "jwsgi-warm-up", "HTTP_ACCEPT", "*/*"));
        if (body != null) {
            vars.addAll(List.of("CONTENT_LENGTH", Integer.toString(body.length), "CONTENT_TYPE", "application/x-www-form-urlencoded"));
        }
        return UwsgiPacket.encode(vars);
    }

    private static Socket connect(int port) throws IOException {
        Socket socket = new Socket();
        socket.connect(new InetSocketAddress("127.0.0.1", port), 5_000);
        socket.setSoTimeout(10_000);
        socket.setTcpNoDelay(true);
        return socket;
    }

    private static void send(OutputStream out, String method, int size, byte[] body, boolean close) throws IOException {
        StringBuilder head = new StringBuilder(160).append(method).append(" /warm-up?").append(size)
                .append(" HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: jwsgi-warm-up\r\nAccept: */*\r\n");
        if (close) head.append("Connection: close\r\n");
        if (body != null) head.append("Content-Type: application/x-www-form-urlencoded\r\nContent-Length: ").append(body.length).append("\r\n");
        out.write(head.append("\r\n").toString().getBytes(StandardCharsets.ISO_8859_1));
        if (body != null) out.write(body);
        out.flush();
    }

    /** Reads one response of the warm-up app (always with a Content-Length); false at the end of the stream. */
    private static boolean read(InputStream in) throws IOException {
        long length = -1;
        StringBuilder line = new StringBuilder();
        while (true) {
            int c = in.read();
            if (c < 0) return false;
            if (c != '\n') {
                if (c != '\r') line.append((char) c);
                continue;
            }
            if (line.isEmpty()) break;
            String header = line.toString();
            if (header.regionMatches(true, 0, "Content-Length:", 0, 15)) length = Long.parseLong(header.substring(15).strip());
            line.setLength(0);
        }
        if (length < 0) throw new IOException("warm-up response without a Content-Length");
        in.skipNBytes(length);
        return true;
    }
}
