package jwsgi.wsgi;

import java.io.IOException;
import java.lang.foreign.MemorySegment;

import jwsgi.python.CPython;
import jwsgi.python.Interpreter;
import jwsgi.python.JavaFunction;
import jwsgi.python.PythonException;
import jwsgi.python.PythonRuntime;
import jwsgi.python.PythonShutdownException;
import jwsgi.python.PythonThread;
import jwsgi.python.StringCodec;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs WSGI requests on one platform thread, with the thread's own, permanent thread state and
 * the parts every request goes through, made once when the thread first runs a request.
 *
 * <p>Per request ({@link #run}): take the GIL; build the environ ({@link EnvironBuilder}) with
 * its {@link WsgiInput}; call pre_request; call the app with {@link StartResponse}'s
 * {@code start_response}; hand its result to the {@link ResponseBody}, which iterates and
 * closes it; release the GIL; only then end the exchange as the {@link Outcome} says, and call
 * post_request last.
 *
 * <p>The watchdog reads {@link #clock} and {@link #describeCurrent}, and may
 * {@link #answerInPlace answer} a hung request itself; the clock decides which of the two
 * answers, and the runner discards its own outcome when the watchdog did.
 *
 * <p>Threads: the thread that created it, except what the watchdog uses ({@link #clock},
 * {@link #pythonThreadId}, {@link #describeCurrent}, {@link #answerInPlace}, {@link #owner}).
 * GIL: {@link #run} takes and releases it; it is never held between requests.
 */
final class RequestRunner {
    private static final Logger LOG = LoggerFactory.getLogger(RequestRunner.class);

    private final PythonRuntime runtime;
    private final WsgiApplication app;
    private final PythonThread thread;
    private final Interpreter py;
    private final CPython api;
    private final StringCodec codec;
    private final EnvironBuilder environ;
    private final WsgiInput input;
    /** The {@code write} callable start_response returns. */
    private final MemorySegment write;
    private final StartResponse start;
    private final ResponseBody body;
    /** False on an HTTP thread, which must never wait for the network: it does other connections' I/O. */
    private final boolean mayWait;
    private final RequestHooks hooks;
    /** --max-requests, or null. */
    private final RequestCounter counter;
    /** Told how long each request waited (--metrics-bind), or null. */
    private final RequestTimings timings;
    /** When the current request started, for the watchdog; it also decides who answers a hung request. */
    final RequestClock clock;
    /** Python's id of this thread ({@code threading.get_ident()}): where the watchdog raises its exception. */
    final long pythonThreadId;
    private final LoggedEnvironReader logged;
    /** The environ and req of the request just answered, kept for post_request; NULL otherwise. */
    private MemorySegment postEnviron = MemorySegment.NULL;
    private MemorySegment postReq = MemorySegment.NULL;
    /** The request being run, or null between requests. */
    private Exchange current;

    /**
     * Makes the parts of the calling platform thread, which owns {@code thread}, a thread state in
     * the app's interpreter (released by {@link #close}).
     *
     * @param mayWait whether this thread may block waiting for the network
     * @throws PythonShutdownException when the runtime is shutting down
     */
    RequestRunner(PythonRuntime runtime, PythonThread thread, WsgiApplication app, boolean mayWait, RunnerOptions options) {
        this.runtime = runtime;
        this.app = app;
        this.thread = thread;
        this.mayWait = mayWait;
        this.hooks = options.hooks();
        this.counter = options.counter();
        this.timings = options.timings();
        this.clock = new RequestClock(options.timed());
        thread.enter();
        try {
            py = thread.interpreter();
            api = py.api();
            pythonThreadId = api.threadIdent();
            codec = new StringCodec(py);
            environ = new EnvironBuilder(app, codec);
            input = new WsgiInput(py, codec, thread, app, mayWait);
            write = py.function("write", this::write);
            start = new StartResponse(py, codec, write);
            body = new ResponseBody(py, codec, thread, start, clock, app.fileWrapper, mayWait);
            logged = new LoggedEnvironReader(py, codec, options.loggedEnvironKeys());
        } finally {
            thread.exit();
        }
    }

    /** Releases the parts and the thread state; the thread must not run requests afterwards. */
    void close() {
        try {
            thread.enter();
        } catch (PythonShutdownException e) {
            return;  // finalisation releases everything
        }
        try {
            start.close();
            input.close();
            api.decRef(write);
            logged.close();
            codec.close();
        } finally {
            thread.exit();
        }
        runtime.detach(thread);
    }

    /** Runs one request. Never throws: every failure becomes a response or a closed connection. */
    void run(Exchange ex) {
        run(ex, 0);
    }

    /** Runs one request that waited {@code queueNanos} for this thread. */
    void run(Exchange ex, long queueNanos) {
        long begin = timings == null ? 0 : System.nanoTime();
        try {
            thread.enter();
        } catch (PythonShutdownException e) {
            Outcome.Failure.SHUTTING_DOWN.send(ex);
            return;
        }
        if (timings != null && !ex.warmUp()) timings.started(queueNanos, System.nanoTime() - begin);
        Outcome outcome;
        try {
            outcome = respond(ex);
        } finally {
            current = null;
            thread.exit();
        }
        complete(ex, outcome);
        if (!CPython.isNull(postEnviron)) postRequest(ex, outcome);
        if (counter != null && !ex.warmUp()) counter.served();
    }

    /** With the GIL: the request up to its outcome. Never throws. */
    private Outcome respond(Exchange ex) {
        current = ex;
        clock.start();
        start.begin();
        body.begin(ex);
        Outcome outcome;
        try {
            outcome = callWithEnviron(ex);
        } catch (ResponseBody.TakenOver e) {
            outcome = Outcome.DISCARDED;
        } catch (RuntimeException | Error e) {
            LOG.error("jwsgi internal error handling {} {}", ex.method(), ex.rawTarget(), e);
            outcome = body.flushed() ? new Outcome.Abort(e) : Outcome.INTERNAL_ERROR;
        } finally {
            start.end();
            input.end();
        }
        return endTiming() ? outcome : Outcome.DISCARDED;
    }

    /** Builds the environ, runs pre_request and the app; keeps the environ for post_request, when there is one. */
    private Outcome callWithEnviron(Exchange ex) {
        MemorySegment env = environ(ex);
        MemorySegment req = MemorySegment.NULL;
        boolean hooked = hooks != null && !ex.warmUp();
        try {
            if (hooked && hooks.hasPreRequest()) {
                req = hooks.preRequest(env);
                if (CPython.isNull(req)) {
                    PythonException error = py.fetchError();
                    LOG.error("Error in the pre_request hook for {} {}\n{}", ex.method(), ex.rawTarget(), error.traceback().stripTrailing());
                    return Outcome.INTERNAL_ERROR;
                }
            }
            return callApp(ex.warmUp() ? app.warmUp : app.callable, env);
        } finally {
            if (logged.reads() && clock.claim()) ex.loggedEnviron(logged.read(env));
            if (hooked && hooks.hasPostRequest()) {
                postEnviron = env;
                postReq = req;
            } else {
                api.decRef(req);
                api.decRef(env);
            }
        }
    }

    /** A new reference to the environ of {@code ex}. */
    private MemorySegment environ(Exchange ex) {
        MemorySegment in = input.open(ex);
        try {
            return environ.build(ex, in);
        } finally {
            api.decRef(in);
        }
    }

    /** Calls {@code callable} (the app) with {@code env} (borrowed) and hands its result to the body. */
    private Outcome callApp(MemorySegment callable, MemorySegment env) {
        MemorySegment result = api.call(callable, env, start.function());
        if (CPython.isNull(result)) return body.failed(py.fetchError());
        try {
            return body.respond(result);
        } finally {
            api.decRef(result);
        }
    }

    /** The {@code write(data)} callable: {@link StartResponse} checks the call, the body sends the bytes. */
    private MemorySegment write(JavaFunction.Arguments args) {
        MemorySegment data = start.writable(args);
        return CPython.isNull(data) ? data : body.write(data);
    }

    /**
     * Ends the timed part of a request, with the GIL held: clears the watchdog's exception if it
     * was raised too late to reach the app. False when the watchdog answered in the runner's place.
     */
    private boolean endTiming() {
        boolean ours = clock.stop();
        if (clock.takeInterrupted()) api.threadStateSetAsyncExc(pythonThreadId, MemorySegment.NULL);
        return ours;
    }

    /** Without the GIL: ends the exchange as {@code outcome} says. */
    private void complete(Exchange ex, Outcome outcome) {
        switch (outcome) {
            case Outcome.Last last -> {
                try {
                    ex.flush(true, mayWait);
                } catch (IOException e) {
                    LOG.debug("client gone before the end of {} {}: {}", ex.method(), ex.rawTarget(), e.toString());
                }
            }
            case Outcome.File f -> ex.sendFile(f.channel(), f.position(), f.length());
            case Outcome.Error e -> e.failure().send(ex);
            case Outcome.Abort a -> ex.abort(a.cause());
            case Outcome.Discarded d -> { }
        }
    }

    /**
     * gunicorn calls post_request once the response is written, so a slow hook delays the next
     * request on this thread, never this response.
     */
    private void postRequest(Exchange ex, Outcome outcome) {
        MemorySegment env = postEnviron;
        MemorySegment req = postReq;
        postEnviron = MemorySegment.NULL;
        postReq = MemorySegment.NULL;
        try {
            thread.enter();
        } catch (PythonShutdownException e) {
            return;  // the references went with the interpreter
        }
        try {
            ResponseHead head = outcome instanceof Outcome.Error || outcome instanceof Outcome.Discarded ? null : start.head();
            String status = switch (outcome) {
                case Outcome.Error(Outcome.Failure failure) -> failure.statusLine();
                case Outcome.Discarded discarded -> Outcome.Failure.TIMEOUT.statusLine();
                default -> head == null ? Outcome.Failure.INTERNAL.statusLine() : head.statusLine();
            };
            if (!hooks.postRequest(req, env, status, head, body.bytes())) {
                PythonException error = py.fetchError();
                LOG.error("Exception in post_request hook for {} {}\n{}", ex.method(), ex.rawTarget(), error.traceback().stripTrailing());
            }
        } finally {
            api.decRef(req);
            api.decRef(env);
            thread.exit();
        }
    }

    // ---- the watchdog's side ------------------------------------------------------------------

    /**
     * Answers 504 in the runner's place when the request that had {@code state} is still
     * unanswered; the runner will discard its own outcome.
     */
    boolean answerInPlace(long state) {
        Exchange ex = current;
        if (ex == null || !clock.takeOver(state)) return false;
        Outcome.Failure.TIMEOUT.send(ex);
        return true;
    }

    /** "METHOD TARGET" of the request being run, or null between requests. */
    String describeCurrent() {
        Exchange ex = current;
        return ex == null ? null : ex.method() + " " + ex.rawTarget();
    }

    /** The platform thread this runner runs on. */
    Thread owner() {
        return thread.owner();
    }

    WsgiApplication app() {
        return app;
    }
}
