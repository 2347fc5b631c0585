package jwsgi.posix;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * One datagram to a Unix socket, as systemd's {@code sd_notify} sends its state lines to
 * {@code $NOTIFY_SOCKET}. The JDK's channels speak Unix sockets only as streams, and no Java
 * API reaches an abstract address (systemd's {@code @name}, a name with no file), so the socket
 * is made with libc.
 *
 * <p>Threads: any; each call opens and closes its own socket.
 */
public final class UnixDatagram {
    private static final int AF_UNIX = 1;
    private static final int SOCK_DGRAM = 2;
    private static final int SOCK_CLOEXEC = 02000000;
    private static final int MSG_NOSIGNAL = 0x4000;
    private static final int SUN_PATH_BYTES = 108;

    private static final MethodHandle SOCKET = Libc.withErrno("socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle SENDTO = Libc.withErrno("sendto",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));

    private UnixDatagram() {}

    /**
     * Sends {@code message} to the socket at {@code address}: a path, or {@code @name} for an
     * abstract address.
     *
     * @throws IllegalArgumentException when the address is empty or too long for a Unix socket
     */
    public static void send(String address, byte[] message) throws Libc.Failure {
        byte[] name = address.getBytes(StandardCharsets.UTF_8);
        boolean abstractName = name.length > 0 && name[0] == '@';
        if (name.length == 0 || name.length >= SUN_PATH_BYTES) {
            throw new IllegalArgumentException("not a Unix socket address: '" + address + "' (a path or @name, under "
                    + SUN_PATH_BYTES + " bytes)");
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(Libc.CAPTURED);
            int fd = (int) SOCKET.invokeExact(state, AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
            if (fd < 0) throw new Libc.Failure("socket(AF_UNIX, SOCK_DGRAM)", Libc.errno(state));
            try {
                MemorySegment sa = arena.allocate(2 + SUN_PATH_BYTES, 8);
                sa.set(JAVA_SHORT, 0, (short) AF_UNIX);
                MemorySegment.copy(name, 0, sa, JAVA_BYTE, 2, name.length);
                // An abstract name starts with a NUL byte and has no terminating one; a path has.
                if (abstractName) sa.set(JAVA_BYTE, 2, (byte) 0);
                int length = 2 + name.length + (abstractName ? 0 : 1);
                MemorySegment bytes = arena.allocateFrom(JAVA_BYTE, message);
                long sent = (long) SENDTO.invokeExact(state, fd, bytes, (long) message.length, MSG_NOSIGNAL, sa, length);
                if (sent < 0) throw new Libc.Failure("sendto(" + address + ")", Libc.errno(state));
            } finally {
                Sockets.closeQuietly(fd);
            }
        } catch (Libc.Failure f) {
            throw f;
        } catch (Throwable t) {
            throw Libc.fatal(t);
        }
    }
}
