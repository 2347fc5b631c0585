package jwsgi.http;

import java.time.Instant;
import java.util.Locale;

import jwsgi.log.AccessLog;
import jwsgi.log.AccessLogFormat;
import jwsgi.wsgi.CgiView;
import jwsgi.wsgi.Exchange;
import jwsgi.wsgi.LoggedEnviron;
import jwsgi.wsgi.ResponseHead;
import jwsgi.jetty.JettyExchange;
import jwsgi.jetty.RequestAttributes;

import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.RequestLog;
import org.eclipse.jetty.server.Response;

/**
 * Feeds Jetty's completed requests, including those Jetty rejected itself, to the
 * {@link AccessLog}. For a request the app answered, the environ atoms are the values the
 * Python worker read from the environ after the app ran ({@link RequestAttributes#ENVIRON})
 * and the response headers are the app's own ({@link RequestAttributes#APP_HEAD}), as
 * gunicorn logs them; for a request that never reached the app they are what its environ
 * would have held ({@link CgiView}).
 *
 * <p>Threads: Jetty's, once per completed request.
 */
final class AccessLogBridge implements RequestLog {
    private final AccessLog log;
    private final String rootPath;

    /** @param rootPath where the app is mounted (--root-path), "" for the root: SCRIPT_NAME, as the environ has it */
    AccessLogBridge(AccessLog log, String rootPath) {
        this.log = log;
        this.rootPath = rootPath;
    }

    @Override
    public void log(Request request, Response response) {
        log.log(new Facts(request, response, System.nanoTime(), Instant.now()));
    }

    /** One finished request, seen through the access log's questions. */
    private final class Facts implements AccessLogFormat.Request {
        private final Request request;
        private final Response response;
        private final long endNanos;
        private final Instant end;
        private final LoggedEnviron environ;
        /** The request as the app would have seen it, made when first needed. */
        private Exchange unseen;

        Facts(Request request, Response response, long endNanos, Instant end) {
            this.request = request;
            this.response = response;
            this.endNanos = endNanos;
            this.end = end;
            this.environ = request.getAttribute(RequestAttributes.ENVIRON) instanceof LoggedEnviron values ? values : null;
        }

        @Override
        public String environ(String key) {
            if (environ != null && environ.has(key)) return environ.get(key);
            try {
                // Only the request side is used: the same accessors the environ is built from.
                if (unseen == null) unseen = JettyExchange.view(request, rootPath);
                return CgiView.variable(unseen, key);
            } catch (RuntimeException e) {
                return null;  // a request Jetty could not parse may lack the part asked for: the log shows "-"
            }
        }

        @Override
        public String requestHeader(String lowerName) {
            String value = null;
            HttpFields headers = request.getHeaders();
            for (HttpField f : headers) {
                if (f.getName().toLowerCase(Locale.ROOT).equals(lowerName)) value = f.getValue();
            }
            return value;
        }

        @Override
        public String responseHeader(String lowerName) {
            if (!(request.getAttribute(RequestAttributes.APP_HEAD) instanceof ResponseHead head)) return null;
            String value = null;
            for (ResponseHead.Header h : head.headers()) {
                if (h.name().toLowerCase(Locale.ROOT).equals(lowerName)) value = h.value();
            }
            return value;
        }

        @Override
        public int status() {
            return response.getStatus();
        }

        @Override
        public long bodyBytes() {
            return Response.getContentBytesWritten(response);
        }

        @Override
        public long durationNanos() {
            return Math.max(0, endNanos - request.getHeadersNanoTime());
        }

        @Override
        public Instant end() {
            return end;
        }
    }
}
