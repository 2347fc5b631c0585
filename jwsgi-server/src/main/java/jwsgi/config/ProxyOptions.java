package jwsgi.config;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;


import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * Who is believed about the client: trusted proxies and their forwarded headers, the PROXY
 * protocol, the peers allowed to speak uwsgi or FastCGI, and where the app is mounted.
 * Flag names and defaults are gunicorn's; {@code --secure-scheme-headers} is gunicorn's
 * {@code secure_scheme_headers} setting, which it only takes from a config file.
 */
public final class ProxyOptions {
    /** gunicorn's default {@code secure_scheme_headers}. */
    static final String DEFAULT_SECURE_SCHEME_HEADERS = "X-FORWARDED-PROTOCOL=ssl,X-FORWARDED-PROTO=https,X-FORWARDED-SSL=on";

    /** gunicorn's default {@code forwarder_headers}. */
    static final String DEFAULT_FORWARDER_HEADERS = "SCRIPT_NAME,PATH_INFO";

    /** RFC 9110 5.1: a field name is a token. */
    private static final Pattern TOKEN = Pattern.compile("[!#$%&'*+\\-.^_`|~0-9A-Za-z]+");

    /**
     * @param forwardedAllow      peers whose forwarded headers (X-Forwarded-*, Forwarded, --forwarder-headers) are applied
     * @param forwarderHeaders    upper-case names with '_' that {@code forwardedAllow} peers may pass to the environ,
     *                            or "*" for all of them
     * @param secureSchemeHeaders upper-case header name to the exact value that means https
     * @param proxyProtocol       PROXY protocol v1/v2 headers are read from {@code proxyAllow} peers
     * @param proxyAllow          peers allowed to send a PROXY protocol header
     * @param cgiAllow            peers allowed to send uwsgi or FastCGI requests
     * @param rootPath            where the app is mounted (SCRIPT_NAME), as WSGI bytes-as-latin-1; "" for the root
     */
    public record Settings(AddressList forwardedAllow, Set<String> forwarderHeaders, Map<String, String> secureSchemeHeaders,
                           boolean proxyProtocol, AddressList proxyAllow, AddressList cgiAllow, String rootPath) {}

    @Option(names = "--forwarded-allow-ips", paramLabel = "LIST",
            description = "Front ends (IPs, CIDR networks, or *) whose X-Forwarded-For/-Proto/-Host/-Port, Forwarded and"
                    + " --forwarder-headers headers are believed; Unix-socket peers always are."
                    + " Default: $FORWARDED_ALLOW_IPS, else 127.0.0.1,::1.")
    String forwardedAllowIps;

    @Option(names = "--forwarder-headers", paramLabel = "LIST", defaultValue = DEFAULT_FORWARDER_HEADERS,
            description = "Request headers with '_' in their names that a --forwarded-allow-ips front end may pass to the app,"
                    + " comma-separated (case does not matter), or * for all: each reaches the environ as HTTP_NAME, and"
                    + " a SCRIPT_NAME header also sets SCRIPT_NAME (where the app is mounted). Any other header with '_'"
                    + " is dropped, as are all of them from other peers: the front end must not pass them on from"
                    + " clients. Default: ${DEFAULT-VALUE}.")
    String forwarderHeaders;

    @Option(names = "--secure-scheme-headers", paramLabel = "LIST", defaultValue = DEFAULT_SECURE_SCHEME_HEADERS,
            description = "HEADER=VALUE pairs, comma-separated, by which a trusted front end says the request came over https"
                    + " ('' for none). Default: ${DEFAULT-VALUE}.")
    String secureSchemeHeaders;

    @Option(names = "--proxy-protocol", paramLabel = "MODE", arity = "0..1", fallbackValue = "auto", defaultValue = "off",
            description = "Read a PROXY protocol v1 or v2 header (HAProxy, load balancers) from the --proxy-allow-from peers:"
                    + " off, or auto (also v1, v2); the flag alone means auto. Default: ${DEFAULT-VALUE}.")
    String proxyProtocol;

