package jwsgi.http;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

import jwsgi.config.LimitOptions;
import jwsgi.wsgi.Exchange;
import jwsgi.wsgi.WorkerPool;

import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.RetainableByteBuffer;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.NanoTime;
import org.eclipse.jetty.util.thread.Invocable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Jetty handler in front of the Python workers. It never blocks: it reads the whole request
 * body without holding any thread (in memory up to --body-buffer-size, in an unlinked temp file
 * beyond), so a slow upload costs no Python thread, then queues the request for the
 * {@link WorkerPool}. Only a request that sent {@code Expect: 100-continue} is handed over at
 * once, its body streamed as the app reads it, so the app decides whether it is sent at all.
 *
 * <p>It enforces what is decided before the app runs: the head limits of protocols Jetty's
 * HTTP/1.1 parser does not check for us (414, 431), --limit-request-body (413), the body read
 * deadline (408), and the bound on requests waiting for a Python thread (503 with Retry-After).
 * Refusals of a request whose body is left unread close the connection.
 *
 * <p>Threads: Jetty's selector or pool threads; it declares itself non-blocking.
 */
final class WsgiHandler extends Handler.Abstract.NonBlocking {
    private static final Logger LOG = LoggerFactory.getLogger(WsgiHandler.class);
    private static final long OVERLOAD_LOG_INTERVAL_NANOS = 10_000_000_000L;

    private final WorkerPool pool;
    private final ByteBufferPool buffers;
    private final String rootPath;
    private final boolean accessLogged;
    private final LimitOptions.Settings limits;
    private final HeadLimits headLimits;
    private final int maxQueued;
    private final AtomicLong refusedSinceLog = new AtomicLong();
    private final AtomicLong lastOverloadLog = new AtomicLong(NanoTime.now() - OVERLOAD_LOG_INTERVAL_NANOS);

    /**
     * @param rootPath     where the app is mounted (--root-path), "" for the root
     * @param accessLogged keep what the access log shows of each response
     * @param limits       request limits and read deadlines
     * @param maxQueued    the most requests waiting for a Python thread; past it, 503
     */
    WsgiHandler(WorkerPool pool, ByteBufferPool buffers, String rootPath, boolean accessLogged, LimitOptions.Settings limits,
                int maxQueued) {
        this.pool = pool;
        this.buffers = buffers;
        this.rootPath = rootPath;
        this.accessLogged = accessLogged;
        this.limits = limits;
        this.headLimits = new HeadLimits(limits);
        this.maxQueued = maxQueued;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        // The app may run for as long as it needs; idle timeouts still end stalled reads and writes.
        request.addIdleTimeoutListener(timeout -> false);
        if (!GuardedHttpConnectionFactory.overHttp1(request)) {
            try {
                headLimits.check(request);
            } catch (HttpException.RuntimeException e) {
                refuse(request, response, callback, e.getCode(), e.getReason());
                return true;
            }
        }
        long length = request.getLength();
        if (limits.body() > 0 && length > limits.body()) {
            refuse(request, response, callback, HttpStatus.PAYLOAD_TOO_LARGE_413, bodyTooLarge());
            return true;
        }
        String scheme = request.isSecure() ? "https" : "http";
        JettyExchange ex = new JettyExchange(request, response, callback, buffers, scheme, rootPath, accessLogged);
        // HTTP/1 without Content-Length or Transfer-Encoding has no body (RFC 9112 6.3); HTTP/2
        // frames may carry one without announcing its length. uwsgi and FastCGI requests always
        // have a length (CONTENT_LENGTH, 0 when absent).
        boolean http1 = request.getConnectionMetaData().getHttpVersion().getVersion() < 20;
        boolean unframed = length < 0 && http1 && !request.getHeaders().contains(HttpHeader.TRANSFER_ENCODING);
        if (length == 0 || unframed) {
            ex.body(new Exchange.Body.Buffered(ByteBuffer.allocate(0)), null);
            submit(ex);
        } else if (request.getHeaders().contains(HttpHeader.EXPECT, HttpHeaderValue.CONTINUE.asString())) {
            // Never an HTTP/1.0 request: GuardedHttpConnectionFactory passes its Expect on as an unknown field.
            ex.body(new StreamedBody(request, limits.body()), null);
            submit(ex);
        } else {
            new BodyReader(ex, length).run();
        }
        return true;
    }

    /** Queues the request, unless too many already wait for a Python thread: then 503, at once. */
    private void submit(JettyExchange ex) {
        if (maxQueued > 0 && pool.backlog() >= maxQueued) {
            ex.sendError(HttpStatus.SERVICE_UNAVAILABLE_503, "Service Unavailable: the server is overloaded; retry shortly");
            logOverload();
            return;
        }
        pool.submit(ex);
    }

    /** One warning per interval at most: under overload, a line per refusal would add to it. */
    private void logOverload() {
        long refused = refusedSinceLog.incrementAndGet();
        long last = lastOverloadLog.get();
        long now = NanoTime.now();
        if (now - last < OVERLOAD_LOG_INTERVAL_NANOS || !lastOverloadLog.compareAndSet(last, now)) return;
        refusedSinceLog.addAndGet(-refused);
        LOG.warn("Overloaded: {} request(s) refused with 503, as {} were already waiting for a Python thread"
                + " (raise --backlog or --threads, or add workers)", refused, maxQueued);
    }

