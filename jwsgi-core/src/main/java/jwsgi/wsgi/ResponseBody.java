package jwsgi.wsgi;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

import jwsgi.python.CPython;
import jwsgi.python.Interpreter;
import jwsgi.python.PythonException;
import jwsgi.python.PythonThread;
import jwsgi.python.StringCodec;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The body of the response a runner is running: iterates the app's result, copies each chunk
 * out of Python into the exchange, holds the response to its Content-Length, sends a
 * {@code wsgi.file_wrapper} over a real file from Java, and calls the result's {@code close()}
 * exactly once, whatever happens.
 *
 * <p>Chunks are held back by one: each is staged and flushed only when the next arrives, so
 * the last one is known when the iteration ends and a single-chunk body gets a Content-Length.
 * The GIL is released around each flush. {@link #begin} resets the body for each request.
 *
 * <p>References: the results given to {@link #respond} are borrowed (the runner releases them).
 *
 * <p>Threads: the runner's thread. GIL: must hold (it releases it around flushes itself).
 */
final class ResponseBody {
    private static final Logger LOG = LoggerFactory.getLogger(ResponseBody.class);
    private static final MemorySegment CLOSE = Arena.global().allocateFrom("close");

    private final Interpreter py;
    private final CPython api;
    private final StringCodec codec;
    private final PythonThread thread;
    private final StartResponse start;
    private final RequestClock clock;
    /** {@code wsgi.file_wrapper}'s type (borrowed from the app). */
    private final MemorySegment fileWrapper;
    /** False on an HTTP thread, which must never wait for the network: it does other connections' I/O. */
    private final boolean mayWait;

    private Exchange ex;
    /** Bytes reached the HTTP layer: an error can no longer become a 500, only a closed connection. */
    private boolean flushed;
    private long bytes;
    private boolean truncated;

    ResponseBody(Interpreter py, StringCodec codec, PythonThread thread, StartResponse start, RequestClock clock,
                 MemorySegment fileWrapper, boolean mayWait) {
        this.py = py;
        this.api = py.api();
        this.codec = codec;
        this.thread = thread;
        this.start = start;
        this.clock = clock;
        this.fileWrapper = fileWrapper;
        this.mayWait = mayWait;
    }

    /** A request begins: nothing sent yet. */
    void begin(Exchange exchange) {
        ex = exchange;
        flushed = false;
        bytes = 0;
        truncated = false;
    }

    /** Whether bytes have reached the HTTP layer. */
    boolean flushed() {
        return flushed;
    }

    /** Body bytes sent, as post_request is told. */
    long bytes() {
        return bytes;
    }

    /**
     * Sends the app's result (borrowed) and calls its {@code close()}, exactly once.
     *
     * @throws TakenOver when the watchdog answered the request in the runner's place
     */
    Outcome respond(MemorySegment result) {
        try {
            if (api.isExactType(result, fileWrapper)) {
                Outcome file = sendFile(result);
                if (file != null) return file;
            }
            return iterate(result);
        } catch (ClientGone e) {
            LOG.debug("client gone during {} {}: {}", ex.method(), ex.rawTarget(), e.getMessage());
            return new Outcome.Abort(e);
        } finally {
            closeResult(result);
        }
    }

    /** What a failure of the app (its call, its iteration) becomes, logged. */
    Outcome failed(PythonException error) {
        if (clock.interrupted()) {
            // The watchdog's RequestTimeout: it already logged the request and its stack.
            LOG.error("{} {} stopped after --timeout ({}); {}", ex.method(), ex.rawTarget(), error.getMessage(),
                    flushed ? "its response is cut short" : "answered 504");
            return flushed ? new Outcome.Abort(error) : Outcome.TIMED_OUT;
        }
        LOG.error("Error handling request {} {}\n{}", ex.method(), ex.rawTarget(),
                error.traceback().isEmpty() ? error.getMessage() : error.traceback().stripTrailing());
        return flushed ? new Outcome.Abort(error) : Outcome.INTERNAL_ERROR;
    }

    /**
     * {@code write(data)} from the app: sends {@code data} (borrowed) now. Returns a new
     * reference to None, or NULL with OSError set when the client has gone.
     */
    MemorySegment write(MemorySegment data) {
        if (data.byteSize() > 0) {
            try {
                send(data);
                flushReleased();
            } catch (ClientGone e) {
                api.raise(CPython.Exc.OS_ERROR, "client disconnected: " + e.getMessage());
                return MemorySegment.NULL;
            } catch (TakenOver e) {
                api.raise(CPython.Exc.OS_ERROR, e.getMessage());
                return MemorySegment.NULL;
            }
        }
        api.incRef(api.none);
        return api.none;
    }

    private Outcome iterate(MemorySegment result) {
        if (api.isExactList(result)) {
            long n = api.listSize(result);
            for (long i = 0; i < n; i++) {
                Outcome stop = chunk(api.listGetItem(result, i));
                if (stop != null) return stop;
            }
            return complete();
        }
        MemorySegment it = api.getIter(result);
        if (CPython.isNull(it)) return failed(py.fetchError());
        try {
            MemorySegment item;
            while (!CPython.isNull(item = api.iterNext(it))) {
                Outcome stop;
                try {
                    stop = chunk(item);
                } finally {
                    api.decRef(item);
                }
                if (stop != null) return stop;
            }
            if (!CPython.isNull(api.errOccurred())) return failed(py.fetchError());
        } finally {
            api.decRef(it);
        }
        return complete();
    }

    /** Takes one chunk (borrowed); returns an outcome only when the response must stop. */
    private Outcome chunk(MemorySegment item) {
        MemorySegment data = codec.bytesView(item);
        if (CPython.isNull(data)) {
            api.errClear();
            return failed(new PythonException("TypeError", "the response iterable yielded a "
                    + py.typeName(item) + "; WSGI response bodies must be bytes", "", false));
        }
        if (data.byteSize() == 0) return null;
        Outcome noHead = noHead();
        if (noHead != null) return noHead;
        send(data);
        return null;
    }

    /** Stages body bytes, flushing what was staged before so that only the last chunk waits for the end. */
    private void send(MemorySegment data) {
        if (start.sent()) {
            flushReleased();
        } else {
            claimOrStop();
            ex.head(start.send());
        }
        ResponseHead head = start.head();
        long length = data.byteSize();
        if (head.contentLength() >= 0 && bytes + length > head.contentLength()) {
            if (!truncated) {
                LOG.error("{} {}: the app sent more than its Content-Length ({}); the excess is not sent",
                        ex.method(), ex.rawTarget(), head.contentLength());
                truncated = true;
            }
            length = Math.max(0, head.contentLength() - bytes);
        }
        if (!head.forbidsBody()) ex.stage(data, length);
        bytes += length;
    }

    /** The iteration is over: the last chunk stays staged for the runner's final flush. */
    private Outcome complete() {
        Outcome noHead = noHead();
        if (noHead != null) return noHead;
        ResponseHead head = start.head();
        if (head.contentLength() >= 0 && bytes < head.contentLength() && !head.forbidsBody() && !"HEAD".equals(ex.method())) {
            LOG.error("{} {}: the app sent {} bytes but declared Content-Length {}; closing the connection",
                    ex.method(), ex.rawTarget(), bytes, head.contentLength());
            if (!flushed) flushQuietly();
            return new Outcome.Abort(new IOException("response shorter than its Content-Length"));
        }
        if (!start.sent()) {
            claimOrStop();
            ex.head(start.send());
        }
        return Outcome.LAST;
    }

    /** A 500 when the app has given no valid head by its first body byte (or its end); null when it has. */
    private Outcome noHead() {
        if (start.head() != null) return null;
        LOG.error("Error handling request {} {}: {}", ex.method(), ex.rawTarget(), start.whyNoHead());
        return Outcome.INTERNAL_ERROR;
    }

    private void flushReleased() {
        flushed = true;
        try {
            thread.released(() -> {
                ex.flush(false, mayWait);
                return null;
            });
        } catch (IOException e) {
            throw new ClientGone(e);
        }
    }

    private void flushQuietly() {
        try {
            flushReleased();
        } catch (ClientGone ignored) {
            // the abort that follows closes the connection anyway
        }
    }

    /** wsgi.file_wrapper over a real file: sent from Java ({@link WrappedFile}). Returns null to iterate instead. */
    private Outcome sendFile(MemorySegment wrapper) {
        claimOrStop();
        WrappedFile file = WrappedFile.open(py, wrapper);
        if (file == null) return null;
        Outcome noHead = noHead();
        if (noHead != null) {
            file.close();
            return noHead;
        }
        ResponseHead head = start.send();
        long length = head.forbidsBody() ? 0 : file.length(head.contentLength());
        ex.head(head);
        flushed = true;
        return new Outcome.File(file.channel(), file.position(), length);
    }

    /** Calls {@code result.close()} when it has one, and logs what it raised. */
    private void closeResult(MemorySegment result) {
        // Most apps return a list, which has no close(): skip the lookup and its AttributeError.
        if (api.isExactList(result)) return;
        MemorySegment closeFn = api.getAttr(result, CLOSE);
        if (CPython.isNull(closeFn)) {
            api.errClear();
            return;
        }
        MemorySegment r = api.call(closeFn);
        api.decRef(closeFn);
        if (CPython.isNull(r)) {
            LOG.error("Error closing the response of {} {}\n{}", ex.method(), ex.rawTarget(),
                    py.fetchError().traceback().stripTrailing());
        }
        api.decRef(r);
    }

    /** Before the runner first touches the exchange: stops the request when the watchdog has answered it already. */
    private void claimOrStop() {
        if (!clock.claim()) throw new TakenOver();
    }

    /** The client went away while the response was being sent. */
    static final class ClientGone extends RuntimeException {
        ClientGone(IOException cause) {
            super(cause.getMessage(), cause, false, false);
        }
    }

    /** The watchdog answered the request (504) in the runner's place: the runner must not touch the exchange again. */
    static final class TakenOver extends RuntimeException {
        TakenOver() {
            super("the request ran past --timeout and was answered 504 in its place", null, false, false);
        }
    }
}
