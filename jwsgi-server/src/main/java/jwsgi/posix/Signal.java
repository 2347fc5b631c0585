package jwsgi.posix;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * The process signals jwsgi sends, handles or explains, with Linux's numbers (x86_64 and
 * aarch64). The constant's name is the one {@code kill -NAME} and the JVM's
 * {@code sun.misc.Signal} take ("TERM").
 *
 * <p>Threads: any.
 */
public enum Signal {
    HUP(1), INT(2), QUIT(3), ILL(4), ABRT(6), BUS(7), FPE(8), KILL(9), USR1(10), SEGV(11), USR2(12), PIPE(13),
    TERM(15), CHLD(17), TTIN(21), TTOU(22), WINCH(28);

    /** {@code sizeof(struct sigaction)} with glibc on LP64 Linux; its handler comes first. */
    private static final long SIGACTION_BYTES = 152;
    private static final long SIG_IGN = 1;
    private static final MethodHandle SIGACTION = Libc.withErrno("sigaction", FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));

    public final int number;

    Signal(int number) {
        this.number = number;
    }

    /** The signal with this number, if jwsgi knows it. */
    public static Optional<Signal> of(int number) {
        for (Signal s : values()) {
            if (s.number == number) return Optional.of(s);
        }
        return Optional.empty();
    }

    /** A signal's name for the log ("SIGSEGV"), or "signal N" for one jwsgi has no name for. */
    public static String describe(int number) {
        return of(number).map(Signal::toString).orElse("signal " + number);
    }

    /**
     * Gives back the default action to this signal if the process inherited it ignored: a
     * background job of a non-interactive shell starts with INT and QUIT ignored, {@code nohup}
     * with HUP, and the JVM installs no handler for an ignored INT, TERM or HUP (it keeps the
     * parent's choice). Call it just before handling the signal.
     *
     * @return whether it was ignored
     */
    public boolean unignore() throws Libc.Failure {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment state = arena.allocate(Libc.CAPTURED);
            MemorySegment old = arena.allocate(SIGACTION_BYTES, 8);
            if ((int) SIGACTION.invokeExact(state, number, MemorySegment.NULL, old) != 0) {
                throw new Libc.Failure("sigaction(" + this + ")", Libc.errno(state));
            }
            if (old.get(JAVA_LONG, 0) != SIG_IGN) return false;
            // All zero: SIG_DFL, no flags, an empty mask.
            MemorySegment dfl = arena.allocate(SIGACTION_BYTES, 8);
            if ((int) SIGACTION.invokeExact(state, number, dfl, MemorySegment.NULL) != 0) {
                throw new Libc.Failure("sigaction(" + this + ", SIG_DFL)", Libc.errno(state));
            }
            return true;
        } catch (Libc.Failure f) {
            throw f;
        } catch (Throwable t) {
            throw Libc.fatal(t);
        }
    }

    /** "SIGTERM". */
    @Override
    public String toString() {
        return "SIG" + name();
    }
}
