package jwsgi.http;

import java.nio.ByteBuffer;
import java.time.Duration;

import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.http.HttpCompliance;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.http.HttpParser;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.internal.HttpConnection;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.NanoTime;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Jetty's HTTP/1.1 connections, with what its parser lacks: gunicorn's request-line and
 * header-field limits, applied as each line is parsed (so a violation is a bad message, answered
 * with 414 or 431 and the connection closed, and an oversized head is never held whole); the
 * transfer codings Jetty lets through though it cannot decode them ({@code gzip, chunked}: 501,
 * as RFC 9112 6.1 says; chunked not last is 400) or that an HTTP/1.0 request cannot have (400,
 * its framing is faulty); no {@code 100 Continue} to HTTP/1.0 (RFC 9110 10.1.1); and
 * a deadline for the whole head of a request, from its first byte (slowloris).
 *
 * <p>The deadline is checked whenever bytes arrive: a client that trickles its head gets 408 at
 * its first byte past the deadline, one that stops sending is closed by the idle timeout
 * (--keep-alive).
 * Jetty's own limit on the total head size (set from the same limits) still applies.
 */
final class GuardedHttpConnectionFactory extends HttpConnectionFactory {
    private static final Logger LOG = LoggerFactory.getLogger(GuardedHttpConnectionFactory.class);

    private final HeadLimits limits;
    private final long headerTimeoutNanos;

    /** @param headerTimeout the longest a request head may take to arrive; zero for no limit */
    GuardedHttpConnectionFactory(HttpConfiguration config, HeadLimits limits, Duration headerTimeout) {
        super(config);
        this.limits = limits;
        this.headerTimeoutNanos = headerTimeout.toNanos();
    }

    @Override
    public Connection newConnection(Connector connector, EndPoint endPoint) {
        GuardedConnection connection = new GuardedConnection(getHttpConfiguration(), connector, endPoint);
        connection.setTransferEncodingChunkMaxLength(getTransferEncodingChunkMaxLength());
        return configure(connection, connector, endPoint);
    }

    /** Whether a request came over one of these HTTP/1.x connections (its head has been checked by it). */
    static boolean overHttp1(org.eclipse.jetty.server.Request request) {
        return request.getConnectionMetaData().getConnection() instanceof GuardedConnection;
    }

    private final class GuardedConnection extends HttpConnection {
        /** Header fields of the request being parsed, and its version; only the parsing thread touches them. */
        private int fields;
        private HttpVersion version;
        /** Set while the superclass constructor runs, so no initializer: one would overwrite it. */
        private RequestHandler handler;
        /**
         * The request being served asked for the connection to close (HTTP/1.0 without keep-alive,
         * or Connection: close), and every byte of it has been parsed; only the parsing thread
         * writes them.
         */
        private boolean clientCloses;
        private boolean complete;

        GuardedConnection(HttpConfiguration configuration, Connector connector, EndPoint endPoint) {
            super(configuration, connector, endPoint);
        }

        // The deadline is checked by the parser itself, on the thread parsing and in its own
        // state: reading the parser's state from onFillable raced with request completion on a
        // worker thread, and closing the endpoint from there corrupted pooled request buffers.
        @Override
        protected HttpParser newHttpParser(HttpCompliance compliance) {
            HttpConfiguration config = getHttpConfiguration();
            HttpParser parser = new DeadlineParser(handler, config.getRequestHeaderSize(), compliance);
            parser.setHeaderCacheSize(config.getHeaderCacheSize());
            parser.setHeaderCacheCaseSensitive(config.isHeaderCacheCaseSensitive());
            return parser;
        }

        /**
         * Once the response to a client that asked to close has been sent and its request was read
         * whole, the connection closes at once instead of waiting for the client's FIN: no byte
         * it sent is left unread, so closing cannot reset the response under it (RFC 9112 9.6's
         * lingering close guards unread bytes). Jetty would register the connection with a
         * selector to wait for that FIN: two epoll changes and a wake-up per connection.
         */
        @Override
        public void fillInterested(Callback callback) {
            if (clientCloses && complete && getEndPoint().isOutputShutdown()) {
                close();
                return;
            }
            super.fillInterested(callback);
        }

