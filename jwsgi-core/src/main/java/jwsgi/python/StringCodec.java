package jwsgi.python;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Converts strings between Java and Python on the hot path, through a scratch buffer owned by
 * one thread, so a request allocates no native memory. PEP 3333 "native strings" are built
 * with {@link #latin1}: each byte becomes one code point.
 *
 * <p>Threads: the owning thread only (the arena is confined); GIL: must hold.
 */
public final class StringCodec implements AutoCloseable {
    private final CPython api;
    private final Interpreter interpreter;
    private final Arena arena = Arena.ofConfined();
    private final MemorySegment sizeOut = arena.allocate(JAVA_LONG);
    private final MemorySegment pointerOut = arena.allocate(ADDRESS);
    private MemorySegment scratch = arena.allocate(4096);
    /** Receives a str's UTF-8 bytes on their way to a Java string (which copies them). */
    private byte[] utf8Scratch = new byte[256];

    public StringCodec(Interpreter interpreter) {
        this.interpreter = interpreter;
        this.api = interpreter.api();
    }

    /** A scratch segment of at least {@code bytes}; its contents are overwritten by the next call. */
    public MemorySegment scratch(long bytes) {
        if (scratch.byteSize() < bytes) {
            scratch = arena.allocate(Math.max(bytes, scratch.byteSize() * 2));
        }
        return scratch;
    }

    /**
     * New {@code str} whose code points are the bytes of {@code bytes[0..length)}. The bytes go
     * through the native scratch buffer: wrapping the array instead costs two objects per call
     * (a heap segment and its session), some twenty per request, which the JIT does not elide.
     */
    public MemorySegment latin1(byte[] bytes, int length) {
        MemorySegment buf = scratch(length);
        MemorySegment.copy(bytes, 0, buf, JAVA_BYTE, 0, length);
        return interpreter.checked(api.unicodeFromLatin1(buf, length));
    }

    /**
     * New {@code str} from a Java string whose chars are all below 256 (header values as
     * Jetty parses them). A char above 255 is encoded as UTF-8 first, so no byte is lost.
     */
    public MemorySegment latin1(String s) {
        byte[] bytes = isLatin1(s) ? s.getBytes(StandardCharsets.ISO_8859_1) : s.getBytes(StandardCharsets.UTF_8);
        return latin1(bytes, bytes.length);
    }

    /** New {@code str} holding {@code s} (any Unicode). */
    public MemorySegment utf8(String s) {
        byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
        MemorySegment buf = scratch(bytes.length);
        MemorySegment.copy(bytes, 0, buf, JAVA_BYTE, 0, bytes.length);
        return interpreter.checked(api.unicodeFromUtf8(buf, bytes.length));
    }

    /**
     * The value of a Python {@code str} (borrowed).
     *
     * @throws PythonException when {@code str} is not a str, or holds lone surrogates
     */
    public String toJava(MemorySegment str) {
        MemorySegment data = interpreter.checked(api.unicodeAsUtf8(str, sizeOut));
        int n = Math.toIntExact(sizeOut.get(JAVA_LONG, 0));
        if (utf8Scratch.length < n) utf8Scratch = new byte[Math.max(n, utf8Scratch.length * 2)];
        MemorySegment.copy(data.reinterpret(n), JAVA_BYTE, 0, utf8Scratch, 0, n);
        return new String(utf8Scratch, 0, n, StandardCharsets.UTF_8);
    }

    /**
     * The storage of an exact {@code bytes} object (borrowed: valid while the object is alive
     * and the GIL held), or NULL with a TypeError set when {@code o} is not bytes.
     */
    public MemorySegment bytesView(MemorySegment o) {
        if (api.bytesAsStringAndSize(o, pointerOut, sizeOut) != 0) return MemorySegment.NULL;
        return pointerOut.get(ADDRESS, 0).reinterpret(sizeOut.get(JAVA_LONG, 0));
    }

    private static boolean isLatin1(String s) {
        for (int i = 0, n = s.length(); i < n; i++) {
            if (s.charAt(i) > 0xFF) return false;
        }
        return true;
    }

    @Override
    public void close() {
        arena.close();
    }
}
