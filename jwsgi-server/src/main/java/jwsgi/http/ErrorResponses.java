package jwsgi.http;

import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpHeaderValue;
import org.eclipse.jetty.http.MimeTypes;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.handler.ErrorHandler;
import org.eclipse.jetty.util.Callback;

/**
 * The responses the server writes itself when it refuses a request before the app sees it
 * (malformed request, limits, timeouts): a short plain-text reason, no stack traces, and, on
 * HTTP/1.x, the connection closed afterwards. What follows a refused request on the same
 * connection is never read: if the refusal was about framing, where the next request starts
 * is not known; if not, closing costs one reconnect and leaves nothing to doubt.
 */
final class ErrorResponses extends ErrorHandler {
    private final RequestMetrics metrics;

    ErrorResponses() {
        this(RequestMetrics.NONE);
    }

    /** @param metrics told of each error response written here */
    ErrorResponses(RequestMetrics metrics) {
        this.metrics = metrics;
        setShowStacks(false);
        setShowCauses(false);
        setDefaultResponseMimeType(MimeTypes.Type.TEXT_PLAIN.asString());
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        metrics.refused(response.getStatus());
        if (GuardedHttpConnectionFactory.overHttp1(request)) {
            response.getHeaders().put(HttpHeader.CONNECTION, HttpHeaderValue.CLOSE.asString());
        }
        return super.handle(request, response, callback);
    }
}
