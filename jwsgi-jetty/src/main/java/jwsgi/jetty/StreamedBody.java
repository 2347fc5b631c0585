package jwsgi.jetty;

import java.io.IOException;
import java.util.concurrent.TimeoutException;

import jwsgi.wsgi.Exchange;
import jwsgi.wsgi.InputStreamBody;

import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.io.EofException;
import org.eclipse.jetty.server.Request;

/**
 * A request body read from the connection as the app asks for it: used when the client sent
 * {@code Expect: 100-continue} (Jetty answers it on the first read, so the app decides whether
 * the body is sent at all).
 */
final class StreamedBody {
    private StreamedBody() {}

    /** @param limit the most bytes the body may have (--limit-request-body); 0 for no limit */
    static Exchange.Body.Streamed of(Request request, long limit) {
        return new InputStreamBody(Content.Source.asInputStream(request), limit, StreamedBody::describe);
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
