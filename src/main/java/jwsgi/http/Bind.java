package jwsgi.http;

/**
 * A listening address in gunicorn's {@code --bind} syntax: {@code HOST:PORT},
 * {@code [IPv6]:PORT}, {@code HOST} (port 8000), {@code :PORT} (all interfaces).
 *
 * @param host the address to listen on ("0.0.0.0" for all IPv4 interfaces)
 * @param port the TCP port (0 lets the system choose one)
 */
public record Bind(String host, int port) {
    public static final int DEFAULT_PORT = 8000;

    /**
     * Parses one {@code --bind} value.
     *
     * @throws IllegalArgumentException with a message that names the value and the accepted forms
     */
    public static Bind parse(String text) {
        String s = text.strip();
        if (s.startsWith("unix:") || s.startsWith("fd://")) {
            throw new IllegalArgumentException("--bind " + text + ": Unix sockets and inherited descriptors are not supported yet;"
                    + " use HOST:PORT");
        }
        String host;
        String port;
        if (s.startsWith("[")) {
            int close = s.indexOf(']');
            if (close < 0) throw bad(text);
            host = s.substring(1, close);
            String rest = s.substring(close + 1);
            if (!rest.isEmpty() && !rest.startsWith(":")) throw bad(text);
            port = rest.isEmpty() ? null : rest.substring(1);
        } else {
            int colon = s.lastIndexOf(':');
            if (colon >= 0 && s.indexOf(':') != colon) throw bad(text);  // bare IPv6 needs brackets
            host = colon < 0 ? s : s.substring(0, colon);
            port = colon < 0 ? null : s.substring(colon + 1);
        }
        if (host.isEmpty()) host = "0.0.0.0";
        int p = DEFAULT_PORT;
        if (port != null) {
            try {
                p = Integer.parseInt(port);
            } catch (NumberFormatException e) {
                throw bad(text);
            }
            if (p < 0 || p > 65535) throw new IllegalArgumentException("--bind " + text + ": port " + p + " is not in 0-65535");
        }
        return new Bind(host, p);
    }

    private static IllegalArgumentException bad(String text) {
        return new IllegalArgumentException("--bind " + text + ": expected HOST:PORT, [IPv6]:PORT, HOST or :PORT"
                + " (e.g. 127.0.0.1:8000 or [::1]:8000)");
    }

    /** The address as a URL authority. */
    public String authority(int actualPort) {
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + actualPort;
    }
}
