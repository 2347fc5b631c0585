package jwsgi.http;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.eclipse.jetty.fcgi.FCGI;
import org.eclipse.jetty.fcgi.generator.Flusher;
import org.eclipse.jetty.fcgi.generator.ServerGenerator;
import org.eclipse.jetty.fcgi.parser.ServerParser;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.io.RetainableByteBuffer;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.HttpChannel;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One FastCGI connection from a front server (nginx {@code fastcgi_pass}, Apache
 * mod_proxy_fcgi), with Jetty's FastCGI record parser and generator. Requests follow each
 * other on the connection (kept open when the front server sets FCGI_KEEP_CONN); each goes
 * through Jetty's normal channel, and {@link CgiRequestCustomizer} makes it the request the
 * front server saw from its parameters.
 *
 * <p>Jetty's own FastCGI server connection builds the target from DOCUMENT_URI, which
 * Apache does not send (its requests fail); here the parameters are handed over whole and
 * the target comes from REQUEST_URI.
 *
 * <p>Threads: Jetty's selector and pool threads, one at a time (requests are not multiplexed).
 */
final class FastCgiConnection extends CgiConnection<FastCgiConnection.Stream> {
    private static final Logger LOG = LoggerFactory.getLogger(FastCgiConnection.class);
    static final String PROTOCOL_NAME = "fcgi/1.0";
    /** FCGI_KEEP_CONN: the front server keeps the connection for further requests. */
    private static final int KEEP_CONN = 1;

    private final ServerParser parser = new ServerParser(new Listener());
    private final Flusher flusher;
    /** The parameters of the request being received. */
    private List<Map.Entry<String, String>> params;
    private int requestId;
    /** Set by the listener when it asks the parser to stop. */
    private boolean stopped;
    private boolean keepConnection;

    FastCgiConnection(Connector connector, HttpConfiguration configuration, EndPoint endPoint) {
        super(connector, configuration, endPoint, PROTOCOL_NAME, "FastCGI");
        this.flusher = new Flusher(endPoint);
    }

    /** Between requests: reads and parses until a request's parameters are complete and it is started. */
    @Override
    public void onFillable() {
        try {
            while (true) {
                if (parseInput()) return;
                int filled = fill();
                if (filled == 0) {
                    releaseInputIfEmpty();
                    fillInterested();
                    return;
                }
                if (filled < 0) {
                    releaseInputIfEmpty();
                    flusher.shutdown();
                    return;
                }
            }
        } catch (Throwable t) {
            LOG.debug("FastCGI connection failed", t);
            close();
        }
    }

    /**
     * Parses what is buffered; true when the listener stopped the parser (a request started,
     * body content arrived or ended, or the connection failed). The parser also returns true
     * at the end of a buffer that ends a record, which means nothing here.
     */
    private boolean parseInput() {
        if (input == null) return false;
        ByteBuffer buffer = input.getByteBuffer();
        stopped = false;
        while (buffer.hasRemaining() && !stopped) parser.parse(buffer);
        return stopped;
    }

    private int fill() throws java.io.IOException {
        if (input == null) input = pool.acquire(getInputBufferSize(), false);
        ByteBuffer buffer = input.getByteBuffer();
        if (!buffer.hasRemaining()) buffer.clear().flip();
        return getEndPoint().fill(buffer);
    }

    private void releaseInputIfEmpty() {
        if (input != null && !input.getByteBuffer().hasRemaining()) releaseInput();
    }

    /** The response of the current request is complete: wait for the next one, or close. */
    private void completed(Stream done) {
        if (stream == done) stream = null;
        if (!keepConnection) {
            flusher.shutdown();
            return;
        }
        if (input != null && input.getByteBuffer().hasRemaining()) {
            getExecutor().execute(this::onFillable);
        } else {
            releaseInputIfEmpty();
            fillInterested();
        }
    }

    @Override
    public boolean isPersistent() {
        return keepConnection;
    }

    private final class Listener implements ServerParser.Listener {
        @Override
        public void onStart(int request, FCGI.Role role, int flags) {
            if (stream != null) throw new IllegalStateException("FastCGI multiplexing is not supported; request " + request);
            if (role != FCGI.Role.RESPONDER) throw new IllegalStateException("FastCGI role " + role + " is not supported");
            requestId = request;
            keepConnection = (flags & KEEP_CONN) != 0;
            params = new ArrayList<>();
        }

        @Override
        public void onHeader(int request, HttpField field) {
            // Jetty decodes parameters as UTF-8; WSGI wants the bytes, as latin-1.
            if (params != null) params.add(Map.entry(field.getName(), latin1(field.getValue())));
        }

        @Override
        public boolean onHeaders(int request) {
            List<Map.Entry<String, String>> vars = params;
            params = null;
            if (vars == null) return false;
            Runnable task = startRequest(vars, Stream::new);
            // On the pool: the parser must return first, as the body's records follow the parameters.
            if (task != null) getExecutor().execute(task);
            return stopped = true;
        }

