package jwsgi.ops;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.eclipse.jetty.util.ajax.JSON;

/**
 * gunicorn's control socket protocol (gunicorn/ctl/protocol.py, 25.1+), which {@code gunicornc}
 * speaks: each message is a 4-byte big-endian length and that many bytes of UTF-8 JSON. A
 * request is {@code {"id": 1, "command": "show workers", "args": []}}; a response
 * {@code {"id": 1, "status": "ok", "data": {...}}} or
 * {@code {"id": 1, "status": "error", "error": "message"}}. A connection carries any number of
 * requests, one at a time.
 *
 * <p>Threads: any; a {@link JSON} is made per call (it is not documented as thread-safe).
 */
public final class ControlProtocol {
    /** gunicorn accepts 16 MiB; a command is a few dozen bytes, so a megabyte is plenty. */
    static final int MAX_MESSAGE_BYTES = 1 << 20;

    private ControlProtocol() {}

    /** A malformed message: the connection cannot go on (where the next message starts is unknown). */
    public static final class ProtocolException extends IOException {
        ProtocolException(String message) {
            super(message);
        }
    }

    /**
     * Reads one message.
     *
     * @return the message, or null at a clean end of stream (between messages)
     * @throws ProtocolException when it is too large or not a JSON object
     */
    public static Map<String, Object> read(DataInputStream in) throws IOException {
        int length;
        try {
            length = in.readInt();
        } catch (EOFException e) {
            return null;
        }
        if (length < 0 || length > MAX_MESSAGE_BYTES) throw new ProtocolException("message too large: " + Integer.toUnsignedLong(length) + " bytes");
        byte[] payload = new byte[length];
        in.readFully(payload);
        Object parsed;
        try {
            parsed = json().fromJSON(new String(payload, StandardCharsets.UTF_8));
        } catch (RuntimeException e) {
            throw new ProtocolException("invalid JSON: " + e.getMessage());
        }
        if (!(parsed instanceof Map<?, ?> map)) throw new ProtocolException("a message must be a JSON object");
        Map<String, Object> message = new LinkedHashMap<>();
        map.forEach((k, v) -> message.put(String.valueOf(k), v));
        return message;
    }

    /** Writes one message and flushes it. */
    public static void write(DataOutputStream out, Map<String, ?> message) throws IOException {
        byte[] payload = json().toJSON(message).getBytes(StandardCharsets.UTF_8);
        out.writeInt(payload.length);
        out.write(payload);
        out.flush();
    }

    public static Map<String, Object> request(long id, String command, List<?> args) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("command", command);
        m.put("args", args);
        return m;
    }

    static Map<String, Object> ok(Object id, Map<String, ?> data) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("status", "ok");
        m.put("data", data);
        return m;
    }

    static Map<String, Object> error(Object id, String error) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", id);
        m.put("status", "error");
        m.put("error", error);
        return m;
    }

    /** Renders a value as JSON text, as {@code jwsgi ctl -j} prints it. */
    public static String toJson(Object value) {
        return json().toJSON(value);
    }

    private static JSON json() {
        JSON json = new JSON();
        json.setArrayConverter(list -> list);
        return json;
    }
}
