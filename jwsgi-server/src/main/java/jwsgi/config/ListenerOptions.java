package jwsgi.config;

import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * What the listeners speak: the protocol from the front server (HTTP, uwsgi or FastCGI), the
 * HTTP versions and HTTP/2's connection settings, and the permissions of Unix sockets. Names
 * and defaults are gunicorn's where it has the setting ({@code --protocol},
 * {@code --http-protocols}, {@code --http2-*}, {@code --umask}).
 */
public final class ListenerOptions {
    /** The wire protocol of every listener. */
    public enum Protocol {
        /** HTTP/1.1 (and HTTP/2 with {@code --http-protocols}). */
        HTTP,
        /** The uwsgi binary protocol of nginx {@code uwsgi_pass} and Apache mod_proxy_uwsgi. */
        UWSGI,
        /** FastCGI: nginx {@code fastcgi_pass}, Apache mod_proxy_fcgi. */
        FASTCGI
    }

    /**
     * @param protocol the wire protocol
     * @param http1    HTTP/1.1 is offered
     * @param http2    HTTP/2 is offered: by ALPN with TLS, as h2c (prior knowledge and upgrade) without
     * @param h2       what an HTTP/2 connection allows, when HTTP/2 is offered
     * @param umask    the bits removed from a Unix socket's mode (0777)
     */
    public record Settings(Protocol protocol, boolean http1, boolean http2, Http2 h2, int umask) {}

    /**
     * What the server's SETTINGS frame tells each HTTP/2 client (RFC 9113 6.5.2), and enforces.
     *
     * @param maxConcurrentStreams the most requests in flight on one connection
     * @param initialWindowSize    bytes of a request body a client may send before the server asks for more
     * @param maxFrameSize         the largest frame payload a client may send
     * @param maxHeaderListSize    the most bytes of decoded request headers (names + values + 32 each); 0 for no limit
     */
    public record Http2(int maxConcurrentStreams, int initialWindowSize, int maxFrameSize, int maxHeaderListSize) {}

    /** RFC 9113 6.5.2: SETTINGS_MAX_FRAME_SIZE is from 2^14 to 2^24-1. */
    private static final int MIN_FRAME_SIZE = 16_384;
    private static final int MAX_FRAME_SIZE = 16_777_215;

    private static final Pattern GUNICORN_OCTAL = Pattern.compile("0\\d+");

    @Option(names = "--protocol", paramLabel = "PROTOCOL", defaultValue = "http",
            description = "What the listeners speak: http, uwsgi (nginx uwsgi_pass, Apache mod_proxy_uwsgi) or fastcgi"
                    + " (nginx fastcgi_pass, Apache mod_proxy_fcgi). Default: ${DEFAULT-VALUE}.")
    String protocol;

    @Option(names = "--http-protocols", paramLabel = "LIST", defaultValue = "h1",
            description = "HTTP versions to serve, comma-separated: h1, h2. h2 is HTTP/2: negotiated by ALPN with TLS,"
                    + " h2c (prior knowledge or upgrade) without. Default: ${DEFAULT-VALUE}.")
    String httpProtocols;

    @Option(names = "--http2-max-concurrent-streams", paramLabel = "INT", defaultValue = "100",
            description = "The most requests in flight at once on one HTTP/2 connection (SETTINGS_MAX_CONCURRENT_STREAMS)."
                    + " Default: ${DEFAULT-VALUE}.")
    int http2MaxConcurrentStreams;

    @Option(names = "--http2-initial-window-size", paramLabel = "INT", defaultValue = "524288",
            description = "Bytes of each HTTP/2 request body a client may send before the server asks for more"
                    + " (SETTINGS_INITIAL_WINDOW_SIZE), up to 2147483647: larger speeds up uploads over long round trips,"
                    + " at the cost of buffer memory. Default: ${DEFAULT-VALUE} (gunicorn's is HTTP/2's 65535, which slows"
                    + " uploads).")
    int http2InitialWindowSize;

    @Option(names = "--http2-max-frame-size", paramLabel = "INT", defaultValue = "16384",
            description = "The largest HTTP/2 frame payload a client may send (SETTINGS_MAX_FRAME_SIZE), from 16384 to"
                    + " 16777215 bytes. Default: ${DEFAULT-VALUE}.")
    int http2MaxFrameSize;

