package jwsgi.http;

import java.util.ArrayDeque;

import org.eclipse.jetty.io.ArrayByteBufferPool;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.io.RetainableByteBuffer;

/**
 * Jetty's buffer pool, where a released small buffer waits behind the last {@value #DEPTH}
 * released ones before it can be handed out again, and every hand-out carries a reference count
 * of its own.
 *
 * <p>Why: Jetty 12.1 (12.1.10 to 12.1.14 at least; compare jetty/jetty.project#12939) races on
 * an HTTP/1.1 connection's request buffer when a request is followed by a malformed one and a
 * half-close: the buffer is released while that connection still fills or parses it, and at
 * times released twice. With buffers reused at once, another connection's request is parsed
 * together with those stray bytes: a valid request on a kept-alive connection gets a 400, or
 * bytes one client sent reach another's request. {@code scripts/keepalive-race.py} shows it
 * within a few hundred connections on plain Jetty. The delay leaves the late user bytes nobody
 * else holds (the same script then runs 150,000 connections clean), and the per-hand-out count
 * makes a late second release fail on the spent count (Jetty closes that connection) instead of
 * pooling a buffer someone else holds. Not pooling at all also cures it but costs 40% of raw
 * Jetty's throughput; this costs a lock and one small object per hand-out.
 *
 * <p>Threads: any.
 */
final class DelayedReuseBufferPool extends ByteBufferPool.Wrapper {
    private static final int DEPTH = 256;
    /**
     * Only buffers up to this size wait: Jetty's request buffers (8 KiB) are the ones it races
     * on, and holding larger ones (response and body buffers, up to megabytes) would keep up to
     * {@value #DEPTH} of them out of use. So at most 4 MiB waits.
     */
    private static final int DELAYED_UP_TO = 16 * 1024;

    private final ArrayDeque<RetainableByteBuffer> waiting = new ArrayDeque<>(DEPTH + 1);

    DelayedReuseBufferPool() {
        super(new ArrayByteBufferPool());
    }

    @Override
    public RetainableByteBuffer.Mutable acquire(int size, boolean direct) {
        RetainableByteBuffer.Mutable pooled = getWrapped().acquire(size, direct);
        if (pooled.capacity() > DELAYED_UP_TO) {
            return RetainableByteBuffer.wrap(pooled.getByteBuffer(), pooled::release);
        }
        return RetainableByteBuffer.wrap(pooled.getByteBuffer(), () -> delayRelease(pooled));
    }

    private void delayRelease(RetainableByteBuffer buffer) {
        RetainableByteBuffer due;
        synchronized (waiting) {
            waiting.addLast(buffer);
            due = waiting.size() > DEPTH ? waiting.removeFirst() : null;
        }
        if (due != null) {
            due.release();
        }
    }
}
