package jwsgi.wsgi;

import java.util.List;
import java.util.concurrent.ThreadFactory;

import jwsgi.python.PythonRuntime;

/**
 * Runs requests on Python threads: {@code --threads N} requests at once, exactly as gunicorn's
 * {@code --threads}, in the main interpreter or in sub-interpreters ({@link Interpreters}).
 *
 * <p>With one thread ({@link Mode#INLINE}, {@link InlineScheduler}) the HTTP thread that parsed
 * a request runs it itself; with more ({@link Mode#THREADS}, {@link ThreadedScheduler}),
 * dedicated Python threads take requests from a queue. Each thread that runs requests has its
 * own {@link RequestRunner} in each interpreter ({@link Runners}).
 *
 * <p>Threads: {@link #submit} from any platform thread; HTTP threads must come from
 * {@link #threadFactory} so their thread states are released when they end.
 */
public final class WorkerPool {
    /** How requests reach Python. */
    public enum Mode { INLINE, THREADS }

    /**
     * How a pool runs its requests. Start from {@link #threads} and add what applies.
     *
     * @param threads           {@code --threads}: requests at once (per interpreter)
     * @param interpreters      sub-interpreters to run requests in; 0 for the main interpreter
     * @param multiplexed       whether a connection may carry several requests at once (HTTP/2):
     *                          Jetty runs a connection's streams one after the other on the thread
     *                          that reads it, so with several sub-interpreters each gets threads
     *                          of its own, or one connection's streams would never run in parallel
     * @param hooks             gunicorn's pre_request/post_request, or null when there are none
     * @param loggedEnvironKeys the environ keys whose final values the access log shows; empty for none
     * @param timed             whether a {@link Watchdog} watches the requests ({@code --timeout})
     * @param counter           counts answered requests for {@code --max-requests}, or null
     * @param timings           told how long each request waited, and of each timeout ({@code --metrics-bind}); or null
     * @param dedicated         whether requests always run on the pool's own threads, even with one:
     *                          the threads that submit them are not the pool's (an embedding
     *                          container's, which may be virtual threads)
     */
    public record Options(int threads, int interpreters, boolean multiplexed, RequestHooks hooks,
                          List<String> loggedEnvironKeys, boolean timed, RequestCounter counter, RequestTimings timings,
                          boolean dedicated) {
        public Options {
            loggedEnvironKeys = List.copyOf(loggedEnvironKeys);
        }

        /** {@code threads} at once in the main interpreter, without hooks, access log, timeout, limit or metrics. */
        public static Options threads(int threads) {
            return new Options(threads, 0, false, null, List.of(), false, null, null, false);
        }

        /** In {@code interpreters} sub-interpreters (0 for the main one), {@code multiplexed} when HTTP/2 is on. */
        public Options inInterpreters(int interpreters, boolean multiplexed) {
            return new Options(threads, interpreters, multiplexed, hooks, loggedEnvironKeys, timed, counter, timings, dedicated);
        }

        public Options withHooks(RequestHooks hooks) {
            return new Options(threads, interpreters, multiplexed, hooks, loggedEnvironKeys, timed, counter, timings, dedicated);
        }

        public Options loggingEnviron(List<String> keys) {
            return new Options(threads, interpreters, multiplexed, hooks, keys, timed, counter, timings, dedicated);
        }

        /** Watched by a {@link Watchdog} when {@code timed}. */
        public Options timed(boolean timed) {
            return new Options(threads, interpreters, multiplexed, hooks, loggedEnvironKeys, timed, counter, timings, dedicated);
        }

        public Options counting(RequestCounter counter) {
            return new Options(threads, interpreters, multiplexed, hooks, loggedEnvironKeys, timed, counter, timings, dedicated);
        }

        public Options measured(RequestTimings timings) {
            return new Options(threads, interpreters, multiplexed, hooks, loggedEnvironKeys, timed, counter, timings, dedicated);
        }

        /** On the pool's own threads only (see {@code dedicated}). */
        public Options onDedicatedThreads() {
            return new Options(threads, interpreters, multiplexed, hooks, loggedEnvironKeys, timed, counter, timings, true);
        }

        /** Inline with one thread, except on dedicated threads and for sub-interpreters serving HTTP/2 (see {@code multiplexed}). */
        Mode mode() {
            return !dedicated && threads == 1 && (interpreters <= 1 || !multiplexed) ? Mode.INLINE : Mode.THREADS;
        }
    }

