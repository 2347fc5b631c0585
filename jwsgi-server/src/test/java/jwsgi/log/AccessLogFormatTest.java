package jwsgi.log;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import jwsgi.testing.Http;
import jwsgi.testing.Pythons;

import com.fasterxml.jackson.databind.JsonNode;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The compiled access log format against Python's own {@code %} operator applied to gunicorn's
 * atoms (built here as gunicorn's glogging builds them): the same line for every format, and a
 * start-up error for every format Python could not apply.
 */
@Tag("fast")
class AccessLogFormatTest {
    /** One request, as both sides see it. */
    private static final class FakeRequest implements AccessLogFormat.Request {
        final Map<String, String> environ = new HashMap<>();
        final Map<String, String> requestHeaders = new HashMap<>();
        final Map<String, String> responseHeaders = new HashMap<>();
        int status = 200;
        long bytes = 1234;
        long nanos = 3_456_789_012L;
        Instant end = Instant.parse("2026-11-25T08:15:09Z");

        @Override
        public String environ(String key) {
            return environ.get(key);
        }

        @Override
        public String requestHeader(String lowerName) {
            return requestHeaders.get(lowerName);
        }

        @Override
        public String responseHeader(String lowerName) {
            return responseHeaders.get(lowerName);
        }

        @Override
        public int status() {
            return status;
        }

        @Override
        public long bodyBytes() {
            return bytes;
        }

        @Override
        public long durationNanos() {
            return nanos;
        }

        @Override
        public Instant end() {
            return end;
        }
    }

    private static FakeRequest request() {
        FakeRequest r = new FakeRequest();
        r.environ.putAll(Map.of("REMOTE_ADDR", "192.0.2.7", "REQUEST_METHOD", "POST", "RAW_URI", "/caf%C3%A9?a=1&b=\"2\"",
                "SERVER_PROTOCOL", "HTTP/1.1", "PATH_INFO", "/caf\u00c3\u00a9", "QUERY_STRING", "a=1&b=\"2\"",
                "HTTP_REFERER", "http://example.com/\"x\"", "HTTP_USER_AGENT", "Mozilla/5.0 (X11)",
                "HTTP_AUTHORIZATION", "Basic YWxpY2U6c2VjcmV0", "wsgi.url_scheme", "http"));
        r.environ.put("REMOTE_USER", "alice");
        r.requestHeaders.put("x-forwarded-for", "10.0.0.1, 10.0.0.2");
        r.responseHeaders.put("content-type", "text/html; charset=\"utf-8\"");
        return r;
    }

    /**
     * What Python prints for {@code format % atoms}, with the atoms gunicorn's glogging.atoms()
     * makes from the same request (its SafeAtoms: '-' for missing keys, '"' escaped in strings).
     */
    private static String python(String format, FakeRequest r, long pid) throws Exception {
        String code = """
                import json, sys
                e = json.loads(sys.argv[1]); ih = json.loads(sys.argv[2]); oh = json.loads(sys.argv[3])
                status, sent, nanos, pid = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), sys.argv[7]
                import base64
                def user():
                    a = e.get('HTTP_AUTHORIZATION')
                    if a and a.lower().startswith('basic'):
                        parts = a.split(' ', 1)
                        if len(parts) == 2:
                            u = base64.b64decode(parts[1].strip().encode()).decode().split(':', 1)
                            if len(u) == 2:
                                return u[0]
                    return None
                micros = nanos // 1000
                seconds, micro = micros // 1000000, micros % 1000000
                import time
                atoms = {'h': e.get('REMOTE_ADDR', '-'), 'l': '-', 'u': user() or '-',
                         't': time.strftime('[%d/%b/%Y:%H:%M:%S %z]', time.localtime(int(sys.argv[9]))),
                         'r': '%s %s %s' % (e['REQUEST_METHOD'], e['RAW_URI'], e['SERVER_PROTOCOL']), 's': str(status),
                         'm': e.get('REQUEST_METHOD'), 'U': e.get('PATH_INFO'), 'q': e.get('QUERY_STRING'),
                         'H': e.get('SERVER_PROTOCOL'), 'b': str(sent), 'B': sent, 'f': e.get('HTTP_REFERER', '-'),
                         'a': e.get('HTTP_USER_AGENT', '-'), 'T': seconds, 'D': micros, 'M': micros // 1000,
                         'L': '%d.%06d' % (seconds, micro), 'p': '<%s>' % pid}
                atoms.update({'{%s}i' % k.lower(): v for k, v in ih.items()})
                atoms.update({'{%s}o' % k.lower(): v for k, v in oh.items()})
                atoms.update({'{%s}e' % k.lower(): v for k, v in e.items()})
                class SafeAtoms(dict):
                    def __init__(self, atoms):
                        dict.__init__(self)
                        for key, value in atoms.items():
                            self[key] = value.replace('"', '\\\\"') if isinstance(value, str) else value
                    def __getitem__(self, k):
                        if k.startswith('{'):
                            return super().__getitem__(k.lower()) if k.lower() in self else '-'
                        return super().__getitem__(k) if k in self else '-'
                sys.stdout.buffer.write((sys.argv[8] % SafeAtoms(atoms)).encode('utf-8'))
                """;
        Process p = new ProcessBuilder(Pythons.DEBIAN.toString(), "-c", code,
                json(r.environ), json(r.requestHeaders), json(r.responseHeaders), Integer.toString(r.status),
                Long.toString(r.bytes), Long.toString(r.nanos), Long.toString(pid), format,
                Long.toString(r.end.getEpochSecond())).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.waitFor(), err);
        return out;
    }

    private static String json(Map<String, String> map) throws Exception {
        return new com.fasterxml.jackson.databind.ObjectMapper().writeValueAsString(map);
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        "`" + AccessLogFormat.DEFAULT + "`",
        "`%(h)s %(l)s %(u)s %(t)s \"%(r)s\" %(s)s %(b)s %(B)s \"%(f)s\" \"%(a)s\" %(m)s %(U)s %(q)s %(H)s`",
        "`%(T)s %(D)s %(M)s %(L)s %(p)s`",
        "`%({x-forwarded-for}i)s %({X-Forwarded-For}i)s %({content-type}o)s %({remote_user}e)s %({wsgi.url_scheme}e)s`",
        "`%({missing}i)s %({missing}o)s %({missing}e)s %(nosuch)s %({weird}z)s`",
        "`[%(s)5s] [%(s)-5s] [%(B)08d] [%(B)-8d|] [%(a).7s] [%(h)20s] [%(T)+d] [%(M) d]`",
        "`%(h)r %(a)a %(B)r %(T)s%% done, 100%%`",
        "`no atoms at all`",
        "`%((nested))s %(h)s`",
    })
    void linesMatchWhatPythonPrints(String format) throws Exception {
        FakeRequest r = request();
        String ours = AccessLogFormat.compile(format).format(r);
        assertEquals(python(format, r, ProcessHandle.current().pid()), ours, format);
    }

    @Test
    void theStatusMayBePrintedAsANumber() {
        // gunicorn passes the status as str, so Python fails on %(s)d for every request; jwsgi prints it.
        assertEquals("[  404]", AccessLogFormat.compile("[%(s)5d]").format(withStatus(404)));
    }

    private static FakeRequest withStatus(int status) {
        FakeRequest r = request();
        r.status = status;
        return r;
    }

    @ParameterizedTest
    @CsvSource(delimiter = '|', quoteCharacter = '`', value = {
        "`%(h)s 100%`|a '%' must start %(name)s",
        "`%s`|a '%' must start %(name)s",
        "`%(h`|the '(' is never closed",
        "`%(h)`|without a type",
        "`%(h)d`|needs a number, and atom 'h' is text; use %(h)s",
        "`%(h)f`|conversion 'f' is not supported",
        "`%(h)*s`|'*' widths",
    })
    void formatsPythonCannotApplyAreRefusedAtStartUp(String format, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AccessLogFormat.compile(format));
        assertTrue(e.getMessage().contains(message), e.getMessage());
        assertTrue(e.getMessage().startsWith("access log format: at \""), e.getMessage());
    }

    @Test
    void theEnvironKeysAreTheOnesTheFormatShows() {
        assertEquals(java.util.Set.of("REMOTE_ADDR", "HTTP_AUTHORIZATION", "REQUEST_METHOD", "RAW_URI", "SERVER_PROTOCOL",
                "HTTP_REFERER", "HTTP_USER_AGENT"), AccessLogFormat.compile(AccessLogFormat.DEFAULT).environKeys());
        assertEquals(java.util.Set.of("REMOTE_USER", "remote_user", "PATH_INFO"),
                AccessLogFormat.compile("%({Remote_User}e)s %(U)s %(s)s %(B)s %({host}i)s").environKeys());
    }

    @Test
    void theJsonLineHasAMemberPerAtomWithTypedValues() {
        FakeRequest r = request();
        r.environ.remove("HTTP_REFERER");
        String line = AccessLogFormat.compile(AccessLogFormat.DEFAULT + " %(D)s %(L)s %(p)s %({x-forwarded-for}i)s %({x-none}i)s"
                + " %({content-type}o)s %({remote_user}e)s %(nosuch)s").json(r);
        JsonNode json = Http.json(line);
        assertEquals("192.0.2.7", json.get("remote_addr").asText());
        assertEquals("alice", json.get("user").asText());
        assertEquals("2026-11-25T08:15:09Z", json.get("time").asText());
        assertEquals("POST /caf%C3%A9?a=1&b=\"2\" HTTP/1.1", json.get("request").asText());
        assertEquals(200, json.get("status").asInt());
        assertTrue(json.get("status").isNumber());
        assertEquals(1234, json.get("bytes").asLong());
        assertTrue(json.get("referer").isNull(), line);
        assertEquals("Mozilla/5.0 (X11)", json.get("user_agent").asText());
        assertEquals(3_456_789, json.get("duration_us").asLong());
        assertEquals(3.456789, json.get("duration").asDouble(), 1e-9);
        assertEquals(ProcessHandle.current().pid(), json.get("pid").asLong());
        assertEquals("10.0.0.1, 10.0.0.2", json.get("request_headers").get("x-forwarded-for").asText());
        assertTrue(json.get("request_headers").get("x-none").isNull());
        assertEquals("text/html; charset=\"utf-8\"", json.get("response_headers").get("content-type").asText());
        assertEquals("alice", json.get("environ").get("remote_user").asText());
        assertEquals(List.of("remote_addr", "ident", "user", "time", "request", "status", "bytes", "referer", "user_agent",
                "duration_us", "duration", "pid", "request_headers", "response_headers", "environ"),
                iterable(json.fieldNames()));
    }

    @Test
    void controlCharactersCannotBreakAJsonLine() {
        FakeRequest r = request();
        r.environ.put("HTTP_USER_AGENT", "evil\n\"agent\"\u0000\\");
        String line = AccessLogFormat.compile("%(a)s").json(r);
        assertTrue(line.indexOf('\n') < 0, line);
        assertEquals("evil\n\"agent\"\u0000\\", Http.json(line).get("user_agent").asText());
    }

    private static List<String> iterable(java.util.Iterator<String> it) {
        List<String> out = new java.util.ArrayList<>();
        it.forEachRemaining(out::add);
        return out;
    }

    @Test
    void theDefaultFormatIsGunicorns() throws Exception {
        String config = Files.readString(Path.of("/usr/lib/python3/dist-packages/gunicorn/config.py"));
        assertTrue(config.contains("default = '" + AccessLogFormat.DEFAULT + "'"), "gunicorn's AccessLogFormat.default");
    }
}
