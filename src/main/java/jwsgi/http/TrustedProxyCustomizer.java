package jwsgi.http;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.Map;

import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.server.ConnectionMetaData;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.HostPort;
import org.eclipse.jetty.util.URIUtil;

/**
 * Applies what a trusted front end says about the client ({@link ForwardedHeaders}) to the
 * request: the client address (REMOTE_ADDR, and the access log's), the scheme
 * (wsgi.url_scheme), the host (HTTP_HOST, SERVER_NAME) and port (SERVER_PORT), and the
 * {@code SCRIPT_NAME} header (where the app is mounted). Requests from any other peer are left
 * exactly as the client sent them.
 *
 * <p>Unlike Jetty's ForwardedRequestCustomizer it checks the peer and walks X-Forwarded-For
 * from the right: a client cannot make itself look like anyone by sending the headers itself.
 */
final class TrustedProxyCustomizer implements HttpConfiguration.Customizer {
    private final AddressList trusted;
    private final Map<String, String> secureSchemeHeaders;

    TrustedProxyCustomizer(AddressList trusted, Map<String, String> secureSchemeHeaders) {
        this.trusted = trusted;
        this.secureSchemeHeaders = secureSchemeHeaders;
    }

    @Override
    public Request customize(Request request, HttpFields.Mutable responseHeaders) {
        if (!trusted.trusts(request.getConnectionMetaData().getRemoteSocketAddress())) return request;
        HttpFields headers = request.getHeaders();
        String script = headers.get("SCRIPT_NAME");
        if (script != null) request.setAttribute(JettyExchange.SCRIPT_NAME_ATTRIBUTE, script.strip());
        ForwardedHeaders.Result said;
        try {
            said = ForwardedHeaders.read(headers, trusted, secureSchemeHeaders);
        } catch (ForwardedHeaders.Contradiction e) {
            throw new HttpException.RuntimeException(400, e.getMessage());
        }
        return said.isEmpty() ? request : apply(request, said);
    }

    private static Request apply(Request request, ForwardedHeaders.Result said) {
        HttpURI original = request.getHttpURI();
        String scheme = said.scheme() != null ? said.scheme() : (request.isSecure() ? "https" : "http");
        boolean secure = scheme.equals("https");
        HttpFields headers = request.getHeaders();
        HttpURI uri = original;
        if (said.scheme() != null || said.host() != null || said.port() > 0) {
            HttpURI.Mutable builder = HttpURI.build(original).scheme(scheme);
            try {
                HostPort host = said.host() != null ? new HostPort(said.host()) : null;
                if (host != null) builder.host(host.getHost()).port(host.getPort());
                else if (original.getHost() == null) builder.host(Request.getServerName(request));
                if (said.port() > 0) builder.port(said.port());
                else if (host == null && said.scheme() != null && !hostHasPort(request)) builder.port(0);
                if (host != null || said.port() > 0) {
                    // HTTP_HOST says what the client asked for, so it follows the forwarded host and port.
                    int port = builder.getPort();
                    boolean implied = port <= 0 || port == URIUtil.getDefaultPortForScheme(scheme);
                    String value = HostPort.normalizeHost(builder.getHost()) + (implied ? "" : ":" + port);
                    headers = HttpFields.build(headers).put(new HttpField(HttpHeader.HOST, value)).asImmutable();
                }
            } catch (IllegalArgumentException e) {
                throw new HttpException.RuntimeException(400, "bad forwarded host from the front end: " + said.host());
            }
            uri = builder.asImmutable();
        }
        SocketAddress remote = said.clientHost() == null ? request.getConnectionMetaData().getRemoteSocketAddress()
                : InetSocketAddress.createUnresolved(said.clientHost(), said.clientPort());
        ConnectionMetaData connection = new FrontRequest.Connection(request.getConnectionMetaData(), remote, secure);
        return new FrontRequest(request, uri, headers, connection);
    }

    /** Whether the Host the client sent named a port (then a forwarded scheme does not change it). */
    private static boolean hostHasPort(Request request) {
        String host = request.getHeaders().get(HttpHeader.HOST);
        if (host == null) return false;
        try {
            return new HostPort(host).getPort() > 0;
        } catch (IllegalArgumentException e) {
            return false;
        }
    }
}
