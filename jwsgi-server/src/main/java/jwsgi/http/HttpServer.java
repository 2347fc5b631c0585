package jwsgi.http;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import jwsgi.config.AddressList;
import jwsgi.config.Bind;
import jwsgi.config.LimitOptions;
import jwsgi.config.ListenerOptions;
import jwsgi.config.ProxyOptions;
import jwsgi.config.StaticOptions;
import jwsgi.embed.PythonApp;
import jwsgi.jetty.BodyLimits;
import jwsgi.jetty.WsgiHandler;
import jwsgi.log.AccessLog;
import jwsgi.wsgi.WorkerPool;

import org.eclipse.jetty.alpn.server.ALPNServerConnectionFactory;
import org.eclipse.jetty.http.HttpCompliance;
import org.eclipse.jetty.http.UriCompliance;
import org.eclipse.jetty.http2.server.AbstractHTTP2ServerConnectionFactory;
import org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory;
import org.eclipse.jetty.http2.server.HTTP2ServerConnectionFactory;
import org.eclipse.jetty.server.AbstractConnector;
import org.eclipse.jetty.server.ConnectionFactory;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HostHeaderCustomizer;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.NetworkConnector;
import org.eclipse.jetty.server.RequestLog;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.eclipse.jetty.util.thread.QueuedThreadPool;

/**
 * The Jetty server: one connector per {@code --bind} (TCP or Unix socket), each with the
 * protocol stack the flags ask for (PROXY protocol, TLS, HTTP/1.1, HTTP/2, uwsgi, FastCGI),
 * strict parsing, and the {@link WsgiHandler} (after {@link StaticFiles} when --static-map
 * is given) behind a {@link DrainingHandler} so a stop lets in-flight requests end. The worker process running it inherits one listener from the master,
 * shared by all workers (see {@code jwsgi.server.Listeners}). Every protocol reaches the same handler, access log and graceful
 * stop: uwsgi and FastCGI requests are made into ordinary requests by customizers.
 *
 * <p>Connector tuning: no acceptor threads (the selectors accept; an acceptor thread is one more
 * hand-off per connection, and served fewer requests when Jetty was tuned for jwsgi:
 * {@code bench/RawJetty.java} keeps that set-up, the ceiling in docs/benchmarks.md) and a
 * non-blocking handler. With one Python thread the app runs inline on the single
 * selector thread (see {@link WorkerPool}); with more, one selector per core feeds them. Jetty's
 * own threads come from {@link WorkerPool#threadFactory}, as any of them may run Python.
 */
public final class HttpServer {
    /**
     * @param binds             where to listen
     * @param keepAlive         how long an idle connection waits for its next request (gunicorn's --keep-alive)
     * @param ioTimeout         how long a read or write inside a request may stall
     * @param gracefulTimeout   how long a stop waits for in-flight requests
     * @param limits            request limits, body buffering and read deadlines
     * @param backlog           the listen queue length
     * @param sharedBind        the index of the bind whose listener this worker inherits from the master
     *                          as standard input; each other TCP bind gets a socket of its own with
     *                          SO_REUSEPORT, at the port the master reserved
     * @param gate              when the shared listener's acceptor takes a connection
     * @param statics           the directories served as static files, in front of the app
     * @param metrics           told of every request ({@code --metrics-bind}), or {@link RequestMetrics#NONE}
     */
    public record Options(List<Bind> binds, Duration keepAlive, Duration ioTimeout, Duration gracefulTimeout,
                          LimitOptions.Settings limits, int backlog, int sharedBind, AcceptGate gate,
                          StaticOptions.Settings statics, RequestMetrics metrics) {}

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

    /**
     * How long an idle uwsgi or FastCGI connection is kept. The front server owns these
     * connections (FastCGI's FCGI_KEEP_CONN says so): closing one it is about to reuse fails
     * a request (Apache answers 503). nginx closes its idle ones after 60 s.
     */
    private static final Duration FRONT_SERVER_IDLE_TIMEOUT = Duration.ofMinutes(10);
    /**
     * At a stop, once no kept-alive connection has closed for this long, those left are idle.
     * A busy client sends its next request far sooner (under load, within a millisecond).
     */
    private static final Duration QUIET = Duration.ofMillis(200);

