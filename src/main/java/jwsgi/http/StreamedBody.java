package jwsgi.http;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeoutException;

import jwsgi.wsgi.Exchange;

import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.server.Request;

/**
 * A request body read from the connection as the app asks for it: used when the client sent
 * {@code Expect: 100-continue} (Jetty answers it on the first read, so the app decides whether
 * the body is sent at all). Reads block the Python worker's thread, which has released the GIL.
 *
 * <p>Threads: the Python worker that runs the request.
 */
final class StreamedBody implements Exchange.Body.Streamed {
    private final InputStream rest;
    private final long limit;
    private long received;
    private byte[] scratch = new byte[0];

    /** @param limit the most bytes the body may have (--limit-request-body); 0 for no limit */
    StreamedBody(Request request, long limit) {
        this.rest = Content.Source.asInputStream(request);
        this.limit = limit;
    }

    @Override
    public int read(ByteBuffer into) throws IOException {
        if (!into.hasRemaining()) return 0;
        int want = into.remaining();
        if (scratch.length < want) scratch = new byte[Math.min(want, 1 << 16)];
        int n;
        try {
            n = rest.read(scratch, 0, Math.min(want, scratch.length));
        } catch (IOException e) {
            throw new IOException(describe(e), e);
        }
        if (n > 0) {
            received += n;
            if (limit > 0 && received > limit) {
                throw new IOException("the request body is larger than --limit-request-body " + limit + " bytes");
            }
            into.put(scratch, 0, n);
        }
        return n;
    }

    /** An app sees this message in its OSError: say what happened, not which Jetty class noticed. */
    private static String describe(IOException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof EofException) return "the client closed the connection before sending the whole body";
            if (t instanceof TimeoutException) return "the client stopped sending the body (idle timeout)";
            if (t instanceof HttpException http) return "malformed request body: " + http.getReason();
        }
        return e.getMessage();
    }
}
