package jwsgi.server;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeoutException;

import jwsgi.config.Cli;
import jwsgi.config.Settings;
import jwsgi.http.HttpServer;
import jwsgi.http.TlsContext;
import jwsgi.log.AccessLog;
import jwsgi.python.PythonInstallation;
import jwsgi.python.PythonLocator;
import jwsgi.python.PythonRuntime;
import jwsgi.python.PythonStartupException;
import jwsgi.wsgi.AppLoadException;
import jwsgi.wsgi.WorkerPool;
import jwsgi.wsgi.WsgiApplication;

import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One server process from start to exit: find and start Python, load the app, start the
 * Python threads and the listeners, then wait for a signal and stop gracefully.
 */
public final class Server {
    private static final Logger LOG = LoggerFactory.getLogger(Server.class);
    /** Request bodies up to this size are read before the app runs; larger ones are streamed. */
    private static final int BUFFERED_BODY_LIMIT = 1 << 20;
    /** How long a read or write inside a request may stall before the connection is closed. */
    private static final Duration IO_TIMEOUT = Duration.ofSeconds(30);
    private static final int BACKLOG = 2048;
    private static final String DEMO_MODULE = "jwsgi_demo";
    /** After the graceful timeout, how long Python threads get to leave Python before the process exits without finalising it. */
    private static final Duration STOP_WAIT = Duration.ofSeconds(1);

    private final Settings settings;

    public Server(Settings settings) {
        this.settings = settings;
    }

    public ExitCode run() {
        long pid = ProcessHandle.current().pid();
        LOG.info("Starting jwsgi {}", Cli.jwsgiVersion());
        SslContextFactory.Server tls = null;
        if (settings.tls().enabled()) {
            try {
                tls = TlsContext.load(settings.tls());
            } catch (TlsContext.TlsException e) {
                LOG.error("Cannot set up TLS: {}", e.getMessage());
                return ExitCode.FAILURE;
            }
        }
        PythonRuntime runtime;
        try {
            PythonInstallation python = new PythonLocator(System.getenv()).locate(settings.python().python());
            LOG.info("Using {}", python.describe());
            runtime = PythonRuntime.start(python, settings.argv());
        } catch (PythonStartupException e) {
            LOG.error("Cannot start Python: {}", e.getMessage());
            return ExitCode.PYTHON_BOOT_ERROR;
        }
        WsgiApplication app;
        String spec = settings.app();
        try {
            if (spec == null) {
                runtime.onMainThread(py -> {
                    py.api().decRef(py.loadBundledModule(DEMO_MODULE));
                    return null;
                });
                spec = DEMO_MODULE + ":application";
                LOG.info("No app given: serving the bundled demo app");
            }
            app = WsgiApplication.load(runtime,
                    new WsgiApplication.Spec(spec, settings.python().chdir(), settings.python().pythonpath(), settings.python().env()),
                    new WsgiApplication.Facts(settings.worker().threads() > 1, false, "jwsgi/" + Cli.jwsgiVersion()));
        } catch (AppLoadException e) {
            if (e.traceback() != null) LOG.error("Failed to load the application '{}':\n{}", spec, e.traceback().stripTrailing());
            LOG.error("Reason: {}", e.getMessage());
            return ExitCode.APP_LOAD_ERROR;
        }
        List<String> changed = runtime.restoreSignals();
        if (!changed.isEmpty()) {
            LOG.warn("The app changed the handlers of {}; restored the server's (signals are the server's to handle)", changed);
        }
        WorkerPool pool = new WorkerPool(runtime, app, settings.worker().threads());
        AccessLog accessLog;
        try {
            accessLog = settings.logging().accessLog() == null ? null : AccessLog.open(settings.logging().accessLog());
        } catch (IOException e) {
            LOG.error("Cannot open the access log {}: {}", settings.logging().accessLog(), e.getMessage());
            return ExitCode.FAILURE;
        }
        HttpServer http = new HttpServer(new HttpServer.Options(settings.socket().binds(), settings.worker().keepAlive(), IO_TIMEOUT,
                settings.worker().gracefulTimeout(), BUFFERED_BODY_LIMIT, BACKLOG),
                new HttpServer.Frontend(settings.listener(), settings.proxy(), tls), pool, accessLog);
        Signals signals = new Signals("TERM", "INT");
        try {
            for (String url : http.start()) LOG.info("Listening at: {} ({})", url, pid);
        } catch (Exception e) {
            LOG.error("Cannot listen on {}: {}", settings.socket().binds().stream().map(b -> b.authority(b.port())).toList(), rootMessage(e));
            return ExitCode.FAILURE;
        }
        LOG.info("Using worker: threads ({} Python thread{}), app {}", settings.worker().threads(), settings.worker().threads() == 1 ? "" : "s", spec);
        try {
            String signal = signals.next();
            LOG.info("Handling signal: {}", signal.toLowerCase());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        stop(http, pool, runtime, accessLog);
        LOG.info("Shutting down: Master");
        return ExitCode.OK;
    }

    private void stop(HttpServer http, WorkerPool pool, PythonRuntime runtime, AccessLog accessLog) {
        try {
            http.stop();
        } catch (Exception e) {
            if (e instanceof TimeoutException || e.getCause() instanceof TimeoutException) {
                LOG.warn("Graceful timeout ({} s) expired with requests still running; their connections are closed",
                        settings.worker().gracefulTimeout().toSeconds());
            } else {
                LOG.warn("Stopping the listeners: {}", rootMessage(e));
            }
        }
        pool.stop(STOP_WAIT.toMillis());
        runtime.shutdown(STOP_WAIT);
        if (accessLog != null) accessLog.close();
    }

    private static String rootMessage(Throwable t) {
        while (t.getCause() != null) t = t.getCause();
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }
}
