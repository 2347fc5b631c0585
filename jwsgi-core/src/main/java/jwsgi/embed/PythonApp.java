package jwsgi.embed;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import jwsgi.python.PythonInstallation;
import jwsgi.python.PythonLocator;
import jwsgi.python.PythonRuntime;
import jwsgi.python.PythonStartupException;
import jwsgi.python.PythonVersion;
import jwsgi.wsgi.AppLoadException;
import jwsgi.wsgi.Exchange;
import jwsgi.wsgi.Watchdog;
import jwsgi.wsgi.WorkerPool;
import jwsgi.wsgi.WsgiApplication;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One WSGI app running in this JVM's embedded CPython: the handle that serves its requests.
 * The Jetty handler ({@code jwsgi.jetty.WsgiHandler}), the servlet ({@code jwsgi.servlet.WsgiServlet})
 * and the command-line worker all serve through it.
 * <pre>{@code
 * try (PythonApp app = PythonAppOptions.builder("hello:app").python("/usr/bin/python3").start()) {
 *     app.submit(exchange);   // an Exchange: one request and its response
 * }
 * }</pre>
 *
 * <p>{@link #start} takes the process's Python runtime (shared with every other app of the same
 * Python; a different one is refused, naming both), imports the app, starts its Python threads
 * and, with a timeout, the watchdog. {@link #close} stops them and gives the runtime back; the
 * last app to close finalises Python, which cannot start again in this process.
 *
 * <p>Requests run on the app's own platform threads, each with its Python thread state for
 * life; whoever calls {@link #submit} (a container's thread, virtual or not) only queues the
 * request, and past {@code maxQueued} waiting requests it is answered 503 at once.
 *
 * <p>Threads: any. {@link #submit} never blocks.
 */
public final class PythonApp implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PythonApp.class);
    /** How long {@link #close()} lets running requests leave Python before it gives up finalising it. */
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(5);
    private static final long OVERLOAD_LOG_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(10);
    private static final String OVERLOADED = "Service Unavailable: the server is overloaded; retry shortly";
    private static final String NOT_SERVING = "Service Unavailable: the app is not running (starting or stopping)";

    private final PythonAppOptions options;
    private final PythonRuntime runtime;
    private final WorkerPool pool;
    /** Requests run on the thread that submits them: only the command line's own HTTP threads may. */
    private final boolean inline;
    private volatile boolean serving;
    private boolean closed;
    private Watchdog watchdog;
    private final AtomicLong refusedSinceLog = new AtomicLong();
    private final AtomicLong lastOverloadLog = new AtomicLong(System.nanoTime() - OVERLOAD_LOG_INTERVAL_NANOS);

    private PythonApp(PythonAppOptions options, PythonRuntime runtime) {
        this.options = options;
        this.runtime = runtime;
        this.pool = new WorkerPool(runtime, options.pool());
        this.inline = pool.mode() == WorkerPool.Mode.INLINE;
    }

    /**
     * Starts the app: finds the Python the options name, takes the process's runtime, imports
     * the app, starts its threads and, with a timeout, its watchdog.
     *
     * @throws PythonStartupException when Python cannot be found or started, or another Python
     *         runs in this process already
     * @throws AppLoadException when the app cannot be imported (the traceback is logged)
     */
    public static PythonApp start(PythonAppOptions options) {
        PythonInstallation python = new PythonLocator(System.getenv()).locate(options.python());
        PythonApp app = prepare(python, options);
        try {
            app.load();
            app.watch(options.app().app(), new EmbeddedGiveUp());
            LOG.info("Serving {} with {} ({} Python thread(s){})", options.app().app(), python.describe(), options.pool().threads(),
                    options.pool().interpreters() > 0 ? " in each of " + options.pool().interpreters() + " sub-interpreters" : "");
            return app;
        } catch (RuntimeException | Error e) {
            app.close();
            throw e;
        }
    }

    /**
     * The first step of {@link #start}, for a server that has located Python itself and builds its
     * HTTP side around the pool before the app is imported (the command-line worker): takes the
     * runtime and makes the pool; nothing runs until {@link #load}.
     *
     * @throws PythonStartupException when the runtime cannot be had, or sub-interpreters are asked
     *         of a Python that cannot have them
     */
    public static PythonApp prepare(PythonInstallation python, PythonAppOptions options) {
        if (options.pool().interpreters() > 0) {
            String refused = subInterpretersRefused(python.version());
            if (refused != null) {
                throw new PythonStartupException("cannot run the app in sub-interpreters: " + refused
                        + "; use the main interpreter or Python 3.13");
            }
        }
        return new PythonApp(options, PythonRuntime.acquire(python, options.argv()));
    }

    /** Why this Python cannot have sub-interpreters, or null when it can. */
    public static String subInterpretersRefused(PythonVersion v) {
        if (v.atLeast(3, 13)) return null;
        return "they need Python 3.13 or later, and this is " + v + " (CPython 3.12 aborts creating a second isolated "
                + "interpreter once datetime was imported)";
    }

    /** "jwsgi/VERSION", the environ's SERVER_SOFTWARE. */
    public static String serverSoftware() {
        String v = PythonApp.class.getPackage().getImplementationVersion();
        return "jwsgi/" + (v == null ? "dev" : v);
    }

    /**
     * Imports the app (in each sub-interpreter, when there are some), starts the threads that run
     * its requests, and puts back any signal handler the import changed. When it cannot, says why
     * in the log (the traceback, a one-line reason) and throws.
     *
     * @return the app as the (first) interpreter imported it
     * @throws AppLoadException when the app cannot be imported
     * @throws PythonStartupException when a sub-interpreter cannot be created
     */
    public synchronized WsgiApplication load() {
        if (serving || closed) throw new IllegalStateException("the app was loaded already, or closed");
        WsgiApplication app;
        try {
            if (options.pool().interpreters() > 0) {
                app = pool.startInterpreters(options.app(), options.facts());
            } else {
                app = WsgiApplication.load(runtime, options.app(), options.facts());
                pool.start(app);
            }
        } catch (AppLoadException e) {
            logLoadFailure(e);
            throw e;
        } catch (PythonStartupException e) {
            LOG.error("Cannot create a sub-interpreter: {}", e.getMessage());
            throw e;
        }
        List<String> changed = runtime.restoreSignals();
        if (!changed.isEmpty()) {
            LOG.warn("The app changed the handlers of {}; restored the server's (signals are the server's to handle)", changed);
        }
        serving = true;
        return app;
    }

    private void logLoadFailure(AppLoadException e) {
        if (e.traceback() != null) LOG.error("Failed to load the application '{}':\n{}", options.app().app(), e.traceback().stripTrailing());
        String message = e.getMessage();
        if (message.contains("does not support loading in subinterpreters")) {
            LOG.error("Reason: {}. That extension module cannot be loaded in a sub-interpreter (it uses single-phase "
                    + "initialisation); run the app with process workers (-k sync), or embedded in the main interpreter", message);
        } else {
            LOG.error("Reason: {}", message);
        }
    }

    /**
     * With a timeout, starts the watchdog that interrupts requests running past it (logging their
     * Python stack) and answers them 504; nothing without one.
     *
     * @param name   how its log lines name this app, e.g. "worker 2, pid 4242"
     * @param giveUp what to do about a request that cannot be stopped
     */
    public synchronized void watch(String name, Watchdog.GiveUp giveUp) {
        if (options.timeout().isZero() || watchdog != null || closed) return;
        watchdog = new Watchdog(pool, runtime, options.timeout(), name, giveUp);
        watchdog.start();
    }

    /**
     * Queues a request for the app's Python threads (or runs it on the calling thread, when the
     * pool runs inline: the command-line server's own threads). Answers 503 at once, without
     * queueing, when {@code maxQueued} requests wait already or the app is not serving.
     *
     * @throws IllegalStateException when the pool runs inline and the caller is a virtual thread
     *         (options not made by {@link PythonAppOptions#builder}): Python must never run on one
     */
    public void submit(Exchange exchange) {
        if (inline && Thread.currentThread().isVirtual()) {
            throw new IllegalStateException("this app runs requests on the threads that submit them, and " + Thread.currentThread()
                    + " is virtual: Python must never run on a virtual thread; give the app threads of its own"
                    + " (WorkerPool.Options.onDedicatedThreads, as PythonAppOptions.builder does)");
        }
        if (!serving) {
            exchange.sendError(503, NOT_SERVING);
            return;
        }
        int bound = options.maxQueued();
        if (bound > 0 && pool.backlog() >= bound) {
            if (options.pool().timings() != null) options.pool().timings().overloaded();
            exchange.sendError(503, OVERLOADED);
            logOverload(bound);
            return;
        }
        pool.submit(exchange);
    }

    /** One warning per interval at most: under overload, a line per refusal would add to it. */
    private void logOverload(int bound) {
        long refused = refusedSinceLog.incrementAndGet();
        long last = lastOverloadLog.get();
        long now = System.nanoTime();
        if (now - last < OVERLOAD_LOG_INTERVAL_NANOS || !lastOverloadLog.compareAndSet(last, now)) return;
        refusedSinceLog.addAndGet(-refused);
        LOG.warn("Overloaded: {} request(s) refused with 503, as {} were already waiting for a Python thread"
                + " (raise --backlog or --threads, or add workers; embedded: maxQueued or threads)", refused, bound);
    }

    public PythonAppOptions options() {
        return options;
    }

    /** The pool that runs the requests, for a server that runs its own HTTP threads around it. */
    public WorkerPool pool() {
        return pool;
    }

    /** The runtime this app holds (shared with the process's other apps). */
    public PythonRuntime runtime() {
        return runtime;
    }

    /** {@link #close(Duration)} with 5 s for running requests. */
    @Override
    public void close() {
        close(CLOSE_WAIT);
    }

    /**
     * Stops the app: no request is taken any more (those still queued are answered 503), the
     * watchdog stops, the threads end once idle, and the runtime is given back, which the last
     * app to close finalises (after waiting up to {@code wait} for threads still in Python; one
     * still there after it keeps Python from being finalised, which is safe). Idempotent.
     */
    public void close(Duration wait) {
        Watchdog dog;
        synchronized (this) {
            if (closed) return;
            closed = true;
            serving = false;
            dog = watchdog;
        }
        long deadline = System.nanoTime() + wait.toNanos();
        if (dog != null) dog.close();
        pool.stop(wait.toMillis());
        boolean finalised = runtime.release(Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
        if (finalised) LOG.info("Stopped {}; Python finalised", options.app().app());
        else LOG.debug("Stopped {}", options.app().app());
    }

    /** A hung request of an embedded app: nothing replaces its thread, the log says so. */
    private static final class EmbeddedGiveUp implements Watchdog.GiveUp {
        @Override
        public void hungRequest(String request) {
            // Nothing to do: unlike a worker process, an embedding application has no replacement.
        }

        @Override
        public String consequence() {
            return "its Python thread stays blocked in it: the app has one thread fewer until the process restarts";
        }
    }
}
