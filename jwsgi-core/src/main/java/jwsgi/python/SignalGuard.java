package jwsgi.python;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * Keeps the process's signal dispositions the JVM's while Python code runs.
 *
 * <p>An app that calls {@code signal.signal(SIGTERM, ...)} at import, or
 * {@code faulthandler.enable()}, replaces the JVM's handlers: SIGTERM then never reaches the
 * server (Python's C handler only sets a flag that nobody checks), and SIGSEGV, which the JVM
 * uses for its own null checks, becomes a fatal error. The guard saves every disposition
 * before Python starts ({@link #save}) and puts back any that changed ({@link #restore}),
 * naming each one so the operator can see what the app tried to do.
 *
 * <p>Threads: any; uses libc {@code sigaction} directly.
 */
public final class SignalGuard {
    /** Linux numbering (x86_64 and aarch64). */
    private static final String[] NAMES = {
        null, "SIGHUP", "SIGINT", "SIGQUIT", "SIGILL", "SIGTRAP", "SIGABRT", "SIGBUS", "SIGFPE", "SIGKILL",
        "SIGUSR1", "SIGSEGV", "SIGUSR2", "SIGPIPE", "SIGALRM", "SIGTERM", "SIGSTKFLT", "SIGCHLD", "SIGCONT",
        "SIGSTOP", "SIGTSTP", "SIGTTIN", "SIGTTOU", "SIGURG", "SIGXCPU", "SIGXFSZ", "SIGVTALRM", "SIGPROF",
        "SIGWINCH",
    };
    private static final int[] GUARDED = {1, 2, 3, 4, 6, 7, 8, 10, 11, 12, 13, 15, 17, 21, 22, 25, 28};
    /** {@code sizeof(struct sigaction)} with glibc on LP64 Linux. */
    private static final long SIGACTION_BYTES = 152;
    /** Offset of {@code sa_flags}, after the handler and the 128-byte mask. */
    private static final long FLAGS_OFFSET = 136;

    private final MethodHandle sigaction;
    private final MemorySegment saved;

    private SignalGuard(MethodHandle sigaction, MemorySegment saved) {
        this.sigaction = sigaction;
        this.saved = saved;
    }

    /** A signal's name ("SIGSEGV"), or "signal N" for one without a name here. */
    public static String name(int signal) {
        return signal > 0 && signal < NAMES.length ? NAMES[signal] : "signal " + signal;
    }

    /** Records the current disposition of every guarded signal. */
    public static SignalGuard save() {
        Linker linker = Linker.nativeLinker();
        MethodHandle sigaction = linker.downcallHandle(linker.defaultLookup().find("sigaction").orElseThrow(),
                FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
        MemorySegment saved = Arena.global().allocate(SIGACTION_BYTES * GUARDED.length, 8);
        SignalGuard guard = new SignalGuard(sigaction, saved);
        for (int i = 0; i < GUARDED.length; i++) {
            guard.call(GUARDED[i], MemorySegment.NULL, guard.slot(i));
        }
        return guard;
    }

    /**
     * Puts back every disposition that differs from the saved one.
     *
     * @return the names of the signals that had been changed (empty when none)
     */
    public List<String> restore() {
        List<String> changed = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment now = arena.allocate(SIGACTION_BYTES, 8);
            for (int i = 0; i < GUARDED.length; i++) {
                call(GUARDED[i], MemorySegment.NULL, now);
                MemorySegment before = slot(i);
                boolean same = now.get(JAVA_LONG, 0) == before.get(JAVA_LONG, 0)
                        && now.get(JAVA_INT, FLAGS_OFFSET) == before.get(JAVA_INT, FLAGS_OFFSET);
                if (!same) {
                    call(GUARDED[i], before, MemorySegment.NULL);
                    changed.add(NAMES[GUARDED[i]]);
                }
            }
        }
        return changed;
    }

    private MemorySegment slot(int i) {
        return saved.asSlice(SIGACTION_BYTES * i, SIGACTION_BYTES);
    }

    private void call(int signal, MemorySegment act, MemorySegment old) {
        try {
            int rc = (int) sigaction.invokeExact(signal, act, old);
            if (rc != 0) throw new IllegalStateException("sigaction(" + NAMES[signal] + ") failed");
        } catch (RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
