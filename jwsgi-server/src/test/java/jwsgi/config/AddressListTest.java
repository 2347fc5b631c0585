package jwsgi.config;

import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

@Tag("fast")
class AddressListTest {
    private static InetSocketAddress peer(String ip) {
        return new InetSocketAddress(ip, 40000);
    }

    @Test
    void addressesAndNetworks() {
        AddressList list = AddressList.parse("127.0.0.1, ::1,10.0.0.0/8,2001:db8::/32, 192.168.1.128/25");
        assertTrue(list.trusts(peer("127.0.0.1")));
        assertFalse(list.trusts(peer("127.0.0.2")));
        assertTrue(list.trusts(peer("::1")));
        assertTrue(list.trusts(peer("10.200.3.4")));
        assertFalse(list.trusts(peer("11.0.0.1")));
        assertTrue(list.trusts(peer("2001:db8:ffff::7")));
        assertFalse(list.trusts(peer("2001:db9::1")));
        assertTrue(list.trusts(peer("192.168.1.200")));
        assertFalse(list.trusts(peer("192.168.1.127")));
    }

    @Test
    void ipv4MappedIpv6PeersMatchTheirIpv4Entry() {
        assertTrue(AddressList.parse("127.0.0.1").trusts(peer("::ffff:127.0.0.1")));
    }

    @Test
    void starTrustsEveryoneAndUnixPeersAreAlwaysTrusted() {
        assertTrue(AddressList.parse("*").trusts(peer("203.0.113.9")));
        assertTrue(AddressList.parse("127.0.0.1").trusts(UnixDomainSocketAddress.of("")));
        assertFalse(AddressList.parse("").trusts(peer("127.0.0.1")));
    }

    @Test
    void literalsFromHeadersNeverResolveNames() {
        AddressList list = AddressList.parse("127.0.0.0/8");
        assertTrue(list.trustsLiteral("127.0.0.5"));
        assertTrue(list.trustsLiteral("[::ffff:127.0.0.5]"));
        assertFalse(list.trustsLiteral("localhost"));
        assertFalse(list.trustsLiteral("unknown"));
        assertFalse(list.trustsLiteral("300.1.1.1"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"localhost", "10.0.0.0/33", "::1/129", "1.2.3", "10.0.0.0/x", "256.0.0.1"})
    void badEntriesAreRefusedByName(String entry) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AddressList.parse("127.0.0.1," + entry));
        assertTrue(e.getMessage().contains("'" + entry + "'"), e.getMessage());
    }
}
