package jwsgi.config;

import java.nio.file.Path;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

@Tag("fast")
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

    @Test
    void unixSockets() {
        assertEquals(new Bind(null, 0, Path.of("/run/app.sock")), Bind.parse("unix:/run/app.sock"));
        assertEquals(new Bind(null, 0, Path.of("/run/app.sock")), Bind.parse("unix:///run/app.sock"));
        assertEquals(Path.of("app.sock").toAbsolutePath(), Bind.parse("unix:app.sock").unix());
        assertEquals("unix:/run/app.sock", Bind.parse("unix:/run/app.sock").authority(0));
    }

    @ParameterizedTest
    @ValueSource(strings = {"::1:80", "[::1", "host:port", "h:70000", "[::1]x", "unix:", "fd://3"})
    void badFormsAreRefusedWithTheValue(String value) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Bind.parse(value));
        assertEquals(true, e.getMessage().startsWith("--bind " + value + ":"), e.getMessage());
    }

    @Test
    void aUnixPathTooLongForTheKernelIsRefused() {
        String path = "/tmp/" + "d".repeat(120) + ".sock";
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Bind.parse("unix:" + path));
        assertEquals(true, e.getMessage().contains("at most 107 bytes"), e.getMessage());
    }
}
