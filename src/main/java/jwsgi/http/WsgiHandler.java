package jwsgi.http;

import java.nio.ByteBuffer;

import jwsgi.wsgi.Exchange;
import jwsgi.wsgi.WorkerPool;

import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.RetainableByteBuffer;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.Invocable;

/**
 * The Jetty handler in front of the Python workers. It never blocks: it reads a small request
 * body without holding any thread (so a slow upload costs no Python thread), then queues the
 * request for the {@link WorkerPool}. Larger bodies, and requests that sent
 * {@code Expect: 100-continue}, are handed over at once and streamed as the app reads them.
 *
 * <p>Threads: Jetty's selector or pool threads; it declares itself non-blocking.
 */
final class WsgiHandler extends Handler.Abstract.NonBlocking {
    private final WorkerPool pool;
    private final ByteBufferPool buffers;
    private final int bufferedBodyLimit;
    private final String rootPath;
    private final boolean accessLogged;

    /**
     * @param bufferedBodyLimit bodies up to this size are read before the app runs
     * @param rootPath          where the app is mounted (--root-path), "" for the root
     * @param accessLogged      keep what the access log shows of each response
     */
    WsgiHandler(WorkerPool pool, ByteBufferPool buffers, int bufferedBodyLimit, String rootPath, boolean accessLogged) {
        this.pool = pool;
        this.buffers = buffers;
        this.bufferedBodyLimit = bufferedBodyLimit;
        this.rootPath = rootPath;
        this.accessLogged = accessLogged;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        // The app may run for as long as it needs; idle timeouts still end stalled reads and writes.
        request.addIdleTimeoutListener(timeout -> false);
        String scheme = request.isSecure() ? "https" : "http";
        JettyExchange ex = new JettyExchange(request, response, callback, buffers, scheme, rootPath, accessLogged);
        long length = request.getLength();
        // HTTP/1 without Content-Length or Transfer-Encoding has no body (RFC 9112 6.3); HTTP/2
        // frames may carry one without announcing its length. uwsgi and FastCGI requests always
        // have a length (CONTENT_LENGTH, 0 when absent).
        boolean http1 = request.getConnectionMetaData().getHttpVersion().getVersion() < 20;
        boolean unframed = length < 0 && http1 && !request.getHeaders().contains(HttpHeader.TRANSFER_ENCODING);
        if (length == 0 || unframed) {
            ex.body(new Exchange.Body.Buffered(ByteBuffer.allocate(0)), null);
            pool.submit(ex);
        } else if (request.getHeaders().contains(HttpHeader.EXPECT, HttpHeaderValue.CONTINUE.asString())
                || length > bufferedBodyLimit) {
            ex.body(new StreamedBody(request, ByteBuffer.allocate(0)), null);
            pool.submit(ex);
        } else {
            new BodyReader(ex, length).run();
        }
        return true;
    }

    /**
     * Reads the body into one pooled buffer without blocking, then queues the request. Jetty may
     * call it on a selector thread: it never blocks (the app may then run inline, see WorkerPool).
     */
    private final class BodyReader implements Runnable, Invocable {
        private final JettyExchange ex;
        private final Request request;
        private RetainableByteBuffer.Mutable buffer;

        BodyReader(JettyExchange ex, long length) {
            this.ex = ex;
            this.request = ex.request();
            this.buffer = buffers.acquire((int) (length > 0 ? length : 8192), true);
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
                    buffer.release();
                    ex.fail(chunk.getFailure());
                    return;
                }
                ByteBuffer bytes = chunk.getByteBuffer();
                if (buffer.size() + bytes.remaining() > bufferedBodyLimit) {
                    handOverStreaming(chunk);
                    return;
                }
                grow(bytes.remaining());
                buffer.append(bytes);
                boolean last = chunk.isLast();
                chunk.release();
                if (last) {
                    ex.body(new Exchange.Body.Buffered(buffer.getByteBuffer()), buffer);
                    pool.submit(ex);
                    return;
                }
            }
        }

        private void grow(int more) {
            if (buffer.space() >= more) return;
            RetainableByteBuffer.Mutable bigger = buffers.acquire((int) Math.max(buffer.size() * 2, buffer.size() + more), true);
            bigger.append(buffer.getByteBuffer());
            buffer.release();
            buffer = bigger;
        }

        /** The body turned out larger than the limit (chunked): stream the rest. */
        private void handOverStreaming(Content.Chunk pending) {
            ByteBuffer prefix = ByteBuffer.allocate(buffer.remaining() + pending.remaining());
            prefix.put(buffer.getByteBuffer()).put(pending.getByteBuffer()).flip();
            boolean last = pending.isLast();
            pending.release();
            buffer.release();
            ex.body(last ? new Exchange.Body.Buffered(prefix) : new StreamedBody(request, prefix), null);
            pool.submit(ex);
        }
    }
}
