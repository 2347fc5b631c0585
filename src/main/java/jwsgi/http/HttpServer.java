package jwsgi.http;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import jwsgi.log.AccessLog;
import jwsgi.wsgi.WorkerPool;

import org.eclipse.jetty.http.HttpCompliance;
import org.eclipse.jetty.http.UriCompliance;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.handler.GracefulHandler;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The Jetty server: one connector per {@code --bind}, strict HTTP/1.1 parsing, and the
 * {@link WsgiHandler} behind a {@link GracefulHandler} so a stop lets in-flight requests end.
 *
 * <p>Connector tuning follows research/http-layer.md: no acceptor threads (the selectors
 * accept) and a non-blocking handler. With one Python thread the app runs inline on the single
 * selector thread (see {@link WorkerPool}); with more, one selector per core feeds them. Jetty's
 * own threads come from {@link WorkerPool#threadFactory}, as any of them may run Python.
 */
public final class HttpServer {
    /**
     * @param binds             where to listen
     * @param keepAlive         how long an idle connection waits for its next request (gunicorn's --keep-alive)
     * @param ioTimeout         how long a read or write inside a request may stall
     * @param gracefulTimeout   how long a stop waits for in-flight requests
     * @param bufferedBodyLimit request bodies up to this size are read before the app runs
     * @param backlog           the listen queue length
     */
    public record Options(List<Bind> binds, Duration keepAlive, Duration ioTimeout, Duration gracefulTimeout,
                          int bufferedBodyLimit, int backlog) {}

    /**
     * RFC 3986 parsing, plus what is valid in a URI but "ambiguous" to a servlet container that
     * maps decoded paths to files: an encoded "/" ("%2F"), "%2e%2e" segments, empty segments,
     * ";" parameters and non-UTF-8 escapes. WSGI hands the app the decoded bytes of the path and
     * lets it decide, as gunicorn does; jwsgi never maps paths to files itself.
     */
    static final UriCompliance WSGI_URI_COMPLIANCE = UriCompliance.RFC3986.with("WSGI",
            UriCompliance.Violation.AMBIGUOUS_PATH_SEPARATOR,
            UriCompliance.Violation.AMBIGUOUS_PATH_SEGMENT,
            UriCompliance.Violation.AMBIGUOUS_EMPTY_SEGMENT,
            UriCompliance.Violation.AMBIGUOUS_PATH_PARAMETER,
            UriCompliance.Violation.AMBIGUOUS_PATH_ENCODING,
            UriCompliance.Violation.BAD_UTF8_ENCODING,
            UriCompliance.Violation.TRUNCATED_UTF8_ENCODING,
            UriCompliance.Violation.SUSPICIOUS_PATH_CHARACTERS);

    private final Server server;
    private final List<ServerConnector> connectors = new ArrayList<>();
    private final Options options;

    public HttpServer(Options options, WorkerPool pool, AccessLog accessLog) {
        this.options = options;
        QueuedThreadPool threads = new QueuedThreadPool(200, 8, 60_000, -1, null, null, pool.threadFactory());
        threads.setName("http");
        server = new Server(threads);
        HttpConfiguration config = new HttpConfiguration();
        config.setSendServerVersion(false);
        config.setSendXPoweredBy(false);
        config.setHttpCompliance(HttpCompliance.RFC9110);
        config.setUriCompliance(WSGI_URI_COMPLIANCE);
        config.setRequestHeaderSize(64 * 1024);
        config.setIdleTimeout(options.ioTimeout().toMillis());
        // Inline mode runs the app on the thread that parsed the request: with one selector, every
        // request starts and completes on that thread. With two, half would complete on the other
        // selector's thread, and Jetty would hand their connections to its pool (a wake-up each).
        int selectors = pool.mode() == WorkerPool.Mode.INLINE ? 1 : Math.max(1, Runtime.getRuntime().availableProcessors());
        for (Bind bind : options.binds()) {
            ServerConnector connector = new ServerConnector(server, 0, selectors, new HttpConnectionFactory(config));
            connector.setHost(bind.host());
            connector.setPort(bind.port());
            connector.setIdleTimeout(options.keepAlive().toMillis());
            connector.setAcceptQueueSize(options.backlog());
            connector.setReuseAddress(true);
            server.addConnector(connector);
            connectors.add(connector);
        }
        server.setHandler(new GracefulHandler(new WsgiHandler(pool, server.getByteBufferPool(), options.bufferedBodyLimit())));
        server.setStopTimeout(options.gracefulTimeout().toMillis());
        if (accessLog != null) server.setRequestLog(new AccessLogBridge(accessLog));
    }

    /**
     * Opens the listeners.
     *
     * @return the URL of each listener, with the actual port
     * @throws Exception when a listener cannot be opened (address in use, permission)
     */
    public List<String> start() throws Exception {
        server.start();
        List<String> urls = new ArrayList<>();
        for (int i = 0; i < connectors.size(); i++) {
            urls.add("http://" + options.binds().get(i).authority(connectors.get(i).getLocalPort()));
        }
        return urls;
    }

    /**
     * Stops accepting, lets in-flight requests finish for up to the graceful timeout, then
     * closes every connection.
     */
    public void stop() throws Exception {
        server.stop();
    }
}
