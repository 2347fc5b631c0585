package jwsgi.wsgi;

import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * The CGI variables of a request, as jwsgi puts them in the environ: the one place their rules
 * live. {@link EnvironBuilder} applies them on the hot path, straight into Python strings,
 * through the static helpers here; {@link #variable} gives one of them as a Java string, for
 * the access log of a request the app never saw.
 *
 * <p>The rules (PEP 3333, and gunicorn where it decides):
 * <ul>
 *   <li>PATH_INFO is the percent-decoded path, its bytes as latin-1 characters, less
 *       SCRIPT_NAME when the path is at or under it ({@link #pathInfo}).</li>
 *   <li>A header becomes {@code HTTP_NAME} (CONTENT_TYPE and CONTENT_LENGTH without the prefix);
 *       a name with '_' never does ({@link #environName}).</li>
 *   <li>Repeated headers are joined with ", " (RFC 9110 5.3), cookies with "; " (RFC 6265 5.4,
 *       and how HTTP/2 splits them) ({@link #join}).</li>
 *   <li>Variables a front server passed (uwsgi, FastCGI) come first: the others override them.</li>
 *   <li>Every value is a native string: one character per byte of the request. A character
 *       above U+00FF stands for its UTF-8 bytes.</li>
 * </ul>
 *
 * <p>Threads: any. GIL: not needed (Java strings only).
 */
public final class CgiView {
    private CgiView() {}

    /**
     * The value {@code environ[key]} has when the app is called, or null when it has none.
     * Keys whose value is the same for every request (wsgi.*, SERVER_SOFTWARE) are not covered.
     */
    public static String variable(Exchange ex, String key) {
        String value = switch (key) {
            case "REQUEST_METHOD" -> ex.method();
            case "SCRIPT_NAME" -> ex.scriptName();
            case "PATH_INFO" -> pathInfo(ex);
            case "QUERY_STRING" -> ex.query();
            case "RAW_URI" -> ex.rawTarget();
            case "SERVER_PROTOCOL" -> ex.protocol();
            case "wsgi.url_scheme" -> ex.scheme();
            case "SERVER_NAME" -> ex.serverName();
            case "SERVER_PORT" -> Integer.toString(ex.serverPort());
            case "REMOTE_ADDR" -> ex.remoteAddr();
            case "REMOTE_PORT" -> Integer.toString(ex.remotePort());
            default -> {
                String header = header(ex, key);
                yield header != null ? header : passed(ex, key);
            }
        };
        return value == null ? null : nativeString(value);
    }

    /**
     * Decodes {@code rawPath} into {@code out[0]} (grown when needed) and takes the mount point
     * {@code scriptName} off its front when the path is at or under it ("/app" or "/app/...", not
     * "/apple"); returns the number of PATH_INFO's bytes in {@code out[0]}.
     */
    static int pathInfo(String rawPath, String scriptName, byte[][] out) {
        int length = PathDecoder.decode(rawPath, out);
        int n = scriptName.length();
        if (n == 0 || !underMount(out[0], length, scriptName)) return length;
        System.arraycopy(out[0], n, out[0], 0, length - n);
        return length - n;
    }

    private static boolean underMount(byte[] path, int length, String mount) {
        int n = mount.length();
        if (length < n || (length > n && path[n] != '/')) return false;
        for (int i = 0; i < n; i++) {
            if ((path[i] & 0xFF) != mount.charAt(i)) return false;
        }
        return true;
    }

    private static String pathInfo(Exchange ex) {
        byte[][] out = {new byte[ex.rawPath().length()]};
        int length = pathInfo(ex.rawPath(), ex.scriptName(), out);
        return new String(out[0], 0, length, StandardCharsets.ISO_8859_1);
    }

    /** CONTENT_TYPE, CONTENT_LENGTH, or HTTP_ and the name upper-cased with '-' as '_'; null for a name with '_', which never reaches the environ. */
    static String environName(String header) {
        if (header.indexOf('_') >= 0) return null;
        if (header.equalsIgnoreCase("Content-Type")) return "CONTENT_TYPE";
        if (header.equalsIgnoreCase("Content-Length")) return "CONTENT_LENGTH";
        StringBuilder b = new StringBuilder(header.length() + 5).append("HTTP_");
        for (int i = 0; i < header.length(); i++) {
            char c = header.charAt(i);
            b.append(c == '-' ? '_' : Character.toUpperCase(c));
        }
        return b.toString();
    }

    /** The value of a repeated header so far, joined with its next {@code value}. */
    static String join(String joined, String value, boolean cookie) {
        return joined + (cookie ? "; " : ", ") + value;
    }

    /** The headers whose environ name is {@code key}, joined; null when there is none. */
    private static String header(Exchange ex, String key) {
        String joined = null;
        for (int i = 0, n = ex.headerCount(); i < n; i++) {
            if (!key.equals(environName(ex.headerName(i)))) continue;
            String value = ex.headerValue(i);
            joined = joined == null ? value : join(joined, value, key.equals("HTTP_COOKIE"));
        }
        return joined;
    }

    /** The last value the front server passed for {@code key}, or null. */
    private static String passed(Exchange ex, String key) {
        String value = null;
        for (Map.Entry<String, String> variable : ex.extraEnviron()) {
            if (variable.getKey().equals(key)) value = variable.getValue();
        }
        return value;
    }

    /**
     * A percent-encoded path (a mount point as a container reports it) decoded into a WSGI
     * string: one character per byte.
     */
    public static String decodedPath(String raw) {
        byte[][] out = {new byte[raw.length()]};
        int length = PathDecoder.decode(raw, out);
        return new String(out[0], 0, length, StandardCharsets.ISO_8859_1);
    }

    /**
     * A Java string that stands for UTF-8 text (a path a container decoded, a user name) as a
     * WSGI string: its UTF-8 bytes as latin-1 characters. ASCII is returned as it is.
     */
    public static String wsgiString(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) > 0x7F) return new String(s.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
        }
        return s;
    }

    /** As {@code StringCodec.latin1} makes the environ's strings: a char above U+00FF stands for its UTF-8 bytes. */
    private static String nativeString(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) > 0xFF) return new String(s.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
        }
        return s;
    }
}
