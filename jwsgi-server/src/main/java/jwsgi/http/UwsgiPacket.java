package jwsgi.http;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The request packet of the uwsgi binary protocol, as nginx's {@code uwsgi_pass} and Apache's
 * mod_proxy_uwsgi send it: a 4-byte header (modifier1, a little-endian 16-bit size,
 * modifier2), then that many bytes of variables, each a little-endian 16-bit length and the
 * name, then the same for the value. The request body follows the packet.
 *
 * <p>Names and values are kept as bytes-as-latin-1 strings, as WSGI wants them.
 */
final class UwsgiPacket {
    static final int HEADER_SIZE = 4;

    private UwsgiPacket() {}

    /** A malformed packet; the connection is closed. */
    static final class Malformed extends Exception {
        Malformed(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * The packet of these variables, as nginx's uwsgi_pass writes it ({@code nameValues}: name,
     * value, name, value...).
     *
     * @throws IllegalArgumentException when they take more than the 65,535 bytes a packet holds
     */
    static byte[] encode(List<String> nameValues) {
        ByteArrayOutputStream packet = new ByteArrayOutputStream(512);
        packet.writeBytes(new byte[HEADER_SIZE]);  // modifier1 0, the size (below), modifier2 0
        for (String s : nameValues) {
            byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
            packet.write(b.length & 0xFF);
            packet.write(b.length >> 8);
            packet.writeBytes(b);
        }
        byte[] bytes = packet.toByteArray();
        int size = bytes.length - HEADER_SIZE;
        if (size > 0xFFFF) throw new IllegalArgumentException("uwsgi variables of " + size + " bytes: a packet holds at most 65,535");
        bytes[1] = (byte) size;
        bytes[2] = (byte) (size >> 8);
        return bytes;
    }

    /** The size of the packet at the buffer's position, header included, or -1 before its header is in. */
    static int size(ByteBuffer buffer) {
        if (buffer.remaining() < HEADER_SIZE) return -1;
        int start = buffer.position();
        return HEADER_SIZE + ((buffer.get(start + 1) & 0xFF) | (buffer.get(start + 2) & 0xFF) << 8);
    }

    /**
     * Parses the packet at the buffer's position.
     *
     * @return the variables in order, or null when the buffer does not hold the whole packet yet
     *         (the position is then unchanged); after a parse the position is just past the packet
     * @throws Malformed for a packet that is not a WSGI request (modifier1 other than 0) or whose
     *                   variables overrun it
     */
    static List<Map.Entry<String, String>> parse(ByteBuffer buffer) throws Malformed {
        if (buffer.remaining() < HEADER_SIZE) return null;
        int start = buffer.position();
        int modifier1 = buffer.get(start) & 0xFF;
        int size = size(buffer) - HEADER_SIZE;
        if (modifier1 != 0) {
            throw new Malformed("uwsgi packet with modifier1 " + modifier1 + ": only WSGI requests (0) are served");
        }
        if (buffer.remaining() < HEADER_SIZE + size) return null;
        List<Map.Entry<String, String>> vars = new ArrayList<>();
        int at = start + HEADER_SIZE;
        int end = at + size;
        while (at < end) {
            String name = string(buffer, at, end);
            at += 2 + name.length();
            String value = string(buffer, at, end);
            at += 2 + value.length();
            vars.add(Map.entry(name, value));
        }
        buffer.position(end);
        return vars;
    }

    private static String string(ByteBuffer buffer, int at, int end) throws Malformed {
        if (at + 2 > end) throw new Malformed("uwsgi packet truncated inside a variable length");
        int length = (buffer.get(at) & 0xFF) | (buffer.get(at + 1) & 0xFF) << 8;
        if (at + 2 + length > end) throw new Malformed("uwsgi variable of " + length + " bytes overruns the packet");
        byte[] bytes = new byte[length];
        buffer.get(at + 2, bytes);
        return new String(bytes, StandardCharsets.ISO_8859_1);
    }
}
