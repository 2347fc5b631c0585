package jwsgi.frontend;

import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;

/** Raw uwsgi packets and FastCGI records, as nginx writes them, for tests that need control of the bytes. */
final class CgiWire {
    private CgiWire() {}

    /** A uwsgi request packet (modifier1 0 unless given) with these variables. */
    static byte[] uwsgi(int modifier1, List<Map.Entry<String, String>> vars) {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (Map.Entry<String, String> v : vars) {
            for (String s : List.of(v.getKey(), v.getValue())) {
                byte[] b = s.getBytes(StandardCharsets.ISO_8859_1);
                body.write(b.length & 0xFF);
                body.write(b.length >> 8);
                body.writeBytes(b);
            }
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(modifier1);
        out.write(body.size() & 0xFF);
        out.write(body.size() >> 8);
        out.write(0);
        out.writeBytes(body.toByteArray());
        return out.toByteArray();
    }

    /** One FastCGI record. */
    static byte[] record(int type, int request, byte[] content) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(1);
        out.write(type);
        out.write(request >> 8);
        out.write(request);
        out.write(content.length >> 8);
        out.write(content.length);
        out.write(0);
        out.write(0);
        out.writeBytes(content);
        return out.toByteArray();
    }

    static final int BEGIN_REQUEST = 1;
    static final int END_REQUEST = 3;
    static final int PARAMS = 4;
    static final int STDIN = 5;
    static final int STDOUT = 6;

    /** BEGIN_REQUEST (responder, keeping the connection if asked) and the PARAMS records, ended. */
    static byte[] fastCgiHead(int request, boolean keep, List<Map.Entry<String, String>> params) {
        ByteArrayOutputStream nv = new ByteArrayOutputStream();
        for (Map.Entry<String, String> p : params) {
            byte[] k = p.getKey().getBytes(StandardCharsets.ISO_8859_1);
            byte[] v = p.getValue().getBytes(StandardCharsets.ISO_8859_1);
            length(nv, k.length);
            length(nv, v.length);
            nv.writeBytes(k);
            nv.writeBytes(v);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(record(BEGIN_REQUEST, request, new byte[] {0, 1, (byte) (keep ? 1 : 0), 0, 0, 0, 0, 0}));
        out.writeBytes(record(PARAMS, request, nv.toByteArray()));
        out.writeBytes(record(PARAMS, request, new byte[0]));
        return out.toByteArray();
    }

    private static void length(ByteArrayOutputStream out, int n) {
        if (n < 128) {
            out.write(n);
        } else {
            out.write((n >> 24) | 0x80);
            out.write(n >> 16);
            out.write(n >> 8);
            out.write(n);
        }
    }

    /** Reads records up to END_REQUEST and returns the STDOUT bytes (the CGI response). */
    static String fastCgiResponse(InputStream in) throws IOException {
        DataInputStream data = new DataInputStream(in);
        ByteArrayOutputStream stdout = new ByteArrayOutputStream();
        while (true) {
            data.readUnsignedByte();
            int type = data.readUnsignedByte();
            data.readUnsignedShort();
            int length = data.readUnsignedShort();
            int padding = data.readUnsignedByte();
            data.readUnsignedByte();
            byte[] content = data.readNBytes(length);
            data.readNBytes(padding);
            if (type == STDOUT) stdout.writeBytes(content);
            if (type == END_REQUEST) return stdout.toString(StandardCharsets.ISO_8859_1);
        }
    }
}
