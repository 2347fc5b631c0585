package jwsgi.posix;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

/**
 * Child processes with chosen descriptors, which {@link ProcessBuilder} cannot give: a worker
 * gets the master's listening socket as its standard input and a pipe to the master as
 * descriptor 3. Spawned with {@code posix_spawn} (no fork of the JVM), waited for with
 * {@code waitpid}, signalled with {@code kill}.
 *
 * <p>Threads: any; {@link #waitFor} and {@link #read} block the calling (platform) thread.
 */
public final class Processes {
    private static final int POSIX_SPAWN_SETSIGDEF = 0x04;
    private static final int POSIX_SPAWN_SETSIGMASK = 0x08;
    /**
     * A child starts with the default action for these, whatever the master ignores (nohup,
     * background jobs): every signal a worker handles or the master sends, and PIPE and CHLD.
     */
    private static final Signal[] DEFAULT_SIGNALS = {Signal.HUP, Signal.INT, Signal.QUIT, Signal.USR1, Signal.USR2, Signal.PIPE,
        Signal.TERM, Signal.CHLD, Signal.TTIN, Signal.TTOU, Signal.WINCH};
    private static final int EINTR = 4;
    private static final int ECHILD = 10;
    /** glibc's posix_spawn_file_actions_t is 80 bytes and posix_spawnattr_t 336: generous room for both. */
    private static final long SPAWN_STRUCT_BYTES = 1024;
    private static final long SIGSET_BYTES = 128;

