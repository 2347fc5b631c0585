package jwsgi.server;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeoutException;

import jwsgi.config.Bind;
import jwsgi.config.Cli;
import jwsgi.config.ConfigException;
import jwsgi.config.ConfigPrinter;
import jwsgi.config.Settings;
import jwsgi.config.WorkerOptions;
import jwsgi.hooks.Hook;
import jwsgi.hooks.PythonLogging;
import jwsgi.hooks.ServerHooks;
import jwsgi.http.AcceptGate;
import jwsgi.http.HttpServer;
import jwsgi.http.TlsContext;
import jwsgi.log.AccessLog;
import jwsgi.posix.Libc;
import jwsgi.posix.ProcessOwner;
import jwsgi.posix.Sockets;
import jwsgi.python.PythonRuntime;
import jwsgi.python.PythonStartupException;
import jwsgi.python.PythonVersion;
import jwsgi.wsgi.AppLoadException;
import jwsgi.wsgi.RequestCounter;
import jwsgi.wsgi.Watchdog;
import jwsgi.wsgi.WorkerPool;
import jwsgi.wsgi.WsgiApplication;

import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One worker process from start to exit: one JVM with its own CPython, serving requests on the
 * listener its master shares with every worker. gunicorn's worker steps, in order:
 * <ol>
 *   <li>start Python and run the config file, as the master did, so both agree on the settings;</li>
 *   <li>{@code post_fork}; bind any further TCP listeners (as root, with {@code --user}), switch
 *       to {@code --user}, import the app, {@code post_worker_init};</li>
 *   <li>turn the shared listener on and accept; tell the master it is ready;</li>
 *   <li>serve until TERM (graceful: in-flight requests finish within {@code --graceful-timeout})
 *       or INT (quick), then {@code worker_exit}, finalise Python and exit 0.</li>
 * </ol>
 * It asks the master to replace it after {@code --max-requests} (once it has run
 * {@code --min-worker-lifetime}), when a request hangs past
 * {@code --timeout}, or when {@code --reload} sees a source file change; it goes on serving
 * until the replacement is ready and the master sends TERM. A worker that cannot start tells
 * the master why ({@code boot-error}), so the master does not start it again in a loop.
 *
 * <p>{@code --check-config} and {@code --print-config} run here too, in a process of their own
 * with no master: they load the app and exit.
 */
public final class Worker {
    private static final Logger LOG = LoggerFactory.getLogger(Worker.class);
    /** How long a read or write inside a request may stall before the connection is closed. */
    private static final Duration IO_TIMEOUT = Duration.ofSeconds(30);
    private static final String DEMO_MODULE = "jwsgi_demo";
    /** After the graceful timeout, how long Python threads get to leave Python before the process exits without finalising it. */
    private static final Duration STOP_WAIT = Duration.ofSeconds(1);
    /** How long worker_abort may take when a request hangs: the hung thread may hold the GIL it needs. */
    private static final Duration ABORT_HOOK_WAIT = Duration.ofSeconds(2);

    private final Startup startup;
    /** Null for --check-config and --print-config, which run without a master. */
    private final WorkerIdentity identity;
    private final BlockingQueue<String> signals = new LinkedBlockingQueue<>();
    /** When this worker started ({@link System#nanoTime()}), for --min-worker-lifetime. */
    private final long started = System.nanoTime();
    private MasterLink master;
    private Reloader reloader;
    /** The worker's standard output and error, saved before the inherited listener is taken. */
    private boolean acceptingStopped;

    Worker(Startup startup, WorkerIdentity identity) {
        this.startup = startup;
        this.identity = identity;
    }

    private Settings settings() {
        return startup.settings();
    }

    ExitCode run() {
        if (identity != null) master = MasterLink.start(() -> signals.offer("TERM"));
        try {
            ExitCode code = start();
            if (code != ExitCode.OK && master != null) master.send(ControlMessage.bootError(code.code));
            return code;
        } finally {
            if (master != null) master.close();
        }
    }

