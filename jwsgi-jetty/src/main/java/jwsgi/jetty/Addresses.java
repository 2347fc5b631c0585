package jwsgi.jetty;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;

/** Socket addresses as WSGI shows them: IPv6 in its short RFC 5952 form, without brackets ("::1"). */
public final class Addresses {
    private Addresses() {}

    public static String host(SocketAddress address) {
        if (address instanceof InetSocketAddress inet) {
            InetAddress a = inet.getAddress();
            if (a == null) return inet.getHostString();
            return a instanceof Inet6Address v6 ? compress(v6) : a.getHostAddress();
        }
        return address == null ? "" : address.toString();
    }

    /** An address given as its 4 or 16 bytes, in the same form as {@link #host}. */
    public static String literal(byte[] address) {
        try {
            return host(new InetSocketAddress(InetAddress.getByAddress(address), 0));
        } catch (java.net.UnknownHostException e) {
            throw new IllegalArgumentException("not an IP address: " + address.length + " bytes", e);
        }
    }

    public static int port(SocketAddress address) {
        return address instanceof InetSocketAddress inet ? inet.getPort() : 0;
    }

    /** The longest run of two or more zero groups becomes "::"; hex digits lower case. */
    static String compress(Inet6Address address) {
        byte[] b = address.getAddress();
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++) groups[i] = ((b[2 * i] & 0xFF) << 8) | (b[2 * i + 1] & 0xFF);
        int bestStart = -1;
        int bestLength = 1;
        for (int i = 0; i < 8; ) {
            if (groups[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && groups[j] == 0) j++;
            if (j - i > bestLength) {
                bestStart = i;
                bestLength = j - i;
            }
            i = j;
        }
        StringBuilder s = new StringBuilder(39);
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                s.append("::");
                i += bestLength - 1;
                continue;
            }
            if (s.length() > 0 && s.charAt(s.length() - 1) != ':') s.append(':');
            s.append(Integer.toHexString(groups[i]));
        }
        if (address.getScopeId() != 0 || address.getScopedInterface() != null) {
            String text = address.getHostAddress();
            int percent = text.indexOf('%');
            if (percent >= 0) s.append(text.substring(percent));
        }
        return s.toString();
    }
}
