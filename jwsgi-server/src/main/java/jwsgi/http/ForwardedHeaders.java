package jwsgi.http;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import jwsgi.config.AddressList;
import jwsgi.jetty.Addresses;

import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;

/**
 * What a trusted front end says about the client, read from its headers: RFC 7239
 * {@code Forwarded}, else {@code X-Forwarded-For}/{@code -Host}/{@code -Port} and gunicorn's
 * {@code secure_scheme_headers} (by default X-Forwarded-Proto: https, X-Forwarded-Ssl: on,
 * X-Forwarded-Protocol: ssl). Only ever applied to requests from a trusted peer.
 *
 * <p>The client is found as uvicorn and Werkzeug's ProxyFix find it: walking the address chain
 * from the right (the entry the trusted peer added) leftwards past addresses that are
 * themselves trusted proxies; the first untrusted one is the client. Entries further left were
 * written by the client and are never believed.
 */
final class ForwardedHeaders {
    private ForwardedHeaders() {}

    /**
     * What changes. Each part is null (or -1) when the headers do not say.
     *
     * @param clientHost the client address, without brackets
     * @param clientPort the client port, 0 when unknown
     * @param scheme     "http" or "https"
     * @param host       the host the client asked for, as a Host header value (may carry a port)
     * @param port       the port the client connected to
     */
    record Result(String clientHost, int clientPort, String scheme, String host, int port) {
        static final Result NONE = new Result(null, 0, null, null, -1);

        boolean isEmpty() {
            return equals(NONE);
        }
    }

