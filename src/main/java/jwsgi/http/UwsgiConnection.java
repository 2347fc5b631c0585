package jwsgi.http;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeoutException;

import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.io.RetainableByteBuffer;
import org.eclipse.jetty.server.AbstractMetaDataConnection;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpChannel;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpStream;
import org.eclipse.jetty.util.Attributes;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.NanoTime;
import org.eclipse.jetty.util.thread.Invocable;
import org.eclipse.jetty.util.thread.ThreadPool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One uwsgi connection from a front server: one request packet, its body, one response (an
 * HTTP/1.1 status line, headers and body, ended by closing the connection, as the uwsgi
 * protocol has it). The request goes through Jetty's normal channel, so the handler chain,
 * customizers, access log, idle timeouts and graceful stop are the same as for HTTP. The
 * packet's variables travel as a request attribute and {@link CgiRequestCustomizer} makes the
 * request the front server saw from them.
 *
 * <p>Threads: Jetty's selector and pool threads, one at a time (a request per connection).
 */
final class UwsgiConnection extends AbstractMetaDataConnection {
    private static final Logger LOG = LoggerFactory.getLogger(UwsgiConnection.class);
    static final String PROTOCOL_NAME = "uwsgi";

    private final Connector connector;
    private final ByteBufferPool pool;
    private final Attributes attributes = new Attributes.Lazy();
    private final String id = Integer.toHexString(System.identityHashCode(this));
    private final long headerTimeoutNanos;
    private RetainableByteBuffer input;
    private Stream stream;
    /** When the first byte of the request packet arrived; 0 before. */
    private long packetStart;

    /** @param headerTimeout the longest the request packet may take to arrive, from its first byte; zero for no limit */
    UwsgiConnection(Connector connector, HttpConfiguration configuration, EndPoint endPoint, Duration headerTimeout) {
        super(connector, configuration, endPoint);
        this.connector = connector;
        this.pool = connector.getByteBufferPool();
        this.headerTimeoutNanos = headerTimeout.toNanos();
    }

    @Override
    public void onOpen() {
        super.onOpen();
        fillInterested();
    }

    /** Reads until the whole request packet is in, then starts the request. */
    @Override
    public void onFillable() {
        if (stream != null) return;
        if (input == null) input = pool.acquire(UwsgiPacket.MAX_SIZE, false);
        ByteBuffer buffer = input.getByteBuffer();
        try {
            while (true) {
                List<Map.Entry<String, String>> vars = UwsgiPacket.parse(buffer);
                if (vars != null) {
                    start(vars);
                    return;
                }
                if (BufferUtil.space(buffer) == 0) throw new UwsgiPacket.Malformed("uwsgi packet larger than its header says");
                if (packetStart != 0 && headerTimeoutNanos > 0 && NanoTime.since(packetStart) > headerTimeoutNanos) {
                    throw new UwsgiPacket.Malformed("the request packet took more than --header-timeout to arrive");
                }
                int filled = getEndPoint().fill(buffer);
                if (filled > 0 && packetStart == 0) packetStart = NanoTime.now();
                if (filled == 0) {
                    fillInterested();
                    return;
                }
                if (filled < 0) {
                    close();
                    return;
                }
            }
        } catch (UwsgiPacket.Malformed e) {
            LOG.warn("Closing uwsgi connection from {}: {}", Addresses.host(getEndPoint().getRemoteSocketAddress()), e.getMessage());
            close();
        } catch (Exception e) {
            LOG.debug("uwsgi connection failed while reading the request", e);
            close();
        }
    }

    private void start(List<Map.Entry<String, String>> vars) {
        MetaData.Request request;
        try {
            request = CgiRequestCustomizer.metaData(vars);
        } catch (IllegalArgumentException e) {
            LOG.warn("Closing uwsgi connection from {}: {}", Addresses.host(getEndPoint().getRemoteSocketAddress()), e.getMessage());
            close();
            return;
        }
        HttpChannel channel = new HttpChannel.DefaultFactory().newHttpChannel(this);
        stream = new Stream(channel, request.getContentLength(), HttpMethod.HEAD.is(request.getMethod()));
        channel.setHttpStream(stream);
        Runnable task = channel.onRequest(request);
        channel.getRequest().setAttribute(CgiRequestCustomizer.VARIABLES, List.copyOf(vars));
        connector.getExecutor().execute(task);
    }

    @Override
    public boolean onIdleExpired(TimeoutException timeout) {
        Stream s = stream;
        if (s == null) return true;
        HttpChannel.IdleTimeoutTask task = s.channel.onIdleTimeout(timeout);
        if (task.handlingRequest()) ThreadPool.executeImmediately(getExecutor(), task.action());
        return !task.handlingRequest();
    }

    @Override
    public void onClose(Throwable cause) {
        releaseInput();
        super.onClose(cause);
    }

    private void releaseInput() {
        if (input != null) {
            input.release();
            input = null;
        }
    }

    // ---- ConnectionMetaData ------------------------------------------------------------------

    @Override
    public String getId() {
        return id;
    }

    @Override
    public HttpVersion getHttpVersion() {
        return HttpVersion.HTTP_1_1;
    }

    @Override
    public String getProtocol() {
        return PROTOCOL_NAME;
    }

    @Override
    public boolean isPersistent() {
        return false;
    }

    @Override
    public boolean isSecure() {
        return false;
    }

