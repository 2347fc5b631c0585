package jwsgi.wsgi;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

import jwsgi.python.CPython;
import jwsgi.python.Interpreter;
import jwsgi.python.JavaFunction;
import jwsgi.python.PythonThread;
import jwsgi.python.StringCodec;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The {@code wsgi.input} of each request a runner runs: an {@code io.BytesIO} over a body read
 * whole before the app runs, or, for a body streamed while the app reads it, the glue's buffered
 * reader whose raw reads come to a Java {@code readinto}, with the GIL released while it waits.
 *
 * <p>A streamed input carries the number of its request, so a read after that request has
 * ended (an input kept by the app) is refused rather than served from the next request's body.
 *
 * <p>References: {@link #open} returns a new reference; the {@code readinto} function is owned
 * here and released by {@link #close}.
 *
 * <p>Threads: the runner's thread. GIL: must hold.
 */
final class WsgiInput {
    private final Interpreter py;
    private final CPython api;
    private final StringCodec codec;
    private final PythonThread thread;
    private final WsgiApplication app;
    /** False on an HTTP thread, which must never wait for the network. */
    private final boolean mayWait;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment bufferView = arena.allocate(CPython.PY_BUFFER_BYTES, 8);
    private final MemorySegment readinto;
    /** The current request's number, and its streamed body (null when it has none, or between requests). */
    private long token;
    private Exchange.Body.Streamed streamed;

    WsgiInput(Interpreter py, StringCodec codec, PythonThread thread, WsgiApplication app, boolean mayWait) {
        this.py = py;
        this.api = py.api();
        this.codec = codec;
        this.thread = thread;
        this.app = app;
        this.mayWait = mayWait;
        this.readinto = py.function("readinto", this::readinto);
    }

    /** A new reference to the wsgi.input of {@code ex}'s body, which is the current request's from now on. */
    MemorySegment open(Exchange ex) {
        token++;
        return switch (ex.body()) {
            case Exchange.Body.Buffered b -> {
                streamed = null;
                yield bytesIO(b.content());
            }
            case Exchange.Body.Streamed s -> {
                streamed = s;
                MemorySegment t = py.checked(api.longFrom(token));
                try {
                    yield py.checked(api.call(app.streamedInput, readinto, t));
                } finally {
                    api.decRef(t);
                }
            }
        };
    }

    /** The request is over: its input reads nothing more. */
    void end() {
        streamed = null;
    }

    private MemorySegment bytesIO(ByteBuffer content) {
        int length = content.remaining();
        if (length == 0) return py.checked(api.call(app.bytesIO));
        MemorySegment data;
        if (content.isDirect()) {
            data = MemorySegment.ofBuffer(content);
        } else {
            data = codec.scratch(length);
            MemorySegment.copy(MemorySegment.ofBuffer(content), 0, data, 0, length);
        }
        MemorySegment bytes = py.checked(api.bytesFrom(data, length));
        try {
            return py.checked(api.call(app.bytesIO, bytes));
        } finally {
            api.decRef(bytes);
        }
    }

    /** {@code readinto(token, buffer)} under the streamed wsgi.input. */
    private MemorySegment readinto(JavaFunction.Arguments args) {
        if (args.count() != 2) return raise(CPython.Exc.TYPE_ERROR, "readinto() takes 2 arguments");
        long requestToken = api.longValue(args.get(0));
        Exchange.Body.Streamed body = streamed;
        if (body == null || requestToken != token) {
            return raise(CPython.Exc.VALUE_ERROR, "wsgi.input read after its request ended");
        }
        if (!mayWait && body.waitsForClient()) {
            // WorkerPool never runs a streamed body on an HTTP thread: waiting here would deadlock it.
            return raise(CPython.Exc.RUNTIME_ERROR, "jwsgi internal error: streamed request body on an I/O thread");
        }
        if (api.getBuffer(args.get(1), bufferView, CPython.PYBUF_WRITABLE) != 0) return MemorySegment.NULL;
        try {
            long capacity = bufferView.get(JAVA_LONG, CPython.PY_BUFFER_LEN);
            ByteBuffer target = bufferView.get(ADDRESS, 0).reinterpret(capacity).asByteBuffer();
            int read = thread.released(() -> body.read(target));
            return api.longFrom(Math.max(read, 0));
        } catch (IOException e) {
            return raise(CPython.Exc.OS_ERROR, "error reading the request body: " + e.getMessage());
        } finally {
            api.bufferRelease(bufferView);
        }
    }

    private MemorySegment raise(CPython.Exc type, String message) {
        api.raise(type, message);
        return MemorySegment.NULL;
    }

    /** Releases the readinto function and the buffer view. */
    void close() {
        api.decRef(readinto);
        arena.close();
    }
}
