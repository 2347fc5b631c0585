package jwsgi.config;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A listening address in gunicorn's {@code --bind} syntax: {@code HOST:PORT},
 * {@code [IPv6]:PORT}, {@code HOST} (port 8000), {@code :PORT} (all interfaces), or
 * {@code unix:PATH} (a Unix domain socket).
 *
 * @param host the address to listen on ("0.0.0.0" for all IPv4 interfaces); null for a Unix socket
 * @param port the TCP port (0 lets the system choose one); 0 for a Unix socket
 * @param unix the absolute path of a Unix domain socket, or null for TCP
 */
public record Bind(String host, int port, Path unix) {
    public static final int DEFAULT_PORT = 8000;
    /** sun_path holds 108 bytes with the terminating NUL. */
    static final int MAX_UNIX_PATH_BYTES = 107;

    /** A TCP address. */
    public Bind(String host, int port) {
        this(host, port, null);
    }

    public boolean isUnix() {
        return unix != null;
    }

    /**
     * Parses one {@code --bind} value.
     *
     * @throws IllegalArgumentException with a message that names the value and the accepted forms
     */
    public static Bind parse(String text) {
        String s = text.strip();
        if (s.startsWith("unix:")) return unix(text, s.substring(s.startsWith("unix://") ? 7 : 5));
        if (s.startsWith("fd://")) {
            throw new IllegalArgumentException("--bind " + text + ": inherited descriptors are not supported;"
                    + " use HOST:PORT or unix:PATH");
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

    private static Bind unix(String text, String path) {
        if (path.isEmpty()) throw new IllegalArgumentException("--bind " + text + ": expected unix:PATH, e.g. unix:/run/jwsgi.sock");
        Path absolute = Path.of(path).toAbsolutePath().normalize();
        int bytes = absolute.toString().getBytes(StandardCharsets.UTF_8).length;
        if (bytes > MAX_UNIX_PATH_BYTES) {
            throw new IllegalArgumentException("--bind " + text + ": a Unix socket path may have at most " + MAX_UNIX_PATH_BYTES
                    + " bytes (this one has " + bytes + "); use a shorter path such as /run/NAME.sock");
        }
        return new Bind(null, 0, absolute);
    }

    private static IllegalArgumentException bad(String text) {
        return new IllegalArgumentException("--bind " + text + ": expected HOST:PORT, [IPv6]:PORT, HOST, :PORT or unix:PATH"
                + " (e.g. 127.0.0.1:8000, [::1]:8000 or unix:/run/jwsgi.sock)");
    }

    /** The address as a URL authority, or "unix:PATH" for a Unix socket. */
    public String authority(int actualPort) {
        if (unix != null) return "unix:" + unix;
        return (host.indexOf(':') >= 0 ? "[" + host + "]" : host) + ":" + actualPort;
    }
}
