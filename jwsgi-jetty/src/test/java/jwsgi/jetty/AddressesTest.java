package jwsgi.jetty;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertEquals;

@Tag("fast")
class AddressesTest {
    @ParameterizedTest
    @CsvSource({
        "0:0:0:0:0:0:0:1, ::1",
        "0:0:0:0:0:0:0:0, ::",
        "2001:db8:0:0:1:0:0:1, 2001:db8::1:0:0:1",
        "2001:db8:0:1:1:1:1:1, 2001:db8:0:1:1:1:1:1",
        "fe80:0:0:0:0:0:0:1, fe80::1",
        "2001:0:0:1:0:0:0:1, 2001:0:0:1::1",
        "1:0:0:0:0:0:0:0, 1::",
    })
    void ipv6IsShortenedAsRfc5952Says(String full, String expected) throws UnknownHostException {
        assertEquals(expected, Addresses.compress((Inet6Address) InetAddress.getByName(full)));
    }
}
