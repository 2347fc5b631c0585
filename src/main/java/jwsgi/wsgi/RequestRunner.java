package jwsgi.wsgi;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

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

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Everything one platform thread needs to run WSGI requests: its own, permanent thread state
 * and the Java functions bound to it, created once when the thread first runs a request.
 *
 * <p>Per request: take the GIL, build the environ, call the app, iterate its result (copying
 * each chunk out of Python while the GIL is held), call {@code close()} exactly once, release
 * the GIL; only then hand the last bytes to the HTTP layer. Between chunks of a streamed
 * response, and while the app waits for its request body, the GIL is released.
 *
 * <p>{@code start_response}, {@code write} and the streamed input's {@code readinto} are Java
 * functions bound to this runner, made once; they act on the request the runner is running,
 * and refuse to act once that request is over.
 *
 * <p>Threads: the thread that created it only.
 */
final class RequestRunner {
    private static final Logger LOG = LoggerFactory.getLogger(RequestRunner.class);
    private static final MemorySegment CLOSE = Arena.global().allocateFrom("close");

    private final PythonRuntime runtime;
    private final WsgiApplication app;
    private final PythonThread thread;
    private final Interpreter py;
    private final CPython api;
    private final StringCodec codec;
    private final EnvironBuilder environ;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment bufferView = arena.allocate(CPython.PY_BUFFER_BYTES, 8);
    private final MemorySegment startResponse;
    private final MemorySegment write;
    private final MemorySegment readinto;
    /** False on an HTTP thread, which must never wait for the network: it does other connections' I/O. */
    private final boolean mayWait;
    private final RequestHooks hooks;
    /** --max-requests, or null. */
    private final RequestCounter counter;
    /** When the current request started, for the watchdog; it also decides who answers a hung request. */
    final RequestClock clock;
    /** Python's id of this thread ({@code threading.get_ident()}): where the watchdog raises its exception. */
    final long pythonThreadId;
    /** Interned keys of the environ values the access log shows. */
    private final MemorySegment[] loggedKeys;
    /** The environ and req of the request just answered, kept for post_request; NULL otherwise. */
    private MemorySegment postEnviron = MemorySegment.NULL;
    private MemorySegment postReq = MemorySegment.NULL;

    /** The request being run, or null between requests. */
    private Exchange current;
    private long token;
    private ResponseHead head;
    private String invalidHead;
    /** PEP 3333's "headers sent": the app produced its first body byte; exc_info must now re-raise. */
    private boolean headersSent;
    /** Bytes reached the HTTP layer: an error can no longer become a 500, only a closed connection. */
    private boolean flushed;
    private long bodyBytes;
    private boolean truncated;

    /**
     * Makes the functions of the calling platform thread, which owns {@code thread}, a thread
     * state in the app's interpreter (it releases it in {@link #close}).
     *
     * @param mayWait whether this thread may block waiting for the network
     * @throws PythonShutdownException when the runtime is shutting down
     */
    RequestRunner(PythonRuntime runtime, PythonThread thread, WsgiApplication app, boolean mayWait, RunnerOptions options) {
        this.runtime = runtime;
        this.app = app;
        this.mayWait = mayWait;
        this.hooks = options.hooks();
        this.counter = options.counter();
        this.clock = new RequestClock(options.timed());
        List<String> loggedEnvironKeys = options.loggedEnvironKeys();
        this.loggedKeys = new MemorySegment[loggedEnvironKeys.size()];
        this.thread = thread;
        thread.enter();
        try {
            py = thread.interpreter();
            api = py.api();
            pythonThreadId = api.threadIdent();
            codec = new StringCodec(py);
            environ = new EnvironBuilder(app, codec);
            startResponse = py.function("start_response", this::startResponse);
            write = py.function("write", this::write);
            readinto = py.function("readinto", this::readinto);
            for (int i = 0; i < loggedKeys.length; i++) loggedKeys[i] = py.internedString(loggedEnvironKeys.get(i));
        } finally {
            thread.exit();
        }
    }

    /** Releases the functions and the thread state; the thread must not run requests afterwards. */
    void close() {
        try {
            thread.enter();
        } catch (PythonShutdownException e) {
            return;  // finalisation releases everything
        }
        try {
            api.decRef(startResponse);
            api.decRef(write);
            api.decRef(readinto);
            for (MemorySegment key : loggedKeys) api.decRef(key);
            codec.close();
        } finally {
            thread.exit();
        }
        arena.close();
        runtime.detach(thread);
    }