    /**
     * Threads blocked in accept() on the listener shared by the workers. Selectors would take
     * every waiting connection at once, so the worker that woke first would get a burst of
     * keep-alive connections and the others none (docs/benchmarks.md); the kernel hands each
     * connection to one thread blocked in accept(). That alone is not even either (see
     * {@link AcceptGate}). Each serves its connection until it must wait ({@link DirectEndPoint}),
     * running the app itself when it runs inline: one per interpreter, so that
     * connection-per-request clients keep every interpreter busy; one feeds dedicated Python threads.
     */
    private static int sharedAcceptors(WorkerPool pool) {
        return pool.mode() == WorkerPool.Mode.INLINE ? pool.inlineParallelism() : 1;
    }

    /**
     * Inline, one selector per interpreter: every request starts and completes on that thread. With
     * more, some would be queued and complete on another selector's thread, and Jetty would hand
     * their connections to its pool (a wake-up each). Python threads get one per core.
     */
    private static int selectors(WorkerPool pool) {
        return pool.mode() == WorkerPool.Mode.INLINE ? pool.inlineParallelism() : Math.max(1, Runtime.getRuntime().availableProcessors());
    }

    private final Server server;
    private final List<AbstractConnector> connectors = new ArrayList<>();
    private final Options options;
    /** The handler, once started. */
    private DrainingHandler draining;
    private final Frontend frontend;
    private final PythonApp app;
    private final boolean accessLogged;

    /**
     * What the listeners speak and whom they believe.
     *
     * @param listener protocol, HTTP versions, Unix socket mode
     * @param proxy    trusted proxies, PROXY protocol, uwsgi/FastCGI peers, mount point
     * @param tls      the TLS set-up, or null for none
     */
    public record Frontend(ListenerOptions.Settings listener, ProxyOptions.Settings proxy, SslContextFactory.Server tls) {}

    /**
     * Sets up the connectors; nothing is bound until {@link #open}, and nothing runs until
     * {@link #start}, so the pool's app need not be loaded yet.
     *
     * @param app       the app; its pool runs requests on Jetty's threads when it runs inline
     * @param accessLog the access log, or null
     */
    public HttpServer(Options options, Frontend frontend, PythonApp app, AccessLog accessLog) {
        this.options = options;
        this.frontend = frontend;
        this.app = app;
        WorkerPool pool = app.pool();
        this.accessLogged = accessLog != null;
        QueuedThreadPool threads = new HttpThreadPool(200, 8, 60_000, pool.threadFactory());
        threads.setName("http");
        server = new Server(threads, new CoarseScheduler("timeouts"), new DelayedReuseBufferPool());
        int selectors = selectors(pool);
        for (int i = 0; i < options.binds().size(); i++) {
            Bind bind = options.binds().get(i);
            boolean shared = i == options.sharedBind();
            ConnectionFactory[] factories = connectionFactories();
            AbstractConnector connector;
            if (bind.isUnix()) {
                if (!shared) throw new IllegalArgumentException("unix:" + bind.unix() + " is not the listener the master shares");
                connector = new InheritedUnixConnector(server, sharedAcceptors(pool), selectors, factories, bind.unix(), options.gate());
            } else {
                ServerConnector tcp = shared ? TcpConnector.shared(server, sharedAcceptors(pool), selectors, factories, options.gate())
                        : TcpConnector.own(server, selectors, factories);
                tcp.setHost(bind.host());
                tcp.setPort(bind.port());
                tcp.setAcceptQueueSize(options.backlog());
                tcp.setReuseAddress(true);
                connector = tcp;
            }
            connector.setIdleTimeout(frontend.listener().protocol() == ListenerOptions.Protocol.HTTP
                    ? options.keepAlive().toMillis() : FRONT_SERVER_IDLE_TIMEOUT.toMillis());
            server.addConnector(connector);
            connectors.add(connector);
        }
        server.setErrorHandler(new ErrorResponses(options.metrics()));
        server.setStopTimeout(options.gracefulTimeout().toMillis());
        RequestLog log = accessLog == null ? null : new AccessLogBridge(accessLog, frontend.proxy().rootPath());
        if (options.metrics() != RequestMetrics.NONE) {
            RequestLog measured = new MetricsLog(options.metrics());
            log = log == null ? measured : new RequestLog.Collection(measured, log);
        }
        if (log != null) server.setRequestLog(log);
    }

