package jwsgi.posix;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * A listening socket this process was started with (systemd's socket activation passes them
 * from descriptor 3 on): what it listens on, read back with {@code getsockname}.
 *
 * @param fd   a close-on-exec copy of the inherited descriptor (the original is closed)
 * @param host the address of a TCP socket, as text; null for a Unix socket
 * @param port the port of a TCP socket; 0 for a Unix socket
 * @param unix the path of a Unix socket; null for TCP
 */
public record InheritedSocket(int fd, String host, int port, Path unix) {
    private static final int SOL_SOCKET = 1;
    private static final int SO_TYPE = 3;
    private static final int SO_ACCEPTCONN = 30;
    private static final int SOCK_STREAM = 1;
    private static final int AF_UNIX = 1;
    private static final int AF_INET = 2;
    private static final int AF_INET6 = 10;
    private static final int IPPROTO_TCP = 6;
    private static final int TCP_DEFER_ACCEPT = 9;
    private static final int SOCKADDR_STORAGE_BYTES = 128;
    /** Where jwsgi moves what it inherits, out of the way of the descriptors it hands its workers. */
    private static final int MOVED_ABOVE = 10;

    private static final MethodHandle GETSOCKOPT = Libc.withErrno("getsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle SETSOCKOPT = Libc.withErrno("setsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle GETSOCKNAME = Libc.withErrno("getsockname", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));

    public boolean isUnix() {
        return unix != null;
    }

    /**
     * Takes descriptor {@code fd}, which must be a listening stream socket (TCP or Unix with a
     * path): moves it to a close-on-exec copy, so no worker inherits it by accident, and defers
     * accepting a TCP connection until its first bytes arrive, as jwsgi's own listeners do.
     *
     * @throws Libc.Failure                when it is not an open socket
     * @throws IllegalArgumentException when it is a socket jwsgi cannot serve on (not a stream, not
     *                                  listening, not TCP or Unix with a path); the message says which
     */
    public static InheritedSocket take(int fd) throws Libc.Failure {
        try (Arena arena = Arena.ofConfined()) {
            if (option(arena, fd, SO_TYPE) != SOCK_STREAM) {
                throw new IllegalArgumentException("descriptor " + fd + " is not a stream socket (ListenStream= in the .socket unit)");
            }
            if (option(arena, fd, SO_ACCEPTCONN) != 1) throw new IllegalArgumentException("descriptor " + fd + " is not listening");
            MemorySegment sa = arena.allocate(SOCKADDR_STORAGE_BYTES, 8);
            MemorySegment length = arena.allocateFrom(JAVA_INT, SOCKADDR_STORAGE_BYTES);
            MemorySegment state = arena.allocate(Libc.CAPTURED);
            if ((int) GETSOCKNAME.invokeExact(state, fd, sa, length) != 0) throw new Libc.Failure("getsockname(" + fd + ")", Libc.errno(state));
            int family = sa.get(JAVA_SHORT, 0);
            int port = ((sa.get(JAVA_BYTE, 2) & 0xff) << 8) | (sa.get(JAVA_BYTE, 3) & 0xff);
            String host = null;
            Path unix = null;
            switch (family) {
                case AF_INET -> host = address(sa.asSlice(4, 4).toArray(JAVA_BYTE));
                case AF_INET6 -> host = address(sa.asSlice(8, 16).toArray(JAVA_BYTE));
                case AF_UNIX -> unix = unixPath(fd, sa, length.get(JAVA_INT, 0));
                default -> throw new IllegalArgumentException("descriptor " + fd + " is a socket of family " + family + ", not TCP or Unix");
            }
            if (host != null) setDeferAccept(arena, fd);
            int moved = Libc.dupAbove(fd, MOVED_ABOVE);
            Sockets.closeQuietly(fd);
            return new InheritedSocket(moved, host, host == null ? 0 : port, unix);
        } catch (Libc.Failure | IllegalArgumentException f) {
            throw f;
        } catch (Throwable t) {
            throw Libc.fatal(t);
        }
    }

    private static int option(Arena arena, int fd, int option) throws Throwable {
        MemorySegment value = arena.allocate(JAVA_INT);
        MemorySegment length = arena.allocateFrom(JAVA_INT, (int) JAVA_INT.byteSize());
        MemorySegment state = arena.allocate(Libc.CAPTURED);
        if ((int) GETSOCKOPT.invokeExact(state, fd, SOL_SOCKET, option, value, length) != 0) {
            throw new Libc.Failure("getsockopt(" + fd + ") (is descriptor " + fd + " an open socket?)", Libc.errno(state));
        }
        return value.get(JAVA_INT, 0);
    }

    private static void setDeferAccept(Arena arena, int fd) throws Throwable {
        MemorySegment state = arena.allocate(Libc.CAPTURED);
        if ((int) SETSOCKOPT.invokeExact(state, fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, arena.allocateFrom(JAVA_INT, 1),
                (int) JAVA_INT.byteSize()) != 0) {
            throw new Libc.Failure("setsockopt(" + fd + ", TCP_DEFER_ACCEPT)", Libc.errno(state));
        }
    }

    private static String address(byte[] raw) {
        try {
            return InetAddress.getByAddress(raw).getHostAddress();
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);  // 4 or 16 bytes: never
        }
    }

    private static Path unixPath(int fd, MemorySegment sa, int length) {
        int bytes = length - 2;
        if (bytes <= 0 || sa.get(JAVA_BYTE, 2) == 0) {
            throw new IllegalArgumentException("descriptor " + fd + " is a Unix socket without a path (abstract or unnamed);"
                    + " give ListenStream= a file path");
        }
        byte[] path = sa.asSlice(2, bytes).toArray(JAVA_BYTE);
        int end = 0;
        while (end < path.length && path[end] != 0) end++;
        return Path.of(new String(path, 0, end, StandardCharsets.UTF_8));
    }
}
