package jwsgi.posix;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Memory shared between the master and its worker processes: an anonymous file
 * ({@code memfd_create}) mapped {@code MAP_SHARED}, whose descriptor a worker inherits and maps
 * in turn. The mapping lives as long as the process, so there is nothing to close but the
 * descriptor, which the master keeps for the workers it starts later.
 *
 * <p>Threads: any. Values in it are read and written with atomic {@link java.lang.invoke.VarHandle}
 * access modes, which are atomic across processes too (they are CPU instructions on the memory).
 *
 * @param fd      the descriptor (close-on-exec; spawning hands it over explicitly)
 * @param segment the mapped bytes
 */
public record SharedMemory(int fd, MemorySegment segment) {
    private static final int MFD_CLOEXEC = 1;
    private static final int PROT_READ_WRITE = 0x1 | 0x2;
    private static final int MAP_SHARED = 0x01;
    private static final long MAP_FAILED = -1L;

    private static final MethodHandle MEMFD_CREATE = Libc.withErrno("memfd_create", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle FTRUNCATE = Libc.withErrno("ftruncate", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle MMAP = Libc.withErrno("mmap",
            FunctionDescriptor.of(ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_LONG));

    /** A new zero-filled region of {@code bytes}; {@code name} is what /proc/PID/fd shows. */
    public static SharedMemory create(String name, long bytes) throws Libc.Failure {
        int fd;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(Libc.CAPTURED);
            fd = (int) MEMFD_CREATE.invokeExact(state, arena.allocateFrom(name), MFD_CLOEXEC);
            if (fd < 0) throw new Libc.Failure("memfd_create(" + name + ")", Libc.errno(state));
            int rc = (int) FTRUNCATE.invokeExact(state, fd, bytes);
            if (rc != 0) {
                Libc.Failure failure = new Libc.Failure("ftruncate(" + name + ", " + bytes + ")", Libc.errno(state));
                Sockets.closeQuietly(fd);
                throw failure;
            }
        } catch (Libc.Failure f) {
            throw f;
        } catch (Throwable t) {
            throw Libc.fatal(t);
        }
        try {
            return map(fd, bytes);
        } catch (Libc.Failure | RuntimeException e) {
            Sockets.closeQuietly(fd);
            throw e;
        }
    }

    /** Maps {@code bytes} of a region whose descriptor this process inherited. */
    public static SharedMemory map(int fd, long bytes) throws Libc.Failure {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(Libc.CAPTURED);
            MemorySegment at = (MemorySegment) MMAP.invokeExact(state, MemorySegment.NULL, bytes, PROT_READ_WRITE, MAP_SHARED, fd, 0L);
            if (at.address() == MAP_FAILED) throw new Libc.Failure("mmap(" + fd + ")", Libc.errno(state));
            return new SharedMemory(fd, at.reinterpret(bytes));
        } catch (Libc.Failure f) {
            throw f;
        } catch (Throwable t) {
            throw Libc.fatal(t);
        }
    }
}
