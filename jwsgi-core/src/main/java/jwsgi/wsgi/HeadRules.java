package jwsgi.wsgi;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The rules a response head from an app must follow before any of it reaches the wire:
 * PEP 3333 (latin-1 native strings, no hop-by-hop headers) and RFC 9110 (token names,
 * values without CR, LF, NUL or other control characters). A violation is an
 * {@link InvalidHeadException}: the server answers 500 and logs the reason, so a header
 * injection in an app can never split the response.
 */
public final class HeadRules {
    private static final Set<String> HOP_BY_HOP = Set.of(
            "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
            "te", "trailer", "trailers", "transfer-encoding", "upgrade");

    private HeadRules() {}

    /** A raw header pair as the app gave it. */
    public record RawHeader(String name, String value) {}

    /**
     * Validates and normalises a head.
     *
     * @throws InvalidHeadException with a message naming the offending part
     */
    public static ResponseHead parse(String status, List<RawHeader> raw) {
        checkLatin1("status", status);
        if (status.length() < 3 || !digit(status.charAt(0)) || !digit(status.charAt(1)) || !digit(status.charAt(2))
                || (status.length() > 3 && status.charAt(3) != ' ')) {
            throw new InvalidHeadException("status " + quote(status) + " must be a 3-digit code and a reason, like '200 OK'");
        }
        int code = Integer.parseInt(status.substring(0, 3));
        String reason = status.length() > 4 ? status.substring(4) : "";
        if (code < 200) {
            throw new InvalidHeadException("status " + quote(status)
                    + ": a WSGI app cannot send an interim (1xx) response; the server sends 100 Continue itself");
        }
        for (int i = 0; i < reason.length(); i++) {
            char c = reason.charAt(i);
            if ((c < 0x20 && c != '\t') || c == 0x7F) {
                throw new InvalidHeadException("status " + quote(status) + " contains a control character");
            }
        }
        List<ResponseHead.Header> headers = new ArrayList<>(raw.size());
        long contentLength = -1;
        boolean close = false;
        for (RawHeader h : raw) {
            String name = h.name();
            String value = h.value();
            checkName(name);
            checkValue(name, value);
            String lower = name.toLowerCase(Locale.ROOT);
            if (lower.equals("content-length")) {
                long length = parseLength(value);
                if (contentLength >= 0 && contentLength != length) {
                    throw new InvalidHeadException("two different Content-Length headers: " + contentLength + " and " + length);
                }
                contentLength = length;
                continue;  // carried by ResponseHead.contentLength, sent once by the HTTP layer
            } else if (HOP_BY_HOP.contains(lower)) {
                if (lower.equals("connection") && value.toLowerCase(Locale.ROOT).contains("close")) close = true;
                continue;
            }
            headers.add(new ResponseHead.Header(name, value));
        }
        return new ResponseHead(code, reason, List.copyOf(headers), contentLength, close);
    }

    private static long parseLength(String value) {
        String v = value.strip();
        if (v.isEmpty() || v.length() > 18) throw new InvalidHeadException("Content-Length " + quote(value) + " is not a valid length");
        for (int i = 0; i < v.length(); i++) {
            if (!digit(v.charAt(i))) throw new InvalidHeadException("Content-Length " + quote(value) + " is not a valid length");
        }
        return Long.parseLong(v);
    }

    private static void checkName(String name) {
        if (name.isEmpty()) throw new InvalidHeadException("empty header name");
        for (int i = 0; i < name.length(); i++) {
            if (!tchar(name.charAt(i))) {
                throw new InvalidHeadException("header name " + quote(name) + " contains " + describe(name.charAt(i))
                        + "; names must be RFC 9110 tokens");
            }
        }
    }

    private static void checkValue(String name, String value) {
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            if (c > 0xFF) checkLatin1("value of header " + quote(name), value);
            if ((c < 0x20 && c != '\t') || c == 0x7F) {
                throw new InvalidHeadException("value of header " + quote(name) + " contains " + describe(c)
                        + " (would allow response splitting)");
            }
        }
    }

    /** Builds its message only on failure: this runs for every header of every response. */
    private static void checkLatin1(String what, String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) > 0xFF) {
                throw new InvalidHeadException(what + " " + quote(s) + " is not latin-1: PEP 3333 requires native strings"
                        + " whose characters are all below U+0100 (encode the value first)");
            }
        }
    }

    private static boolean digit(char c) {
        return c >= '0' && c <= '9';
    }

    private static boolean tchar(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || digit(c) || "!#$%&'*+-.^_`|~".indexOf(c) >= 0;
    }

    private static String describe(char c) {
        return switch (c) {
            case '\r' -> "CR";
            case '\n' -> "LF";
            case 0 -> "NUL";
            case ' ' -> "a space";
            default -> String.format("U+%04X", (int) c);
        };
    }

    private static String quote(String s) {
        StringBuilder b = new StringBuilder("'");
        for (int i = 0; i < s.length() && i < 200; i++) {
            char c = s.charAt(i);
            if (c == '\r') b.append("\\r");
            else if (c == '\n') b.append("\\n");
            else if (c < 0x20 || c == 0x7F) b.append(String.format("\\x%02x", (int) c));
            else b.append(c);
        }
        return b.append(s.length() > 200 ? "...'" : "'").toString();
    }
}
