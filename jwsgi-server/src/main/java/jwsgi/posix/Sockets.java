package jwsgi.posix;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Listening sockets as plain descriptors, for the master: it binds them and hands them to its
 * worker processes, which accept on them (and may wait for a connection to queue without
 * taking it, {@link #awaitReadable}). Java's channels cannot be handed to another process
 * (their descriptor is private), so the master makes them with libc.
 *
 * <p>A socket is bound here but not put in the listening state: a worker calls
 * {@link #listen} once its app is imported, so the port refuses connections until some worker
 * can serve them. Every descriptor is close-on-exec; spawning a worker copies the one it
 * needs to the worker's standard input, where {@link System#inheritedChannel()} finds it.
 *
 * <p>Layouts and constants are those of Linux (x86_64 and aarch64).
 */
public final class Sockets {
    private static final int AF_UNIX = 1;
    private static final int AF_INET = 2;
    private static final int AF_INET6 = 10;
    private static final int SOCK_STREAM = 1;
    private static final int SOCK_CLOEXEC = 02000000;
    private static final int SOL_SOCKET = 1;
    private static final int SO_REUSEADDR = 2;
    private static final int SO_REUSEPORT = 15;
    private static final int IPPROTO_TCP = 6;
    private static final int TCP_DEFER_ACCEPT = 9;
    private static final int IPPROTO_IPV6 = 41;
    private static final int IPV6_V6ONLY = 26;
    private static final int SOCKADDR_STORAGE_BYTES = 128;
    private static final int SUN_PATH_BYTES = 108;

    private static final MethodHandle SOCKET = Libc.withErrno("socket", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle SETSOCKOPT = Libc.withErrno("setsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle BIND = Libc.withErrno("bind", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle LISTEN = Libc.withErrno("listen", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle POLL = Libc.withErrno("poll", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final short POLLIN = 0x1;
    private static final int EINTR = 4;
    private static final MethodHandle GETSOCKNAME = Libc.withErrno("getsockname", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));

    private Sockets() {}

    /**
     * A TCP socket bound to {@code address:port} (port 0: one the system chooses), with
     * SO_REUSEADDR, SO_REUSEPORT when asked, and an IPv6 wildcard also accepting IPv4 as Java's do.
     */
    public static int boundTcp(InetAddress address, int port, boolean reusePort) throws Libc.Failure {
        boolean v6 = address instanceof Inet6Address;
        int fd = socket(v6 ? AF_INET6 : AF_INET);
        try (Arena arena = Arena.ofConfined()) {
            setInt(arena, fd, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR");
            if (reusePort) setInt(arena, fd, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT");
            if (v6) setInt(arena, fd, IPPROTO_IPV6, IPV6_V6ONLY, 0, "IPV6_V6ONLY");
            setInt(arena, fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, 1, "TCP_DEFER_ACCEPT");
            MemorySegment sa = arena.allocate(SOCKADDR_STORAGE_BYTES, 8);
            int length;
            if (v6) {
                sa.set(JAVA_SHORT, 0, (short) AF_INET6);
                putPort(sa, port);
                MemorySegment.copy(address.getAddress(), 0, sa, JAVA_BYTE, 8, 16);
                sa.set(JAVA_INT, 24, ((Inet6Address) address).getScopeId());
                length = 28;
            } else {
                sa.set(JAVA_SHORT, 0, (short) AF_INET);
                putPort(sa, port);
                MemorySegment.copy(((Inet4Address) address).getAddress(), 0, sa, JAVA_BYTE, 4, 4);
                length = 16;
            }
            bind(arena, fd, sa, length, address.getHostAddress() + ":" + port);
            return fd;
        } catch (Libc.Failure | RuntimeException e) {
            closeQuietly(fd);
            throw e;
        }
    }

    /** A Unix stream socket bound to {@code path}, which must not exist. */
    public static int boundUnix(Path path) throws Libc.Failure {
        byte[] name = path.toString().getBytes(StandardCharsets.UTF_8);
        if (name.length >= SUN_PATH_BYTES) throw new IllegalArgumentException("Unix socket path too long: " + path);
        int fd = socket(AF_UNIX);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sa = arena.allocate(2 + SUN_PATH_BYTES, 8);
            sa.set(JAVA_SHORT, 0, (short) AF_UNIX);
            MemorySegment.copy(name, 0, sa, JAVA_BYTE, 2, name.length);
            bind(arena, fd, sa, 2 + name.length + 1, "unix:" + path);
            return fd;
        } catch (Libc.Failure | RuntimeException e) {
            closeQuietly(fd);
            throw e;
        }
    }

    /** The port a bound TCP socket got. */
    public static int localPort(int fd) throws Libc.Failure {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment sa = arena.allocate(SOCKADDR_STORAGE_BYTES, 8);
            MemorySegment length = arena.allocateFrom(JAVA_INT, SOCKADDR_STORAGE_BYTES);
            MemorySegment state = arena.allocate(Libc.CAPTURED);
            int rc = (int) GETSOCKNAME.invokeExact(state, fd, sa, length);
            if (rc != 0) throw new Libc.Failure("getsockname", Libc.errno(state));
            return ((sa.get(JAVA_BYTE, 2) & 0xff) << 8) | (sa.get(JAVA_BYTE, 3) & 0xff);
        } catch (Libc.Failure f) {
            throw f;
        } catch (Throwable t) {
            throw Libc.fatal(t);
        }
    }

    /** Puts a bound socket in the listening state (again: a later call only changes the backlog). */
    public static void listen(int fd, int backlog) throws Libc.Failure {
        Libc.check("listen(" + fd + ")", LISTEN, fd, backlog);
    }

    /**
     * Waits up to {@code millis} (0: not at all) until {@code fd} is readable: for a listening
     * socket, until a connection waits to be accepted. It does not take the connection, so
     * another process accepting from the same socket may get it first. A signal ends the wait
     * early, as a timeout.
     */
    public static boolean awaitReadable(int fd, int millis) throws Libc.Failure {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pollfd = arena.allocate(8, 4);
            pollfd.set(JAVA_INT, 0, fd);
            pollfd.set(JAVA_SHORT, 4, POLLIN);
            MemorySegment state = arena.allocate(Libc.CAPTURED);
            int rc = (int) POLL.invokeExact(state, pollfd, 1L, millis);
            if (rc < 0) {
                int errno = Libc.errno(state);
                if (errno == EINTR) return false;
                throw new Libc.Failure("poll(" + fd + ")", errno);
            }
            return rc > 0 && (pollfd.get(JAVA_SHORT, 6) & POLLIN) != 0;
        } catch (Libc.Failure f) {
            throw f;
        } catch (Throwable t) {
            throw Libc.fatal(t);
        }
    }

    private static int socket(int family) throws Libc.Failure {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(Libc.CAPTURED);
            int fd = (int) SOCKET.invokeExact(state, family, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd < 0) throw new Libc.Failure("socket", Libc.errno(state));
            return fd;
        } catch (Libc.Failure f) {
            throw f;
        } catch (Throwable t) {
            throw Libc.fatal(t);
        }
    }

    private static void setInt(Arena arena, int fd, int level, int option, int value, String name) throws Libc.Failure {
        try {
            MemorySegment state = arena.allocate(Libc.CAPTURED);
            int rc = (int) SETSOCKOPT.invokeExact(state, fd, level, option, arena.allocateFrom(JAVA_INT, value), (int) JAVA_INT.byteSize());
            if (rc != 0) throw new Libc.Failure("setsockopt(" + name + ")", Libc.errno(state));
        } catch (Libc.Failure f) {
            throw f;
        } catch (Throwable t) {
            throw Libc.fatal(t);
        }
    }

    private static void bind(Arena arena, int fd, MemorySegment sa, int length, String what) throws Libc.Failure {
        try {
            MemorySegment state = arena.allocate(Libc.CAPTURED);
            int rc = (int) BIND.invokeExact(state, fd, sa, length);
            if (rc != 0) throw new Libc.Failure("bind(" + what + ")", Libc.errno(state));
        } catch (Libc.Failure f) {
            throw f;
        } catch (Throwable t) {
            throw Libc.fatal(t);
        }
    }

    /** sin_port and sin6_port are in network byte order. */
    private static void putPort(MemorySegment sa, int port) {
        sa.set(JAVA_BYTE, 2, (byte) (port >> 8));
        sa.set(JAVA_BYTE, 3, (byte) port);
    }

    /** Closes a descriptor whose failure to close cannot matter (it was never shared). */
    public static void closeQuietly(int fd) {
        try {
            Libc.close(fd);
        } catch (Libc.Failure ignored) {
            // nothing to undo
        }
    }
}