    /** Thrown when a trusted front end contradicts itself; the request is answered with 400. */
    static final class Contradiction extends Exception {
        Contradiction(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Reads the forwarding headers of a request from a trusted peer.
     *
     * @param trusted             decides whether an address in the chain is one of our own proxies
     * @param secureSchemeHeaders upper-case name to the exact value that means https
     * @throws Contradiction when two secure-scheme headers disagree (gunicorn's InvalidSchemeHeaders)
     */
    static Result read(HttpFields headers, AddressList trusted, Map<String, String> secureSchemeHeaders) throws Contradiction {
        List<String> forwarded = values(headers, "Forwarded");
        if (!forwarded.isEmpty()) return fromForwarded(forwarded, trusted);
        String client = null;
        int clientPort = 0;
        String chosen = choose(values(headers, "X-Forwarded-For"), trusted);
        if (chosen != null) {
            String[] hostPort = splitNode(chosen);
            if (hostPort != null) {
                client = hostPort[0];
                clientPort = hostPort[1] == null ? 0 : parsePort(hostPort[1]);
            }
        }
        String scheme = secureScheme(headers, secureSchemeHeaders);
        String host = last(values(headers, "X-Forwarded-Host"));
        int port = -1;
        String forwardedPort = last(values(headers, "X-Forwarded-Port"));
        if (forwardedPort != null) port = parsePort(forwardedPort);
        if (port <= 0) port = -1;
        return new Result(client, Math.max(clientPort, 0), scheme, host, port);
    }

    /** gunicorn's rule: any listed header present decides; two that disagree are an error. */
    private static String secureScheme(HttpFields headers, Map<String, String> secureSchemeHeaders) throws Contradiction {
        String scheme = null;
        for (HttpField field : headers) {
            String expected = secureSchemeHeaders.get(field.getName().toUpperCase(Locale.ROOT));
            if (expected == null) continue;
            String said = expected.equals(field.getValue().strip()) ? "https" : "http";
            if (scheme != null && !scheme.equals(said)) {
                throw new Contradiction("the front end's headers disagree on whether the request came over https: "
                        + String.join(", ", secureSchemeHeaders.keySet()));
            }
            scheme = said;
        }
        return scheme;
    }

    private static Result fromForwarded(List<String> fields, AddressList trusted) {
        List<Map<String, String>> elements = new ArrayList<>();
        for (String field : fields) {
            for (String element : splitOutsideQuotes(field, ',')) elements.add(element(element));
        }
        Map<String, String> chosen = null;
        for (int i = elements.size() - 1; i >= 0; i--) {
            chosen = elements.get(i);
            String[] node = splitNode(chosen.get("for"));
            if (node == null || !trusted.trustsLiteral(node[0])) break;
        }
        if (chosen == null) return Result.NONE;
        String client = null;
        int clientPort = 0;
        String[] node = splitNode(chosen.get("for"));
        if (node != null) {
            client = node[0];
            clientPort = node[1] == null ? 0 : Math.max(parsePort(node[1]), 0);
        }
        String proto = chosen.get("proto");
        String scheme = proto == null ? null : proto.toLowerCase(Locale.ROOT);
        if (scheme != null && !scheme.equals("http") && !scheme.equals("https")) scheme = null;
        return new Result(client, clientPort, scheme, chosen.get("host"), -1);
    }

    /** The X-Forwarded-For entry of the client: the rightmost that is not a trusted proxy, else the leftmost. */
    private static String choose(List<String> fields, AddressList trusted) {
        List<String> chain = new ArrayList<>();
        for (String field : fields) {
            for (String entry : field.split(",")) {
                if (!entry.isBlank()) chain.add(entry.strip());
            }
        }
        for (int i = chain.size() - 1; i >= 0; i--) {
            String[] node = splitNode(chain.get(i));
            if (node == null || !trusted.trustsLiteral(node[0]) || i == 0) return chain.get(i);
        }
        return null;
    }

    /**
     * An address with an optional port: "192.0.2.1", "192.0.2.1:4711", "2001:db8::1",
     * "[2001:db8::1]:4711". Returns {host, port-or-null}, or null when it is not an IP address
     * ("unknown", obfuscated identifiers, names).
     */
    static String[] splitNode(String node) {
        if (node == null) return null;
        String n = node.strip();
        if (n.length() >= 2 && n.startsWith("\"") && n.endsWith("\"")) n = n.substring(1, n.length() - 1);
        String host = n;
        String port = null;
        if (n.startsWith("[")) {
            int close = n.indexOf(']');
            if (close < 0) return null;
            host = n.substring(1, close);
            if (n.length() > close + 1) {
                if (n.charAt(close + 1) != ':') return null;
                port = n.substring(close + 2);
            }
        } else if (n.indexOf(':') >= 0 && n.indexOf(':') == n.lastIndexOf(':')) {
            host = n.substring(0, n.indexOf(':'));
            port = n.substring(n.indexOf(':') + 1);
        }
        byte[] address = AddressList.parseLiteral(host);
        if (address == null) return null;
        return new String[] {Addresses.literal(address), port};
    }

    private static int parsePort(String port) {
        try {
            int p = Integer.parseInt(port.strip());
            return p >= 0 && p <= 65535 ? p : -1;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    private static List<String> values(HttpFields headers, String name) {
        List<String> out = new ArrayList<>();
        for (HttpField field : headers) {
            if (field.getName().equalsIgnoreCase(name) && field.getValue() != null) out.add(field.getValue());
        }
        return out;
    }

    /** The last comma-separated value: the one our own front end added. */
    private static String last(List<String> fields) {
        if (fields.isEmpty()) return null;
        String all = fields.getLast();
        String value = all.substring(all.lastIndexOf(',') + 1).strip();
        return value.isEmpty() ? null : value;
    }

    static List<String> splitOutsideQuotes(String s, char separator) {
        List<String> parts = new ArrayList<>();
        StringBuilder current = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (quoted && c == '\\' && i + 1 < s.length()) {
                current.append(c).append(s.charAt(++i));
                continue;
            }
            if (c == '"') quoted = !quoted;
            if (c == separator && !quoted) {
                parts.add(current.toString());
                current.setLength(0);
            } else {
                current.append(c);
            }
        }
        parts.add(current.toString());
        return parts;
    }

    /** One element of a Forwarded header, "for=...;proto=...;host=...": names lower-cased, quotes removed. */
    private static Map<String, String> element(String element) {
        Map<String, String> pairs = new HashMap<>();
        for (String pair : splitOutsideQuotes(element, ';')) {
            int eq = pair.indexOf('=');
            if (eq <= 0) continue;
            String name = pair.substring(0, eq).strip().toLowerCase(Locale.ROOT);
            String value = pair.substring(eq + 1).strip();
            if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
                value = value.substring(1, value.length() - 1).replaceAll("\\\\(.)", "$1");
            }
            pairs.putIfAbsent(name, value);
        }
        return pairs;
    }
}
