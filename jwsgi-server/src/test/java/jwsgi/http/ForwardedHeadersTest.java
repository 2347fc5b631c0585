package jwsgi.http;

import java.util.Map;

import jwsgi.config.AddressList;

import org.eclipse.jetty.http.HttpFields;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Tag("fast")
class ForwardedHeadersTest {
    private static final AddressList PROXIES = AddressList.parse("127.0.0.1,10.0.0.0/8");
    private static final Map<String, String> GUNICORN_SCHEME_HEADERS = Map.of(
            "X-FORWARDED-PROTOCOL", "ssl", "X-FORWARDED-PROTO", "https", "X-FORWARDED-SSL", "on");

    private static ForwardedHeaders.Result read(String... nameValues) throws ForwardedHeaders.Contradiction {
        HttpFields.Mutable headers = HttpFields.build();
        for (int i = 0; i < nameValues.length; i += 2) headers.add(nameValues[i], nameValues[i + 1]);
        return ForwardedHeaders.read(headers, PROXIES, GUNICORN_SCHEME_HEADERS);
    }

    @Test
    void theClientIsTheRightmostAddressThatIsNotOneOfOurProxies() throws Exception {
        assertEquals("203.0.113.7", read("X-Forwarded-For", "203.0.113.7").clientHost());
        // The client wrote the leftmost entry itself; our proxies appended the rest.
        assertEquals("203.0.113.7", read("X-Forwarded-For", "6.6.6.6, 203.0.113.7, 10.1.1.1").clientHost());
        assertEquals("203.0.113.7", read("X-Forwarded-For", "6.6.6.6", "X-Forwarded-For", "203.0.113.7").clientHost());
        // Only trusted proxies in the chain: the leftmost is the best we know.
        assertEquals("10.0.0.9", read("X-Forwarded-For", "10.0.0.9, 127.0.0.1").clientHost());
    }

    @Test
    void portsAndIpv6InTheChain() throws Exception {
        ForwardedHeaders.Result r = read("X-Forwarded-For", "[2001:db8:0:0::1]:4711");
        assertEquals("2001:db8::1", r.clientHost());
        assertEquals(4711, r.clientPort());
        assertEquals("2001:db8::1", read("X-Forwarded-For", "2001:db8::1").clientHost());
        assertEquals("198.51.100.2", read("X-Forwarded-For", "198.51.100.2:5000").clientHost());
    }

    @Test
    void anEntryThatIsNotAnAddressLeavesTheClientAlone() throws Exception {
        assertNull(read("X-Forwarded-For", "unknown").clientHost());
        assertNull(read("X-Forwarded-For", "evil.example, 10.0.0.1").clientHost());
    }

    @Test
    void secureSchemeHeadersAsGunicornReadsThem() throws Exception {
        assertEquals("https", read("X-Forwarded-Proto", "https").scheme());
        assertEquals("http", read("X-Forwarded-Proto", "http").scheme());
        assertEquals("https", read("X-Forwarded-Ssl", "on", "X-Forwarded-Proto", "https").scheme());
        assertNull(read("X-Other", "https").scheme());
        ForwardedHeaders.Contradiction e = assertThrows(ForwardedHeaders.Contradiction.class,
                () -> read("X-Forwarded-Ssl", "on", "X-Forwarded-Proto", "http"));
        assertTrue(e.getMessage().contains("disagree"), e.getMessage());
    }

    @Test
    void hostAndPort() throws Exception {
        ForwardedHeaders.Result r = read("X-Forwarded-Host", "evil.example, www.example.com", "X-Forwarded-Port", "8443");
        assertEquals("www.example.com", r.host());
        assertEquals(8443, r.port());
        assertEquals(-1, read("X-Forwarded-Port", "99999").port());
    }

    @Test
    void rfc7239ForwardedWinsAndIsWalkedTheSameWay() throws Exception {
        ForwardedHeaders.Result r = read(
                "Forwarded", "for=6.6.6.6;proto=http, for=\"[2001:db8::7]:4711\";proto=https;host=shop.example, for=10.0.0.2",
                "X-Forwarded-For", "9.9.9.9");
        assertEquals("2001:db8::7", r.clientHost());
        assertEquals(4711, r.clientPort());
        assertEquals("https", r.scheme());
        assertEquals("shop.example", r.host());
        assertNull(read("Forwarded", "for=unknown;proto=https").clientHost());
        assertEquals("https", read("Forwarded", "for=_hidden;proto=https").scheme());
    }

    @Test
    void nothingSaidIsNothingChanged() throws Exception {
        assertTrue(read("Accept", "*/*").isEmpty());
    }
}
