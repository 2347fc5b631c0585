package jwsgi.server;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeoutException;

import jwsgi.config.Cli;
import jwsgi.config.ConfigException;
import jwsgi.config.ConfigFile;
import jwsgi.config.ConfigPrinter;
import jwsgi.config.Settings;
import jwsgi.config.SettingsSources;
import jwsgi.hooks.Hook;
import jwsgi.hooks.PythonLogging;
import jwsgi.hooks.ServerHooks;
import jwsgi.http.HttpServer;
import jwsgi.http.TlsContext;
import jwsgi.log.AccessLog;
import jwsgi.log.ErrorLog;
import jwsgi.posix.ProcessOwner;
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
 * One server process from start to exit. The order is gunicorn's, with the master's and the
 * worker's steps in one process:
 * <ol>
 *   <li>start Python and run the config file, then settle the settings and the logs;</li>
 *   <li>master: pid file, {@code on_starting}; with {@code --user}, bind the TCP listeners
 *       now, as root;</li>
 *   <li>worker: {@code pre_fork}/{@code post_fork}, switch to {@code --user}, import the app,
 *       {@code post_worker_init}; bind the listeners (unless bound as root), so a port opens
 *       only for a server that can serve; accept requests ("Listening at"), {@code when_ready};</li>
 *   <li>wait for a signal (USR1 reopens the logs), stop gracefully, {@code worker_exit},
 *       {@code child_exit}, {@code on_exit}.</li>
 * </ol>
 */
public final class Server {
    private static final Logger LOG = LoggerFactory.getLogger(Server.class);
    /** How long a read or write inside a request may stall before the connection is closed. */
    private static final Duration IO_TIMEOUT = Duration.ofSeconds(30);
    private static final String DEMO_MODULE = "jwsgi_demo";
    /** After the graceful timeout, how long Python threads get to leave Python before the process exits without finalising it. */
    private static final Duration STOP_WAIT = Duration.ofSeconds(1);

    private final SettingsSources sources;
    private Settings settings;
    private List<String> warnings;
    private ErrorLog errorLog;
    private PidFile pidFile;

    /**
     * @param early    the settings from the command line and the environment, before the config file
     * @param errorLog the error log set up from {@code early}
     */
    public Server(SettingsSources sources, SettingsSources.Resolved early, ErrorLog errorLog) {
        this.sources = sources;
        this.settings = early.settings();
        this.warnings = early.warnings();
        this.errorLog = errorLog;
    }

    public ExitCode run() {
        PythonInstallation python;
        PythonRuntime runtime;
        try {
            python = new PythonLocator(System.getenv()).locate(settings.python().python());
            runtime = PythonRuntime.start(python, settings.argv());
        } catch (PythonStartupException e) {
            LOG.error("Cannot start Python: {}", e.getMessage());
            return ExitCode.PYTHON_BOOT_ERROR;
        }
        ServerHooks hooks;
        try {
            readConfigFile(runtime, python);
            PythonLogging.setup(runtime, settings.logging());
            hooks = ServerHooks.load(runtime, settings.effective());
        } catch (ConfigException e) {
            Main.printUsageError(e);
            return ExitCode.USAGE;
        }
        for (String w : warnings) LOG.warn(w);
        for (String w : hooks.neverCalled()) LOG.warn(w);
        LOG.info("Starting jwsgi {}", Cli.jwsgiVersion());
        LOG.info("Using {}", python.describe());
        if (settings.config().printConfig() || settings.config().checkConfig()) return check(runtime, hooks);
        try {
            return serve(runtime, hooks);
        } catch (ServerHooks.HookException e) {
            LOG.error("Stopping: {}\n{}", e.getMessage(), e.traceback().stripTrailing());
            return ExitCode.FAILURE;
        } finally {
            removePidFile();
        }
    }

