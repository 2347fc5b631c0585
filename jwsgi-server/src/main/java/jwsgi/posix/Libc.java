package jwsgi.posix;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The few libc functions the server needs for process ownership and file descriptors, bound
 * through {@link Linker} downcalls (no JNI). Failures carry {@code errno} and its
 * {@code strerror} text.
 *
 * <p>Layouts and constants are those of glibc on 64-bit Linux (x86_64 and aarch64).
 *
 * <p>Threads: any. {@code setuid}/{@code setgid}/{@code setgroups} apply to every thread of
 * the process (glibc synchronises them across threads).
 */
public final class Libc {
    static final int O_WRONLY = 01;
    static final int O_CREAT = 0100;
    static final int O_APPEND = 02000;
    static final int O_CLOEXEC = 02000000;
    private static final int ERANGE = 34;

    static final Linker LINKER = Linker.nativeLinker();
    static final StructLayout CAPTURED = Linker.Option.captureStateLayout();
    private static final VarHandle ERRNO = CAPTURED.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    /** {@code struct passwd}: name, passwd, uid, gid, gecos, dir, shell. */
    private static final long PASSWD_BYTES = 48;
    /** {@code struct group}: name, passwd, gid, members. */
    private static final long GROUP_BYTES = 32;

    private static final MethodHandle GETUID = plain("getuid", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle GETGID = plain("getgid", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle GETEUID = plain("geteuid", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle UMASK = plain("umask", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle STRERROR = plain("strerror", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    private static final MethodHandle SETUID = withErrno("setuid", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle SETGID = withErrno("setgid", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle SETGROUPS = withErrno("setgroups", FunctionDescriptor.of(JAVA_INT, JAVA_LONG, ADDRESS));
    private static final MethodHandle INITGROUPS = withErrno("initgroups", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle DUP2 = withErrno("dup2", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle CLOSE = withErrno("close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle FCNTL_INT = LINKER.downcallHandle(symbol("fcntl"),
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT),
            Linker.Option.firstVariadicArg(2), Linker.Option.captureCallState("errno"));
    private static final int F_DUPFD_CLOEXEC = 1030;
    private static final MethodHandle OPEN = LINKER.downcallHandle(symbol("open"),
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
            Linker.Option.firstVariadicArg(2), Linker.Option.captureCallState("errno"));
    /** getpwnam_r / getgrnam_r / getpwuid_r return the error number instead of setting errno. */
    private static final MethodHandle GETPWNAM_R = plain("getpwnam_r",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS));
    private static final MethodHandle GETPWUID_R = plain("getpwuid_r",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS));
    private static final MethodHandle GETGRNAM_R = plain("getgrnam_r",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS));

    private Libc() {}

    /** A user account: {@code struct passwd}'s name, uid and primary group. */
    public record User(String name, int uid, int gid) {}

    /** A failed libc call, with errno. */
    public static final class Failure extends Exception {
        Failure(String call, int errno) {
            super(call + ": " + strerror(errno));
        }
    }

    public static int getuid() {
        try {
            return (int) GETUID.invokeExact();
        } catch (Throwable t) {
            throw fatal(t);
        }
    }

    public static int getgid() {
        try {
            return (int) GETGID.invokeExact();
        } catch (Throwable t) {
            throw fatal(t);
        }
    }

    public static int geteuid() {
        try {
            return (int) GETEUID.invokeExact();
        } catch (Throwable t) {
            throw fatal(t);
        }
    }

    /** Sets the file mode creation mask; returns the previous one. Cannot fail. */
    public static int umask(int mask) {
        try {
            return (int) UMASK.invokeExact(mask);
        } catch (Throwable t) {
            throw fatal(t);
        }
    }

    public static void setuid(int uid) throws Failure {
        check("setuid(" + uid + ")", SETUID, uid);
    }

    public static void setgid(int gid) throws Failure {
        check("setgid(" + gid + ")", SETGID, gid);
    }

    /** Sets the supplementary group list to exactly {@code gids}. */
    public static void setgroups(int... gids) throws Failure {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment list = gids.length == 0 ? MemorySegment.NULL : arena.allocateFrom(JAVA_INT, gids);
            MemorySegment state = arena.allocate(CAPTURED);
            int rc = (int) SETGROUPS.invokeExact(state, (long) gids.length, list);
            if (rc != 0) throw new Failure("setgroups", errno(state));
        } catch (Failure f) {
            throw f;
        } catch (Throwable t) {
            throw fatal(t);
        }
    }

    /** Sets the supplementary groups to those of {@code user} in the group database, plus {@code gid}. */
    public static void initgroups(String user, int gid) throws Failure {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURED);
            int rc = (int) INITGROUPS.invokeExact(state, arena.allocateFrom(user), gid);
            if (rc != 0) throw new Failure("initgroups(" + user + ")", errno(state));
        } catch (Failure f) {
            throw f;
        } catch (Throwable t) {
            throw fatal(t);
        }
    }

    /** Opens {@code path} for appending (created with mode 0644 less the umask); returns the descriptor. */
    public static int openAppend(String path) throws Failure {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURED);
            int fd = (int) OPEN.invokeExact(state, arena.allocateFrom(path), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
            if (fd < 0) throw new Failure("open(" + path + ")", errno(state));
            return fd;
        } catch (Failure f) {
            throw f;
        } catch (Throwable t) {
            throw fatal(t);
        }
    }

    /** Makes {@code target} a copy of {@code fd} (atomically replacing what it was). */
    public static void dup2(int fd, int target) throws Failure {
        check("dup2(" + fd + ", " + target + ")", DUP2, fd, target);
    }

    /** A close-on-exec copy of {@code fd} at the lowest free number from {@code lowest} up. */
    public static int dupAbove(int fd, int lowest) throws Failure {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURED);
            int copy = (int) FCNTL_INT.invokeExact(state, fd, F_DUPFD_CLOEXEC, lowest);
            if (copy < 0) throw new Failure("fcntl(" + fd + ", F_DUPFD_CLOEXEC)", errno(state));
            return copy;
        } catch (Failure f) {
            throw f;
        } catch (Throwable t) {
            throw fatal(t);
        }
    }

    public static void close(int fd) throws Failure {
        check("close(" + fd + ")", CLOSE, fd);
    }

    /** Looks a user up by name in the system's user database (files, LDAP... as nsswitch says). */
    public static Optional<User> userByName(String name) throws Failure {
        return lookupUser("getpwnam_r(" + name + ")", (arena, pwd, buf, size, result) ->
                (int) GETPWNAM_R.invokeExact(arena.allocateFrom(name), pwd, buf, size, result));
    }

    /** Looks a user up by uid. */
    public static Optional<User> userById(int uid) throws Failure {
        return lookupUser("getpwuid_r(" + uid + ")", (arena, pwd, buf, size, result) ->
                (int) GETPWUID_R.invokeExact(uid, pwd, buf, size, result));
    }

    /** Looks a group up by name; returns its gid. */
    public static Optional<Integer> groupByName(String name) throws Failure {
        for (long size = 1024; ; size *= 4) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment grp = arena.allocate(GROUP_BYTES, 8);
                MemorySegment buf = arena.allocate(size);
                MemorySegment result = arena.allocate(ADDRESS);
                int rc = (int) GETGRNAM_R.invokeExact(arena.allocateFrom(name), grp, buf, size, result);
                if (rc == ERANGE && size < (1 << 24)) continue;
                if (rc != 0) throw new Failure("getgrnam_r(" + name + ")", rc);
                if (result.get(ADDRESS, 0).address() == 0) return Optional.empty();
                return Optional.of(grp.get(JAVA_INT, 16));
            } catch (Failure f) {
                throw f;
            } catch (Throwable t) {
                throw fatal(t);
            }
        }
    }

    @FunctionalInterface
    private interface PasswdCall {
        int call(Arena arena, MemorySegment pwd, MemorySegment buf, long size, MemorySegment result) throws Throwable;
    }

    private static Optional<User> lookupUser(String what, PasswdCall call) throws Failure {
        // The buffer holds the strings of the entry; retry with a larger one on ERANGE.
        for (long size = 1024; ; size *= 4) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment pwd = arena.allocate(PASSWD_BYTES, 8);
                MemorySegment buf = arena.allocate(size);
                MemorySegment result = arena.allocate(ADDRESS);
                int rc = call.call(arena, pwd, buf, size, result);
                if (rc == ERANGE && size < (1 << 24)) continue;
                if (rc != 0) throw new Failure(what, rc);
                if (result.get(ADDRESS, 0).address() == 0) return Optional.empty();
                String name = pwd.get(ADDRESS, 0).reinterpret(Long.MAX_VALUE).getString(0);
                return Optional.of(new User(name, pwd.get(JAVA_INT, 16), pwd.get(JAVA_INT, 20)));
            } catch (Failure f) {
                throw f;
            } catch (Throwable t) {
                throw fatal(t);
            }
        }
    }

    /** The text of an error number, e.g. "Operation not permitted". */
    public static String strerror(int errno) {
        try {
            MemorySegment s = (MemorySegment) STRERROR.invokeExact(errno);
            return s.address() == 0 ? "errno " + errno : s.reinterpret(4096).getString(0);
        } catch (Throwable t) {
            throw fatal(t);
        }
    }

    static void check(String what, MethodHandle handle, int... args) throws Failure {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(CAPTURED);
            int rc = switch (args.length) {
                case 1 -> (int) handle.invokeExact(state, args[0]);
                case 2 -> (int) handle.invokeExact(state, args[0], args[1]);
                default -> throw new IllegalArgumentException("arity " + args.length);
            };
            if (rc < 0) throw new Failure(what, errno(state));
        } catch (Failure f) {
            throw f;
        } catch (Throwable t) {
            throw fatal(t);
        }
    }

    static int errno(MemorySegment state) {
        return (int) ERRNO.get(state, 0L);
    }

    static MemorySegment symbol(String name) {
        return LINKER.defaultLookup().find(name).orElseThrow(() -> new IllegalStateException("libc has no " + name));
    }

    static MethodHandle plain(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(symbol(name), descriptor);
    }

    static MethodHandle withErrno(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(symbol(name), descriptor, Linker.Option.captureCallState("errno"));
    }

    static IllegalStateException fatal(Throwable t) {
        return new IllegalStateException("libc call failed unexpectedly", t);
    }
}