    /** Runs one request. Never throws: every failure becomes a response or a closed connection. */
    void run(Exchange ex) {
        Outcome outcome;
        try {
            thread.enter();
        } catch (PythonShutdownException e) {
            ex.sendError(503, "Service Unavailable: the server is shutting down");
            return;
        }
        try {
            begin(ex);
            outcome = call(ex);
            if (!endTiming()) outcome = DISCARDED;
        } catch (RuntimeException | Error e) {
            LOG.error("jwsgi internal error handling {} {}", ex.method(), ex.rawTarget(), e);
            outcome = !endTiming() ? DISCARDED : flushed ? new Outcome.Abort(e) : new Outcome.Error(500);
        } finally {
            current = null;
            thread.exit();
        }
        finish(ex, outcome);
        if (!CPython.isNull(postEnviron)) postRequest(ex, outcome);
        if (counter != null) counter.served();
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

    /**
     * Watchdog: answers {@code status} in the runner's place when the request that had
     * {@code state} is still unanswered; the runner will discard its own outcome.
     */
    boolean answerInPlace(long state, int status, String message) {
        Exchange ex = current;
        if (ex == null || !clock.takeOver(state)) return false;
        ex.sendError(status, message);
        return true;
    }

    /** Watchdog: "METHOD TARGET" of the request being run, or null between requests. */
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
            ResponseHead sent = outcome instanceof Outcome.Error || outcome instanceof Outcome.Discarded ? null : head;
            String status = outcome instanceof Outcome.Error(int code) ? code + " " + reason(code).split(":")[0]
                    : outcome instanceof Outcome.Discarded ? "504 Gateway Timeout"
                    : head == null ? "500 Internal Server Error" : head.status() + (head.reason().isEmpty() ? "" : " " + head.reason());
            if (!hooks.postRequest(req, env, status, sent, bodyBytes)) {
                PythonException error = py.fetchError();
                LOG.error("Exception in post_request hook for {} {}\n{}", ex.method(), ex.rawTarget(), error.traceback().stripTrailing());
            }
        } finally {
            api.decRef(req);
            api.decRef(env);
            thread.exit();
        }
    }

    /** Hands the access log the environ values its format shows, as the app left them. */
    private void logEnviron(Exchange ex, MemorySegment env) {
        String[] values = new String[loggedKeys.length];
        for (int i = 0; i < loggedKeys.length; i++) {
            MemorySegment v = api.dictGetItem(env, loggedKeys[i]);
            if (CPython.isNull(v)) continue;
            try {
                if (api.isUnicode(v)) {
                    values[i] = codec.toJava(v);
                } else {
                    MemorySegment s = py.checked(api.str(v));
                    try {
                        values[i] = codec.toJava(s);
                    } finally {
                        api.decRef(s);
                    }
                }
            } catch (PythonException e) {
                values[i] = null;  // unprintable (lone surrogates): the log shows "-"
            }
        }
        ex.loggedEnviron(values);
    }

    private void begin(Exchange ex) {
        current = ex;
        clock.start();
        token++;
        head = null;
        invalidHead = null;
        headersSent = false;
        flushed = false;
        bodyBytes = 0;
        truncated = false;
    }

    /** What to do with the response once the GIL is released. */
    private sealed interface Outcome {
        record Last() implements Outcome {}
        record File(FileChannel channel, long position, long length) implements Outcome {}
        record Error(int status) implements Outcome {}
        record Abort(Throwable cause) implements Outcome {}
        /** The watchdog answered the request in the runner's place: nothing more to send. */
        record Discarded() implements Outcome {}
    }

    private static final Outcome DISCARDED = new Outcome.Discarded();

    private static String reason(int status) {
        return status == 504 ? "Gateway Timeout: the app ran longer than the server's --timeout" : "Internal Server Error";
    }

    private void finish(Exchange ex, Outcome outcome) {
        switch (outcome) {
            case Outcome.Last last -> {
                try {
                    ex.flush(true, mayWait);
                } catch (IOException e) {
                    LOG.debug("client gone before the end of {} {}: {}", ex.method(), ex.rawTarget(), e.toString());
                }
            }
            case Outcome.File f -> ex.sendFile(f.channel(), f.position(), f.length());
            case Outcome.Error e -> ex.sendError(e.status(), reason(e.status()));
            case Outcome.Abort a -> ex.abort(a.cause());
            case Outcome.Discarded d -> { }
        }
    }

    /** With the GIL: the app call, the iteration and close(). */
    private Outcome call(Exchange ex) {
        MemorySegment input = newInput(ex);
        MemorySegment env;
        try {
            env = environ.build(ex, input);
        } finally {
            api.decRef(input);
        }
        MemorySegment req = MemorySegment.NULL;
        try {
            if (hooks != null && hooks.hasPreRequest()) {
                req = hooks.preRequest(env);
                if (CPython.isNull(req)) {
                    PythonException error = py.fetchError();
                    LOG.error("Error in the pre_request hook for {} {}\n{}", ex.method(), ex.rawTarget(), error.traceback().stripTrailing());
                    return new Outcome.Error(500);
                }
            }
            return run(ex, env);
        } finally {
            if (loggedKeys.length > 0 && clock.claim()) logEnviron(ex, env);
            if (hooks != null && hooks.hasPostRequest()) {
                postEnviron = env;
                postReq = req;
            } else {
                api.decRef(req);
                api.decRef(env);
            }
        }
    }

    /** The app call, its iteration and close(), for an environ (borrowed). */
    private Outcome run(Exchange ex, MemorySegment env) {
        MemorySegment result = api.call(app.callable, env, startResponse);
        if (CPython.isNull(result)) {
            return appFailed(ex, py.fetchError());
        }
        Outcome outcome;
        boolean closed = false;
        try {
            if (api.isExactType(result, app.fileWrapper)) {
                Outcome file = fileOutcome(ex, result);
                if (file != null) {
                    closed = true;
                    return file;
                }
            }
            outcome = iterate(ex, result);
        } catch (ClientGone e) {
            LOG.debug("client gone during {} {}: {}", ex.method(), ex.rawTarget(), e.getMessage());
            outcome = new Outcome.Abort(e);
        } finally {
            if (!closed) {
                PythonException closeError = close(result);
                if (closeError != null) {
                    LOG.error("Error closing the response of {} {}\n{}", ex.method(), ex.rawTarget(), closeError.traceback().stripTrailing());
                }
            }
            api.decRef(result);
        }
        return outcome;
    }

    private Outcome iterate(Exchange ex, MemorySegment result) {
        if (api.isExactList(result)) {
            long n = api.listSize(result);
            for (long i = 0; i < n; i++) {
                Outcome failure = chunk(ex, api.listGetItem(result, i));
                if (failure != null) return failure;
            }
        } else {
            MemorySegment it = api.getIter(result);
            if (CPython.isNull(it)) return appFailed(ex, py.fetchError());
            try {
                while (true) {
                    MemorySegment item = api.iterNext(it);
                    if (CPython.isNull(item)) {
                        if (!CPython.isNull(api.errOccurred())) return appFailed(ex, py.fetchError());
                        break;
                    }
                    Outcome failure;
                    try {
                        failure = chunk(ex, item);
                    } finally {
                        api.decRef(item);
                    }
                    if (failure != null) return failure;
                }
            } finally {
                api.decRef(it);
            }
        }
        return end(ex);
    }

    /** Takes one body chunk (borrowed); returns an outcome only when the response must stop. */
    private Outcome chunk(Exchange ex, MemorySegment item) {
        MemorySegment data = codec.bytesView(item);
        if (CPython.isNull(data)) {
            api.errClear();
            return appFailed(ex, new PythonException("TypeError", "the response iterable yielded a "
                    + typeName(item) + "; WSGI response bodies must be bytes", "", false));
        }
        if (data.byteSize() == 0) return null;
        Outcome bad = checkHead(ex);
        if (bad != null) return bad;
        send(ex, data);
        return null;
    }

    /** Stages body bytes, flushing what was staged before so only the last chunk waits for the end. */
    private void send(Exchange ex, MemorySegment data) {
        if (!headersSent) {
            claimOrStop();
            ex.head(head);
            headersSent = true;
        } else {
            flushReleased(ex);
        }
        long length = data.byteSize();
        if (head.contentLength() >= 0 && bodyBytes + length > head.contentLength()) {
            if (!truncated) {
                LOG.error("{} {}: the app sent more than its Content-Length ({}); the excess is not sent",
                        ex.method(), ex.rawTarget(), head.contentLength());
                truncated = true;
            }
            length = Math.max(0, head.contentLength() - bodyBytes);
        }
        if (!head.forbidsBody()) ex.stage(data, length);
        bodyBytes += length;
    }

    private void flushReleased(Exchange ex) {
        flushed = true;
        IOException failure = thread.released(() -> {
            try {
                ex.flush(false, mayWait);
                return null;
            } catch (IOException e) {
                return e;
            }
        });
        if (failure != null) throw new ClientGone(failure);
    }

    private Outcome end(Exchange ex) {
        Outcome bad = checkHead(ex);
        if (bad != null) return bad;
        if (head.contentLength() >= 0 && bodyBytes < head.contentLength() && !head.forbidsBody() && !"HEAD".equals(ex.method())) {
            LOG.error("{} {}: the app sent {} bytes but declared Content-Length {}; closing the connection",
                    ex.method(), ex.rawTarget(), bodyBytes, head.contentLength());
            if (!flushed) flushQuietly(ex);
            return new Outcome.Abort(new IOException("response shorter than its Content-Length"));
        }
        if (!headersSent) {
            claimOrStop();
            ex.head(head);
        }
        return new Outcome.Last();
    }

    private void flushQuietly(Exchange ex) {
        try {
            flushReleased(ex);
        } catch (ClientGone ignored) {
            // the abort that follows closes the connection anyway
        }
    }

    /** The head must exist and be valid before the first body byte (or the end). */
    private Outcome checkHead(Exchange ex) {
        if (head != null) return null;
        String why = invalidHead != null ? "its response head is invalid: " + invalidHead
                : "the app returned without calling start_response()";
        LOG.error("Error handling request {} {}: {}", ex.method(), ex.rawTarget(), why);
        return new Outcome.Error(500);
    }

    private Outcome appFailed(Exchange ex, PythonException error) {
        if (clock.interrupted()) {
            // The watchdog's RequestTimeout: it already logged the request and its stack.
            LOG.error("{} {} stopped after --timeout ({}); {}", ex.method(), ex.rawTarget(), error.getMessage(),
                    flushed ? "its response is cut short" : "answered 504");
            return flushed ? new Outcome.Abort(error) : new Outcome.Error(504);
        }
        LOG.error("Error handling request {} {}\n{}", ex.method(), ex.rawTarget(),
                error.traceback().isEmpty() ? error.getMessage() : error.traceback().stripTrailing());
        return flushed ? new Outcome.Abort(error) : new Outcome.Error(500);
    }

    /** Calls {@code result.close()} when it exists; returns its exception, if any. */
    private PythonException close(MemorySegment result) {
        // Most apps return a list, which has no close(): skip the lookup and its AttributeError.
        if (api.isExactList(result)) return null;
        MemorySegment closeFn = api.getAttr(result, CLOSE);
        if (CPython.isNull(closeFn)) {
            api.errClear();
            return null;
        }
        try {
            MemorySegment r = api.call(closeFn);
            if (CPython.isNull(r)) return py.fetchError();
            api.decRef(r);
            return null;
        } finally {
            api.decRef(closeFn);
        }
    }

    /**
     * wsgi.file_wrapper over a real file: the file is re-opened through /proc/self/fd and sent
     * from Java, without its bytes passing through Python. Returns null to iterate instead.
     */
    private Outcome fileOutcome(Exchange ex, MemorySegment wrapper) {
        claimOrStop();
        long fd = callLong(wrapper, "filelike", "fileno");
        long position = fd < 0 ? -1 : callLong(wrapper, "filelike", "tell");
        if (position < 0) return null;
        Path path = Path.of("/proc/self/fd/" + fd);
        if (!Files.isRegularFile(path)) return null;
        FileChannel channel;
        long size;
        try {
            channel = FileChannel.open(path, StandardOpenOption.READ);
            size = channel.size();
        } catch (IOException e) {
            return null;
        }
        Outcome bad = checkHead(ex);
        PythonException closeError = close(wrapper);
        if (closeError != null) LOG.error("Error closing the file of {} {}\n{}", ex.method(), ex.rawTarget(), closeError.traceback());
        if (bad != null) {
            closeChannel(channel);
            return bad;
        }
        long length = Math.max(0, size - position);
        if (head.contentLength() >= 0) length = Math.min(length, head.contentLength());
        if (head.forbidsBody()) length = 0;
        ex.head(head);
        headersSent = true;
        flushed = true;
        return new Outcome.File(channel, position, length);
    }

    private static void closeChannel(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // read-only channel: nothing was lost
        }
    }

    /** {@code o.attr.method()} as a non-negative long, or -1 (error cleared) when that fails. */
    private long callLong(MemorySegment o, String attr, String method) {
        MemorySegment target = py.getAttr(o, attr);
        if (CPython.isNull(target)) {
            api.errClear();
            return -1;
        }
        try {
            MemorySegment fn = py.getAttr(target, method);
            if (CPython.isNull(fn)) {
                api.errClear();
                return -1;
            }
            try {
                MemorySegment r = api.call(fn);
                if (CPython.isNull(r)) {
                    api.errClear();
                    return -1;
                }
                try {
                    long v = api.longValue(r);
                    if (v == -1 && !CPython.isNull(api.errOccurred())) {
                        api.errClear();
                        return -1;
                    }
                    return v;
                } finally {
                    api.decRef(r);
                }
            } finally {
                api.decRef(fn);
            }
        } finally {
            api.decRef(target);
        }
    }

    private MemorySegment newInput(Exchange ex) {
        return switch (ex.body()) {
            case Exchange.Body.Buffered b -> {
                ByteBuffer content = b.content();
                int length = content.remaining();
                if (length == 0) yield py.checked(api.call(app.bytesIO));
                MemorySegment data;
                if (content.isDirect()) {
                    data = MemorySegment.ofBuffer(content);
                } else {
                    data = codec.scratch(length);
                    MemorySegment.copy(MemorySegment.ofBuffer(content), 0, data, 0, length);
                }
                MemorySegment bytes = py.checked(api.bytesFrom(data, length));
                try {
                    yield py.checked(api.call(app.bytesIO, bytes));
                } finally {
                    api.decRef(bytes);
                }
            }
            case Exchange.Body.Streamed s -> {
                MemorySegment t = api.longFrom(token);
                try {
                    yield py.checked(api.call(app.streamedInput, readinto, t));
                } finally {
                    api.decRef(t);
                }
            }
        };
    }

    // ---- functions called by the app --------------------------------------------------------

    /** {@code start_response(status, response_headers, exc_info=None)} per PEP 3333. */
    private MemorySegment startResponse(JavaFunction.Arguments args) {
        if (current == null) return raise(CPython.Exc.RUNTIME_ERROR, "start_response() called outside of its request");
        if (args.count() < 2 || args.count() > 3) {
            return raise(CPython.Exc.TYPE_ERROR, "start_response() takes 2 or 3 arguments (" + args.count() + " given)");
        }
        MemorySegment excInfo = args.count() == 3 ? args.get(2) : api.none;
        if (excInfo.address() != api.none.address()) {
            if (headersSent) return reraise(excInfo);
        } else if (head != null || invalidHead != null) {
            return raise(CPython.Exc.RUNTIME_ERROR, "start_response() called a second time without exc_info");
        }
        MemorySegment status = args.get(0);
        MemorySegment headers = args.get(1);
        if (!api.isUnicode(status)) {
            return raise(CPython.Exc.TYPE_ERROR, "status must be a str, not " + typeName(status));
        }
        if (!api.isList(headers)) {
            return raise(CPython.Exc.TYPE_ERROR, "response_headers must be a list, not " + typeName(headers));
        }
        List<HeadRules.RawHeader> raw = new ArrayList<>();
        long n = api.listSize(headers);
        for (long i = 0; i < n; i++) {
            MemorySegment pair = api.listGetItem(headers, i);
            if (!api.isTuple(pair) || api.tupleSize(pair) != 2) {
                return raise(CPython.Exc.TYPE_ERROR, "response_headers[" + i + "] must be a (name, value) tuple, not " + typeName(pair));
            }
            MemorySegment name = api.tupleGetItem(pair, 0);
            MemorySegment value = api.tupleGetItem(pair, 1);
            if (!api.isUnicode(name) || !api.isUnicode(value)) {
                return raise(CPython.Exc.TYPE_ERROR, "response_headers[" + i + "] must hold two str, not ("
                        + typeName(name) + ", " + typeName(value) + ")");
            }
            raw.add(new HeadRules.RawHeader(codec.toJava(name), codec.toJava(value)));
        }
        try {
            head = HeadRules.parse(codec.toJava(status), raw);
            invalidHead = null;
        } catch (InvalidHeadException e) {
            head = null;
            invalidHead = e.getMessage();
            return raise(CPython.Exc.VALUE_ERROR, e.getMessage());
        }
        api.incRef(write);
        return write;
    }

    /** Re-raises {@code exc_info} (a borrowed tuple), as PEP 3333 requires once headers are sent. */
    private MemorySegment reraise(MemorySegment excInfo) {
        if (!api.isTuple(excInfo) || api.tupleSize(excInfo) != 3) {
            return raise(CPython.Exc.TYPE_ERROR, "exc_info must be a (type, value, traceback) tuple");
        }
        MemorySegment type = api.tupleGetItem(excInfo, 0);
        MemorySegment value = api.tupleGetItem(excInfo, 1);
        MemorySegment tb = api.tupleGetItem(excInfo, 2);
        api.incRef(type);
        api.incRef(value);
        MemorySegment traceback = tb.address() == api.none.address() ? MemorySegment.NULL : tb;
        api.incRef(traceback);
        api.errRestore(type, value, traceback);
        return MemorySegment.NULL;
    }

    /** The {@code write(data)} callable returned by start_response. */
    private MemorySegment write(JavaFunction.Arguments args) {
        Exchange ex = current;
        if (ex == null) return raise(CPython.Exc.RUNTIME_ERROR, "write() called outside of its request");
        if (args.count() != 1) return raise(CPython.Exc.TYPE_ERROR, "write() takes exactly one argument");
        if (head == null) {
            return raise(CPython.Exc.RUNTIME_ERROR, invalidHead != null
                    ? "write() after an invalid start_response(): " + invalidHead : "write() called before start_response()");
        }
        MemorySegment data = codec.bytesView(args.get(0));
        if (CPython.isNull(data)) {
            api.errClear();
            return raise(CPython.Exc.TYPE_ERROR, "write() argument must be bytes, not " + typeName(args.get(0)));
        }
        if (data.byteSize() > 0) {
            try {
                send(ex, data);
                flushReleased(ex);
            } catch (ClientGone e) {
                return raise(CPython.Exc.OS_ERROR, "client disconnected: " + e.getMessage());
            }
        }
        api.incRef(api.none);
        return api.none;
    }

    /** {@code readinto(token, buffer)} under the streamed wsgi.input. */
    private MemorySegment readinto(JavaFunction.Arguments args) {
        if (args.count() != 2) return raise(CPython.Exc.TYPE_ERROR, "readinto() takes 2 arguments");
        long requestToken = api.longValue(args.get(0));
        Exchange ex = current;
        if (ex == null || requestToken != token || !(ex.body() instanceof Exchange.Body.Streamed body)) {
            return raise(CPython.Exc.VALUE_ERROR, "wsgi.input read after its request ended");
        }
        if (!mayWait && body.waitsForClient()) {
            // WorkerPool never runs a streamed body on an HTTP thread: waiting here would deadlock it.
            return raise(CPython.Exc.RUNTIME_ERROR, "jwsgi internal error: streamed request body on an I/O thread");
        }
        if (api.getBuffer(args.get(1), bufferView, CPython.PYBUF_WRITABLE) != 0) return MemorySegment.NULL;
        try {
            long capacity = bufferView.get(JAVA_LONG, CPython.PY_BUFFER_LEN);
            MemorySegment target = bufferView.get(ADDRESS, 0).reinterpret(capacity);
            Object n = thread.released(() -> {
                try {
                    return body.read(target.asByteBuffer());
                } catch (IOException e) {
                    return e;
                }
            });
            if (n instanceof IOException e) {
                return raise(CPython.Exc.OS_ERROR, "error reading the request body: " + e.getMessage());
            }
            int read = (Integer) n;
            return py.checked(api.longFrom(Math.max(read, 0)));
        } finally {
            api.bufferRelease(bufferView);
        }
    }

    private MemorySegment raise(CPython.Exc type, String message) {
        api.raise(type, message);
        return MemorySegment.NULL;
    }

    private String typeName(MemorySegment o) {
        MemorySegment type = py.getAttr(o, "__class__");
        if (CPython.isNull(type)) {
            api.errClear();
            return "object";
        }
        try {
            MemorySegment name = py.getAttr(type, "__name__");
            if (CPython.isNull(name)) {
                api.errClear();
                return "object";
            }
            try {
                return codec.toJava(name);
            } finally {
                api.decRef(name);
            }
        } finally {
            api.decRef(type);
        }
    }

    /** Before the runner first touches the exchange: stops the request when the watchdog answered it already. */
    private void claimOrStop() {
        if (!clock.claim()) throw new ClientGone(new IOException("the request ran past --timeout and was answered 504 in its place"));
    }

    /** The client went away while the response was being sent. */
    private static final class ClientGone extends RuntimeException {
        ClientGone(IOException cause) {
            super(cause.getMessage(), cause, false, false);
        }
    }
}