    /** Runs the config file, if there is one, and settles the settings with it. */
    private void readConfigFile(PythonRuntime runtime, PythonInstallation python) throws ConfigException {
        Path cwd = Path.of("").toAbsolutePath();
        Optional<String> location = sources.configLocation(cwd);
        if (location.isEmpty()) return;
        String before = settings.python().python();
        SettingsSources.Resolved resolved = sources.resolve(ConfigFile.run(runtime, location.get(), cwd));
        String after = resolved.settings().python().python();
        if (after != null && !after.equals(before)) {
            PythonInstallation wanted = new PythonLocator(System.getenv()).locate(after);
            if (!wanted.library().equals(python.library())) {
                throw new ConfigException("python = '" + after + "' in " + location.get() + ": the config file runs inside "
                        + "Python, so it cannot choose which Python to embed (this run embeds " + python.describe()
                        + "); give --python " + after + " on the command line or in " + SettingsSources.ENV_ARGS);
            }
        }
        settings = resolved.settings();
        warnings = resolved.warnings();
        try {
            errorLog = ErrorLog.configure(settings.logging().errorLogTarget());
        } catch (IOException e) {
            throw new ConfigException("cannot open the error log: " + e.getMessage());
        }
    }

    /** --check-config and --print-config: the settings are valid; now the TLS files and the app must load. */
    private ExitCode check(PythonRuntime runtime, ServerHooks hooks) {
        if (settings.tls().enabled()) {
            try {
                TlsContext.load(settings.tls());
            } catch (TlsContext.TlsException e) {
                LOG.error("Cannot set up TLS: {}", e.getMessage());
                return ExitCode.FAILURE;
            }
        }
        if (settings.config().printConfig()) {
            System.out.print(ConfigPrinter.render(settings.effective(), hooks.defined().stream().map(h -> h.pythonName).toList()));
            System.out.flush();
        }
        ExitCode loaded = loadApp(runtime) == null ? ExitCode.APP_LOAD_ERROR : ExitCode.OK;
        if (loaded == ExitCode.OK) LOG.info("Configuration OK: the app loads");
        return loaded;
    }

    private ExitCode serve(PythonRuntime runtime, ServerHooks hooks) throws ServerHooks.HookException {
        long pid = ProcessHandle.current().pid();
        SslContextFactory.Server tls = null;
        if (settings.tls().enabled()) {
            try {
                tls = TlsContext.load(settings.tls());
            } catch (TlsContext.TlsException e) {
                LOG.error("Cannot set up TLS: {}", e.getMessage());
                return ExitCode.FAILURE;
            }
        }
        hooks.run(Hook.NWORKERS_CHANGED);
        if (settings.process().pidFile() != null) {
            try {
                pidFile = PidFile.create(settings.process().pidFile(), pid);
            } catch (IOException e) {
                LOG.error("Cannot write the pid file {}: {}", settings.process().pidFile(), e.getMessage());
                return ExitCode.FAILURE;
            }
        }
        hooks.run(Hook.ON_STARTING);
        AccessLog accessLog;
        try {
            accessLog = settings.logging().accessLog() == null ? null : AccessLog.open(settings.logging().accessLog(),
                    settings.logging().accessLogFormat(), settings.logging().accessLogJson());
        } catch (IOException e) {
            LOG.error("Cannot open the access log {}", e.getMessage());
            return ExitCode.FAILURE;
        }
        List<String> environKeys = accessLog == null ? List.of() : List.copyOf(accessLog.format().environKeys());
        WorkerPool pool = new WorkerPool(runtime, settings.worker().threads(), hooks.requestHooks(), environKeys);
        HttpServer http = new HttpServer(new HttpServer.Options(settings.socket().binds(), settings.worker().keepAlive(), IO_TIMEOUT,
                settings.worker().gracefulTimeout(), settings.limits(), settings.socket().backlog(), settings.socket().reusePort()),
                new HttpServer.Frontend(settings.listener(), settings.proxy(), tls), pool, accessLog, environKeys);
        // A port opens only for a server that can serve, unless root must bind it before dropping to --user.
        ProcessOwner owner = settings.process().owner().filter(ProcessOwner::differsFromCurrent).orElse(null);
        if (owner != null && !bind(http)) return ExitCode.FAILURE;
        hooks.run(Hook.PRE_FORK);
        LOG.info("Booting worker with pid: {}", pid);
        hooks.run(Hook.POST_FORK);
        if (owner != null && !switchOwner(owner, accessLog)) {
            http.close();
            return ExitCode.FAILURE;
        }
        WsgiApplication app = loadApp(runtime);
        if (app == null) {
            http.close();
            return ExitCode.APP_LOAD_ERROR;
        }
        List<String> changed = runtime.restoreSignals();
        if (!changed.isEmpty()) {
            LOG.warn("The app changed the handlers of {}; restored the server's (signals are the server's to handle)", changed);
        }
        pool.start(app);
        hooks.run(Hook.POST_WORKER_INIT);
        if (owner == null && !bind(http)) return ExitCode.FAILURE;
        Signals signals = new Signals("TERM", "INT", "USR1");
        try {
            for (String url : http.start()) LOG.info("Listening at: {} ({})", url, pid);
        } catch (Exception e) {
            cannotListen(e);
            return ExitCode.FAILURE;
        }
        hooks.run(Hook.WHEN_READY);
        LOG.info("Using worker: threads ({} Python thread{}), app {}", settings.worker().threads(),
                settings.worker().threads() == 1 ? "" : "s", settings.app() == null ? DEMO_MODULE + ":application" : settings.app());
        String signal = awaitStop(signals, accessLog);
        if (signal.equals("INT")) runQuietly(hooks, Hook.WORKER_INT);
        stop(http, pool);
        runQuietly(hooks, Hook.WORKER_EXIT);
        runQuietly(hooks, Hook.CHILD_EXIT);
        LOG.info("Shutting down: Master");
        removePidFile();
        runQuietly(hooks, Hook.ON_EXIT);
        hooks.close();
        runtime.shutdown(STOP_WAIT);
        if (accessLog != null) accessLog.close();
        return ExitCode.OK;
    }

