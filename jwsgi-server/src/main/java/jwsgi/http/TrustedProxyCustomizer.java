package jwsgi.http;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import jwsgi.config.AddressList;
import jwsgi.jetty.RequestAttributes;

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
 * headers with '_' in their names that {@code --forwarder-headers} lets it pass (gunicorn's
 * forwarder_headers): each becomes HTTP_NAME in the environ, and a {@code SCRIPT_NAME} header
 * also says where the app is mounted. Requests from any other peer are left exactly as the
 * client sent them, and their headers with '_' never reach the app.
 *
 * <p>Unlike Jetty's ForwardedRequestCustomizer it checks the peer and walks X-Forwarded-For
 * from the right: a client cannot make itself look like anyone by sending the headers itself.
 */
final class TrustedProxyCustomizer implements HttpConfiguration.Customizer {
    private final AddressList trusted;
    private final Set<String> forwarderHeaders;
    private final Map<String, String> secureSchemeHeaders;

    /** @param forwarderHeaders upper-case header names with '_' that trusted peers may pass on, or "*" for all */
    TrustedProxyCustomizer(AddressList trusted, Set<String> forwarderHeaders, Map<String, String> secureSchemeHeaders) {
        this.trusted = trusted;
        this.forwarderHeaders = forwarderHeaders;
        this.secureSchemeHeaders = secureSchemeHeaders;
    }

    @Override
    public Request customize(Request request, HttpFields.Mutable responseHeaders) {
        if (!trusted.trusts(request.getConnectionMetaData().getRemoteSocketAddress())) return request;
        HttpFields headers = request.getHeaders();
        if (!forwarderHeaders.isEmpty()) passForwarderHeaders(request, headers);
        ForwardedHeaders.Result said;
        try {
            said = ForwardedHeaders.read(headers, trusted, secureSchemeHeaders);
        } catch (ForwardedHeaders.Contradiction e) {
            throw new HttpException.RuntimeException(400, e.getMessage());
        }
        return said.isEmpty() ? request : apply(request, said);
    }

    /**
     * Puts the listed headers with '_' in the environ, which drops every header with '_' (see
     * {@code WsgiApplication.headerKey}): as gunicorn does, HTTP_ + the upper-cased name, '-'
     * read as '_', repeated headers joined. A header without '_' of the same environ name wins.
     */
    private void passForwarderHeaders(Request request, HttpFields headers) {
        Map<String, String> passed = null;
        for (HttpField field : headers) {
            String name = field.getName();
            if (name.indexOf('_') < 0) continue;
            String upper = name.toUpperCase(Locale.ROOT);
            if (!forwarderHeaders.contains(upper) && !forwarderHeaders.contains("*")) continue;
            String value = field.getValue() == null ? "" : field.getValue();
            if (upper.equals("SCRIPT_NAME")) request.setAttribute(RequestAttributes.SCRIPT_NAME, value.strip());
            if (passed == null) passed = new LinkedHashMap<>();
            passed.merge("HTTP_" + upper.replace('-', '_'), value, (a, b) -> a + ", " + b);
        }
        if (passed == null) return;
        List<Map.Entry<String, String>> extra = new ArrayList<>(RequestAttributes.extraEnviron(request));
        extra.addAll(passed.entrySet());
        request.setAttribute(RequestAttributes.EXTRA_ENVIRON, List.copyOf(extra));
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
