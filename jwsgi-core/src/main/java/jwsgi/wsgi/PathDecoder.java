package jwsgi.wsgi;

import java.nio.charset.StandardCharsets;

/**
 * Percent-decodes a request path to the bytes the client meant, for PATH_INFO. PEP 3333 wants
 * those bytes as a latin-1 "bytes-as-str", so no charset is applied here; an escape that is
 * not two hex digits is kept as it is (as gunicorn does).
 */
final class PathDecoder {
    private PathDecoder() {}

    /** Returns the decoded length; the bytes are in {@code out[0]} (grown when needed). */
    static int decode(String raw, byte[][] out) {
        byte[] src = ascii(raw) ? null : raw.getBytes(StandardCharsets.UTF_8);
        int n = src == null ? raw.length() : src.length;
        byte[] dst = out[0];
        if (dst.length < n) dst = out[0] = new byte[Math.max(n, dst.length * 2)];
        int j = 0;
        for (int i = 0; i < n; i++) {
            int c = src == null ? raw.charAt(i) : src[i] & 0xFF;
            if (c == '%' && i + 2 < n) {
                int hi = hex(src == null ? raw.charAt(i + 1) : src[i + 1]);
                int lo = hex(src == null ? raw.charAt(i + 2) : src[i + 2]);
                if (hi >= 0 && lo >= 0) {
                    dst[j++] = (byte) (hi << 4 | lo);
                    i += 2;
                    continue;
                }
            }
            dst[j++] = (byte) c;
        }
        return j;
    }

    private static boolean ascii(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) > 0x7F) return false;
        }
        return true;
    }

    private static int hex(int c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }
}