    /** The protocol stack of one listener, outermost first: [PROXY] [TLS [ALPN]] then HTTP/1.1, HTTP/2, uwsgi or FastCGI. */
    private ConnectionFactory[] connectionFactories() {
        ListenerOptions.Settings listener = frontend.listener();
        ProxyOptions.Settings proxy = frontend.proxy();
        List<ConnectionFactory> factories = new ArrayList<>();
        if (proxy.proxyProtocol()) factories.add(new AllowListProxyConnectionFactory(proxy.proxyAllow()));
        SslContextFactory.Server tls = frontend.tls();
        TrustedProxyCustomizer trustedProxy = new TrustedProxyCustomizer(proxy.forwardedAllow(), proxy.forwarderHeaders(),
                proxy.secureSchemeHeaders());
        switch (listener.protocol()) {
            case UWSGI, FASTCGI -> {
                HttpConfiguration config = cgiConfiguration(proxy.cgiAllow());
                config.addCustomizer(trustedProxy);
                ConnectionFactory cgi = listener.protocol() == ListenerOptions.Protocol.UWSGI
                        ? new UwsgiConnectionFactory(config, options.limits().headerTimeout()) : new FastCgiConnectionFactory(config);
                if (tls != null) factories.add(new SslConnectionFactory(tls, cgi.getProtocol()));
                factories.add(cgi);
            }
            case HTTP -> {
                HttpConfiguration http1 = configuration();
                if (tls != null) http1.addCustomizer(new SecureRequestCustomizer(false));
                http1.addCustomizer(trustedProxy);
                // HTTP/2 has :authority instead of Host; the environ's HTTP_HOST is made from it.
                HttpConfiguration http2 = configuration();
                // Jetty's HTTP/2 takes SETTINGS_MAX_HEADER_LIST_SIZE (advertised and enforced) from here.
                http2.setRequestHeaderSize(listener.h2().maxHeaderListSize());
                http2.addCustomizer(new HostHeaderCustomizer());
                http1.getCustomizers().forEach(http2::addCustomizer);
                GuardedHttpConnectionFactory h1 = new GuardedHttpConnectionFactory(http1, new HeadLimits(options.limits()),
                        options.limits().headerTimeout());
                if (tls == null) {
                    if (listener.http1()) factories.add(h1);
                    if (listener.http2()) factories.add(tuned(new HTTP2CServerConnectionFactory(http2)));
                } else if (listener.http2()) {
                    ALPNServerConnectionFactory alpn = listener.http1()
                            ? new ALPNServerConnectionFactory("h2", "http/1.1") : new ALPNServerConnectionFactory("h2");
                    alpn.setDefaultProtocol(listener.http1() ? "http/1.1" : "h2");
                    factories.add(new SslConnectionFactory(tls, alpn.getProtocol()));
                    factories.add(alpn);
                    factories.add(tuned(new HTTP2ServerConnectionFactory(http2)));
                    if (listener.http1()) factories.add(h1);
                } else {
                    factories.add(new SslConnectionFactory(tls, h1.getProtocol()));
                    factories.add(h1);
                }
            }
        }
        return factories.toArray(new ConnectionFactory[0]);
    }