        /** Jetty decodes chunked alone; anything else would reach the app still encoded. */
        private void checkTransferEncoding(String value) {
            if (version != HttpVersion.HTTP_1_1) {
                throw new HttpException.RuntimeException(HttpStatus.BAD_REQUEST_400, "Transfer-Encoding in an "
                        + version + " request: its framing cannot be trusted (RFC 9112 6.1)");
            }
            String[] codings = (value == null ? "" : value).split(",", -1);
            for (int i = 0; i < codings.length; i++) {
                boolean chunked = codings[i].strip().equalsIgnoreCase("chunked");
                if (chunked != (i == codings.length - 1)) {
                    throw new HttpException.RuntimeException(HttpStatus.BAD_REQUEST_400, "Transfer-Encoding " + value
                            + ": chunked must be the final coding, once (RFC 9112 6.3, 7)");
                }
            }
            if (codings.length > 1) {
                throw new HttpException.RuntimeException(HttpStatus.NOT_IMPLEMENTED_501, "Transfer-Encoding " + value
                        + ": only chunked is implemented");
            }
        }

        // Called by the superclass constructor, before newHttpParser: it may use only the outer
        // instance's fields (set by then), and keeps its result for newHttpParser.
        @Override
        protected RequestHandler newRequestHandler() {
            handler = new RequestHandler() {
                @Override
                public void startRequest(String method, String uri, HttpVersion httpVersion) {
                    fields = 0;
                    version = httpVersion;
                    clientCloses = httpVersion != HttpVersion.HTTP_1_1;
                    complete = false;
                    limits.checkLine(method, uri, httpVersion == null ? null : httpVersion.asString());
                    super.startRequest(method, uri, httpVersion);
                }

                @Override
                public void parsedHeader(HttpField field) {
                    limits.checkField(++fields, field);
                    if (field.getHeader() == HttpHeader.TRANSFER_ENCODING) checkTransferEncoding(field.getValue());
                    // RFC 9110 10.1.1: an HTTP/1.0 request's 100-continue is ignored. As a field Jetty does not
                    // know, it gets no 100 and its body is read as any other; the app still sees HTTP_EXPECT.
                    if (field.getHeader() == HttpHeader.EXPECT && version == HttpVersion.HTTP_1_0) {
                        field = new HttpField(null, field.getName(), field.getValue());
                    }
                    if (field.getHeader() == HttpHeader.CONNECTION) {
                        if (field.contains(HttpHeaderValue.CLOSE.asString())) clientCloses = true;
                        else if (field.contains(HttpHeaderValue.KEEP_ALIVE.asString())) clientCloses = false;
                    }
                    super.parsedHeader(field);
                }

                @Override
                public boolean messageComplete() {
                    complete = true;
                    if (clientCloses && getEndPoint() instanceof DirectEndPoint direct) direct.closingAfterResponse();
                    return super.messageComplete();
                }
            };
            return handler;
        }
    }

    /**
     * Jetty's parser, refusing a request whose head is still incomplete past --header-timeout
     * with 408 (then the connection closes, as after any bad message). It checks whenever bytes
     * arrive; a client that sends nothing is closed by the idle timeout instead.
     */
    private final class DeadlineParser extends HttpParser {
        DeadlineParser(RequestHandler handler, int maxHeaderBytes, HttpCompliance compliance) {
            super(handler, maxHeaderBytes, compliance);
        }

        @Override
        public boolean parseNext(ByteBuffer buffer) {
            if (headerTimeoutNanos > 0 && !isStart() && inHeaderState() && NanoTime.since(getBeginNanoTime()) > headerTimeoutNanos) {
                LOG.debug("Refusing a request head that took more than --header-timeout {} s", headerTimeoutNanos / 1_000_000_000L);
                BufferUtil.clear(buffer);
                badMessage(new HttpException.RuntimeException(HttpStatus.REQUEST_TIMEOUT_408,
                        "the request head did not arrive within --header-timeout"));
                return false;
            }
            return super.parseNext(buffer);
        }
    }
}
