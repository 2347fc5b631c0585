package jwsgi.ops;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;

import jwsgi.config.Bind;
import jwsgi.metrics.MetricsTable;
import jwsgi.metrics.WorkerSeries;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The master's operations listener ({@code --metrics-bind}): {@code /metrics} in Prometheus'
 * text format (every worker's counts, read from the shared {@link MetricsTable}, and the
 * master's own series), {@code /healthz} (200 while at least one worker serves) and
 * {@code /readyz} (200 when ready for traffic, 503 from the moment a stop begins).
 *
 * <p>The JDK's {@code com.sun.net.httpserver} serves them: the master stays free of Jetty, and
 * a scrape is one small request every few seconds. Each answer is built from the last
 * {@link ServerStatus} the master published, never from its live state.
 *
 * <p>Threads: the HTTP server's one dispatcher thread; {@link #close} from the master's.
 */
public final class OpsServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OpsServer.class);
    /** How long a stop lets a scrape in progress finish. */
    private static final int STOP_SECONDS = 1;

    private final HttpServer server;
    private final Supplier<ServerStatus> status;
    private final MetricsTable table;
    private final Supplier<Integer> slotsUsed;
    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();

    private OpsServer(HttpServer server, Supplier<ServerStatus> status, MetricsTable table, Supplier<Integer> slotsUsed) {
        this.server = server;
        this.status = status;
        this.table = table;
        this.slotsUsed = slotsUsed;
    }

    /**
     * Listens on {@code bind} and serves.
     *
     * @param slotsUsed how many slots of {@code table} have ever been given to a worker
     * @throws IOException when the address cannot be bound
     */
    public static OpsServer start(Bind bind, Supplier<ServerStatus> status, MetricsTable table, Supplier<Integer> slotsUsed)
            throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(bind.host(), bind.port()), 16);
        OpsServer ops = new OpsServer(server, status, table, slotsUsed);
        server.createContext("/", ops::handle);
        server.start();
        return ops;
    }

    /** The port it listens on (the one the system chose for port 0). */
    public int port() {
        return server.getAddress().getPort();
    }

    private void handle(HttpExchange exchange) throws IOException {
        try (exchange) {
            String path = exchange.getRequestURI().getPath();
            boolean get = exchange.getRequestMethod().equals("GET") || exchange.getRequestMethod().equals("HEAD");
            if (!get) {
                exchange.getResponseHeaders().set("Allow", "GET, HEAD");
                send(exchange, 405, "text/plain; charset=utf-8", "only GET and HEAD\n");
                return;
            }
            ServerStatus now = status.get();
            switch (path) {
                case "/metrics" -> send(exchange, 200, PrometheusTextFormatWriter.CONTENT_TYPE, scrape(now));
                case "/healthz" -> send(exchange, now.healthy() ? 200 : 503, "text/plain; charset=utf-8",
                        now.healthy() ? "ok\n" : "no worker serves\n");
                case "/readyz" -> send(exchange, now.ready() ? 200 : 503, "text/plain; charset=utf-8", readiness(now));
                default -> send(exchange, 404, "text/plain; charset=utf-8", "not found: /metrics, /healthz and /readyz are served here\n");
            }
        } catch (RuntimeException e) {
            LOG.warn("The metrics listener could not answer {}: {}", exchange.getRequestURI(), e.toString());
        }
    }

    private static String readiness(ServerStatus status) {
        if (status.stopping()) return "stopping\n";
        return status.healthy() ? "ready\n" : "no worker serves yet\n";
    }

    private String scrape(ServerStatus now) throws IOException {
        List<MetricSnapshot> all = new ArrayList<>(MasterSeries.read(now));
        if (table != null) all.addAll(WorkerSeries.read(table, slotsUsed.get()));
        ByteArrayOutputStream out = new ByteArrayOutputStream(8192);
        writer.write(out, new MetricSnapshots(all));
        return out.toString(StandardCharsets.UTF_8);
    }

    private static void send(HttpExchange exchange, int status, String type, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", type);
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        boolean head = exchange.getRequestMethod().equals("HEAD");
        exchange.sendResponseHeaders(status, head ? -1 : bytes.length);
        if (!head) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    @Override
    public void close() {
        server.stop(STOP_SECONDS);
    }
}