    private static final MethodHandle FA_INIT = Libc.plain("posix_spawn_file_actions_init", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle FA_DESTROY = Libc.plain("posix_spawn_file_actions_destroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle FA_DUP2 = Libc.plain("posix_spawn_file_actions_adddup2",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT));
    private static final MethodHandle FA_CLOSE = Libc.plain("posix_spawn_file_actions_addclose",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    /** glibc 2.34+: closes every descriptor from a number up; older libcs close the open ones one by one. */
    private static final Optional<MethodHandle> FA_CLOSEFROM = Libc.LINKER.defaultLookup().find("posix_spawn_file_actions_addclosefrom_np")
            .map(s -> Libc.LINKER.downcallHandle(s, FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT)));
    private static final MethodHandle ATTR_INIT = Libc.plain("posix_spawnattr_init", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle ATTR_DESTROY = Libc.plain("posix_spawnattr_destroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle ATTR_FLAGS = Libc.plain("posix_spawnattr_setflags", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_SHORT));
    private static final MethodHandle ATTR_SIGMASK = Libc.plain("posix_spawnattr_setsigmask", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle ATTR_SIGDEFAULT = Libc.plain("posix_spawnattr_setsigdefault", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle SIGEMPTYSET = Libc.plain("sigemptyset", FunctionDescriptor.of(JAVA_INT, ADDRESS));
    private static final MethodHandle SIGADDSET = Libc.plain("sigaddset", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    /** posix_spawn returns the error number rather than setting errno. */
    private static final MethodHandle SPAWN = Libc.plain("posix_spawn",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS));
    private static final MethodHandle WAITPID = Libc.withErrno("waitpid", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle KILL = Libc.withErrno("kill", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle GETPPID = Libc.plain("getppid", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle PIPE2 = Libc.withErrno("pipe2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle READ = Libc.withErrno("read", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle WRITE = Libc.withErrno("write", FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));

    private Processes() {}

    /** How a child ended, decoded from its wait status: an exit code, or the number of the signal that ended it. */
    public record Exit(int code, int signal, boolean coreDumped) {
        public boolean signaled() {
            return signal != 0;
        }

    }

    /**
     * Starts {@code argv[0]} (an absolute path) with {@code env}, giving it copies of the
     * master's descriptors at the numbers {@code descriptors} maps them to (child number to
     * master descriptor). The child has standard output and error in common with this process,
     * no other descriptor, no blocked signal, and default actions for the signals servers use.
     *
     * @return the child's pid
     */
    public static int spawn(List<String> argv, Map<String, String> env, Map<Integer, Integer> descriptors) throws Libc.Failure {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment actions = arena.allocate(SPAWN_STRUCT_BYTES, 16);
            MemorySegment attr = arena.allocate(SPAWN_STRUCT_BYTES, 16);
            check("posix_spawn_file_actions_init", (int) FA_INIT.invokeExact(actions));
            try {
                check("posix_spawnattr_init", (int) ATTR_INIT.invokeExact(attr));
                try {
                    // Each source goes first to a number above every source and target, then to its
                    // target: done directly, one dup2 could overwrite the source of another (the
                    // listener at 3, say, before it reaches 0). The temporaries are closed below.
                    int highest = 2;
                    for (Map.Entry<Integer, Integer> d : descriptors.entrySet()) highest = Math.max(highest, Math.max(d.getKey(), d.getValue()));
                    int temporary = highest + 1;
                    for (Map.Entry<Integer, Integer> d : descriptors.entrySet()) {
                        check("posix_spawn_file_actions_adddup2", (int) FA_DUP2.invokeExact(actions, (int) d.getValue(), temporary++));
                    }
                    temporary = highest + 1;
                    int highestTarget = 2;
                    for (Map.Entry<Integer, Integer> d : descriptors.entrySet()) {
                        check("posix_spawn_file_actions_adddup2", (int) FA_DUP2.invokeExact(actions, temporary, (int) d.getKey()));
                        check("posix_spawn_file_actions_addclose", (int) FA_CLOSE.invokeExact(actions, temporary++));
                        highestTarget = Math.max(highestTarget, d.getKey());
                    }
                    closeFrom(actions, highestTarget + 1);
                    MemorySegment none = arena.allocate(SIGSET_BYTES, 8);
                    check("sigemptyset", (int) SIGEMPTYSET.invokeExact(none));
                    MemorySegment defaults = arena.allocate(SIGSET_BYTES, 8);
                    check("sigemptyset", (int) SIGEMPTYSET.invokeExact(defaults));
                    for (Signal sig : DEFAULT_SIGNALS) check("sigaddset", (int) SIGADDSET.invokeExact(defaults, sig.number));
                    check("posix_spawnattr_setsigmask", (int) ATTR_SIGMASK.invokeExact(attr, none));
                    check("posix_spawnattr_setsigdefault", (int) ATTR_SIGDEFAULT.invokeExact(attr, defaults));
                    check("posix_spawnattr_setflags", (int) ATTR_FLAGS.invokeExact(attr, (short) (POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF)));
                    MemorySegment pid = arena.allocate(JAVA_INT);
                    int rc = (int) SPAWN.invokeExact(pid, arena.allocateFrom(argv.get(0)), actions, attr,
                            strings(arena, argv), strings(arena, env.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue()).toList()));
                    if (rc != 0) throw new Libc.Failure("posix_spawn(" + argv.get(0) + ")", rc);
                    return pid.get(JAVA_INT, 0);
                } finally {
                    int ignored = (int) ATTR_DESTROY.invokeExact(attr);
                }
            } finally {
                int ignored = (int) FA_DESTROY.invokeExact(actions);
            }
        } catch (Libc.Failure f) {
            throw f;
        } catch (Throwable t) {
            throw Libc.fatal(t);
        }
    }

    /** Closes, in the child, every descriptor from {@code first} up that it was not given. */
    private static void closeFrom(MemorySegment actions, int first) throws Throwable {
        if (FA_CLOSEFROM.isPresent()) {
            check("posix_spawn_file_actions_addclosefrom_np", (int) FA_CLOSEFROM.get().invokeExact(actions, first));
            return;
        }
        List<Integer> open = new ArrayList<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            fds.forEach(p -> open.add(Integer.parseInt(p.getFileName().toString())));
        } catch (IOException | NumberFormatException e) {
            return;  // no /proc: the child keeps the master's other descriptors, which are close-on-exec where it matters
        }
        for (int fd : open) {
            if (fd >= first) check("posix_spawn_file_actions_addclose", (int) FA_CLOSE.invokeExact(actions, fd));
        }
    }

    private static MemorySegment strings(Arena arena, List<String> values) {
        MemorySegment array = arena.allocate(ADDRESS, values.size() + 1);
        for (int i = 0; i < values.size(); i++) array.setAtIndex(ADDRESS, i, arena.allocateFrom(values.get(i)));
        array.setAtIndex(ADDRESS, values.size(), MemorySegment.NULL);
        return array;
    }

    private static void check(String call, int rc) throws Libc.Failure {
        if (rc != 0) throw new Libc.Failure(call, rc);
    }

    /**
     * Waits for the child {@code pid} to end and reaps it. Blocks the calling (platform) thread.
     *
     * @return how it ended, or empty when it is not (or no longer) a child of this process
     */
    public static Optional<Exit> waitFor(int pid) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment status = arena.allocate(JAVA_INT);
            MemorySegment state = arena.allocate(Libc.CAPTURED);
            while (true) {
                int rc = (int) WAITPID.invokeExact(state, pid, status, 0);
                if (rc == pid) return Optional.of(decode(status.get(JAVA_INT, 0)));
                int errno = Libc.errno(state);
                if (rc < 0 && errno == EINTR) continue;
                if (rc < 0 && errno == ECHILD) return Optional.empty();
                throw new IllegalStateException("waitpid(" + pid + "): " + Libc.strerror(errno));
            }
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw Libc.fatal(t);
        }
    }

    /** Decodes a wait status (WIFEXITED, WEXITSTATUS, WTERMSIG, WCOREDUMP). */
    static Exit decode(int status) {
        int low = status & 0x7f;
        if (low == 0) return new Exit((status >> 8) & 0xff, 0, false);
        return new Exit(0, low, (status & 0x80) != 0);
    }

    /** Sends {@code signal} to {@code pid}; false when there is no such process any more. */
    public static boolean kill(int pid, Signal signal) {
        try {
            Libc.check("kill(" + pid + ", " + signal + ")", KILL, pid, signal.number);
            return true;
        } catch (Libc.Failure f) {
            return false;
        }
    }

    /** The parent's pid: 1 (or a subreaper's) once the parent has died. */
    public static int getppid() {
        try {
            return (int) GETPPID.invokeExact();
        } catch (Throwable t) {
            throw Libc.fatal(t);
        }
    }

    /** A close-on-exec pipe: {read end, write end}. */
    public static int[] pipe() throws Libc.Failure {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment fds = arena.allocate(JAVA_INT, 2);
            MemorySegment state = arena.allocate(Libc.CAPTURED);
            int rc = (int) PIPE2.invokeExact(state, fds, Libc.O_CLOEXEC);
            if (rc != 0) throw new Libc.Failure("pipe2", Libc.errno(state));
            return new int[] {fds.getAtIndex(JAVA_INT, 0), fds.getAtIndex(JAVA_INT, 1)};
        } catch (Libc.Failure f) {
            throw f;
        } catch (Throwable t) {
            throw Libc.fatal(t);
        }
    }

    /**
     * Reads up to {@code into.length} bytes from {@code fd}, blocking the calling (platform)
     * thread; returns the count, 0 at end of file.
     */
    public static int read(int fd, byte[] into) throws Libc.Failure {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocate(into.length);
            MemorySegment state = arena.allocate(Libc.CAPTURED);
            while (true) {
                long n = (long) READ.invokeExact(state, fd, buffer, (long) into.length);
                if (n >= 0) {
                    MemorySegment.copy(buffer, JAVA_BYTE, 0, into, 0, (int) n);
                    return (int) n;
                }
                if (Libc.errno(state) != EINTR) throw new Libc.Failure("read(" + fd + ")", Libc.errno(state));
            }
        } catch (Libc.Failure f) {
            throw f;
        } catch (Throwable t) {
            throw Libc.fatal(t);
        }
    }

    /** Writes all of {@code data} to {@code fd} (a pipe write of up to 4096 bytes is atomic). */
    public static void write(int fd, byte[] data) throws Libc.Failure {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment buffer = arena.allocateFrom(JAVA_BYTE, data);
            MemorySegment state = arena.allocate(Libc.CAPTURED);
            long done = 0;
            while (done < data.length) {
                long n = (long) WRITE.invokeExact(state, fd, buffer.asSlice(done), (long) data.length - done);
                if (n < 0) {
                    if (Libc.errno(state) == EINTR) continue;
                    throw new Libc.Failure("write(" + fd + ")", Libc.errno(state));
                }
                done += n;
            }
        } catch (Libc.Failure f) {
            throw f;
        } catch (Throwable t) {
            throw Libc.fatal(t);
        }
    }
}
