package jwsgi.http;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

/** The strict reading of a path under a static mount: what names a file, and every way to try to leave the directory. */
@Tag("fast")
class StaticPathTest {
    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
        "/admin/css/base.css|/admin/css/base.css",
        "/base.5af66c1b1797.css|/base.5af66c1b1797.css",
        "/%61dmin/css/base.css|/admin/css/base.css",
        "/my%20file.txt|/my file.txt",
        "/caf%C3%A9.png|/café.png",
        "/a..b.txt|/a..b.txt",
        "/name.|/name.",
        "/x~y!$&'()*+,=:@.js|/x~y!$&'()*+,=:@.js",
        "/semi%3Bcolon.txt|/semi;colon.txt",
    })
    void namesAFile(String raw, String file) {
        assertEquals(file, StaticPath.file(raw));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "", "/", "x.css", "//x.css", "/css//x.css", "/css/", "/css/x.css/",
        // dot segments and dotfiles, raw and in every encoding
        "/../settings.py", "/css/../../settings.py", "/./x.css", "/.env", "/css/.htaccess", "/.git/config",
        "/%2e%2e/settings.py", "/%2E%2E/settings.py", "/.%2e/settings.py", "/%2e./settings.py", "/%2e/x.css", "/%2eenv",
        // double encoding: %25 decodes to '%', which is refused
        "/%252e%252e/settings.py", "/%252fetc%252fpasswd", "/%25",
        // encoded separators
        "/css%2f..%2f..%2fsettings.py", "/..%2fsettings.py", "/%2fetc/passwd", "/a%2Fb",
        // backslashes
        "/..%5csettings.py", "/..\\settings.py", "/css\\..\\x", "/%5c",
        // NUL and control characters
        "/x.css%00.png", "/x%00", "/x%0a.css", "/x%0d", "/x%7f", "/x\u0000",
        // bad escapes and bad UTF-8 (overlong '.', lone continuation byte, truncated sequence)
        "/%", "/%2", "/%zz", "/x%2", "/%c0%ae%c0%ae/settings.py", "/%80", "/%C3",
        // path parameters and characters that must be encoded
        "/x.css;jsessionid=1", "/x;", "/a b.css", "/x\"y", "/x<y>", "/x?y", "/x#y", "/é.css", "/x|y", "/x`y", "/x{y}", "/x^y",
    })
    void refuses(String raw) {
        assertNull(StaticPath.file(raw), raw);
    }
}
