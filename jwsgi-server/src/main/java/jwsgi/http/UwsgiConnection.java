package jwsgi.http;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.io.RetainableByteBuffer;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpChannel;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpStream;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.NanoTime;
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
final class UwsgiConnection extends CgiConnection<UwsgiConnection.Stream> {
    private static final Logger LOG = LoggerFactory.getLogger(UwsgiConnection.class);
    static final String PROTOCOL_NAME = "uwsgi";
    /**
     * The request packet's first buffer; a larger packet (its header says how large) gets one of
     * its size. nginx's uwsgi_params make packets of about 1 KiB; a buffer of the largest packet
     * (64 KiB, beyond the pool's sizes) per connection was garbage the young generation could not
     * hold under load: it filled the old one and the collector ran all the time (docs/benchmarks.md).
     */
    private static final int FIRST_BUFFER = 4096;

    private final long headerTimeoutNanos;
    /** When the first byte of the request packet arrived; 0 before. */
    private long packetStart;

    /** @param headerTimeout the longest the request packet may take to arrive, from its first byte; zero for no limit */
    UwsgiConnection(Connector connector, HttpConfiguration configuration, EndPoint endPoint, Duration headerTimeout) {
        super(connector, configuration, endPoint, PROTOCOL_NAME, "uwsgi");
        this.headerTimeoutNanos = headerTimeout.toNanos();
        // The protocol ends every response by closing the connection.
        if (endPoint instanceof DirectEndPoint direct) direct.closingAfterResponse();
    }

    /** Reads until the whole request packet is in, then starts the request. */
    @Override
    public void onFillable() {
        if (stream != null) return;
        if (input == null) input = pool.acquire(FIRST_BUFFER, false);
        ByteBuffer buffer = input.getByteBuffer();
        try {
            while (true) {
                List<Map.Entry<String, String>> vars = UwsgiPacket.parse(buffer);
                if (vars != null) {
                    Runnable task = startRequest(vars, Stream::new);
                    // The packet is all the framing there is: the request runs on the thread that
                    // read it, as Jetty's HttpConnection runs its requests, without a hand-off
                    // (two context switches per request, measured: docs/benchmarks.md).
                    if (task != null) task.run();
                    return;
                }
                if (BufferUtil.space(buffer) == 0) {
                    int size = UwsgiPacket.size(buffer);
                    if (size <= buffer.capacity()) throw new UwsgiPacket.Malformed("uwsgi packet larger than its header says");
                    buffer = growInput(size);
                }
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
            closeBadConnection(e.getMessage());
        } catch (Exception e) {
            LOG.debug("uwsgi connection failed while reading the request", e);
            close();
        }
    }

    /** Moves what the input buffer holds into one of {@code size} bytes. */
    private ByteBuffer growInput(int size) {
        RetainableByteBuffer larger = pool.acquire(size, false);
        ByteBuffer into = larger.getByteBuffer();
        int pos = BufferUtil.flipToFill(into);
        into.put(input.getByteBuffer());
        BufferUtil.flipToFlush(into, pos);
        input.release();
        input = larger;
        return into;
    }

    @Override
    public boolean isPersistent() {
        return false;
    }

    /** The one exchange of this connection: the body after the packet, and the response. */
    final class Stream extends CgiStream {
        private long remaining;
        private Content.Chunk failure;

        Stream(HttpChannel channel, MetaData.Request request) {
            super(UwsgiConnection.this, channel, request);
            this.remaining = request.getContentLength();
        }

        @Override
        public String getId() {
            return UwsgiConnection.this.getId();
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
        boolean readable() {
            ByteBuffer leftover = input == null ? null : input.getByteBuffer();
            return remaining == 0 || failure != null || (leftover != null && leftover.hasRemaining());
        }

        @Override
        void write(MetaData.Response response, ByteBuffer body, boolean last, Callback callback) {
            if (response != null) {
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
