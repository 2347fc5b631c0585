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
import jwsgi.embed.PythonApp;
import jwsgi.hooks.Hook;
import jwsgi.hooks.ServerHooks;
import jwsgi.http.AcceptGate;
import jwsgi.http.HttpServer;
import jwsgi.http.RequestMetrics;
import jwsgi.http.TlsContext;
import jwsgi.log.AccessLog;
import jwsgi.metrics.CountingAcceptGate;
import jwsgi.metrics.MetricsTable;
import jwsgi.metrics.WorkerMetrics;
import jwsgi.posix.Libc;
import jwsgi.posix.ProcessOwner;
import jwsgi.posix.Signal;
import jwsgi.posix.Sockets;
import jwsgi.python.PythonRuntime;
import jwsgi.python.PythonStartupException;
import jwsgi.wsgi.RequestCounter;
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
 *
 * <p>Threads: the main thread starts the worker, waits for the signal that stops it and stops
 * it; signal handlers and the master link only post to {@link #signals}. {@link #retire} also
 * runs on the thread of the request that reached --max-requests, on the reloader's and on the
 * watchdog's; {@link #stopAccepting} on the main thread and the watchdog's (hence synchronized).
 */
public final class Worker {
    private static final Logger LOG = LoggerFactory.getLogger(Worker.class);
    /** How long a read or write inside a request may stall before the connection is closed. */
    private static final Duration IO_TIMEOUT = Duration.ofSeconds(30);
    /** After the graceful timeout, how long Python threads get to leave Python before the process exits without finalising it. */
    private static final Duration STOP_WAIT = Duration.ofSeconds(1);
    /** How long worker_abort may take when a request hangs: the hung thread may hold the GIL it needs. */
    private static final Duration ABORT_HOOK_WAIT = Duration.ofSeconds(2);

    /** What serves once the worker is up, and what its stop takes down. */
    private record Serving(HttpServer http, PythonApp app, AccessLog accessLog) {}

    /** A step of the start-up failed, as its log line said; the worker exits with {@code code}. */
    private static final class BootFailure extends Exception {
        final ExitCode code;

        BootFailure(ExitCode code) {
            super(code.name(), null, false, false);
            this.code = code;
        }
    }

    private final Startup startup;
    /** Null for --check-config and --print-config, which run without a master. */
    private final WorkerIdentity identity;
    private final BlockingQueue<Signal> signals = new LinkedBlockingQueue<>();
    /** When this worker started ({@link System#nanoTime()}), for --min-worker-lifetime. */
    private final long started = System.nanoTime();
    private MasterLink master;
    private Reloader reloader;
    /** This worker's copy of the shared listener is closed (it stops, or its one Python thread hung). */
    private boolean acceptingStopped;

    Worker(Startup startup, WorkerIdentity identity) {
        this.startup = startup;
        this.identity = identity;
    }

    private Settings settings() {
        return startup.settings();
    }

    ExitCode run() {
        if (identity != null) master = MasterLink.start(() -> signals.offer(Signal.TERM));
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
            hooks = startup.readConfigAndHooks(runtime, identity == null ? 0 : identity.age());
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
        try {
            tls();
        } catch (BootFailure f) {
            return f.code;
        }
        if (settings().config().printConfig()) {
            System.out.print(ConfigPrinter.render(settings().effective(), hooks.defined().stream().map(h -> h.pythonName).toList()));
            System.out.flush();
        }
        AppLoader apps = new AppLoader(settings(), false);
        PythonApp app = PythonApp.prepare(runtime.installation(), apps.options(WorkerPool.Options.threads(1)));
        ExitCode loaded = apps.load(app) == null ? ExitCode.APP_LOAD_ERROR : ExitCode.OK;
        app.close(STOP_WAIT);
        if (loaded == ExitCode.OK) LOG.info("Configuration OK: the app loads");
        return loaded;
    }

    private ExitCode serve(PythonRuntime runtime, ServerHooks hooks) throws ServerHooks.HookException {
        long pid = ProcessHandle.current().pid();
        LOG.info("Booting worker with pid: {}", pid);
        LOG.debug("Using {}", runtime.installation().describe());
        Serving serving;
        try {
            serving = boot(runtime, hooks, pid);
        } catch (BootFailure f) {
            return f.code;
        }
        master.send(ControlMessage.READY);
        boolean quick = awaitStop(serving.accessLog()) == Signal.INT;
        if (quick) runQuietly(hooks, Hook.WORKER_INT);
        if (reloader != null) reloader.close();
        stopAccepting(serving.http());
        stop(serving.http(), quick);
        serving.app().close(STOP_WAIT);
        runQuietly(hooks, Hook.WORKER_EXIT);
        LOG.info("Worker exiting (pid: {})", pid);
        hooks.close();
        runtime.release(STOP_WAIT);
        if (serving.accessLog() != null) serving.accessLog().close();
        return ExitCode.OK;
    }

    /**
     * gunicorn's worker start: the HTTP server and the Python threads are made, {@code post_fork},
     * further listeners opened, {@code --user} taken, the app imported, {@code post_worker_init};
     * then the listeners accept, and the watchdog and the reloader start.
     */
    private Serving boot(PythonRuntime runtime, ServerHooks hooks, long pid) throws BootFailure, ServerHooks.HookException {
        SslContextFactory.Server tls = tls();
        AccessLog accessLog = openAccessLog();
        AppLoader apps = new AppLoader(settings(), identity.age() == 1);
        boolean interpreters = interpreterWorkers(apps, runtime, hooks);
        List<String> environKeys = accessLog == null ? List.of() : List.copyOf(accessLog.format().environKeys());
        WorkerMetrics metrics = metrics();
        PythonApp app = PythonApp.prepare(runtime.installation(), apps.options(pool(hooks, environKeys, interpreters, metrics)));
        BalancedAccept balance = balance((int) pid);
        AcceptGate gate = balance == null ? AcceptGate.NONE : balance;
        HttpServer http = new HttpServer(new HttpServer.Options(binds(), settings().worker().keepAlive(), IO_TIMEOUT,
                settings().worker().gracefulTimeout(), settings().limits(), settings().socket().backlog(), identity.sharedBind(),
                metrics == null ? gate : new CountingAcceptGate(gate, metrics), settings().statics(),
                metrics == null ? RequestMetrics.NONE : metrics),
                new HttpServer.Frontend(settings().listener(), settings().proxy(), tls), app, accessLog);
        hooks.run(Hook.POST_FORK);
        // Further TCP listeners are bound now, as root when switching to --user: a privileged port needs it.
        open(http);
        ProcessOwner owner = settings().process().owner().filter(ProcessOwner::differsFromCurrent).orElse(null);
        if (owner != null && !switchOwner(owner, accessLog)) throw closed(http, ExitCode.FAILURE);
        WsgiApplication loaded = apps.load(app);
        if (loaded == null) throw closed(http, ExitCode.APP_LOAD_ERROR);
        hooks.run(Hook.POST_WORKER_INIT);
        Signals.handle(signals::offer, Signals.SERVER);
        warmUp(http);
        listen(http, balance);
        boolean inline = app.pool().mode() == WorkerPool.Mode.INLINE;
        app.watch("worker " + identity.age() + ", pid " + pid, request -> giveUp(hooks, http, inline, request));
        if (settings().worker().reload()) {
            reloader = Reloader.start(runtime, loaded.interpreter(), settings().worker().reloadExtraFiles(),
                    reason -> retire(ControlMessage.FILE_CHANGED, reason));
        }
        return new Serving(http, app, accessLog);
    }

    /** Whether this worker runs sub-interpreters (-k interpreter); stops the start when it cannot, saying why. */
    private boolean interpreterWorkers(AppLoader apps, PythonRuntime runtime, ServerHooks hooks) throws BootFailure {
        if (settings().worker().kind() != WorkerOptions.Kind.INTERPRETER) return false;
        String refused = apps.interpreterWorkersRefused(runtime, hooks);
        if (refused == null) return true;
        LOG.error("Cannot run interpreter workers: {}", refused);
        throw new BootFailure(ExitCode.USAGE);
    }

    /** The Python threads (or sub-interpreters), counting requests for --max-requests. */
    private WorkerPool.Options pool(ServerHooks hooks, List<String> environKeys, boolean interpreters, WorkerMetrics metrics) {
        long maxRequests = settings().worker().maxRequests();
        RequestCounter counter = null;
        if (maxRequests > 0) {
            long limit = maxRequests + ThreadLocalRandom.current().nextLong(settings().worker().maxRequestsJitter() + 1);
            counter = new RequestCounter(limit, new MaxRequestsRetirement(limit, settings().worker().minWorkerLifetime(),
                    identity.batchIndex(), settings().worker().workers(), started, reason -> retire(ControlMessage.MAX_REQUESTS, reason)));
        }
        return WorkerPool.Options.threads(settings().worker().threads())
                .inInterpreters(interpreters ? settings().worker().workers() : 0, settings().listener().http2())
                .withHooks(hooks.requestHooks()).loggingEnviron(environKeys).counting(counter).measured(metrics);
    }

    /** This worker's counts in the master's metrics table (--metrics-bind), or null without one. */
    private WorkerMetrics metrics() {
        if (identity.metricsSlot() < 0) return null;
        try {
            return new WorkerMetrics(MetricsTable.inherit(WorkerIdentity.METRICS_FD), identity.metricsSlot());
        } catch (Libc.Failure e) {
            LOG.warn("This worker's requests are not counted: cannot map the master's metrics table: {}", e.getMessage());
            return null;
        }
    }

    /** The TLS context of --certfile and --keyfile, or null without TLS. */
    private SslContextFactory.Server tls() throws BootFailure {
        if (!settings().tls().enabled()) return null;
        try {
            return TlsContext.load(settings().tls());
        } catch (TlsContext.TlsException e) {
            LOG.error("Cannot set up TLS: {}", e.getMessage());
            throw new BootFailure(ExitCode.FAILURE);
        }
    }

    /** The access log, or null without --access-logfile. */
    private AccessLog openAccessLog() throws BootFailure {
        if (settings().logging().accessLog() == null) return null;
        try {
            return AccessLog.open(settings().logging().accessLog(), settings().logging().accessLogFormat(), settings().logging().accessLogJson());
        } catch (IOException e) {
            LOG.error("Cannot open the access log {}", e.getMessage());
            throw new BootFailure(ExitCode.FAILURE);
        }
    }

    /** --warmup: the JIT compiles the request path before the worker takes connections; serving goes on without it if it fails. */
    private void warmUp(HttpServer http) {
        Duration limit = settings().worker().warmUp();
        if (limit.isZero()) return;
        try {
            http.warmUp(limit);
        } catch (Exception e) {
            LOG.warn("The warm-up failed ({}); serving without it, at lower speed for the first seconds", rootMessage(e));
        }
    }

    /** Turns the shared listener on (its queue is --backlog long) and starts Jetty. */
    private void listen(HttpServer http, BalancedAccept balance) throws BootFailure {
        try {
            Sockets.listen(WorkerIdentity.LISTENER_FD, settings().socket().backlog());
            if (balance != null) balance.join();
            http.start();
        } catch (Exception e) {
            LOG.error("Cannot listen on {}: {}", describeBinds(), rootMessage(e));
            throw new BootFailure(ExitCode.FAILURE);
        }
    }

    private static BootFailure closed(HttpServer http, ExitCode code) {
        http.close();
        return new BootFailure(code);
    }

    private String describeBinds() {
        return settings().socket().binds().stream().map(b -> b.authority(b.port())).toList().toString();
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

    /** The binds, with the port the master bound for each (a bind to port 0 got its port there); systemd's socket alone when it passed one. */
    private List<Bind> binds() {
        if (identity.activated() != null) return List.of(identity.activated());
        List<Bind> given = settings().socket().binds();
        List<Bind> actual = new ArrayList<>();
        for (int i = 0; i < given.size(); i++) {
            Bind b = given.get(i);
            actual.add(b.isUnix() || i >= identity.ports().size() ? b : new Bind(b.host(), identity.ports().get(i)));
        }
        return actual;
    }

    /** Asks the master for a replacement; this worker serves on until the master stops it. */
    private void retire(String cause, String reason) {
        LOG.info("Worker asks to be replaced: {}", reason);
        master.send(ControlMessage.retire(cause, reason));
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
        retire(ControlMessage.HUNG_REQUEST, "a request hung past --timeout: " + request);
    }

    /** Takes the listeners this worker opens itself (the inherited one, the further TCP binds). */
    private void open(HttpServer http) throws BootFailure {
        try {
            http.open();
        } catch (Exception e) {
            LOG.error("Cannot listen on {}: {}", describeBinds(), rootMessage(e));
            throw closed(http, ExitCode.FAILURE);
        }
    }

    /** Waits for TERM or INT, reopening the logs on each USR1; returns the signal that stops the worker. */
    private Signal awaitStop(AccessLog accessLog) {
        while (true) {
            Signal signal;
            try {
                signal = signals.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Signal.TERM;
            }
            switch (signal) {
                case TERM, INT -> {
                    LOG.info("Handling signal: {}", signal.name().toLowerCase());
                    return signal;
                }
                case USR1 -> reopenLogs(accessLog);
                default -> LOG.debug("Worker ignores {}: the master handles it", signal);
            }
        }
    }

    private void reopenLogs(AccessLog accessLog) {
        try {
            startup.errorLog().reopen();
            if (accessLog != null) accessLog.reopen();
            // The first line in the new file: tells the operator (and tests) that this worker switched.
            LOG.info("Reopened the log files");
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
    private void stop(HttpServer http, boolean quick) {
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
    }

    static String rootMessage(Throwable t) {
        while (t.getCause() != null) t = t.getCause();
        return t.getMessage() == null ? t.toString() : t.getMessage();
    }
}
