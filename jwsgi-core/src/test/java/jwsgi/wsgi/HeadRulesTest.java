package jwsgi.wsgi;

import java.util.List;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Tag("fast")
class HeadRulesTest {
    private static ResponseHead parse(String status, String... pairs) {
        List<HeadRules.RawHeader> raw = new java.util.ArrayList<>();
        for (int i = 0; i < pairs.length; i += 2) raw.add(new HeadRules.RawHeader(pairs[i], pairs[i + 1]));
        return HeadRules.parse(status, raw);
    }

    @Test
    void aValidHeadKeepsOrderAndDuplicates() {
        ResponseHead h = parse("201 Created", "Set-Cookie", "a=1", "X-Tab", "a\tb", "Set-Cookie", "b=2", "X-Latin", "caf\u00e9");
        assertEquals(201, h.status());
        assertEquals("Created", h.reason());
        assertEquals(List.of("a=1", "a\tb", "b=2", "caf\u00e9"), h.headers().stream().map(ResponseHead.Header::value).toList());
        assertEquals(-1, h.contentLength());
    }

    @Test
    void contentLengthIsParsedAndHopByHopHeadersDropped() {
        ResponseHead h = parse("200 OK", "Content-Length", " 42 ", "Transfer-Encoding", "chunked", "Connection", "close",
                "Keep-Alive", "timeout=5", "Upgrade", "h2c");
        assertEquals(42, h.contentLength());
        assertTrue(h.close());
        assertEquals(List.of(), h.headers());
    }

    @ParameterizedTest
    @ValueSource(strings = {"200", "99 Low", "2000 Big", "20 OK", "abc OK", "200OK", "200 O\r\nK", "103 Early Hints", "200 caf\u20ac"})
    void badStatusesAreRefused(String status) {
        assertThrows(InvalidHeadException.class, () -> HeadRules.parse(status.equals("200") ? "200\n" : status, List.of()));
    }

    @Test
    void aBareThreeDigitStatusIsAccepted() {
        assertEquals(204, parse("204").status());
    }

    @ParameterizedTest
    @ValueSource(strings = {"a\r\nb", "a\nb", "a\rb", "a\u0000b", "a\u007fb", "a\u0001b", "\u20ac"})
    void badValuesAreRefused(String value) {
        InvalidHeadException e = assertThrows(InvalidHeadException.class, () -> parse("200 OK", "X-Test", value));
        assertTrue(e.getMessage().contains("'X-Test'"), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "Bad Name", "Bad:Name", "Bad\r\nName", "caf\u00e9", "a(b)"})
    void badNamesAreRefused(String name) {
        assertThrows(InvalidHeadException.class, () -> parse("200 OK", name, "x"));
    }

    @Test
    void conflictingContentLengthsAreRefused() {
        assertThrows(InvalidHeadException.class, () -> parse("200 OK", "Content-Length", "1", "Content-Length", "2"));
        assertThrows(InvalidHeadException.class, () -> parse("200 OK", "Content-Length", "-1"));
        assertThrows(InvalidHeadException.class, () -> parse("200 OK", "Content-Length", "1e3"));
        assertEquals(5, parse("200 OK", "Content-Length", "5", "content-length", "5").contentLength());
    }
}