    private ExitCode start() {
        PythonRuntime runtime;
        try {
            runtime = startup.startPython();
        } catch (PythonStartupException e) {
            LOG.error("Cannot start Python: {}", e.getMessage());
            return ExitCode.PYTHON_BOOT_ERROR;
        }
        ServerHooks hooks;
        try {
            startup.readConfigFile(runtime);
            PythonLogging.setup(runtime, settings().logging());
            hooks = ServerHooks.load(runtime, settings().effective(), identity == null ? 0 : identity.age());
        } catch (ConfigException e) {
            Main.printUsageError(e);
            return ExitCode.USAGE;
        }
        if (identity == null) {
            for (String w : startup.warnings()) LOG.warn(w);
            for (String w : hooks.neverCalled()) LOG.warn(w);
            LOG.info("Starting jwsgi {}", Cli.jwsgiVersion());
            LOG.info("Using {}", runtime.installation().describe());
            return check(runtime, hooks);
        }
        try {
            return serve(runtime, hooks);
        } catch (ServerHooks.HookException e) {
            LOG.error("Stopping: {}\n{}", e.getMessage(), e.traceback().stripTrailing());
            return ExitCode.FAILURE;
        }
    }

    /** --check-config and --print-config: the settings are valid; now the TLS files and the app must load. */
    private ExitCode check(PythonRuntime runtime, ServerHooks hooks) {
        if (settings().tls().enabled()) {
            try {
                TlsContext.load(settings().tls());
            } catch (TlsContext.TlsException e) {
                LOG.error("Cannot set up TLS: {}", e.getMessage());
                return ExitCode.FAILURE;
            }
        }
        if (settings().config().printConfig()) {
            System.out.print(ConfigPrinter.render(settings().effective(), hooks.defined().stream().map(h -> h.pythonName).toList()));
            System.out.flush();
        }
        ExitCode loaded = loadApp(runtime) == null ? ExitCode.APP_LOAD_ERROR : ExitCode.OK;
        if (loaded == ExitCode.OK) LOG.info("Configuration OK: the app loads");
        return loaded;
    }

