package jwsgi.http;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class BindTest {
    @Test
    void gunicornForms() {
        assertEquals(new Bind("127.0.0.1", 8000), Bind.parse("127.0.0.1:8000"));
        assertEquals(new Bind("localhost", 8000), Bind.parse("localhost"));
        assertEquals(new Bind("0.0.0.0", 9000), Bind.parse(":9000"));
        assertEquals(new Bind("::1", 8080), Bind.parse("[::1]:8080"));
        assertEquals(new Bind("::", 8000), Bind.parse("[::]"));
        assertEquals("[::1]:8080", Bind.parse("[::1]:0").authority(8080));
    }

    @ParameterizedTest
    @ValueSource(strings = {"::1:80", "[::1", "host:port", "h:70000", "[::1]x", "unix:/tmp/s.sock", "fd://3"})
    void badFormsAreRefusedWithTheValue(String value) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Bind.parse(value));
        assertEquals(true, e.getMessage().startsWith("--bind " + value + ":"), e.getMessage());
    }
}
