package jwsgi.http;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import jwsgi.config.AddressList;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;

import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpFields;

import org.junit.jupiter.api.Tag;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Fuzz targets for the parsers jwsgi writes itself (Jetty's own parsers are Jetty's to fuzz):
 * the uwsgi packet, the forwarded headers of trusted proxies, address lists and the CGI
 * variables of uwsgi/FastCGI requests. In a normal build they run in Jazzer's regression mode:
 * the inputs saved under jwsgi-server/src/test/resources/jwsgi/http/ParserFuzzTestInputs and an empty one;
 * scripts/fuzz.sh runs them as fuzzers. Each states what must hold for any input.
 */
@Tag("fast")
class ParserFuzzTest {
    private static final AddressList TRUSTED = AddressList.parse("127.0.0.1,10.0.0.0/8,::1,fd00::/8");

    /**
     * Any bytes: the parse needs more (nothing consumed), or yields variables that are exactly
     * what the consumed bytes encode, or refuses with Malformed. Never another exception.
     */
    @FuzzTest(maxDuration = "1m")
    void uwsgiPacket(byte[] data) {
        ByteBuffer buffer = ByteBuffer.wrap(data);
        List<Map.Entry<String, String>> vars;
        try {
            vars = UwsgiPacket.parse(buffer);
        } catch (UwsgiPacket.Malformed e) {
            assertNotNull(e.getMessage());
            return;
        }
        if (vars == null) {
            assertEquals(0, buffer.position());
            return;
        }
        byte[] consumed = new byte[buffer.position()];
        System.arraycopy(data, 0, consumed, 0, consumed.length);
        byte[] again = UwsgiPacketTest.packet(0, flatten(vars));
        again[3] = consumed[3];  // modifier2 carries no meaning for a request
        assertArrayEquals(consumed, again);
    }

    private static String[] flatten(List<Map.Entry<String, String>> vars) {
        List<String> out = new ArrayList<>();
        for (Map.Entry<String, String> v : vars) {
            out.add(v.getKey());
            out.add(v.getValue());
        }
        return out.toArray(new String[0]);
    }

    /**
     * Any Forwarded / X-Forwarded-* headers from a trusted peer: the result is an IP literal
     * (never a name the client made up), a port in range, a scheme of http or https; a client
     * entry left of an untrusted one is never chosen. Contradiction is the only refusal.
     */
    @FuzzTest(maxDuration = "1m")
    void forwardedHeaders(FuzzedDataProvider data) {
        HttpFields.Mutable headers = HttpFields.build();
        String[] names = {"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Port", "X-Forwarded-Proto",
                "X-Forwarded-Ssl", "X-Forwarded-Protocol"};
        int n = data.consumeInt(0, 6);
        for (int i = 0; i < n; i++) headers.add(new HttpField(data.pickValue(names), data.consumeString(200)));
        ForwardedHeaders.Result r;
        try {
            r = ForwardedHeaders.read(headers, TRUSTED, Map.of("X-FORWARDED-PROTO", "https", "X-FORWARDED-SSL", "on"));
        } catch (ForwardedHeaders.Contradiction e) {
            return;
        }
        if (r.clientHost() != null) {
            assertNotNull(AddressList.parseLiteral(r.clientHost()), "client " + r.clientHost() + " is not an IP address");
        }
        assertTrue(r.clientPort() >= 0 && r.clientPort() <= 65535, "client port " + r.clientPort());
        assertTrue(r.port() == -1 || (r.port() > 0 && r.port() <= 65535), "port " + r.port());
        assertTrue(r.scheme() == null || r.scheme().equals("http") || r.scheme().equals("https"), "scheme " + r.scheme());
        if (!headers.contains("Forwarded") && r.clientHost() != null) {
            assertChosenFromTheRight(headers, r.clientHost());
        }
    }

    /** The chosen X-Forwarded-For client is not left of any untrusted entry (the client wrote those). */
    private static void assertChosenFromTheRight(HttpFields headers, String client) {
        List<String> chain = new ArrayList<>();
        for (HttpField f : headers) {
            if (!f.getName().equalsIgnoreCase("X-Forwarded-For")) continue;
            for (String e : f.getValue().split(",")) {
                if (!e.isBlank()) chain.add(e.strip());
            }
        }
        for (int i = chain.size() - 1; i >= 0; i--) {
            String[] node = ForwardedHeaders.splitNode(chain.get(i));
            if (node != null && node[0].equals(client)) return;
            assertTrue(node != null && TRUSTED.trustsLiteral(node[0]),
                    "client " + client + " chosen left of untrusted entry " + chain.get(i) + " in " + chain);
        }
    }

    /** Any text: an address list parses or is refused with IllegalArgumentException; lookups never throw. */
    @FuzzTest(maxDuration = "1m")
    void addressList(FuzzedDataProvider data) {
        String text = data.consumeString(200);
        String probe = data.consumeRemainingAsString();
        AddressList list;
        try {
            list = AddressList.parse(text);
        } catch (IllegalArgumentException e) {
            assertNotNull(e.getMessage());
            return;
        }
        list.trustsLiteral(probe);
        byte[] literal = AddressList.parseLiteral(probe);
        assertTrue(literal == null || literal.length == 4 || literal.length == 16);
    }

    /**
     * Any CGI variables (uwsgi, FastCGI): the request is made, or refused with
     * IllegalArgumentException; a body length is never negative, and header fields come only from HTTP_*.
     */
    @FuzzTest(maxDuration = "1m")
    void cgiVariables(FuzzedDataProvider data) {
        String[] names = {"REQUEST_METHOD", "CONTENT_LENGTH", "SERVER_PROTOCOL", "HTTP_HOST", "HTTP_X_A", "HTTP_", "HTTP_EXPECT",
                "REQUEST_URI", "QUERY_STRING", "CONTENT_TYPE"};
        List<Map.Entry<String, String>> vars = new ArrayList<>();
        int n = data.consumeInt(0, 8);
        for (int i = 0; i < n; i++) {
            String name = data.consumeBoolean() ? data.pickValue(names) : data.consumeString(20);
            vars.add(Map.entry(name, latin1(data.consumeBytes(100))));
        }
        try {
            var request = CgiRequestCustomizer.metaData(vars);
            assertTrue(request.getContentLength() >= 0);
            for (HttpField f : request.getHttpFields()) {
                assertTrue(!f.getName().equalsIgnoreCase("Expect"), "Expect passed on");
            }
        } catch (IllegalArgumentException e) {
            assertNotNull(e.getMessage());
        }
    }

    private static String latin1(byte[] bytes) {
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }
}
