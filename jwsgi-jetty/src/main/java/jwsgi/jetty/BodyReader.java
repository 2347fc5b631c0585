package jwsgi.jetty;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

import jwsgi.wsgi.Exchange;

import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.RetainableByteBuffer;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.NanoTime;
import org.eclipse.jetty.util.thread.Invocable;

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
final class BodyReader implements Runnable, Invocable {
    private final JettyExchange ex;
    private final Request request;
    private final BodyLimits limits;
    private final ByteBufferPool buffers;
    private final Consumer<JettyExchange> queue;
    private final long start = NanoTime.now();
    /** The body so far while it fits in memory; null once it is in {@link #spool}. */
    private RetainableByteBuffer.Mutable buffer;
    private SpillFile spool;
    private long received;

    /**
     * @param length the body's length if declared, else -1
     * @param queue  what takes the request once its body is read
     */
    BodyReader(JettyExchange ex, long length, BodyLimits limits, ByteBufferPool buffers, Consumer<JettyExchange> queue) {
        this.ex = ex;
        this.request = ex.request();
        this.limits = limits;
        this.buffers = buffers;
        this.queue = queue;
        if (length <= limits.memoryBytes()) this.buffer = buffers.acquire((int) (length > 0 ? length : 8192), true);
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
                queue.accept(ex);
                return;
            }
        }
    }

    /** Why the body is refused so far, or null. */
    private Throwable check() {
        if (limits.maxBytes() > 0 && received > limits.maxBytes()) {
            return new HttpException.RuntimeException(HttpStatus.PAYLOAD_TOO_LARGE_413, tooLarge(limits));
        }
        long earned = limits.minRate() > 0 ? received / limits.minRate() * 1_000_000_000L : 0;
        long allowed = limits.timeout().toNanos() + earned;
        if (NanoTime.since(start) > allowed) {
            return new HttpException.RuntimeException(HttpStatus.REQUEST_TIMEOUT_408, "the request body arrived too slowly"
                    + " (--body-timeout " + limits.timeout().toSeconds() + " s, --body-min-rate " + limits.minRate() + ")");
        }
        return null;
    }

    private void keep(ByteBuffer bytes) throws IOException {
        if (buffer != null && buffer.size() + bytes.remaining() <= limits.memoryBytes()) {
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
        RetainableByteBuffer.Mutable bigger = buffers.acquire((int) Math.min(limits.memoryBytes(),
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

    /** The reason of a 413 for a body over {@code limits}. */
    static String tooLarge(BodyLimits limits) {
        return "the request body is larger than the server accepts (--limit-request-body " + limits.maxBytes() + " bytes)";
    }
}
