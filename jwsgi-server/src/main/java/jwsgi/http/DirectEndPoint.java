package jwsgi.http;

import java.io.IOException;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;

import org.eclipse.jetty.io.ManagedSelector;
import org.eclipse.jetty.io.SocketChannelEndPoint;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.Scheduler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A TCP connection served on the thread that accepted it, and registered with a selector only
 * once it must wait for the network (a kept-alive connection between requests, a body still
 * arriving, a client slow to read). Its first read is tried at once: the listener defers each
 * accept until the client's first bytes are in (TCP_DEFER_ACCEPT). A connection that carries
 * one request (Connection: close, nginx's default HTTP/1.0 upstream, uwsgi) is accepted, read,
 * answered and closed on one thread, with no selector registration, no hand-off between
 * threads and no selector wake-up.
 *
 * <p>Jetty's {@link SocketChannelEndPoint} does the I/O and keeps the interest set. It is built
 * without a selector, so its interest changes stay with it until {@link #watch} registers the
 * channel with {@code home}; from then on {@code home}'s thread applies them.
 *
 * <p>Threads: the accepting thread until the first wait; then Jetty's selector and pool threads.
 */
final class DirectEndPoint extends SocketChannelEndPoint {
    private static final Logger LOG = LoggerFactory.getLogger(DirectEndPoint.class);

    /** Where the connection goes when it must wait. */
    private final ManagedSelector home;
    private final Closer closer;
    /** The first read is tried at once instead of waiting for the selector to report it. */
    private boolean eager = true;
    /** Set once, by the thread that first needs the selector. */
    private volatile boolean registered;
    /**
     * Between {@code home}'s {@link #onSelected} and {@link #updateKey}: the selector applies the
     * interest set itself once the connection's task has run, so a change needs no update of its own.
     */
    private volatile boolean selected;
    /** The connection closes once its response is sent: no need to shut the output down first. */
    private volatile boolean closing;
    /** Flushes so far, up to 2: Nagle's algorithm can only delay a write from the second on. */
    private int flushes;

    /** What a closed endpoint tells its connector (what the selector would have told it). */
    interface Closer {
        void closed(DirectEndPoint endPoint, Throwable cause);
    }

    DirectEndPoint(SocketChannel channel, ManagedSelector home, Scheduler scheduler, Closer closer) {
        super(channel, null, null, scheduler);
        this.home = home;
        this.closer = closer;
    }

    /**
     * The connection will be closed as soon as its response is written (the client asked for it,
     * or the protocol ends a response so): closing sends the FIN that shutting the output down
     * would have sent.
     */
    void closingAfterResponse() {
        closing = true;
    }

    @Override
    protected void doShutdownOutput() {
        if (!closing) super.doShutdownOutput();
    }

    @Override
    public boolean flush(ByteBuffer... buffers) throws IOException {
        if (flushes < 2 && ++flushes == 2) noDelay();
        return super.flush(buffers);
    }

    /**
     * With bytes of an earlier write still unacknowledged, Nagle's algorithm would hold a small
     * write back until the client's (delayed) ACK: up to 40 ms. A first write goes out at once
     * either way, so a one-response connection never needs the option set.
     */
    private void noDelay() {
        try {
            getChannel().setOption(StandardSocketOptions.TCP_NODELAY, true);
        } catch (IOException e) {
            LOG.debug("cannot set TCP_NODELAY on {}", this, e);
        }
    }

    @Override
    protected void needsFillInterest() {
        if (eager) {
            // The connection's first read: its bytes are in the socket already.
            eager = false;
            getFillInterest().fillable();
            return;
        }
        super.needsFillInterest();
        watch();
    }

    @Override
    protected void onIncompleteFlush() {
        super.onIncompleteFlush();
        watch();
    }

    @Override
    public Callback cancelWrite(Throwable cause) {
        Callback callback = super.cancelWrite(cause);
        if (registered) watch();
        return callback;
    }

    @Override
    public Runnable onSelected() {
        selected = true;
        return super.onSelected();
    }

    @Override
    public void updateKey() {
        // Cleared before the interest set is read: a change made after it is then either seen
        // here or submitted by its own thread (watch), never lost.
        selected = false;
        super.updateKey();
    }

    /** Has {@code home} apply the interest set, registering the channel with it the first time. */
    private void watch() {
        if (registered) {
            if (!selected) home.submit(selector -> updateKey());
            return;
        }
        registered = true;
        home.submit(selector -> {
            try {
                replaceKey(getChannel().register(selector, 0, this));
                updateKey();
            } catch (IOException | RuntimeException e) {
                close(e);
            }
        });
    }

    @Override
    public void onClose(Throwable cause) {
        super.onClose(cause);
        // A registered channel is really closed once its selector drops the key: wake it.
        if (registered) home.submit(selector -> { });
        closer.closed(this, cause);
    }
}
