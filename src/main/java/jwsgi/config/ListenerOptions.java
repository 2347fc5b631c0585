package jwsgi.config;

import java.util.LinkedHashSet;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

import picocli.CommandLine;
import picocli.CommandLine.Option;

/**
 * What the listeners speak: the protocol from the front server (HTTP, uwsgi or FastCGI), the
 * HTTP versions, and the permissions of Unix sockets. Names are gunicorn's where it has the
 * setting ({@code --protocol}, {@code --http-protocols}, {@code --umask}).
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
     * @param umask    the bits removed from a Unix socket's mode (0777)
     */
    public record Settings(Protocol protocol, boolean http1, boolean http2, int umask) {}

    private static final Pattern GUNICORN_OCTAL = Pattern.compile("0\\d+");

    @Option(names = "--protocol", paramLabel = "PROTOCOL", defaultValue = "http",
            description = "What the listeners speak: http, uwsgi (nginx uwsgi_pass, Apache mod_proxy_uwsgi) or fastcgi"
                    + " (nginx fastcgi_pass, Apache mod_proxy_fcgi). Default: ${DEFAULT-VALUE}.")
    String protocol;

    @Option(names = "--http-protocols", paramLabel = "LIST", defaultValue = "h1",
            description = "HTTP versions to serve, comma-separated: h1, h2. h2 is HTTP/2: negotiated by ALPN with TLS,"
                    + " h2c (prior knowledge or upgrade) without. Default: ${DEFAULT-VALUE}.")
    String httpProtocols;

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
        return new Settings(p, versions.contains("h1"), versions.contains("h2"), parseUmask(cmd));
    }

    /** gunicorn's reading: "0022" is octal, "18" decimal, "0o22" and "0x12" as Python reads them. */
    private int parseUmask(CommandLine cmd) {
        String s = umask.strip().toLowerCase(Locale.ROOT);
        int value;
        try {
            if (s.startsWith("0o")) value = Integer.parseInt(s.substring(2), 8);
            else if (s.startsWith("0x")) value = Integer.parseInt(s.substring(2), 16);
            else if (GUNICORN_OCTAL.matcher(s).matches()) value = Integer.parseInt(s, 8);
            else value = Integer.parseInt(s);
        } catch (NumberFormatException e) {
            value = -1;
        }
        if (value < 0 || value > 0777) {
            throw new CommandLine.ParameterException(cmd, "--umask " + umask + ": expected a mode mask from 0 to 0777 (e.g. 007)");
        }
        return value;
    }
}