    @Override
    public Object removeAttribute(String name) {
        return attributes.removeAttribute(name);
    }

    @Override
    public Object setAttribute(String name, Object attribute) {
        return attributes.setAttribute(name, attribute);
    }

    @Override
    public Object getAttribute(String name) {
        return attributes.getAttribute(name);
    }

    @Override
    public Set<String> getAttributeNameSet() {
        return attributes.getAttributeNameSet();
    }

    @Override
    public void clearAttributes() {
        attributes.clearAttributes();
    }

    /** The one exchange of this connection: the body after the packet, and the response. */
    private final class Stream implements HttpStream {
        private final HttpChannel channel;
        private final boolean head;
        private long remaining;
        private boolean committed;
        private Content.Chunk failure;

        Stream(HttpChannel channel, long length, boolean head) {
            this.channel = channel;
            this.remaining = length;
            this.head = head;
        }

        @Override
        public String getId() {
            return id;
        }

        /** Body bytes left in the packet buffer first, then from the connection, up to CONTENT_LENGTH. */
        @Override
        public Content.Chunk read() {
            if (failure != null) return failure;
            if (remaining == 0) return Content.Chunk.EOF;
            RetainableByteBuffer chunk = pool.acquire((int) Math.min(remaining, 64 * 1024), false);
            ByteBuffer into = chunk.getByteBuffer();
            try {
                int n;
                ByteBuffer leftover = input == null ? null : input.getByteBuffer();
                if (leftover != null && leftover.hasRemaining()) {
                    int pos = BufferUtil.flipToFill(into);
                    n = BufferUtil.put(leftover, into);
                    BufferUtil.flipToFlush(into, pos);
                    if (!leftover.hasRemaining()) releaseInput();
                } else {
                    releaseInput();
                    n = getEndPoint().fill(into);
                }
                if (n == 0) {
                    chunk.release();
                    return null;
                }
                if (n < 0) {
                    chunk.release();
                    failure = Content.Chunk.from(new EofException("the front server closed the connection "
                            + remaining + " bytes before the end of the body"), true);
                    return failure;
                }
                if (into.remaining() > remaining) into.limit(into.position() + (int) remaining);
                remaining -= into.remaining();
                return Content.Chunk.from(chunk, remaining == 0);
            } catch (Throwable t) {
                chunk.release();
                failure = Content.Chunk.from(t, true);
                return failure;
            }
        }

        @Override
        public void demand() {
            ByteBuffer leftover = input == null ? null : input.getByteBuffer();
            if (remaining == 0 || failure != null || (leftover != null && leftover.hasRemaining())) {
                Runnable task = channel.onContentAvailable();
                if (task != null) task.run();
                return;
            }
            fillInterested(new Callback() {
                @Override
                public void succeeded() {
                    Runnable task = channel.onContentAvailable();
                    if (task != null) task.run();
                }

                @Override
                public void failed(Throwable x) {
                    ThreadPool.executeImmediately(getExecutor(), channel.onFailure(x));
                }

                @Override
                public InvocationType getInvocationType() {
                    return Invocable.getInvocationType(channel);
                }
            });
        }

        @Override
        public void prepareResponse(HttpFields.Mutable headers) {
            // The response ends when the connection closes; nothing to add.
        }

        @Override
        public void send(MetaData.Request request, MetaData.Response response, boolean last, ByteBuffer content, Callback callback) {
            if (response != null && HttpStatus.isInformational(response.getStatus())) {
                callback.succeeded();  // 1xx are the front server's business
                return;
            }
            ByteBuffer body = head || content == null ? BufferUtil.EMPTY_BUFFER : content;
            if (response != null) {
                committed = true;
                getEndPoint().write(callback, head(response), body);
            } else {
                getEndPoint().write(callback, body);
            }
        }

        /** The status line and headers, as an HTTP/1.1 response. */
        private ByteBuffer head(MetaData.Response response) {
            StringBuilder s = new StringBuilder(256);
            String reason = response.getReason() != null ? response.getReason() : HttpStatus.getMessage(response.getStatus());
            s.append("HTTP/1.1 ").append(response.getStatus()).append(' ').append(reason).append("\r\n");
            for (HttpField field : response.getHttpFields()) {
                s.append(field.getName()).append(": ").append(field.getValue() == null ? "" : field.getValue()).append("\r\n");
            }
            s.append("\r\n");
            return ByteBuffer.wrap(s.toString().getBytes(StandardCharsets.ISO_8859_1));
        }

        @Override
        public Runnable cancelSend(Throwable cause, Callback appCallback) {
            return () -> {
                getEndPoint().close(cause);
                appCallback.failed(cause);
            };
        }

        @Override
        public long getIdleTimeout() {
            return getEndPoint().getIdleTimeout();
        }

        @Override
        public void setIdleTimeout(long idleTimeoutMs) {
            getEndPoint().setIdleTimeout(idleTimeoutMs);
        }

        @Override
        public boolean isCommitted() {
            return committed;
        }

        @Override
        public Throwable consumeAvailable() {
            return HttpStream.consumeAvailable(this, getHttpConfiguration());
        }

        /** The response is complete: the uwsgi protocol ends it by closing the connection. */
        @Override
        public void succeeded() {
            getEndPoint().shutdownOutput();
            close();
        }

        @Override
        public void failed(Throwable x) {
            getEndPoint().close(x);
        }
    }
}
