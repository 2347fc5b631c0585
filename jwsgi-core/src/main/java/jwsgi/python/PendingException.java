package jwsgi.python;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Takes the pending Python exception out of the calling thread, for
 * {@link Interpreter#fetchError}: normalised, with its traceback attached, so
 * {@code traceback.format_exception} shows the whole chain. Never {@code PyErr_Print}, which
 * exits the process on SystemExit.
 *
 * <p>Threads: any thread holding the GIL.
 */
final class PendingException extends PyBinding {
    private final CPython api;
    private final MemorySegment excSystemExit = exceptionType("PyExc_SystemExit");
    private final MemorySegment excKeyboardInterrupt = exceptionType("PyExc_KeyboardInterrupt");
    private final MethodHandle pyErrFetch = fn("PyErr_Fetch", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS));
    private final MethodHandle pyErrNormalizeException = fn("PyErr_NormalizeException", FunctionDescriptor.ofVoid(ADDRESS, ADDRESS, ADDRESS));
    private final MethodHandle pyErrGivenExceptionMatches =
            fn("PyErr_GivenExceptionMatches", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
    private final MethodHandle pyExceptionSetTraceback = fn("PyException_SetTraceback", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));

    PendingException(CPython api) {
        super(api);
        this.api = api;
    }

    /**
     * The exception taken: new references to its type, its value (NULL only if normalising
     * failed) and its traceback (NULL when it has none), all released by {@link #close}.
     */
    record Taken(CPython api, MemorySegment type, MemorySegment value, MemorySegment traceback) implements AutoCloseable {
        @Override
        public void close() {
            api.decRef(type);
            api.decRef(value);
            api.decRef(traceback);
        }
    }

    /** Takes and clears the pending exception; null when none is set. */
    Taken take() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pType = arena.allocate(ADDRESS);
            MemorySegment pValue = arena.allocate(ADDRESS);
            MemorySegment pTb = arena.allocate(ADDRESS);
            pyErrFetch.invokeExact(pType, pValue, pTb);
            if (CPython.isNull(pType.get(ADDRESS, 0))) return null;
            pyErrNormalizeException.invokeExact(pType, pValue, pTb);
            Taken taken = new Taken(api, pType.get(ADDRESS, 0), pValue.get(ADDRESS, 0), pTb.get(ADDRESS, 0));
            if (!CPython.isNull(taken.traceback()) && !CPython.isNull(taken.value())) {
                int ignored = (int) pyExceptionSetTraceback.invokeExact(taken.value(), taken.traceback());
            }
            return taken;
        } catch (Throwable t) {
            throw fatal(t);
        }
    }

    /** True when {@code type} (normalised) is SystemExit or KeyboardInterrupt, which ask for a stop. */
    boolean isExit(MemorySegment type) {
        try {
            return (int) pyErrGivenExceptionMatches.invokeExact(type, excSystemExit) != 0
                    || (int) pyErrGivenExceptionMatches.invokeExact(type, excKeyboardInterrupt) != 0;
        } catch (Throwable t) {
            throw fatal(t);
        }
    }
}
