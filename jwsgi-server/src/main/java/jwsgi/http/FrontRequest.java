package jwsgi.http;

import java.net.SocketAddress;

import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.server.ConnectionMetaData;
import org.eclipse.jetty.server.Request;

/**
 * A request as the front server (proxy, nginx, Apache) received it, rebuilt from what it
 * passed on (forwarded headers, CGI variables): the URI, headers, scheme and client are the
 * front server's; everything else is the wrapped request's. The customizers that believe a
 * front server ({@link TrustedProxyCustomizer}, {@link CgiRequestCustomizer}) return one.
 */
class FrontRequest extends Request.Wrapper {
    private final HttpURI uri;
    private final HttpFields headers;
    private final ConnectionMetaData connection;

    /** @param connection the connection as the front server saw it; it also says whether the request is secure */
    FrontRequest(Request request, HttpURI uri, HttpFields headers, ConnectionMetaData connection) {
        super(request);
        this.uri = uri;
        this.headers = headers;
        this.connection = connection;
    }

    @Override
    public HttpURI getHttpURI() {
        return uri;
    }

    @Override
    public HttpFields getHeaders() {
        return headers;
    }

    @Override
    public boolean isSecure() {
        return connection.isSecure();
    }

    @Override
    public ConnectionMetaData getConnectionMetaData() {
        return connection;
    }

    /** The connection as the front server saw it: its client and whether it was secure. */
    static class Connection extends ConnectionMetaData.Wrapper {
        private final SocketAddress client;
        private final boolean secure;

        Connection(ConnectionMetaData wrapped, SocketAddress client, boolean secure) {
            super(wrapped);
            this.client = client;
            this.secure = secure;
        }

        @Override
        public SocketAddress getRemoteSocketAddress() {
            return client;
        }

        @Override
        public boolean isSecure() {
            return secure;
        }
    }
}
