package jwsgi.http;

import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.RequestLog;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.NanoTime;

/**
 * Counts every request as it completes. Jetty calls a request log for each request, those it
 * refused before any handler saw them included (a malformed request line, a head too large),
 * once the response is written; so the counts cover what the access log shows.
 *
 * <p>Threads: the thread that completes the request.
 */
final class MetricsLog implements RequestLog {
    private final RequestMetrics metrics;

    MetricsLog(RequestMetrics metrics) {
        this.metrics = metrics;
    }

    @Override
    public void log(Request request, Response response) {
        metrics.completed(request.getMethod(), response.getStatus(), NanoTime.since(request.getBeginNanoTime()));
    }
}