    private String bodyTooLarge() {
        return "the request body is larger than the server accepts (--limit-request-body " + limits.body() + " bytes)";
    }

    /** Answers before the body is read; {@link ErrorResponses} closes the connection, as the rest of the request is unread. */
    private static void refuse(Request request, Response response, Callback callback, int status, String reason) {
        Response.writeError(request, response, callback, status, reason);
    }

    /**
     * Reads the whole body without blocking, into pooled memory up to --body-buffer-size and
     * into a temp file beyond, then queues the request. Jetty may call it on a selector thread:
     * it never waits for the network (the app may then run inline, see WorkerPool); the temp
     * file is written through the page cache.
     *
     * <p>A body that arrives too slowly (the --body-timeout deadline, extended by a second per
     * --body-min-rate bytes) is refused with 408 when its next bytes come; a client that stops
     * sending is closed by the idle timeout.
     */
    private final class BodyReader implements Runnable, Invocable {
        private final JettyExchange ex;
        private final Request request;
        private final long start = NanoTime.now();
        /** The body so far while it fits in memory; null once it is in {@link #spool}. */
        private RetainableByteBuffer.Mutable buffer;
        private SpillFile spool;
        private long received;

        BodyReader(JettyExchange ex, long length) {
            this.ex = ex;
            this.request = ex.request();
            if (length <= limits.bodyMemory()) this.buffer = buffers.acquire((int) (length > 0 ? length : 8192), true);
        }

        @Override
        public InvocationType getInvocationType() {
            return InvocationType.NON_BLOCKING;
        }

        @Override
        public void run() {
            while (true) {
                Content.Chunk chunk = request.read();
                if (chunk == null) {
                    request.demand(this);
                    return;
                }
                if (Content.Chunk.isFailure(chunk)) {
                    Throwable failure = chunk.getFailure();
                    chunk.release();
                    fail(failure instanceof TimeoutException
                            ? new HttpException.RuntimeException(HttpStatus.REQUEST_TIMEOUT_408, "the request body stopped arriving")
                            : failure);
                    return;
                }
                ByteBuffer bytes = chunk.getByteBuffer();
                received += bytes.remaining();
                boolean last = chunk.isLast();
                Throwable refusal = check();
                if (refusal == null) {
                    try {
                        keep(bytes);
                    } catch (IOException e) {
                        refusal = new IOException("cannot keep the request body in a temp file: " + e.getMessage(), e);
                    }
                }
                chunk.release();
                if (refusal != null) {
                    fail(refusal);
                    return;
                }
                if (last) {
                    if (spool != null) {
                        ex.body(new SpooledBody(spool), null);
                    } else {
                        ex.body(new Exchange.Body.Buffered(buffer.getByteBuffer()), buffer);
                    }
                    submit(ex);
                    return;
                }
            }
        }

        /** Why the body is refused so far, or null. */
        private Throwable check() {
            if (limits.body() > 0 && received > limits.body()) {
                return new HttpException.RuntimeException(HttpStatus.PAYLOAD_TOO_LARGE_413, bodyTooLarge());
            }
            long earned = limits.bodyMinRate() > 0 ? received / limits.bodyMinRate() * 1_000_000_000L : 0;
            long allowed = limits.bodyTimeout().toNanos() + earned;
            if (NanoTime.since(start) > allowed) {
                return new HttpException.RuntimeException(HttpStatus.REQUEST_TIMEOUT_408, "the request body arrived too slowly"
                        + " (--body-timeout " + limits.bodyTimeout().toSeconds() + " s, --body-min-rate " + limits.bodyMinRate() + ")");
            }
            return null;
        }

        private void keep(ByteBuffer bytes) throws IOException {
            if (buffer != null && buffer.size() + bytes.remaining() <= limits.bodyMemory()) {
                grow(bytes.remaining());
                buffer.append(bytes);
                return;
            }
            if (spool == null) {
                spool = SpillFile.create("request");
                if (buffer != null) spool.append(buffer.getByteBuffer());
            }
            releaseBuffer();
            spool.append(bytes);
        }

        private void grow(int more) {
            if (buffer.space() >= more) return;
            RetainableByteBuffer.Mutable bigger = buffers.acquire((int) Math.min(limits.bodyMemory(),
                    Math.max(buffer.size() * 2L, buffer.size() + (long) more)), true);
            bigger.append(buffer.getByteBuffer());
            buffer.release();
            buffer = bigger;
        }

        /** Ends the request before the app ran; the connection is closed, as the rest of the body is unread. */
        private void fail(Throwable failure) {
            releaseBuffer();
            if (spool != null) {
                try {
                    spool.close();
                } catch (IOException ignored) {
                    // an unlinked temp file: closing is all there is to do
                }
            }
            ex.fail(failure);
        }

        private void releaseBuffer() {
            if (buffer != null) {
                buffer.release();
                buffer = null;
            }
        }
    }
}
