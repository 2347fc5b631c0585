package jwsgi.wsgi;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.List;
import java.util.Map;

/**
 * One HTTP request and its response, as the WSGI layer sees it. The HTTP layer implements it;
 * the WSGI layer turns it into an environ, calls the app, and streams the result back.
 *
 * <p>The request side is read-only and fully parsed. The response side is used in this order:
 * {@link #stage} (copy body bytes while the GIL is held, as they live in a Python object),
 * then {@link #flush} without the GIL. The first {@code flush} sends the head given to
 * {@link #head}. A response ends with exactly one of {@code flush(last=true)},
 * {@link #sendFile}, {@link #sendError} or {@link #abort}.
 *
 * <p>Threads: the request accessors may be called from any thread; the response side only by
 * the one Python worker that runs the request.
 */
public interface Exchange {
    String method();

    /** The request path as received, still percent-encoded. */
    String rawPath();

    /**
     * Where the app is mounted, as WSGI bytes-as-latin-1 without a trailing '/', or "" for the
     * root. A request path under it is split into SCRIPT_NAME and PATH_INFO; any other path
     * (the front end removed the prefix) is PATH_INFO whole.
     */
    String scriptName();

    /** Variables the front server passed (uwsgi, FastCGI) that go into the environ as they are; never overrides a built one. */
    List<Map.Entry<String, String>> extraEnviron();

    /** The query string as received, without '?', or "" when there is none. */
    String query();

    /** The request target as received (gunicorn's RAW_URI). */
    String rawTarget();

    /** "HTTP/1.1", "HTTP/1.0" or "HTTP/2.0". */
    String protocol();

    /** "http" or "https". */
    String scheme();

    String serverName();

    int serverPort();

    String remoteAddr();

    int remotePort();

    int headerCount();

    /** The header name as received. */
    String headerName(int index);

    /** The header value; each char is one byte of the value as received (latin-1). */
    String headerValue(int index);

    /** The request body. */
    Body body();

    /**
     * A synthetic request the worker sends itself before it takes connections (--warmup): it runs
     * jwsgi's warm-up app, never the user's, and no hook, --max-requests count or log sees it.
     */
    default boolean warmUp() {
        return false;
    }

    /** Receives, once the app has run, the environ values the access log shows (only when it shows some). */
    default void loggedEnviron(LoggedEnviron values) {
    }

    /** Records the status and headers to send with the first {@link #flush}. */
    void head(ResponseHead head);

    /** Copies {@code length} bytes of body from native memory into the response buffer. */
    void stage(MemorySegment data, long length);

    /**
     * Sends what {@link #stage} collected (and the head, the first time). Never waits for the
     * network unless {@code mayWait}; then it waits while the client is far behind.
     *
     * @param mayWait false on a thread that must not block (it also does other connections'
     *                I/O): bytes a slow client has not taken are then kept on disk
     * @throws IOException when the client has gone, the write failed, or too much is buffered
     */
    void flush(boolean last, boolean mayWait) throws IOException;

    /** Sends the head and {@code length} bytes of {@code file} from {@code position}, then ends. Owns the channel. */
    void sendFile(FileChannel file, long position, long length);

    /** Ends the exchange with an error response (before anything was sent). */
    void sendError(int status, String message);

    /** Ends the exchange abnormally: the connection is closed, what was sent stays incomplete. */
    void abort(Throwable cause);

    /** The request body: read before the app runs (in memory or a temp file), or streamed while it reads. */
    sealed interface Body permits Body.Buffered, Body.Streamed {
        /** The whole body, already read. */
        record Buffered(ByteBuffer content) implements Body {}

        /** A body read as the app asks for it: from the connection (Expect: 100-continue), or from a temp file. */
        non-sealed interface Streamed extends Body {
            /**
             * Reads into {@code into}: blocks until at least one byte is available.
             *
             * @return the number of bytes read, or -1 at the end of the body
             * @throws IOException when the body cannot be read (client gone, malformed chunking)
             */
            int read(ByteBuffer into) throws IOException;

            /**
             * Whether a read may wait for the client. False for a body already read whole and kept
             * in a file: a thread that must never wait for the network may read it.
             */
            default boolean waitsForClient() {
                return true;
            }
        }
    }
}