    /** Applies the --http2-* settings to an h2 or h2c factory: what its SETTINGS frame tells each client. */
    private AbstractHTTP2ServerConnectionFactory tuned(AbstractHTTP2ServerConnectionFactory h2) {
        ListenerOptions.Http2 settings = frontend.listener().h2();
        h2.setMaxConcurrentStreams(settings.maxConcurrentStreams());
        h2.setInitialStreamRecvWindow(settings.initialWindowSize());
        // The connection's window is shared by its streams: never smaller than one stream's.
        h2.setInitialSessionRecvWindow(Math.max(h2.getInitialSessionRecvWindow(), settings.initialWindowSize()));
        h2.setMaxFrameSize(settings.maxFrameSize());
        return h2;
    }

    /** For uwsgi and FastCGI: requests made from the variables of front servers in {@code allowed}. */
    private HttpConfiguration cgiConfiguration(AddressList allowed) {
        HttpConfiguration config = configuration();
        // SERVER_NAME/SERVER_PORT (the request's authority) may differ from the client's Host: server_name is not the host asked for.
        config.setHttpCompliance(HttpCompliance.STRICT.with("CGI", HttpCompliance.Violation.MISMATCHED_AUTHORITY));
        config.addCustomizer(new CgiRequestCustomizer(allowed));
        return config;
    }

    private HttpConfiguration configuration() {
        HttpConfiguration config = new HttpConfiguration();
        config.setSendServerVersion(false);
        config.setSendXPoweredBy(false);
        // RFC 9110 without a bare LF as a line end (which RFC 9112 allows): a front end that does not
        // read it so would see other headers than jwsgi does, the stuff of request smuggling.
        config.setHttpCompliance(HttpCompliance.STRICT);
        config.setUriCompliance(WSGI_URI_COMPLIANCE);
        config.setRequestHeaderSize(options.limits().headerBytes());
        config.setIdleTimeout(options.ioTimeout().toMillis());
        // Jetty's parser keeps a per-connection cache of header lines (a trie built at its second
        // request) that lives as long as the connection, so every closed connection leaves it as
        // garbage in the old generation (docs/benchmarks.md). Without it, each request makes its few
        // header objects, which die young.
        config.setHeaderCacheSize(0);
        return config;
    }

    /**
     * Takes the inherited listener and binds the other TCP listeners, without accepting yet, so
     * a privileged port can be bound before the process gives up root.
     *
     * @throws Exception when a listener cannot be opened (address in use, permission)
     */
    public void open() throws Exception {
        for (AbstractConnector c : connectors) {
            if (c instanceof NetworkConnector tcp) tcp.open();
        }
    }

    /**
     * Runs synthetic requests through a private copy of this server's HTTP/1.1 (or uwsgi) and WSGI path until
     * the JIT has compiled it, or for at most {@code limit} ({@link WarmUp}); before {@link #start},
     * with the pool started.
     */
    public void warmUp(Duration limit) throws Exception {
        ConnectionFactory connections;
        WarmUp.Wire wire;
        if (frontend.listener().protocol() == ListenerOptions.Protocol.UWSGI) {
            // The warm-up's own client, on loopback, whatever --uwsgi-allow-from says of real ones.
            connections = new UwsgiConnectionFactory(cgiConfiguration(AddressList.parse("127.0.0.1")), options.limits().headerTimeout());
            wire = WarmUp.Wire.UWSGI;
        } else {
            connections = new GuardedHttpConnectionFactory(configuration(), new HeadLimits(options.limits()), options.limits().headerTimeout());
            wire = WarmUp.Wire.HTTP;
        }
        WorkerPool pool = app.pool();
        LimitOptions.Settings limits = options.limits();
        WsgiHandler.Options handling = new WsgiHandler.Options("",
                new BodyLimits(limits.body(), limits.bodyMemory(), limits.bodyTimeout(), limits.bodyMinRate()), false, WsgiHandler.RequestCheck.NONE);
        WarmUp.run(app, handling, connections, wire, sharedAcceptors(pool), selectors(pool), limit);
    }