    private ExitCode serve(PythonRuntime runtime, ServerHooks hooks) throws ServerHooks.HookException {
        long pid = ProcessHandle.current().pid();
        LOG.info("Booting worker with pid: {}", pid);
        LOG.debug("Using {}", runtime.installation().describe());
        SslContextFactory.Server tls = null;
        if (settings().tls().enabled()) {
            try {
                tls = TlsContext.load(settings().tls());
            } catch (TlsContext.TlsException e) {
                LOG.error("Cannot set up TLS: {}", e.getMessage());
                return ExitCode.FAILURE;
            }
        }
        AccessLog accessLog;
        try {
            accessLog = settings().logging().accessLog() == null ? null : AccessLog.open(settings().logging().accessLog(),
                    settings().logging().accessLogFormat(), settings().logging().accessLogJson());
        } catch (IOException e) {
            LOG.error("Cannot open the access log {}", e.getMessage());
            return ExitCode.FAILURE;
        }
        List<String> environKeys = accessLog == null ? List.of() : List.copyOf(accessLog.format().environKeys());
        long maxRequests = settings().worker().maxRequests();
        RequestCounter counter = null;
        if (maxRequests > 0) {
            long limit = maxRequests + ThreadLocalRandom.current().nextLong(settings().worker().maxRequestsJitter() + 1);
            counter = new RequestCounter(limit, new MaxRequestsRetirement(limit, settings().worker().minWorkerLifetime(),
                    identity.batchIndex(), settings().worker().workers(), started, this::retire));
        }
        Duration timeout = settings().worker().timeout();
        boolean interpreters = settings().worker().kind() == WorkerOptions.Kind.INTERPRETER;
        if (interpreters) {
            String refused = interpreterWorkersRefused(runtime, hooks);
            if (refused != null) {
                LOG.error("Cannot run interpreter workers: {}", refused);
                return ExitCode.USAGE;
            }
        }
        WorkerPool pool = new WorkerPool(runtime, WorkerPool.Options.threads(settings().worker().threads())
                .inInterpreters(interpreters ? settings().worker().workers() : 0, settings().listener().http2())
                .withHooks(hooks.requestHooks()).loggingEnviron(environKeys).timed(!timeout.isZero()).counting(counter));
        BalancedAccept balance = balance((int) pid);
        HttpServer http = new HttpServer(new HttpServer.Options(binds(), settings().worker().keepAlive(), IO_TIMEOUT,
                settings().worker().gracefulTimeout(), settings().limits(), settings().socket().backlog(), identity.sharedBind(),
                balance == null ? AcceptGate.NONE : balance, settings().statics()),
                new HttpServer.Frontend(settings().listener(), settings().proxy(), tls), pool, accessLog);
        hooks.run(Hook.POST_FORK);
        // Further TCP listeners are bound now, as root when switching to --user: a privileged port needs it.
        if (!open(http)) return ExitCode.FAILURE;
        ProcessOwner owner = settings().process().owner().filter(ProcessOwner::differsFromCurrent).orElse(null);
        if (owner != null && !switchOwner(owner, accessLog)) {
            http.close();
            return ExitCode.FAILURE;
        }
        WsgiApplication app = interpreters ? startInterpreters(pool) : loadApp(runtime);
        if (app == null) {
            http.close();
            return ExitCode.APP_LOAD_ERROR;
        }
        List<String> changed = runtime.restoreSignals();
        if (!changed.isEmpty()) {
            LOG.warn("The app changed the handlers of {}; restored the server's (signals are the server's to handle)", changed);
        }
        if (!interpreters) pool.start(app);
        hooks.run(Hook.POST_WORKER_INIT);
        Signals.handle(signals::offer, "TERM", "INT", "USR1", "HUP", "TTIN", "TTOU", "WINCH");
        try {
            Sockets.listen(WorkerIdentity.LISTENER_FD, settings().socket().backlog());
            if (balance != null) balance.join();
            http.start();
        } catch (Exception e) {
            LOG.error("Cannot listen on {}: {}", settings().socket().binds().stream().map(b -> b.authority(b.port())).toList(), rootMessage(e));
            return ExitCode.FAILURE;
        }
        Watchdog watchdog = null;
        if (!timeout.isZero()) {
            watchdog = new Watchdog(pool, runtime, timeout, "worker " + identity.age() + ", pid " + pid,
                    request -> giveUp(hooks, http, pool.mode() == WorkerPool.Mode.INLINE, request));
            watchdog.start();
        }
        if (settings().worker().reload()) {
            reloader = Reloader.start(runtime, app.interpreter(), settings().worker().reloadExtraFiles(), this::retire);
        }
        master.send(ControlMessage.READY);
        String signal = awaitStop(accessLog);
        boolean quick = signal.equals("INT");
        if (quick) runQuietly(hooks, Hook.WORKER_INT);
        if (reloader != null) reloader.close();
        stopAccepting(http);
        stop(http, pool, quick);
        if (watchdog != null) watchdog.close();
        runQuietly(hooks, Hook.WORKER_EXIT);
        LOG.info("Worker exiting (pid: {})", pid);
        hooks.close();
        runtime.shutdown(STOP_WAIT);
        if (accessLog != null) accessLog.close();
        return ExitCode.OK;
    }

    /** This worker's part in balancing connections with the others, or null without the master's table. */
    private static BalancedAccept balance(int pid) {
        try {
            return new BalancedAccept(ConnectionTable.inherit(WorkerIdentity.CONNECTIONS_FD), pid, WorkerIdentity.LISTENER_FD);
        } catch (Libc.Failure e) {
            LOG.debug("No connection balancing (the master has no table): {}", e.getMessage());
            return null;
        }
    }

    /** The binds, with the port the master bound for each (a bind to port 0 got its port there). */
    private List<Bind> binds() {
        List<Bind> given = settings().socket().binds();
        List<Bind> actual = new ArrayList<>();
        for (int i = 0; i < given.size(); i++) {
            Bind b = given.get(i);
            actual.add(b.isUnix() || i >= identity.ports().size() ? b : new Bind(b.host(), identity.ports().get(i)));
        }
        return actual;
    }

    /** Asks the master for a replacement; this worker serves on until the master stops it. */
    private void retire(String reason) {
        LOG.info("Worker asks to be replaced: {}", reason);
        master.send(ControlMessage.retire(reason));
    }