    private final Options options;
    private final Interpreters interpreters;
    private final Runners runners;
    private final Scheduler scheduler;

    /**
     * Sets the pool up; nothing runs until {@link #start} or {@link #startInterpreters}, so the
     * HTTP layer can be built (and its sockets bound) before the app is imported.
     */
    public WorkerPool(PythonRuntime runtime, Options options) {
        this.options = options;
        this.interpreters = new Interpreters(runtime);
        this.runners = new Runners(runtime, interpreters,
                new RunnerOptions(options.hooks(), options.loggedEnvironKeys(), options.timed(), options.counter(), options.timings()));
        this.scheduler = options.mode() == Mode.INLINE ? new InlineScheduler(interpreters, runners)
                : new ThreadedScheduler(interpreters, runners, options.threads());
    }

    /** Runs {@code app} (main interpreter) from now on; with more than one thread, starts them and waits until each has its thread state. */
    public void start(WsgiApplication app) {
        interpreters.useMain(app);
        if (scheduler instanceof ThreadedScheduler threaded) threaded.startInMain();
    }

    /**
     * Creates the sub-interpreters of the options, each with its own GIL and importing the app
     * itself: the pool runs that many requests in parallel on as many cores. Inline, requests run
     * on the HTTP threads in whichever interpreter is free; otherwise each interpreter has
     * {@code threads} threads taking requests from one queue. Waits until every thread is ready.
     *
     * @return the app as the first interpreter imported it
     * @throws AppLoadException when the app cannot be imported in a sub-interpreter (an extension
     *         module that refuses them, a failing import)
     */
    public WsgiApplication startInterpreters(WsgiApplication.Spec spec, WsgiApplication.Facts facts) {
        return switch (scheduler) {
            case InlineScheduler inline -> interpreters.create(spec, facts, options.interpreters(), 1, null);
            case ThreadedScheduler threaded -> interpreters.create(spec, facts, options.interpreters(), options.threads(),
                    threaded::serveIn);
        };
    }

    public Mode mode() {
        return options.mode();
    }

    /**
     * How many requests run at once on the HTTP threads in INLINE mode: one per interpreter. The
     * HTTP layer gives each its own selector thread, so each runs its connections' requests itself.
     */
    public int inlineParallelism() {
        return Math.max(1, options.interpreters());
    }

    /** Queues a request, or runs it on the calling thread when it may. Never blocks to wait for another request. */
    public void submit(Exchange exchange) {
        scheduler.submit(exchange);
    }

    /** The runners that exist now, each on its own thread: what the watchdog checks. */
    List<RequestRunner> runners() {
        return runners.alive();
    }

    /** Told of each timeout, or null. */
    RequestTimings timings() {
        return options.timings();
    }

    /** Requests waiting for a Python thread. */
    public int backlog() {
        return scheduler.backlog();
    }

    /**
     * Makes the HTTP layer's threads: platform threads with a stack big enough for CPython, which
     * release their Python thread state when they end. They never wait for the network in Python.
     */
    public ThreadFactory threadFactory() {
        return runners.threads("http-", false);
    }

    /**
     * Stops the dedicated threads once they are idle, waiting up to {@code millis} for them to
     * release their thread states. A thread still running a request is left to the runtime's shutdown.
     */
    public void stop(long millis) {
        scheduler.stop(millis);
    }
}
