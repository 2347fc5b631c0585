package jwsgi.config;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A list of trusted peers in gunicorn's form: comma-separated IP addresses and CIDR networks
 * ({@code 127.0.0.1,::1,10.0.0.0/8}), or {@code *} for any peer. Peers on a Unix socket have no
 * address and are always trusted, as in gunicorn: only local processes can reach the socket.
 *
 * @param text     the list as given, for messages
 * @param any      true for {@code *}
 * @param networks the addresses and networks
 */
public record AddressList(String text, boolean any, List<Network> networks) {
    private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
    private static final Pattern IPV6 = Pattern.compile("[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*");

    /** An address with the number of leading bits that must match (32 or 128 for one address). */
    public record Network(byte[] address, int prefix) {
        boolean contains(byte[] candidate) {
            if (candidate.length != address.length) return false;
            int full = prefix / 8;
            for (int i = 0; i < full; i++) {
                if (candidate[i] != address[i]) return false;
            }
            int rest = prefix % 8;
            if (rest == 0) return true;
            int mask = (0xFF << (8 - rest)) & 0xFF;
            return (candidate[full] & mask) == (address[full] & mask);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Network n && n.prefix == prefix && Arrays.equals(n.address, address);
        }

        @Override
        public int hashCode() {
            return 31 * Arrays.hashCode(address) + prefix;
        }

        /** For debugging: Java's address text, e.g. "10.0.0.0/8" ("::1" reads "0:0:0:0:0:0:0:1/128"). */
        @Override
        public String toString() {
            try {
                return InetAddress.getByAddress(address).getHostAddress() + "/" + prefix;
            } catch (UnknownHostException e) {
                return Arrays.toString(address) + "/" + prefix;
            }
        }
    }

    /**
     * Parses a list; names are not resolved (a trust list must not depend on DNS).
     *
     * @throws IllegalArgumentException naming the entry that is not an address, a network or '*'
     */
    public static AddressList parse(String text) {
        List<Network> networks = new ArrayList<>();
        boolean any = false;
        for (String raw : text.split(",")) {
            String entry = raw.strip();
            if (entry.isEmpty()) continue;
            if (entry.equals("*")) {
                any = true;
                continue;
            }
            int slash = entry.indexOf('/');
            byte[] address = literal(slash < 0 ? entry : entry.substring(0, slash), entry);
            int bits = address.length * 8;
            int prefix = bits;
            if (slash >= 0) {
                try {
                    prefix = Integer.parseInt(entry.substring(slash + 1));
                } catch (NumberFormatException e) {
                    prefix = -1;
                }
                if (prefix < 0 || prefix > bits) {
                    throw new IllegalArgumentException("'" + entry + "': the network prefix must be 0 to " + bits);
                }
            }
            networks.add(new Network(address, prefix));
        }
        return new AddressList(text, any, List.copyOf(networks));
    }

    private static byte[] literal(String host, String entry) {
        byte[] bytes = parseLiteral(host);
        if (bytes == null) {
            throw new IllegalArgumentException("'" + entry + "' is not an IP address, a CIDR network (10.0.0.0/8) or '*'");
        }
        return bytes;
    }

    /** IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) compare as the IPv4 address they carry. */
    static byte[] canonical(InetAddress address) {
        byte[] b = address.getAddress();
        if (address instanceof Inet6Address && isMapped(b)) return Arrays.copyOfRange(b, 12, 16);
        return b;
    }

    private static boolean isMapped(byte[] b) {
        for (int i = 0; i < 10; i++) {
            if (b[i] != 0) return false;
        }
        return (b[10] & 0xFF) == 0xFF && (b[11] & 0xFF) == 0xFF;
    }

    /** Whether a peer is trusted: any Unix-socket peer; an IP peer in the list. */
    public boolean trusts(SocketAddress peer) {
        if (!(peer instanceof InetSocketAddress inet)) return true;
        if (any) return true;
        InetAddress address = inet.getAddress();
        if (address == null) return trustsLiteral(inet.getHostString());
        return contains(canonical(address));
    }

    /** Whether an address given as text (from a header) is in the list; names never are. */
    public boolean trustsLiteral(String host) {
        if (any) return true;
        byte[] bytes = parseLiteral(host);
        return bytes != null && contains(bytes);
    }

    private boolean contains(byte[] address) {
        for (Network n : networks) {
            if (n.contains(address)) return true;
        }
        return false;
    }

    /** The bytes of an IPv4 or IPv6 literal (brackets allowed), or null when it is not one. */
    public static byte[] parseLiteral(String host) {
        if (host == null) return null;
        String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        int percent = h.indexOf('%');
        if (percent >= 0) h = h.substring(0, percent);
        if (IPV4.matcher(h).matches()) {
            for (String octet : h.split("\\.")) {
                if (Integer.parseInt(octet) > 255) return null;
            }
        } else if (!IPV6.matcher(h).matches()) {
            return null;
        }
        try {
            // Only literals reach here, so no name is ever looked up.
            InetAddress a = InetAddress.getByName(h);
            return a instanceof Inet4Address || a instanceof Inet6Address ? canonical(a) : null;
        } catch (UnknownHostException e) {
            return null;
        }
    }
}
