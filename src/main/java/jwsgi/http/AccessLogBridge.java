package jwsgi.http;

import java.time.Instant;
import java.util.Locale;

import jwsgi.log.AccessLog;
import jwsgi.log.AccessLogFormat;
import jwsgi.wsgi.LoggedEnviron;
import jwsgi.wsgi.ResponseHead;

import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.RequestLog;
import org.eclipse.jetty.server.Response;

/**
 * Feeds Jetty's completed requests, including those Jetty rejected itself, to the
 * {@link AccessLog}. For a request the app answered, the environ atoms are the values the
 * Python worker read from the environ after the app ran ({@link #ENVIRON}) and the response
 * headers are the app's own ({@link #APP_HEAD}), as gunicorn logs them; for a request that
 * never reached the app they are derived from the request as Jetty parsed it.
 *
 * <p>Threads: Jetty's, once per completed request.
 */
final class AccessLogBridge implements RequestLog {
    /** Request attribute: the app's {@link ResponseHead}. */
    static final String APP_HEAD = "jwsgi.access.head";
    /** Request attribute: the {@link LoggedEnviron} of a request the app answered. */
    static final String ENVIRON = "jwsgi.access.environ";

    private final AccessLog log;

    AccessLogBridge(AccessLog log) {
        this.log = log;
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

        Facts(Request request, Response response, long endNanos, Instant end) {
            this.request = request;
            this.response = response;
            this.endNanos = endNanos;
            this.end = end;
            this.environ = request.getAttribute(ENVIRON) instanceof LoggedEnviron values ? values : null;
        }

        @Override
        public String environ(String key) {
            if (environ != null && environ.has(key)) return environ.get(key);
            return derived(key);
        }

        /** What the environ would have held, for a request the app never saw. */
        private String derived(String key) {
            HttpURI uri = request.getHttpURI();
            return switch (key) {
                case "REMOTE_ADDR" -> Addresses.host(request.getConnectionMetaData().getRemoteSocketAddress());
                case "REMOTE_PORT" -> Integer.toString(Addresses.port(request.getConnectionMetaData().getRemoteSocketAddress()));
                case "REQUEST_METHOD" -> request.getMethod();
                case "RAW_URI" -> uri.getPathQuery() == null ? "" : uri.getPathQuery();
                case "SERVER_PROTOCOL" -> request.getConnectionMetaData().getProtocol();
                case "PATH_INFO" -> decodedPath(uri);
                case "QUERY_STRING" -> uri.getQuery() == null ? "" : uri.getQuery();
                case "wsgi.url_scheme" -> request.isSecure() ? "https" : "http";
                case "CONTENT_TYPE" -> request.getHeaders().get("Content-Type");
                case "CONTENT_LENGTH" -> request.getHeaders().get("Content-Length");
                default -> key.startsWith("HTTP_") ? joinedHeader(key.substring(5).replace('_', '-')) : null;
            };
        }

        private static String decodedPath(HttpURI uri) {
            try {
                String path = uri.getDecodedPath();
                return path == null ? "" : path;
            } catch (RuntimeException e) {
                return uri.getPath() == null ? "" : uri.getPath();
            }
        }

        /** Repeated headers joined as the environ joins them. */
        private String joinedHeader(String name) {
            String joined = null;
            for (HttpField f : request.getHeaders()) {
                if (!f.getName().equalsIgnoreCase(name) || f.getName().indexOf('_') >= 0) continue;
                joined = joined == null ? f.getValue() : joined + (name.equalsIgnoreCase("Cookie") ? "; " : ", ") + f.getValue();
            }
            return joined;
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
            if (!(request.getAttribute(APP_HEAD) instanceof ResponseHead head)) return null;
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
