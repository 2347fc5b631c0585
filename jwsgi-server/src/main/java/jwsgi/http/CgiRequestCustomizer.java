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

import jwsgi.config.AddressList;
import jwsgi.jetty.Addresses;
import jwsgi.jetty.RequestAttributes;

import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpURI;
import org.eclipse.jetty.http.HttpVersion;
import org.eclipse.jetty.http.HttpException;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.server.ConnectionMetaData;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.HostPort;
import org.eclipse.jetty.util.NanoTime;
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
    /** Request attribute: the request's CGI variables, a {@code List<Map.Entry<String, String>>} in latin-1. */
    static final String VARIABLES = "jwsgi.cgi.variables";
    /** Variables the environ has from the request itself; the rest are passed on. */
    private static final Set<String> BUILT = Set.of("REQUEST_METHOD", "SCRIPT_NAME", "PATH_INFO", "QUERY_STRING",
            "CONTENT_TYPE", "CONTENT_LENGTH", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "REMOTE_ADDR", "REMOTE_PORT",
            "SERVER_SOFTWARE");

    private final AddressList allowed;

    CgiRequestCustomizer(AddressList allowed) {
        this.allowed = allowed;
    }

    /**
     * The request Jetty's channel starts from: method, protocol and headers (from HTTP_*, plus
     * Content-Length) of the variables; the target is completed by {@link #customize}.
     *
     * @throws IllegalArgumentException when REQUEST_METHOD is missing or CONTENT_LENGTH is not a number
     */
    static MetaData.Request metaData(List<Map.Entry<String, String>> vars) {
        HttpFields.Mutable headers = HttpFields.build();
        String method = null;
        HttpVersion version = HttpVersion.HTTP_1_1;
        long length = 0;
        for (Map.Entry<String, String> var : vars) {
            switch (var.getKey()) {
                case "REQUEST_METHOD" -> method = var.getValue();
                case "SERVER_PROTOCOL" -> {
                    HttpVersion v = HttpVersion.fromString(var.getValue());
                    if (v != null) version = v;
                }
                case "CONTENT_LENGTH" -> {
                    String value = var.getValue().strip();
                    try {
                        length = value.isEmpty() ? 0 : Long.parseLong(value);
                    } catch (NumberFormatException e) {
                        length = -1;
                    }
                    if (length < 0) throw new IllegalArgumentException("the request has a bad CONTENT_LENGTH: " + value);
                }
                default -> {
                    HttpField field = headerField(var.getKey(), var.getValue());
                    if (field != null) headers.add(field);
                }
            }
        }
        if (method == null || method.isEmpty()) throw new IllegalArgumentException("the request has no REQUEST_METHOD");
        if (length > 0) headers.put(HttpHeader.CONTENT_LENGTH, Long.toString(length));
        return new MetaData.Request(NanoTime.now(), method, HttpURI.from("/"), version, headers, length);
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
        HostPort server = new HostPort(uri.getHost(), uri.getPort());
        String script = scriptName(vars, uri);
        if (script != null) request.setAttribute(RequestAttributes.SCRIPT_NAME, script);
        request.setAttribute(RequestAttributes.EXTRA_ENVIRON, List.copyOf(passed));
        boolean secure = scheme.equals("https");
        ConnectionMetaData connection = new FrontRequest.Connection(request.getConnectionMetaData(), remote, secure) {
            @Override
            public HostPort getServerAuthority() {
                return server;
            }

            @Override
            public String getProtocol() {
                return protocol;
            }

            @Override
            public HttpVersion getHttpVersion() {
                return version == null ? HttpVersion.HTTP_1_1 : version;
            }
        };
        return new FrontRequest(request, uri, headers, connection) {
            @Override
            public long getLength() {
                return length;
            }
        };
    }

    /** The variables the uwsgi or FastCGI connection received, in latin-1. */
    private static List<Map.Entry<String, String>> variables(Request request) {
        List<Map.Entry<String, String>> vars = new ArrayList<>();
        if (request.getAttribute(VARIABLES) instanceof List<?> list) {
            for (Object o : list) {
                if (o instanceof Map.Entry<?, ?> e) vars.add(Map.entry(String.valueOf(e.getKey()), String.valueOf(e.getValue())));
            }
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
        try {
            // SERVER_NAME and SERVER_PORT are what the front server says it is; the Host header fills gaps.
            String hostHeader = headers.get(HttpHeader.HOST);
            HostPort host = hostHeader == null ? null : new HostPort(hostHeader);
            String name = vars.getOrDefault("SERVER_NAME", "");
            if (name.isEmpty()) name = host != null ? host.getHost() : "localhost";
            int port = parsePort(vars.get("SERVER_PORT"));
            if (port == 0 && host != null) port = host.getPort();
            return HttpURI.build().scheme(scheme).host(name).port(port).pathQuery(utf8(target)).asImmutable();
        } catch (IllegalArgumentException e) {
            throw new HttpException.RuntimeException(400, "bad request target or host from the front server: " + e.getMessage());
        }
    }

    /**
     * The mount point, when the front server tells it: SCRIPT_NAME if it is a proper prefix of
     * the path ending at a '/' (nginx's stock fastcgi_params sets it to the whole path, PHP's
     * script, which for a WSGI app means nothing), else what precedes PATH_INFO when PATH_INFO
     * is a proper suffix of the path (Apache mod_proxy_uwsgi mapping /app to the server's root).
     */
    private static String scriptName(Map<String, String> vars, HttpURI uri) {
        String path;
        try {
            path = uri.getDecodedPath();
        } catch (IllegalArgumentException e) {
            return null;
        }
        if (path == null) return null;
        String script = vars.get("SCRIPT_NAME");
        if (script != null) {
            String s = script;
            while (s.endsWith("/")) s = s.substring(0, s.length() - 1);
            String mount = utf8(s);
            if (!s.isEmpty() && path.length() > mount.length() && path.startsWith(mount) && path.charAt(mount.length()) == '/') {
                return s;
            }
        }
        String pathInfo = vars.get("PATH_INFO");
        if (pathInfo != null && pathInfo.startsWith("/")) {
            String rest = utf8(pathInfo);
            if (path.length() > rest.length() && path.endsWith(rest)) {
                String mount = path.substring(0, path.length() - rest.length());
                if (!mount.endsWith("/") && !hasDotSegment(mount)) return new String(mount.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
            }
        }
        return null;
    }

    private static boolean hasDotSegment(String path) {
        for (String segment : path.split("/")) {
            if (segment.equals(".") || segment.equals("..")) return true;
        }
        return false;
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
