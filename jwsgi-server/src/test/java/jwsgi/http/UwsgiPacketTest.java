package jwsgi.http;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

@Tag("fast")
class UwsgiPacketTest {
    /** A packet as nginx writes it. */
    static byte[] packet(int modifier1, String... nameValues) {
        ByteArrayOutputStream vars = new ByteArrayOutputStream();
        for (String s : nameValues) {
            byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
            vars.write(b.length & 0xFF);
            vars.write(b.length >> 8);
            vars.writeBytes(b);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(modifier1);
        out.write(vars.size() & 0xFF);
        out.write(vars.size() >> 8);
        out.write(0);
        out.writeBytes(vars.toByteArray());
        return out.toByteArray();
    }

    @Test
    void variablesInOrderAsLatin1AndTheBodyLeftInTheBuffer() throws Exception {
        byte[] p = packet(0, "REQUEST_METHOD", "POST", "PATH_INFO", "/caf\u00e9", "EMPTY", "");
        ByteBuffer buffer = ByteBuffer.allocate(p.length + 4).put(p).put("body".getBytes(StandardCharsets.US_ASCII)).flip();
        List<Map.Entry<String, String>> vars = UwsgiPacket.parse(buffer);
        assertEquals(List.of(Map.entry("REQUEST_METHOD", "POST"), Map.entry("PATH_INFO", "/caf\u00e9"), Map.entry("EMPTY", "")), vars);
        assertEquals(4, buffer.remaining());
    }

    @Test
    void anEncodedPacketIsTheOneNginxWritesAndParsesBack() throws Exception {
        List<String> nameValues = List.of("REQUEST_METHOD", "GET", "PATH_INFO", "/caf\u00e9", "EMPTY", "");
        byte[] encoded = UwsgiPacket.encode(nameValues);
        assertArrayEquals(packet(0, nameValues.toArray(String[]::new)), encoded);
        assertEquals(List.of(Map.entry("REQUEST_METHOD", "GET"), Map.entry("PATH_INFO", "/caf\u00e9"), Map.entry("EMPTY", "")),
                UwsgiPacket.parse(ByteBuffer.wrap(encoded)));
        assertThrows(IllegalArgumentException.class, () -> UwsgiPacket.encode(List.of("BIG", "v".repeat(0x10000))));
    }

    @Test
    void anIncompletePacketWaitsForMore() throws Exception {
        byte[] p = packet(0, "REQUEST_METHOD", "GET");
        for (int n = 0; n < p.length; n++) {
            ByteBuffer partial = ByteBuffer.wrap(p, 0, n);
            assertNull(UwsgiPacket.parse(partial));
            assertEquals(0, partial.position());
        }
    }

    @Test
    void otherModifiersAndOverrunsAreRefused() {
        assertThrows(UwsgiPacket.Malformed.class, () -> UwsgiPacket.parse(ByteBuffer.wrap(packet(5, "A", "B"))));
        byte[] p = packet(0, "NAME", "VALUE");
        p[4 + 2 + 4] = 100;  // the value's length now points past the end
        assertThrows(UwsgiPacket.Malformed.class, () -> UwsgiPacket.parse(ByteBuffer.wrap(p)));
    }
}
