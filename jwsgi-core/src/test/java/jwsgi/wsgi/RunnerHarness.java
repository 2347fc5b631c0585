package jwsgi.wsgi;

import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import jwsgi.python.CPython;
import jwsgi.python.Interpreter;
import jwsgi.python.PythonRuntime;
import jwsgi.python.PythonThread;
import jwsgi.testing.EmbeddedPython;
import jwsgi.testing.LogCapture;
import jwsgi.testing.MemoryExchange;

/**
 * One {@link RequestRunner} of the fast tier, on a Python thread of its own in the embedded
 * interpreter ({@link EmbeddedPython}): requests are {@link MemoryExchange}s, run as a worker
 * thread runs them, with the GIL taken and released per request. What the wsgi package logs
 * meanwhile is kept from the console, in {@link #log}.
 *
 * <p>Threads: any; everything runs on the harness's thread, and {@link #run} waits for it.
 */
final class RunnerHarness implements AutoCloseable {
    private static final long WAIT_SECONDS = 30;

    private final LogCapture log = LogCapture.of("jwsgi.wsgi");
    private final ExecutorService executor = Executors.newSingleThreadExecutor(body -> PythonRuntime.newThread("fast-python", body));
    private final WsgiApplication app;
    private final PythonThread thread;
    private final RequestRunner runner;

    RunnerHarness(WsgiApplication app) {
        this(app, new RunnerOptions(null, List.of(), false, null), true);
    }

    /** @param mayWait whether the runner's thread may wait for the network (false: an HTTP thread) */
    RunnerHarness(WsgiApplication app, RunnerOptions options, boolean mayWait) {
        this.app = app;
        this.thread = call(() -> EmbeddedPython.runtime().attach(app.interpreter()));
        this.runner = call(() -> new RequestRunner(EmbeddedPython.runtime(), thread, app, mayWait, options));
    }

    /**
     * The lock of the test classes that use {@link #corpus()}: the app is one per JVM, and reading
     * its events drains them, so two such classes running at once would take each other's.
     */
    static final String CORPUS = "the corpus app";

    /** The corpus app ({@code jwsgi-core/src/test/python/apps/corpus.py}), with no events left from earlier tests. */
    static RunnerHarness corpus() {
        RunnerHarness corpus = new RunnerHarness(EmbeddedPython.app("corpus:application"));
        corpus.events();
        return corpus;
    }

    /** What the wsgi package logged since the harness was made. */
    LogCapture log() {
        return log;
    }

    RequestRunner runner() {
        return runner;
    }

    /** Runs {@code ex} and returns it once its request is over. */
    MemoryExchange run(MemoryExchange ex) {
        call(() -> {
            runner.run(ex);
            return null;
        });
        return ex;
    }

    /** Starts {@code ex} without waiting for it. */
    Future<?> start(MemoryExchange ex) {
        return executor.submit(() -> runner.run(ex));
    }

    /** Runs {@code GET target} and returns it. */
    MemoryExchange get(String target) {
        return run(MemoryExchange.get(target));
    }

    /**
     * Between requests, with the GIL: calls {@code module.function()} (no arguments) in the app's
     * interpreter, as a thread of the app would; returns its result's {@code str()}.
     */
    String python(String module, String function) {
        return call(() -> {
            thread.enter();
            try {
                Interpreter py = thread.interpreter();
                CPython api = py.api();
                MemorySegment m = py.importModule(module);
                MemorySegment result = CPython.isNull(m) ? MemorySegment.NULL : py.callMethod(m, function);
                MemorySegment text = CPython.isNull(result) ? MemorySegment.NULL : api.str(result);
                try {
                    return py.toJava(py.checked(text));  // NULL: throws what the failing step raised
                } finally {
                    api.decRef(text);
                    api.decRef(result);
                    api.decRef(m);
                }
            } finally {
                thread.exit();
            }
        });
    }

    /** What the corpus app recorded since the last call (its {@code /events}), as JSON. */
    String events() {
        return get("/events").text();
    }

    WsgiApplication app() {
        return app;
    }

    /** Runs {@code body} on the harness's thread and returns its result; failures are thrown here. */
    <T> T call(Callable<T> body) {
        try {
            return executor.submit(body).get(WAIT_SECONDS, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) throw r;
            if (e.getCause() instanceof Error err) throw err;
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException | TimeoutException e) {
            throw new IllegalStateException("the Python thread did not finish in " + WAIT_SECONDS + " s", e);
        }
    }

    /** Releases the runner and its thread state, and ends the thread. */
    @Override
    public void close() {
        call(() -> {
            runner.close();
            return null;
        });
        executor.shutdown();
        log.close();
    }
}
