package jwsgi.http;

import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.server.ConnectionMetaData;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.HostPort;
import org.eclipse.jetty.util.URIUtil;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a uwsgi or FastCGI request into the request the front server received, from the
 * CGI variables it sent: the raw target (REQUEST_URI), the scheme (HTTPS, REQUEST_SCHEME), the
 * client (REMOTE_ADDR, REMOTE_PORT), the server (SERVER_NAME, SERVER_PORT), the protocol, the
 * body framing (CONTENT_LENGTH, CONTENT_TYPE) and the mount point (SCRIPT_NAME). Variables the
 * WSGI environ does not build itself (REMOTE_USER, DOCUMENT_ROOT, HTTPS, custom
 * {@code uwsgi_param}s, ...) are passed on to it as they are.
 *
 * <p>Only peers in {@code --uwsgi-allow-from} (and Unix-socket peers) may send such requests:
 * their variables are believed without question, so any other peer gets 403.
 */
final class CgiRequestCustomizer implements HttpConfiguration.Customizer {
    private static final Logger LOG = LoggerFactory.getLogger(CgiRequestCustomizer.class);
    /** Request attribute: the uwsgi packet's variables, a {@code List<Map.Entry<String, String>>} in latin-1. */
    static final String VARIABLES = "jwsgi.cgi.variables";
    private static final Pattern CGI_NAME = Pattern.compile("[A-Z][A-Z0-9_]*");
    /** Variables the environ has from the request itself; the rest are passed on. */
    private static final Set<String> BUILT = Set.of("REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING",
            "CONTENT_TYPE", "CONTENT_LENGTH", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "REMOTE_ADDR", "REMOTE_PORT",
            "SERVER_SOFTWARE");

    private final AddressList allowed;

    CgiRequestCustomizer(AddressList allowed) {
        this.allowed = allowed;
    }

    /** The request header a HTTP_* variable stands for ("HTTP_ACCEPT_ENCODING" is "Accept-Encoding"), or null. */
    static HttpField headerField(String variable, String value) {
        if (!variable.startsWith("HTTP_") || variable.length() == 5) return null;
        StringBuilder name = new StringBuilder(variable.length());
        boolean upper = true;
        for (int i = 5; i < variable.length(); i++) {
            char c = variable.charAt(i);
            if (c == '_') {
                name.append('-');
                upper = true;
            } else {
                name.append(upper ? c : Character.toLowerCase(c));
                upper = false;
            }
        }
        String header = name.toString();
        // The front server has dealt with 100-continue; an Expect passed on would make us answer it again.
        if (header.equalsIgnoreCase("Expect")) return null;
        return new HttpField(header, value);
    }

    @Override
    public Request customize(Request request, HttpFields.Mutable responseHeaders) {
        SocketAddress peer = request.getConnectionMetaData().getRemoteSocketAddress();
        if (!allowed.trusts(peer)) {
            LOG.warn("Refused a {} request from {}: not in --uwsgi-allow-from ({})",
                    request.getConnectionMetaData().getProtocol(), Addresses.host(peer), allowed.text());
            throw new HttpException.RuntimeException(403, "uwsgi and FastCGI requests are only taken from --uwsgi-allow-from");
        }
        Map<String, String> vars = new HashMap<>();
        List<Map.Entry<String, String>> passed = new ArrayList<>();
        for (Map.Entry<String, String> var : variables(request)) {
            vars.put(var.getKey(), var.getValue());
            if (!BUILT.contains(var.getKey()) && !var.getKey().startsWith("HTTP_")) passed.add(var);
        }
        String scheme = isHttps(vars) ? "https" : "http";
        HttpFields headers = headers(request.getHeaders(), vars);
        HttpURI uri = uri(scheme, headers, vars);
        long length = contentLength(vars.get("CONTENT_LENGTH"));
        String protocol = vars.getOrDefault("SERVER_PROTOCOL", "HTTP/1.1");
        HttpVersion version = HttpVersion.fromString(protocol);
        SocketAddress remote = remote(vars, peer);
        HostPort server = vars.containsKey("SERVER_NAME")
                ? new HostPort(vars.get("SERVER_NAME"), parsePort(vars.get("SERVER_PORT"))) : null;
        String script = scriptName(vars.get("SCRIPT_NAME"), uri);
        if (script != null) request.setAttribute(JettyExchange.SCRIPT_NAME_ATTRIBUTE, script);
        request.setAttribute(JettyExchange.EXTRA_ENVIRON_ATTRIBUTE, List.copyOf(passed));
        boolean secure = scheme.equals("https");
        ConnectionMetaData meta = new ConnectionMetaData.Wrapper(request.getConnectionMetaData()) {
            @Override
            public SocketAddress getRemoteSocketAddress() {
                return remote;
            }

            @Override
            public HostPort getServerAuthority() {
                return server != null ? server : super.getServerAuthority();
            }

            @Override
            public String getProtocol() {
                return protocol;
            }

            @Override
            public HttpVersion getHttpVersion() {
                return version == null ? HttpVersion.HTTP_1_1 : version;
            }

            @Override
            public boolean isSecure() {
                return secure;
            }
        };
        return new Request.Wrapper(request) {
            @Override
            public HttpURI getHttpURI() {
                return uri;
            }

            @Override
            public HttpFields getHeaders() {
                return headers;
            }

            @Override
            public long getLength() {
                return length;
            }

            @Override
            public boolean isSecure() {
                return secure;
            }

            @Override
            public ConnectionMetaData getConnectionMetaData() {
                return meta;
            }
        };
    }