    @Option(names = "--http2-max-header-list-size", paramLabel = "INT", defaultValue = "65536",
            description = "The most bytes of request headers on an HTTP/2 stream once decompressed (SETTINGS_MAX_HEADER_LIST_SIZE:"
                    + " names and values, plus 32 each); a client that sends more loses the connection. 0 for no limit"
                    + " (not recommended: HPACK bombs). Default: ${DEFAULT-VALUE}.")
    int http2MaxHeaderListSize;

    @Option(names = {"-m", "--umask"}, paramLabel = "INT", defaultValue = "0",
            description = "Bits removed from the mode (0777) of Unix sockets; octal with a leading 0 (e.g. 007),"
                    + " or 0o/0x forms. Default: ${DEFAULT-VALUE}.")
    String umask;

    Settings settings(CommandLine cmd) {
        Protocol p;
        try {
            p = Protocol.valueOf(protocol.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cmd, "--protocol " + protocol + ": expected http, uwsgi or fastcgi");
        }
        Set<String> versions = new LinkedHashSet<>();
        for (String v : httpProtocols.split(",")) {
            String token = v.strip().toLowerCase(Locale.ROOT);
            if (token.isEmpty()) continue;
            if (!token.equals("h1") && !token.equals("h2")) {
                throw new CommandLine.ParameterException(cmd, "--http-protocols " + httpProtocols
                        + ": expected a comma-separated list of h1 and h2 (e.g. h2,h1)");
            }
            versions.add(token);
        }
        if (versions.isEmpty()) {
            throw new CommandLine.ParameterException(cmd, "--http-protocols " + httpProtocols + ": name at least one of h1, h2");
        }
        if (p != Protocol.HTTP && !versions.equals(Set.of("h1"))) {
            throw new CommandLine.ParameterException(cmd, "--http-protocols " + httpProtocols + ": HTTP versions apply to"
                    + " --protocol http only; with " + protocol + " the front server speaks HTTP to the clients");
        }
        return new Settings(p, versions.contains("h1"), versions.contains("h2"), http2(cmd), parseUmask(cmd));
    }

    private Http2 http2(CommandLine cmd) {
        if (http2MaxConcurrentStreams < 1) {
            throw new CommandLine.ParameterException(cmd, "--http2-max-concurrent-streams " + http2MaxConcurrentStreams
                    + ": must be at least 1 (gunicorn's default is 100)");
        }
        if (http2InitialWindowSize < 1) {
            throw new CommandLine.ParameterException(cmd, "--http2-initial-window-size " + http2InitialWindowSize
                    + ": must be from 1 to 2147483647 bytes (the HTTP/2 default is 65535)");
        }
        if (http2MaxFrameSize < MIN_FRAME_SIZE || http2MaxFrameSize > MAX_FRAME_SIZE) {
            throw new CommandLine.ParameterException(cmd, "--http2-max-frame-size " + http2MaxFrameSize
                    + ": HTTP/2 allows frame sizes from 16384 to 16777215 bytes (RFC 9113 6.5.2); give one in that range,"
                    + " e.g. 16384");
        }
        if (http2MaxHeaderListSize < 0) {
            throw new CommandLine.ParameterException(cmd, "--http2-max-header-list-size " + http2MaxHeaderListSize
                    + ": must be 0 (no limit) or more bytes, e.g. 65536");
        }
        return new Http2(http2MaxConcurrentStreams, http2InitialWindowSize, http2MaxFrameSize, http2MaxHeaderListSize);
    }

    private int parseUmask(CommandLine cmd) {
        int value = mode(umask);
        if (value < 0) {
            throw new CommandLine.ParameterException(cmd, "--umask " + umask + ": expected a mode mask from 0 to 0777 (e.g. 007)");
        }
        return value;
    }

    /**
     * A file mode or mask as gunicorn reads one (its {@code auto_int}): "0022" is octal, "18"
     * decimal, "0o22" and "0x12" as Python reads them; -1 when it is not a number from 0 to 0777.
     */
    static int mode(String text) {
        String s = text.strip().toLowerCase(Locale.ROOT);
        int value;
        try {
            if (s.startsWith("0o")) value = Integer.parseInt(s.substring(2), 8);
            else if (s.startsWith("0x")) value = Integer.parseInt(s.substring(2), 16);
            else if (GUNICORN_OCTAL.matcher(s).matches()) value = Integer.parseInt(s, 8);
            else value = Integer.parseInt(s);
        } catch (NumberFormatException e) {
            return -1;
        }
        return value < 0 || value > 0777 ? -1 : value;
    }
}