    /**
     * Closes this worker's copy of the shared listener, once: the other workers (or the
     * replacement) take the connections waiting there. Closing it makes the JDK point the
     * standard streams at /dev/null; the logs' are put back.
     */
    private synchronized void stopAccepting(HttpServer http) {
        if (acceptingStopped) return;
        acceptingStopped = true;
        // Copies taken now, not at start: a USR1 since then may have pointed 1 and 2 at a reopened log.
        StandardStreams streams;
        try {
            streams = StandardStreams.save();
        } catch (Libc.Failure e) {
            LOG.warn("Cannot keep the standard streams across closing the listener: {}", e.getMessage());
            http.stopAccepting();
            return;
        }
        try {
            http.stopAccepting();
        } finally {
            streams.restore();
        }
    }

    /**
     * A request hung past --timeout and its grace: worker_abort (bounded: the hung thread may
     * hold the GIL), then retire. With one Python thread, the hung one is also the thread that
     * serves every connection: the worker stops accepting at once, so new connections wait in
     * the listener's queue for the other workers or the replacement rather than for it.
     */
    private void giveUp(ServerHooks hooks, HttpServer http, boolean inline, String request) {
        Thread abortHook = Thread.ofPlatform().daemon(true).name("worker-abort").start(() -> runQuietly(hooks, Hook.WORKER_ABORT));
        try {
            abortHook.join(ABORT_HOOK_WAIT);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (abortHook.isAlive()) LOG.warn("worker_abort did not finish within {} s (the hung thread holds the GIL?)", ABORT_HOOK_WAIT.toSeconds());
        if (inline) stopAccepting(http);
        retire("a request hung past --timeout: " + request);
    }

    /** Takes the listeners this worker opens itself (the inherited one, the further TCP binds). */
    private boolean open(HttpServer http) {
        try {
            http.open();
            return true;
        } catch (Exception e) {
            http.close();
            LOG.error("Cannot listen on {}: {}", settings().socket().binds().stream().map(b -> b.authority(b.port())).toList(), rootMessage(e));
            return false;
        }
    }

    /** Waits for TERM or INT, reopening the logs on each USR1; returns the signal that stops the worker. */
    private String awaitStop(AccessLog accessLog) {
        while (true) {
            String signal;
            try {
                signal = signals.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "TERM";
            }
            switch (signal) {
                case "TERM", "INT" -> {
                    LOG.info("Handling signal: {}", signal.toLowerCase());
                    return signal;
                }
                case "USR1" -> reopenLogs(accessLog);
                // The master handles these; a worker only ignores them (their default would stop or end it).
                default -> LOG.debug("Worker ignores SIG{}: the master handles it", signal);
            }
        }
    }

    private void reopenLogs(AccessLog accessLog) {
        try {
            startup.errorLog().reopen();
            if (accessLog != null) accessLog.reopen();
        } catch (IOException e) {
            LOG.error("Cannot reopen the logs: {}", e.getMessage());
        }
    }

    /** Gives the log files to the new owner (so USR1 can reopen them), then switches the process to it. */
    private boolean switchOwner(ProcessOwner owner, AccessLog accessLog) {
        try {
            startup.errorLog().chown(owner.uid(), owner.gid());
            if (accessLog != null) accessLog.chown(owner.uid(), owner.gid());
            owner.apply();
        } catch (IOException | IllegalStateException e) {
            LOG.error("Cannot switch to {}: {}", owner.describe(), e.getMessage());
            return false;
        }
        LOG.info("Running as {}", owner.describe());
        return true;
    }

    /** Why this Python or config cannot have interpreter workers, or null when it can. */
    private String interpreterWorkersRefused(PythonRuntime runtime, ServerHooks hooks) {
        if (settings().app() == null) return "they need an app to import (MODULE:CALLABLE): the bundled demo runs in the main interpreter only";
        PythonVersion v = runtime.installation().version();
        if (v.major() == 3 && v.minor() < 13) {
            return "they need Python 3.13 or later, and this is " + v + " (CPython 3.12 aborts creating a second isolated "
                    + "interpreter once datetime was imported); use process workers (-k sync) or Python 3.13";
        }
        if (hooks.requestHooks() != null) {
            return "the config file's pre_request/post_request hooks live in the main interpreter, and each request runs in a "
                    + "sub-interpreter that cannot call them; remove them or use process workers (-k sync)";
        }
        return null;
    }

    /** Creates the sub-interpreters, each importing the app; one of the apps, or null after saying why it cannot load. */
    private WsgiApplication startInterpreters(WorkerPool pool) {
        try {
            return pool.startInterpreters(spec(), facts());
        } catch (AppLoadException e) {
            logLoadFailure(appSpec(), e);
            return null;
        } catch (PythonStartupException e) {
            LOG.error("Cannot create a sub-interpreter: {}", e.getMessage());
            return null;
        }
    }

    /** Imports the app (or the demo); null when it cannot be loaded, after saying why. */
    private WsgiApplication loadApp(PythonRuntime runtime) {
        try {
            if (settings().app() == null) {
                runtime.onMainThread(py -> {
                    py.api().decRef(py.loadBundledModule(DEMO_MODULE));
                    return null;
                });
                LOG.info("No app given: serving the bundled demo app");
            }
            return WsgiApplication.load(runtime, spec(), facts());
        } catch (AppLoadException e) {
            logLoadFailure(appSpec(), e);
            return null;
        }
    }

    private String appSpec() {
        return settings().app() == null ? DEMO_MODULE + ":application" : settings().app();
    }

    private WsgiApplication.Spec spec() {
        return new WsgiApplication.Spec(appSpec(), settings().python().chdir(), settings().python().pythonpath(), settings().python().env());
    }

    private WsgiApplication.Facts facts() {
        return new WsgiApplication.Facts(settings().worker().threads() > 1, settings().worker().workers() > 1, "jwsgi/" + Cli.jwsgiVersion());
    }

    private static void logLoadFailure(String spec, AppLoadException e) {
        if (e.traceback() != null) LOG.error("Failed to load the application '{}':\n{}", spec, e.traceback().stripTrailing());
        String message = e.getMessage();
        int refused = message.indexOf("does not support loading in subinterpreters");
        if (refused >= 0) {
            LOG.error("Reason: {}. That extension module cannot be loaded in a sub-interpreter (it uses single-phase "
                    + "initialisation); run the app with process workers (-k sync)", message);
        } else {
            LOG.error("Reason: {}", message);
        }
    }

    /** Stopping hooks must not keep the worker from stopping: a failure is logged and the stop goes on. */
    private static void runQuietly(ServerHooks hooks, Hook hook) {
        try {
            hooks.run(hook);
        } catch (ServerHooks.HookException e) {
            LOG.error("{}\n{}", e.getMessage(), e.traceback().stripTrailing());
        }
    }

    /**
     * Jetty's stop, bounded: with one Python thread, a request stuck in C code holds the thread
     * Jetty must also stop (its network thread), and Jetty would wait for it at every step.
     */
    private void stop(HttpServer http, WorkerPool pool, boolean quick) {
        Duration limit = (quick ? Duration.ZERO : settings().worker().gracefulTimeout()).plus(STOP_WAIT).plus(STOP_WAIT);
        Thread stopping = Thread.ofPlatform().daemon(true).name("stop").start(() -> {
            try {
                http.stop(quick);
            } catch (Exception e) {
                if (e instanceof TimeoutException || e.getCause() instanceof TimeoutException) {
                    LOG.warn("Graceful timeout ({} s) expired with requests still running; their connections are closed",
                            settings().worker().gracefulTimeout().toSeconds());
                } else {
                    LOG.warn("Stopping the listeners: {}", rootMessage(e));
                }
            }
        });
        try {
            stopping.join(limit);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (stopping.isAlive()) LOG.warn("The HTTP server did not stop within {} s (a thread is stuck in a request); exiting anyway", limit.toSeconds());
        pool.stop(STOP_WAIT.toMillis());
    }

    static String rootMessage(Throwable t) {
        while (t.getCause() != null) t = t.getCause();
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }
}