    /** The uwsgi connection hands the packet's variables over as one attribute; Jetty's FastCGI sets one attribute per parameter. */
    private static List<Map.Entry<String, String>> variables(Request request) {
        if (request.getAttribute(VARIABLES) instanceof List<?> list) {
            List<Map.Entry<String, String>> vars = new ArrayList<>();
            for (Object o : list) {
                if (o instanceof Map.Entry<?, ?> e) vars.add(Map.entry(String.valueOf(e.getKey()), String.valueOf(e.getValue())));
            }
            return vars;
        }
        List<Map.Entry<String, String>> vars = new ArrayList<>();
        for (String name : request.getAttributeNameSet()) {
            if (!CGI_NAME.matcher(name).matches() || !(request.getAttribute(name) instanceof String value)) continue;
            // Jetty decodes FastCGI parameters as UTF-8; WSGI wants the bytes, as latin-1.
            vars.add(Map.entry(name, new String(value.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1)));
        }
        return vars;
    }

    private static boolean isHttps(Map<String, String> vars) {
        String https = vars.getOrDefault("HTTPS", "").toLowerCase(Locale.ROOT);
        if (https.equals("on") || https.equals("1") || https.equals("yes")) return true;
        return "https".equalsIgnoreCase(vars.get("REQUEST_SCHEME")) || "https".equalsIgnoreCase(vars.get("UWSGI_SCHEME"));
    }

    /** The request's headers (from HTTP_*) plus Content-Type and Content-Length, which CGI carries as variables. */
    private static HttpFields headers(HttpFields original, Map<String, String> vars) {
        HttpFields.Mutable headers = HttpFields.build(original.size() + 2);
        for (HttpField field : original) {
            if (field.getHeader() == HttpHeader.EXPECT) continue;
            if (field.getHeader() == HttpHeader.CONTENT_LENGTH || field.getHeader() == HttpHeader.CONTENT_TYPE) continue;
            headers.add(field);
        }
        String type = vars.get("CONTENT_TYPE");
        if (type != null && !type.isEmpty()) headers.add(HttpHeader.CONTENT_TYPE, type);
        String length = vars.get("CONTENT_LENGTH");
        if (length != null && !length.isBlank()) headers.add(HttpHeader.CONTENT_LENGTH, length.strip());
        return headers.asImmutable();
    }

    /** REQUEST_URI as the client sent it, else the (decoded) PATH_INFO re-encoded plus QUERY_STRING. */
    private static HttpURI uri(String scheme, HttpFields headers, Map<String, String> vars) {
        String target = vars.get("REQUEST_URI");
        if (target == null || !target.startsWith("/")) {
            String path = vars.getOrDefault("SCRIPT_NAME", "") + vars.getOrDefault("PATH_INFO", "");
            target = URIUtil.encodePath(utf8(path.isEmpty() ? "/" : path));
            String query = vars.get("QUERY_STRING");
            if (query != null && !query.isEmpty()) target += "?" + query;
        }
        String host = headers.get(HttpHeader.HOST);
        HostPort authority;
        try {
            authority = host != null ? new HostPort(host) : new HostPort(vars.getOrDefault("SERVER_NAME", "localhost"),
                    parsePort(vars.get("SERVER_PORT")));
            return HttpURI.build().scheme(scheme).host(authority.getHost()).port(authority.getPort()).pathQuery(utf8(target))
                    .asImmutable();
        } catch (IllegalArgumentException e) {
            throw new HttpException.RuntimeException(400, "bad request target or host from the front server: " + e.getMessage());
        }
    }

    /**
     * SCRIPT_NAME, when it is a real mount point: a proper prefix of the path ending at a '/'.
     * nginx's stock fastcgi_params sets it to the whole path (PHP's script), which for a WSGI
     * app means nothing and is ignored.
     */
    private static String scriptName(String script, HttpURI uri) {
        if (script == null) return null;
        String s = script;
        while (s.endsWith("/")) s = s.substring(0, s.length() - 1);
        if (s.isEmpty()) return null;
        String path;
        try {
            path = uri.getDecodedPath();
        } catch (IllegalArgumentException e) {
            return null;
        }
        String mount = utf8(s);
        return path != null && path.length() > mount.length() && path.startsWith(mount) && path.charAt(mount.length()) == '/'
                ? s : null;
    }

    private static SocketAddress remote(Map<String, String> vars, SocketAddress peer) {
        byte[] address = AddressList.parseLiteral(vars.get("REMOTE_ADDR"));
        if (address == null) return peer;
        int port = parsePort(vars.get("REMOTE_PORT"));
        return InetSocketAddress.createUnresolved(Addresses.literal(address), Math.max(port, 0));
    }

    private static long contentLength(String value) {
        if (value == null || value.isBlank()) return 0;
        try {
            return Long.parseLong(value.strip());
        } catch (NumberFormatException e) {
            throw new HttpException.RuntimeException(400, "bad CONTENT_LENGTH from the front server: " + value);
        }
    }

    private static int parsePort(String port) {
        if (port == null) return 0;
        try {
            int p = Integer.parseInt(port.strip());
            return p > 0 && p <= 65535 ? p : 0;
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    /** A latin-1 (bytes) string as the UTF-8 text it encodes, as Jetty keeps URIs. */
    private static String utf8(String latin1) {
        return new String(latin1.getBytes(StandardCharsets.ISO_8859_1), StandardCharsets.UTF_8);
    }
}