    @Option(names = {"--proxy-allow-from", "--proxy-allow-ips"}, paramLabel = "LIST", defaultValue = "127.0.0.1,::1",
            description = "Peers (IPs, CIDR networks, or *) allowed to send a PROXY protocol header. Default: ${DEFAULT-VALUE}.")
    String proxyAllowFrom;

    @Option(names = "--uwsgi-allow-from", paramLabel = "LIST", defaultValue = "127.0.0.1,::1",
            description = "Peers (IPs, CIDR networks, or *) allowed to send uwsgi or FastCGI requests; others get 403."
                    + " Default: ${DEFAULT-VALUE}.")
    String uwsgiAllowFrom;

    @Option(names = "--root-path", paramLabel = "PATH",
            description = "Where the app is mounted (SCRIPT_NAME), e.g. /app: a request path under it is split into"
                    + " SCRIPT_NAME and PATH_INFO. Default: $SCRIPT_NAME, else none.")
    String rootPath;

    Settings settings(CommandLine cmd) {
        String forwarded = forwardedAllowIps != null ? forwardedAllowIps
                : System.getenv().getOrDefault("FORWARDED_ALLOW_IPS", "127.0.0.1,::1");
        String mode = proxyProtocol.strip().toLowerCase(Locale.ROOT);
        if (!mode.equals("off") && !mode.equals("auto") && !mode.equals("v1") && !mode.equals("v2")) {
            throw new CommandLine.ParameterException(cmd, "--proxy-protocol " + proxyProtocol + ": expected off, auto, v1 or v2");
        }
        String root = rootPath != null ? rootPath : System.getenv().getOrDefault("SCRIPT_NAME", "");
        return new Settings(addresses(cmd, "--forwarded-allow-ips", forwarded), forwarderHeaders(cmd), schemeHeaders(cmd),
                !mode.equals("off"), addresses(cmd, "--proxy-allow-from", proxyAllowFrom),
                addresses(cmd, "--uwsgi-allow-from", uwsgiAllowFrom), rootPath(cmd, root));
    }

    private static AddressList addresses(CommandLine cmd, String flag, String value) {
        try {
            return AddressList.parse(value);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cmd, flag + " " + value + ": " + e.getMessage());
        }
    }

    /** gunicorn compares the upper-cased header name with the list as given; jwsgi upper-cases the list too. */
    private Set<String> forwarderHeaders(CommandLine cmd) {
        Set<String> names = new LinkedHashSet<>();
        for (String name : forwarderHeaders.split(",")) {
            String n = name.strip();
            if (n.isEmpty()) continue;
            if (!TOKEN.matcher(n).matches()) {
                throw new CommandLine.ParameterException(cmd, "--forwarder-headers " + forwarderHeaders + ": '" + n
                        + "' is not a header name; give names separated by commas, e.g. SCRIPT_NAME,PATH_INFO");
            }
            names.add(n.toUpperCase(Locale.ROOT));
        }
        return Set.copyOf(names);
    }

    private Map<String, String> schemeHeaders(CommandLine cmd) {
        Map<String, String> headers = new LinkedHashMap<>();
        for (String pair : secureSchemeHeaders.split(",")) {
            if (pair.isBlank()) continue;
            int eq = pair.indexOf('=');
            if (eq <= 0 || pair.substring(0, eq).isBlank()) {
                throw new CommandLine.ParameterException(cmd, "--secure-scheme-headers " + secureSchemeHeaders
                        + ": expected HEADER=VALUE pairs, e.g. X-FORWARDED-PROTO=https");
            }
            headers.put(pair.substring(0, eq).strip().toUpperCase(Locale.ROOT), pair.substring(eq + 1).strip());
        }
        return Map.copyOf(headers);
    }

    /** "/app/" and "/app" mean the same mount; "/" is the root. Kept as WSGI's bytes-as-latin-1 string. */
    private static String rootPath(CommandLine cmd, String path) {
        String p = path.strip();
        while (p.endsWith("/")) p = p.substring(0, p.length() - 1);
        if (!p.isEmpty() && !p.startsWith("/")) {
            throw new CommandLine.ParameterException(cmd, "--root-path " + path + ": must start with '/', e.g. /app");
        }
        return new String(p.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
    }
}
