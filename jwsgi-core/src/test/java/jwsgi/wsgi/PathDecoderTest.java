package jwsgi.wsgi;

import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;

@Tag("fast")
class PathDecoderTest {
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "/plain|/plain",
        "/a%20b|/a b",
        "/caf%C3%A9|/caf\u00c3\u00a9",
        "/%2F%2f|///",
        "/%ff%41|/\u00ffA",
        "/100%|/100%",
        "/%zz%4|/%zz%4",
        "/caf\u00e9|/caf\u00c3\u00a9",
    })
    void decodesToBytesAsLatin1(String raw, String expected) {
        byte[][] out = {new byte[1]};
        int n = PathDecoder.decode(raw, out);
        assertEquals(expected, new String(out[0], 0, n, StandardCharsets.ISO_8859_1));
    }
}
