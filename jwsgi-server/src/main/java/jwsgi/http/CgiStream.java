package jwsgi.http;

import java.nio.ByteBuffer;

import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.server.HttpChannel;
import org.eclipse.jetty.server.HttpStream;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.thread.Invocable;
import org.eclipse.jetty.util.thread.ThreadPool;

/**
 * One request on a {@link CgiConnection}: what the FastCGI and uwsgi streams share. The
 * subclass reads the body and writes the response in its protocol's framing; this class wakes
 * the reader when the body has more, and leaves interim (1xx) responses to the front server.
 */
abstract class CgiStream implements HttpStream {
    final HttpChannel channel;
    /** A HEAD request: the response is sent without its body. */
    private final boolean head;
    private final CgiConnection<?> connection;
    private boolean committed;

    CgiStream(CgiConnection<?> connection, HttpChannel channel, MetaData.Request request) {
        this.connection = connection;
        this.channel = channel;
        this.head = HttpMethod.HEAD.is(request.getMethod());
    }

    /** Whether {@link #read()} has something to give now (a chunk, the end or a failure), without waiting. */
    abstract boolean readable();

    /**
     * Writes the response head (when {@code response} is not null) and body bytes in the
     * protocol's framing.
     *
     * @param body the bytes to send, empty for a HEAD request
     */
    abstract void write(MetaData.Response response, ByteBuffer body, boolean last, Callback callback);

    @Override
    public final void demand() {
        if (readable()) {
            contentAvailable();
            return;
        }
        connection.fillInterested(new Callback() {
            @Override
            public void succeeded() {
                contentAvailable();
            }

            @Override
            public void failed(Throwable x) {
                ThreadPool.executeImmediately(connection.executor(), channel.onFailure(x));
            }

            @Override
            public InvocationType getInvocationType() {
                return Invocable.getInvocationType(channel);
            }
        });
    }

    private void contentAvailable() {
        Runnable task = channel.onContentAvailable();
        if (task != null) task.run();
    }

    @Override
    public void prepareResponse(HttpFields.Mutable headers) {
        // The protocol frames the response itself; there is nothing to add.
    }

    @Override
    public final void send(MetaData.Request request, MetaData.Response response, boolean last, ByteBuffer content, Callback callback) {
        if (response != null && HttpStatus.isInformational(response.getStatus())) {
            callback.succeeded();  // 1xx are the front server's business
            return;
        }
        if (response != null) committed = true;
        write(response, head || content == null ? BufferUtil.EMPTY_BUFFER : content, last, callback);
    }

    @Override
    public final boolean isCommitted() {
        return committed;
    }

    @Override
    public long getIdleTimeout() {
        return connection.getEndPoint().getIdleTimeout();
    }

    @Override
    public void setIdleTimeout(long idleTimeoutMs) {
        connection.getEndPoint().setIdleTimeout(idleTimeoutMs);
    }
}