    /**
     * Starts accepting requests and handing them to the pool, which must be started; opens what
     * {@link #open} did not.
     *
     * @return the URL of each listener, with the actual port ("unix:PATH" for a Unix socket)
     * @throws Exception when a listener cannot be opened or Jetty cannot start
     */
    public List<String> start() throws Exception {
        LimitOptions.Settings limits = options.limits();
        HeadLimits headLimits = new HeadLimits(limits);
        // HTTP/1.1 heads are checked as Jetty parses them (GuardedHttpConnectionFactory); the other protocols' here.
        WsgiHandler.RequestCheck check = request -> {
            if (!GuardedHttpConnectionFactory.overHttp1(request)) headLimits.check(request);
        };
        Handler handler = new WsgiHandler(app, new WsgiHandler.Options(frontend.proxy().rootPath(),
                new BodyLimits(limits.body(), limits.bodyMemory(), limits.bodyTimeout(), limits.bodyMinRate()), accessLogged, check));
        if (!options.statics().mounts().isEmpty()) {
            handler = new StaticFiles(options.statics(), headLimits, server.getByteBufferPool(), handler);
        }
        draining = new DrainingHandler(handler, frontend.listener().protocol() == ListenerOptions.Protocol.HTTP, options.metrics());
        server.setHandler(draining);
        server.start();
        String scheme = frontend.tls() != null ? "https://" : "http://";
        List<String> urls = new ArrayList<>();
        for (int i = 0; i < connectors.size(); i++) {
            Bind bind = options.binds().get(i);
            urls.add(bind.isUnix() ? bind.authority(0) : scheme + bind.authority(((ServerConnector) connectors.get(i)).getLocalPort()));
        }
        return urls;
    }

    /**
     * Stops taking connections from the listener shared with the other workers, which go on
     * accepting from it: closes this worker's copy. The JDK then points the standard streams at
     * /dev/null (see {@code jwsgi.server.StandardStreams}).
     */
    public void stopAccepting() {
        if (options.sharedBind() < 0) return;
        options.gate().withdraw();
        if (connectors.get(options.sharedBind()).getTransport() instanceof java.io.Closeable channel) {
            try {
                channel.close();
            } catch (java.io.IOException ignored) {
                // closed already: nothing is accepted either way
            }
        }
    }

    /** Closes the listening sockets of a server that never started. */
    public void close() {
        for (AbstractConnector c : connectors) {
            if (c instanceof NetworkConnector tcp) tcp.close();
        }
    }

    /**
     * Lets in-flight requests finish for up to the graceful timeout (none when {@code quick}:
     * gunicorn's SIGINT), then closes every connection; see {@link DrainingHandler} for the order.
     * Before that, kept-alive connections get a moment to close on their own: a client busy on one
     * sends its next request within moments, gets {@code Connection: close} and goes elsewhere,
     * where closing the connection under it could lose that request (seen in a reload under
     * load: docs/benchmarks.md). Once none has closed for {@link #QUIET}, those left are
     * idle, and they are closed as --keep-alive would have closed them; a load balancer's idle
     * pool (ALB: 60 s) does not hold the stop up.
     */
    public void stop(boolean quick) throws Exception {
        if (quick) {
            server.setStopTimeout(0);
        } else if (draining != null) {
            long deadline = System.nanoTime() + options.gracefulTimeout().toNanos();
            draining.drain();
            draining.awaitKeptAlive(deadline);
            awaitConnectionsClosed(Math.min(deadline, System.nanoTime() + options.keepAlive().toNanos()));
            server.setStopTimeout(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
        }
        server.stop();
    }

    /**
     * Waits until no connector holds a connection, or none has closed for {@link #QUIET}, at most
     * until {@code deadlineNanos}.
     */
    private void awaitConnectionsClosed(long deadlineNanos) throws InterruptedException {
        int open = openConnections();
        long lastClosed = System.nanoTime();
        while (open > 0 && System.nanoTime() - deadlineNanos < 0 && System.nanoTime() - lastClosed < QUIET.toNanos()) {
            Thread.sleep(5);
            int now = openConnections();
            if (now < open) lastClosed = System.nanoTime();
            open = now;
        }
    }

    private int openConnections() {
        int open = 0;
        for (AbstractConnector c : connectors) open += c.getConnectedEndPoints().size();
        return open;
    }
}
