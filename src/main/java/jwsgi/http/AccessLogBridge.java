package jwsgi.http;

import java.time.Instant;
import java.util.Base64;
import java.nio.charset.StandardCharsets;

import jwsgi.log.AccessLog;

import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.RequestLog;
import org.eclipse.jetty.server.Response;

/** Feeds Jetty's completed requests, including those Jetty rejected itself, to the {@link AccessLog}. */
final class AccessLogBridge implements RequestLog {
    private final AccessLog log;

    AccessLogBridge(AccessLog log) {
        this.log = log;
    }

    @Override
    public void log(Request request, Response response) {
        HttpFields headers = request.getHeaders();
        log.log(new AccessLog.Entry(
                Addresses.host(request.getConnectionMetaData().getRemoteSocketAddress()),
                Instant.ofEpochMilli(Request.getTimeStamp(request)),
                request.getMethod(),
                request.getHttpURI().getPathQuery(),
                request.getConnectionMetaData().getProtocol(),
                response.getStatus(),
                Response.getContentBytesWritten(response),
                headers.get(HttpHeader.REFERER),
                headers.get(HttpHeader.USER_AGENT),
                basicUser(headers.get(HttpHeader.AUTHORIZATION))));
    }

    /** The user name of HTTP Basic credentials, as gunicorn's %(u)s shows it. */
    private static String basicUser(String authorization) {
        if (authorization == null || !authorization.regionMatches(true, 0, "Basic ", 0, 6)) return null;
        try {
            String decoded = new String(Base64.getDecoder().decode(authorization.substring(6).strip()), StandardCharsets.UTF_8);
            int colon = decoded.indexOf(':');
            return colon < 0 ? null : decoded.substring(0, colon);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}
