package jwsgi.jetty;

import java.nio.ByteBuffer;

import jwsgi.embed.PythonApp;
import jwsgi.embed.PythonAppOptions;
import jwsgi.wsgi.Exchange;

import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;

/**
 * A Jetty 12 handler that serves a WSGI app ({@link PythonApp}): jwsgi's own server uses it, and
 * a Java service embeds it like any other handler.
 * <pre>{@code
 * Server server = new Server(8080);
 * server.setHandler(new WsgiHandler(PythonAppOptions.builder("hello:app").python("/usr/bin/python3").build()));
 * server.start();   // imports the app; server.stop() stops it and finalises Python
 * }</pre>
 *
 * <p>It never blocks: it reads the whole request body without holding any thread (in memory up to
 * {@link BodyLimits#memoryBytes}, in an unlinked temp file beyond), so a slow upload costs no
 * Python thread, then hands the request to the app. Only a request that sent
 * {@code Expect: 100-continue} is handed over at once, its body streamed as the app reads it,
 * so the app decides whether it is sent at all. Responses are streamed as the app yields them,
 * with Jetty's asynchronous writes.
 *
 * <p>It enforces what is decided before the app runs: the body limit (413), the body read
 * deadline (408), any {@link Options#check} (the command line's head limits), and the app's
 * bound on waiting requests (503). Refusals of a request whose body is left unread close the
 * connection.
 *
 * <p>The environ: SCRIPT_NAME is the context path (a {@code ContextHandler} the handler is
 * mounted in) plus {@link Options#rootPath}; REMOTE_USER the principal of Jetty's
 * authentication state (a {@code SecurityHandler} in front); {@code wsgi.url_scheme} what Jetty
 * says of the request (TLS, or forwarded headers a customizer applied).
 *
 * <p>Threads: Jetty's, any kind (virtual threads included): it declares itself non-blocking,
 * and the app's requests run on its own Python threads unless it runs inline, which only the
 * command line's server does (on threads of its own).
 */
public final class WsgiHandler extends Handler.Abstract.NonBlocking {
    /**
     * What the handler adds to the request before the app.
     *
     * @param rootPath     where the app is mounted below the context path, "" for none (--root-path)
     * @param body         what it accepts of a request body and how it keeps it
     * @param accessLogged keep what an access log shows of each response (the command line's)
     * @param check        a check of each request before its body is read, e.g. head limits
     */
    public record Options(String rootPath, BodyLimits body, boolean accessLogged, RequestCheck check) {
        /** No root path, the command line's body limits, no access log, no check. */
        public static final Options DEFAULT = new Options("", BodyLimits.DEFAULT, false, RequestCheck.NONE);
    }

    /** A check of each request before its body is read. */
    @FunctionalInterface
    public interface RequestCheck {
        RequestCheck NONE = request -> { };

        /** @throws HttpException.RuntimeException to refuse the request with its code and reason */
        void check(Request request);
    }

    private final PythonAppOptions starting;
    private final Options options;
    private PythonApp app;
    private ByteBufferPool buffers;

    /** Serves {@code app}, which its caller started and closes. */
    public WsgiHandler(PythonApp app) {
        this(app, Options.DEFAULT);
    }

    /** Serves {@code app}, which its caller started and closes, as {@code options} say. */
    public WsgiHandler(PythonApp app, Options options) {
        this.app = app;
        this.starting = null;
        this.options = options;
    }

    /**
     * Serves the app of {@code starting}: started as the handler starts, closed as it stops (the
     * last app of the process to close finalises Python, which cannot start again in it).
     */
    public WsgiHandler(PythonAppOptions starting) {
        this.starting = starting;
        this.options = Options.DEFAULT;
    }

    @Override
    protected void doStart() throws Exception {
        buffers = getServer().getByteBufferPool();
        if (starting != null) app = PythonApp.start(starting);
        super.doStart();
    }

    @Override
    protected void doStop() throws Exception {
        super.doStop();
        // The closed app stays: a request that still arrives gets its 503 rather than a null.
        if (starting != null && app != null) app.close();
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        // The app may run for as long as it needs; idle timeouts still end stalled reads and writes.
        request.addIdleTimeoutListener(timeout -> false);
        try {
            options.check().check(request);
        } catch (HttpException.RuntimeException e) {
            // Answered before the body is read; the server's error handler closes the connection.
            Response.writeError(request, response, callback, e.getCode(), e.getReason());
            return true;
        }
        long length = request.getLength();
        BodyLimits limits = options.body();
        if (limits.maxBytes() > 0 && length > limits.maxBytes()) {
            Response.writeError(request, response, callback, HttpStatus.PAYLOAD_TOO_LARGE_413, BodyReader.tooLarge(limits));
            return true;
        }
        JettyExchange ex = new JettyExchange(request, response, callback, buffers, options.rootPath(), options.accessLogged());
        // HTTP/1 without Content-Length or Transfer-Encoding has no body (RFC 9112 6.3); HTTP/2
        // frames may carry one without announcing its length. uwsgi and FastCGI requests always
        // have a length (CONTENT_LENGTH, 0 when absent).
        boolean http1 = request.getConnectionMetaData().getHttpVersion().getVersion() < 20;
        boolean unframed = length < 0 && http1 && !request.getHeaders().contains(HttpHeader.TRANSFER_ENCODING);
        if (length == 0 || unframed) {
            ex.body(new Exchange.Body.Buffered(ByteBuffer.allocate(0)), null);
            app.submit(ex);
        } else if (request.getHeaders().contains(HttpHeader.EXPECT, HttpHeaderValue.CONTINUE.asString())) {
            // Never an HTTP/1.0 request: GuardedHttpConnectionFactory passes its Expect on as an unknown field.
            ex.body(StreamedBody.of(request, limits.maxBytes()), null);
            app.submit(ex);
        } else {
            new BodyReader(ex, length, limits, buffers, app::submit).run();
        }
        return true;
    }
}
