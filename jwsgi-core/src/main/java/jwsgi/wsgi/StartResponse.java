package jwsgi.wsgi;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;

import jwsgi.python.CPython;
import jwsgi.python.Interpreter;
import jwsgi.python.JavaFunction;
import jwsgi.python.StringCodec;

/**
 * PEP 3333's {@code start_response} for one runner, and the head of the request that runner is
 * running: the head the app gave (validated by {@link HeadRules}) or why it was refused, and
 * whether it has gone to the client. {@link #begin} resets it for each request.
 *
 * <p>The rules: a second call needs {@code exc_info}; with it, before the head has gone out, the
 * new head replaces the old; after, {@code exc_info} is re-raised. A refused head raises in the
 * app and is remembered, so the request is answered 500 even when the app swallows the
 * exception. {@code write()} is refused before a valid head ({@link #writable}).
 *
 * <p>References: {@code write}, given to the constructor, is borrowed (its owner keeps it alive);
 * each successful {@code start_response} returns a new reference to it. {@link #function} is
 * owned here and released by {@link #close}.
 *
 * <p>Threads: the runner's thread. GIL: must hold.
 */
final class StartResponse {
    private final Interpreter py;
    private final CPython api;
    private final StringCodec codec;
    private final MemorySegment write;
    private final MemorySegment function;
    /** The app's headers as Java strings, reused from call to call. */
    private final List<HeadRules.RawHeader> raw = new ArrayList<>();

    /** False between requests: a start_response kept by the app and called later is refused. */
    private boolean active;
    private ResponseHead head;
    /** Why the last start_response was refused by {@link HeadRules}, or null. */
    private String refusal;
    /** PEP 3333's "headers sent": the head has gone to the exchange; exc_info must now re-raise. */
    private boolean sent;

    /** @param write the {@code write} callable start_response returns (borrowed) */
    StartResponse(Interpreter py, StringCodec codec, MemorySegment write) {
        this.py = py;
        this.api = py.api();
        this.codec = codec;
        this.write = write;
        this.function = py.function("start_response", this::call);
    }

    /** The {@code start_response} callable (borrowed). */
    MemorySegment function() {
        return function;
    }

    /** A request begins: no head yet. */
    void begin() {
        active = true;
        head = null;
        refusal = null;
        sent = false;
    }

    /** The request is over: later calls are refused. */
    void end() {
        active = false;
    }

    /** The valid head the app gave, or null. */
    ResponseHead head() {
        return head;
    }

    /** Why there is no head to send, for the error log (when {@link #head} is null). */
    String whyNoHead() {
        return refusal != null ? "its response head is invalid: " + refusal : "the app returned without calling start_response()";
    }

    /** Whether the head has gone to the exchange. */
    boolean sent() {
        return sent;
    }

    /** The head, now going to the exchange: from here on, exc_info is re-raised. Null when there is no valid head. */
    ResponseHead send() {
        if (head != null) sent = true;
        return head;
    }

    /**
     * Checks a {@code write(data)} call: the bytes to send (a view valid while the GIL is held),
     * or NULL with a Python exception set when write() may not be called now.
     */
    MemorySegment writable(JavaFunction.Arguments args) {
        if (!active) return raise(CPython.Exc.RUNTIME_ERROR, "write() called outside of its request");
        if (args.count() != 1) return raise(CPython.Exc.TYPE_ERROR, "write() takes exactly one argument");
        if (head == null) {
            return raise(CPython.Exc.RUNTIME_ERROR, refusal != null
                    ? "write() after an invalid start_response(): " + refusal : "write() called before start_response()");
        }
        MemorySegment data = codec.bytesView(args.get(0));
        if (CPython.isNull(data)) {
            api.errClear();
            return raise(CPython.Exc.TYPE_ERROR, "write() argument must be bytes, not " + py.typeName(args.get(0)));
        }
        return data;
    }

    /** {@code start_response(status, response_headers, exc_info=None)}. */
    private MemorySegment call(JavaFunction.Arguments args) {
        if (!active) return raise(CPython.Exc.RUNTIME_ERROR, "start_response() called outside of its request");
        if (args.count() < 2 || args.count() > 3) {
            return raise(CPython.Exc.TYPE_ERROR, "start_response() takes 2 or 3 arguments (" + args.count() + " given)");
        }
        MemorySegment excInfo = args.count() == 3 ? args.get(2) : api.none;
        if (excInfo.address() != api.none.address()) {
            if (sent) return reraise(excInfo);
        } else if (head != null || refusal != null) {
            return raise(CPython.Exc.RUNTIME_ERROR, "start_response() called a second time without exc_info");
        }
        MemorySegment status = args.get(0);
        MemorySegment headers = args.get(1);
        if (!api.isUnicode(status)) return raise(CPython.Exc.TYPE_ERROR, "status must be a str, not " + py.typeName(status));
        if (!api.isList(headers)) {
            return raise(CPython.Exc.TYPE_ERROR, "response_headers must be a list, not " + py.typeName(headers));
        }
        if (!readHeaders(headers)) return MemorySegment.NULL;
        try {
            head = HeadRules.parse(codec.toJava(status), raw);
            refusal = null;
        } catch (InvalidHeadException e) {
            head = null;
            refusal = e.getMessage();
            return raise(CPython.Exc.VALUE_ERROR, e.getMessage());
        }
        api.incRef(write);
        return write;
    }

    /** Reads the (name, value) pairs of {@code headers} (a list) into {@link #raw}; false with a TypeError set when one is not. */
    private boolean readHeaders(MemorySegment headers) {
        raw.clear();
        long n = api.listSize(headers);
        for (long i = 0; i < n; i++) {
            MemorySegment pair = api.listGetItem(headers, i);
            if (!api.isTuple(pair) || api.tupleSize(pair) != 2) {
                raise(CPython.Exc.TYPE_ERROR, "response_headers[" + i + "] must be a (name, value) tuple, not " + py.typeName(pair));
                return false;
            }
            MemorySegment name = api.tupleGetItem(pair, 0);
            MemorySegment value = api.tupleGetItem(pair, 1);
            if (!api.isUnicode(name) || !api.isUnicode(value)) {
                raise(CPython.Exc.TYPE_ERROR, "response_headers[" + i + "] must hold two str, not ("
                        + py.typeName(name) + ", " + py.typeName(value) + ")");
                return false;
            }
            raw.add(new HeadRules.RawHeader(codec.toJava(name), codec.toJava(value)));
        }
        return true;
    }

    /** Re-raises {@code exc_info} (a borrowed tuple), as PEP 3333 requires once the head has gone out. */
    private MemorySegment reraise(MemorySegment excInfo) {
        if (!api.isTuple(excInfo) || api.tupleSize(excInfo) != 3) {
            return raise(CPython.Exc.TYPE_ERROR, "exc_info must be a (type, value, traceback) tuple");
        }
        MemorySegment type = api.tupleGetItem(excInfo, 0);
        MemorySegment value = api.tupleGetItem(excInfo, 1);
        MemorySegment tb = api.tupleGetItem(excInfo, 2);
        MemorySegment traceback = tb.address() == api.none.address() ? MemorySegment.NULL : tb;
        // PyErr_Restore steals all three.
        api.incRef(type);
        api.incRef(value);
        api.incRef(traceback);
        api.errRestore(type, value, traceback);
        return MemorySegment.NULL;
    }

    private MemorySegment raise(CPython.Exc type, String message) {
        api.raise(type, message);
        return MemorySegment.NULL;
    }

    /** Releases {@link #function}. */
    void close() {
        api.decRef(function);
    }
}
