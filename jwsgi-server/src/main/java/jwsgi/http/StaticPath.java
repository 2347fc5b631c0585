package jwsgi.http;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * The strict reading of a request path under a static mount. jwsgi's URI compliance lets
 * ambiguous paths through to the app ({@link HttpServer#WSGI_URI_COMPLIANCE}), which decides for
 * itself; a path that names a file must be unambiguous, so this check is applied to the raw path
 * as the client sent it, before anything touches the file system.
 *
 * <p>A path is split on '/' first and each segment is then percent-decoded once, as UTF-8.
 * Refused: empty segments ("//", a trailing '/'), segments starting with '.' (".", "..",
 * dotfiles, in any encoding), anything that decodes to '/', '\', '%' (double encoding), NUL or
 * another control character, raw characters outside RFC 3986's path characters, ';' path
 * parameters, bad escapes and bad UTF-8. What is left names a file under the mount's
 * directory and nothing else; symbolic links are the {@link StaticFiles} content factory's to check.
 */
final class StaticPath {
    /** RFC 3986 pchar without pct-encoded, ';' and '/': what a segment may hold raw. */
    private static final boolean[] RAW = new boolean[128];

    static {
        for (char c = 'a'; c <= 'z'; c++) RAW[c] = true;
        for (char c = 'A'; c <= 'Z'; c++) RAW[c] = true;
        for (char c = '0'; c <= '9'; c++) RAW[c] = true;
        for (char c : "-._~!$&'()*+,=:@".toCharArray()) RAW[c] = true;
    }

    private StaticPath() {}

    /**
     * The file a request path names under a mount, or null when the path is refused.
     *
     * @param raw the encoded request path after the mount's prefix: "" or starting with '/'
     * @return the decoded path, "/" then segments joined by '/', e.g. "/admin/css/base.css"
     */
    static String file(String raw) {
        if (raw.length() < 2 || raw.charAt(0) != '/' || raw.charAt(raw.length() - 1) == '/') return null;
        boolean encoded = false;
        for (int i = 1; i < raw.length(); i++) {
            char c = raw.charAt(i);
            char before = raw.charAt(i - 1);
            if (c == '%') {
                encoded = true;
            } else if (c >= 128 || !(RAW[c] || c == '/') || (before == '/' && (c == '/' || c == '.'))) {
                return null;
            }
        }
        // The common case, a path without escapes, is checked whole: no copy, no decoder.
        return encoded ? decoded(raw) : raw;
    }

    /** A path with escapes, segment by segment. */
    private static String decoded(String raw) {
        StringBuilder path = new StringBuilder(raw.length());
        int start = 1;
        while (start <= raw.length()) {
            int end = raw.indexOf('/', start);
            if (end < 0) end = raw.length();
            String segment = segment(raw, start, end);
            if (segment == null) return null;
            path.append('/').append(segment);
            start = end + 1;
        }
        return path.toString();
    }

    /** One segment, decoded, or null when refused. */
    private static String segment(String raw, int start, int end) {
        if (start == end) return null;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(end - start);
        for (int i = start; i < end; i++) {
            char c = raw.charAt(i);
            if (c == '%') {
                if (i + 2 >= end) return null;
                int high = Character.digit(raw.charAt(i + 1), 16);
                int low = Character.digit(raw.charAt(i + 2), 16);
                if (high < 0 || low < 0) return null;
                bytes.write(high << 4 | low);
                i += 2;
            } else if (c < 128 && RAW[c]) {
                bytes.write(c);
            } else {
                return null;
            }
        }
        String decoded;
        try {
            decoded = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes.toByteArray())).toString();
        } catch (CharacterCodingException e) {
            return null;
        }
        if (decoded.charAt(0) == '.') return null;
        for (int i = 0; i < decoded.length(); i++) {
            char c = decoded.charAt(i);
            if (c < 0x20 || c == 0x7f || c == '/' || c == '\\' || c == '%') return null;
        }
        return decoded;
    }
}
