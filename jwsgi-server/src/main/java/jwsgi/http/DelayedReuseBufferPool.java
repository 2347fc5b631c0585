package jwsgi.http;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

import org.eclipse.jetty.io.ArrayByteBufferPool;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.io.RetainableByteBuffer;
import org.eclipse.jetty.util.BufferUtil;

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
 * on plain Jetty (the numbers: docs/benchmarks.md). The delay leaves the late user bytes nobody
 * else holds, and the per-hand-out count makes a late second release fail on the spent count
 * (Jetty closes that connection) instead of pooling a buffer someone else holds. Not pooling at
 * all also cures it but costs much of raw Jetty's throughput; this costs a lock and one small
 * object per hand-out.
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
    /**
     * Ready buffers are kept by capacity in steps of 4 KiB (Jetty's pool makes capacities in
     * multiples of 4 KiB), up to {@value #DELAYED_UP_TO}: so any buffer of a size's class or above fits it.
     */
    private static final int CLASSES = DELAYED_UP_TO / 4096;
    private static final int READY_PER_CLASS = 64;

    private final ArrayDeque<RetainableByteBuffer.Mutable> waiting = new ArrayDeque<>(DEPTH + 1);
    /** Index: class * 2 + 1 for direct buffers, + 0 for heap ones. Guarded by {@link #waiting}. */
    private final List<ArrayDeque<RetainableByteBuffer.Mutable>> ready = new ArrayList<>();

    DelayedReuseBufferPool() {
        super(new ArrayByteBufferPool());
        for (int i = 0; i < 2 * CLASSES; i++) ready.add(new ArrayDeque<>(READY_PER_CLASS));
    }

    @Override
    public RetainableByteBuffer.Mutable acquire(int size, boolean direct) {
        RetainableByteBuffer.Mutable buffer = size <= DELAYED_UP_TO ? takeReady(size, direct) : null;
        if (buffer == null) {
            buffer = getWrapped().acquire(size, direct);
            if (buffer.capacity() > DELAYED_UP_TO) {
                return RetainableByteBuffer.wrap(buffer.getByteBuffer(), buffer::release);
            }
        }
        RetainableByteBuffer.Mutable pooled = buffer;
        return RetainableByteBuffer.wrap(pooled.getByteBuffer(), () -> delayRelease(pooled));
    }

    /** A kept buffer of at least {@code size} bytes, emptied, or null if none is ready. */
    private RetainableByteBuffer.Mutable takeReady(int size, boolean direct) {
        synchronized (waiting) {
            for (int c = sizeClass(size); c < CLASSES; c++) {
                ArrayDeque<RetainableByteBuffer.Mutable> kept = ready.get(2 * c + (direct ? 1 : 0));
                RetainableByteBuffer.Mutable buffer = kept.peekLast();
                if (buffer != null && buffer.capacity() >= size) {
                    kept.pollLast();
                    BufferUtil.reset(buffer.getByteBuffer());
                    return buffer;
                }
            }
        }
        return null;
    }

    private void delayRelease(RetainableByteBuffer.Mutable buffer) {
        RetainableByteBuffer.Mutable due;
        synchronized (waiting) {
            waiting.addLast(buffer);
            due = waiting.size() > DEPTH ? waiting.removeFirst() : null;
            if (due != null) {
                ArrayDeque<RetainableByteBuffer.Mutable> kept = ready.get(2 * sizeClass(due.capacity()) + (due.isDirect() ? 1 : 0));
                if (kept.size() < READY_PER_CLASS) {
                    kept.addLast(due);
                    due = null;
                }
            }
        }
        if (due != null) {
            due.release();
        }
    }

    /** 0 for up to 4 KiB, 1 for up to 8 KiB, ... capped at the last class. */
    private static int sizeClass(int bytes) {
        return Math.min(CLASSES - 1, Math.max(0, (bytes - 1) >> 12));
    }
}
