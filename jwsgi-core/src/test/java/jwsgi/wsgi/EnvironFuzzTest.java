package jwsgi.wsgi;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

import org.junit.jupiter.api.Tag;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fuzz targets for what builds the environ and checks the app's response head: PATH_INFO
 * decoding, header names to environ keys, and {@link HeadRules}. Regression mode in a normal
 * build (inputs under jwsgi-core/src/test/resources/jwsgi/wsgi/EnvironFuzzTestInputs); scripts/fuzz.sh fuzzes.
 */
@Tag("fast")
class EnvironFuzzTest {
    /** Any path: decoding never throws, never grows, and leaves text without escapes as its UTF-8 bytes. */
    @FuzzTest(maxDuration = "1m")
    void pathDecoding(FuzzedDataProvider data) {
        String raw = data.consumeRemainingAsString();
        byte[] utf8 = raw.getBytes(StandardCharsets.UTF_8);
        byte[][] out = {new byte[1]};
        int n = PathDecoder.decode(raw, out);
        assertTrue(n <= utf8.length);
        if (raw.indexOf('%') < 0) {
            byte[] decoded = new byte[n];
            System.arraycopy(out[0], 0, decoded, 0, n);
            assertArrayEquals(utf8, decoded);
        }
    }

    /** Any bytes, percent-encoded whole: decoding gives them back exactly. */
    @FuzzTest(maxDuration = "1m")
    void pathRoundTrip(byte[] bytes) {
        StringBuilder encoded = new StringBuilder();
        for (byte b : bytes) encoded.append(String.format("%%%02X", b & 0xFF));
        byte[][] out = {new byte[1]};
        int n = PathDecoder.decode(encoded.toString(), out);
        byte[] decoded = new byte[n];
        System.arraycopy(out[0], 0, decoded, 0, n);
        assertArrayEquals(bytes, decoded);
    }

    /**
     * Any header name: it reaches the environ as CONTENT_TYPE, CONTENT_LENGTH or HTTP_ plus its
     * upper-cased name with '-' as '_', or not at all when it has '_' (gunicorn's rule: X-Foo and
     * X_Foo can never both be HTTP_X_FOO).
     */
    @FuzzTest(maxDuration = "1m")
    void headerNames(FuzzedDataProvider data) {
        String header = data.consumeRemainingAsString();
        String key = CgiView.environName(header);
        if (header.indexOf('_') >= 0) {
            assertEquals(null, key);
            return;
        }
        assertNotNull(key);
        if (!key.equals("CONTENT_TYPE") && !key.equals("CONTENT_LENGTH")) {
            assertTrue(key.startsWith("HTTP_"));
            assertEquals(header.length() + 5, key.length());
            assertFalse(key.indexOf('-') >= 0);
        }
    }

    /**
     * Any status and headers an app gives start_response: accepted or InvalidHeadException, and
     * an accepted head can never split the response or smuggle framing: names are tokens, no
     * control characters, no hop-by-hop headers, Content-Length kept apart and numeric.
     */
    @FuzzTest(maxDuration = "1m")
    void responseHeads(FuzzedDataProvider data) {
        String[] names = {"Content-Length", "Content-Type", "Connection", "Transfer-Encoding", "Set-Cookie", "X-A", "Keep-Alive"};
        String status = data.consumeBoolean() ? data.consumeInt(0, 999) + " " + data.consumeString(20) : data.consumeString(30);
        List<HeadRules.RawHeader> raw = new ArrayList<>();
        int n = data.consumeInt(0, 6);
        for (int i = 0; i < n; i++) {
            String name = data.consumeBoolean() ? data.pickValue(names) : data.consumeString(20);
            String value = data.consumeBoolean() ? Integer.toString(data.consumeInt()) : data.consumeString(40);
            raw.add(new HeadRules.RawHeader(name, value));
        }
        ResponseHead head;
        try {
            head = HeadRules.parse(status, raw);
        } catch (InvalidHeadException e) {
            assertNotNull(e.getMessage());
            return;
        }
        assertTrue(head.status() >= 200 && head.status() <= 999);
        assertClean(head.reason());
        for (ResponseHead.Header h : head.headers()) {
            assertFalse(h.name().isEmpty());
            for (char c : h.name().toCharArray()) assertTrue(c > 0x20 && c < 0x7F && "\"(),/:;<=>?@[\\]{}".indexOf(c) < 0, h.name());
            assertClean(h.value());
            String lower = h.name().toLowerCase(Locale.ROOT);
            assertFalse(List.of("content-length", "connection", "transfer-encoding", "keep-alive").contains(lower), h.name());
        }
        assertTrue(head.contentLength() >= -1);
    }

    private static void assertClean(String s) {
        for (char c : s.toCharArray()) {
            assertTrue(c <= 0xFF && (c >= 0x20 || c == '\t') && c != 0x7F, "control or non-latin-1 character in " + s);
        }
    }
}