        @Override
        public boolean onContent(int request, FCGI.StreamType type, ByteBuffer buffer) {
            Stream s = stream;
            if (s == null || type != FCGI.StreamType.STD_IN || s.ended) return false;  // the rest of a body nobody read
            RetainableByteBuffer copy = pool.acquire(buffer.remaining(), false);
            ByteBuffer into = copy.getByteBuffer();
            int pos = BufferUtil.flipToFill(into);
            into.put(buffer);
            BufferUtil.flipToFlush(into, pos);
            // The body ends with CONTENT_LENGTH bytes, not only with the empty STDIN record that follows them.
            s.remaining -= copy.remaining();
            s.ended = s.remaining <= 0;
            s.pending = Content.Chunk.from(copy, s.ended);
            return stopped = true;
        }

        @Override
        public boolean onEnd(int request) {
            Stream s = stream;
            if (s == null) return false;
            s.ended = true;
            return stopped = true;
        }

        @Override
        public void onFailure(int request, Throwable failure) {
            Stream s = stream;
            if (s != null) s.pending = Content.Chunk.from(failure, true);
            stopped = true;
            closeBadConnection(failure.toString());
        }
    }

    private static String latin1(String utf8) {
        return utf8 == null ? "" : new String(utf8.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
    }

    /** One request: its body from FCGI_STDIN records, its response as FCGI_STDOUT records and FCGI_END_REQUEST. */
    final class Stream extends CgiStream {
        private final int request;
        private final ServerGenerator generator;
        private Content.Chunk pending;
        private boolean ended;
        /** Body bytes still to come (CONTENT_LENGTH; a request without one has none). */
        private long remaining;
        private boolean lastSent;
        private boolean failed;

        Stream(HttpChannel channel, MetaData.Request metaData) {
            super(FastCgiConnection.this, channel, metaData);
            this.remaining = metaData.getContentLength();
            this.ended = remaining == 0;
            this.request = requestId;
            // No "Status: 200" line: nginx and Apache take a response without one as 200.
            this.generator = new ServerGenerator(pool, false, false);
        }

        @Override
        public String getId() {
            return Integer.toString(request);
        }

        @Override
        public Content.Chunk read() {
            if (pending == null && !ended) parseMore();
            Content.Chunk chunk = pending;
            if (chunk != null) {
                if (!Content.Chunk.isFailure(chunk)) pending = null;
                return chunk;
            }
            return ended ? Content.Chunk.EOF : null;
        }

        /** Parses buffered and readable bytes until a body chunk or the body's end arrives, or nothing more can be read now. */
        private void parseMore() {
            try {
                while (pending == null && !ended) {
                    if (parseInput()) continue;
                    int filled = fill();
                    if (filled == 0) return;
                    if (filled < 0) {
                        pending = Content.Chunk.from(new EofException("the front server closed the connection inside a request body"), true);
                        return;
                    }
                }
            } catch (Throwable t) {
                pending = Content.Chunk.from(t, true);
            }
        }

        @Override
        boolean readable() {
            if (pending == null && !ended) parseMore();
            return pending != null || ended;
        }

        @Override
        void write(MetaData.Response response, ByteBuffer body, boolean last, Callback callback) {
            ByteBufferPool.Accumulator out = new ByteBufferPool.Accumulator();
            if (response != null) {
                // A 200 needs its Status line after all when the app gave it a phrase of its own (ReasonPhrase).
                boolean ownPhrase = response.getStatus() == HttpStatus.OK_200 && response.getReason() != null;
                (ownPhrase ? new ServerGenerator(pool, false, true) : generator)
                        .generateResponseHeaders(out, request, response.getStatus(), response.getReason(), response.getHttpFields());
            }
            if (body.hasRemaining() || last) generator.generateResponseContent(out, request, body, last, false);
            lastSent |= last;
            flusher.flush(out, callback);
        }

        @Override
        public Runnable cancelSend(Throwable cause, Callback appCallback) {
            return () -> Callback.combine(flusher.cancel(cause), appCallback).failed(cause);
        }

        /**
         * Reads what has arrived of a body the app left unread. Unlike HTTP/1, FastCGI frames the
         * body in records, so what is still to come is skipped as it arrives and the connection
         * stays usable.
         */
        @Override
        public Throwable consumeAvailable() {
            while (true) {
                Content.Chunk chunk = read();
                if (chunk == null) return null;
                chunk.release();
                if (Content.Chunk.isFailure(chunk)) return chunk.getFailure();
                if (chunk.isLast()) return null;
            }
        }

        @Override
        public void succeeded() {
            channel.recycle();
            completed(this);
        }

        @Override
        public void failed(Throwable x) {
            if (failed) return;
            failed = true;
            if (lastSent) {
                getEndPoint().close(x);
                return;
            }
            // Tell the front server the request ended badly, then drop the connection.
            ByteBufferPool.Accumulator out = new ByteBufferPool.Accumulator();
            generator.generateResponseContent(out, request, BufferUtil.EMPTY_BUFFER, true, true);
            flusher.flush(out, Callback.from(() -> getEndPoint().close(x)));
        }
    }
}