    /** Binds the TCP listening sockets; false (after saying why) when one cannot be bound. */
    private boolean bind(HttpServer http) {
        try {
            http.open();
            return true;
        } catch (Exception e) {
            http.close();
            cannotListen(e);
            return false;
        }
    }

    private void cannotListen(Exception e) {
        LOG.error("Cannot listen on {}: {}", settings.socket().binds().stream().map(b -> b.authority(b.port())).toList(), rootMessage(e));
    }

    /** Waits for TERM or INT, reopening the logs on each USR1; returns the signal that stops the server. */
    private String awaitStop(Signals signals, AccessLog accessLog) {
        while (true) {
            String signal;
            try {
                signal = signals.next();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "TERM";
            }
            LOG.info("Handling signal: {}", signal.toLowerCase());
            if (!signal.equals("USR1")) return signal;
            reopenLogs(accessLog);
        }
    }

    private void reopenLogs(AccessLog accessLog) {
        try {
            errorLog.reopen();
            if (accessLog != null) accessLog.reopen();
        } catch (IOException e) {
            LOG.error("Cannot reopen the logs: {}", e.getMessage());
        }
    }

    /** Gives the log files to the new owner (so USR1 can reopen them), then switches the process to it. */
    private boolean switchOwner(ProcessOwner owner, AccessLog accessLog) {
        try {
            errorLog.chown(owner.uid(), owner.gid());
            if (accessLog != null) accessLog.chown(owner.uid(), owner.gid());
            owner.apply();
        } catch (IOException | IllegalStateException e) {
            LOG.error("Cannot switch to {}: {}", owner.describe(), e.getMessage());
            return false;
        }
        LOG.info("Running as {}", owner.describe());
        return true;
    }

    /** Imports the app (or the demo); null when it cannot be loaded, after saying why. */
    private WsgiApplication loadApp(PythonRuntime runtime) {
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
            return WsgiApplication.load(runtime,
                    new WsgiApplication.Spec(spec, settings.python().chdir(), settings.python().pythonpath(), settings.python().env()),
                    new WsgiApplication.Facts(settings.worker().threads() > 1, false, "jwsgi/" + Cli.jwsgiVersion()));
        } catch (AppLoadException e) {
            if (e.traceback() != null) LOG.error("Failed to load the application '{}':\n{}", spec, e.traceback().stripTrailing());
            LOG.error("Reason: {}", e.getMessage());
            return null;
        }
    }

    /** Stopping hooks must not keep the server from stopping: a failure is logged and the stop goes on. */
    private static void runQuietly(ServerHooks hooks, Hook hook) {
        try {
            hooks.run(hook);
        } catch (ServerHooks.HookException e) {
            LOG.error("{}\n{}", e.getMessage(), e.traceback().stripTrailing());
        }
    }

    private void stop(HttpServer http, WorkerPool pool) {
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
    }

    private void removePidFile() {
        if (pidFile == null) return;
        try {
            pidFile.remove();
        } catch (IOException e) {
            LOG.debug("cannot remove the pid file {}: {}", pidFile.path(), e.getMessage());
        }
        pidFile = null;
    }

    private static String rootMessage(Throwable t) {
        while (t.getCause() != null) t = t.getCause();
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }
}
