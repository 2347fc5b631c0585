package jwsgi.python;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.invoke.MethodHandle;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * The C API of the GIL, thread states and sub-interpreters, for {@link PythonRuntime} and
 * {@link PythonThread}, which own every thread state.
 *
 * <p>Threads: a thread state belongs to the OS thread that made it; {@link #restore} and
 * {@link #save} take and release the GIL with it.
 */
final class ThreadStates extends PyBinding {
    private final MethodHandle pyEvalSaveThread = fn("PyEval_SaveThread", FunctionDescriptor.of(ADDRESS));
    private final MethodHandle pyEvalRestoreThread = fn("PyEval_RestoreThread", FunctionDescriptor.ofVoid(ADDRESS));
    private final MethodHandle pyThreadStateNew = fn("PyThreadState_New", FunctionDescriptor.of(ADDRESS, ADDRESS));
    private final MethodHandle pyThreadStateClear = fn("PyThreadState_Clear", FunctionDescriptor.ofVoid(ADDRESS));
    private final MethodHandle pyThreadStateDeleteCurrent = fn("PyThreadState_DeleteCurrent", FunctionDescriptor.ofVoid());
    private final MethodHandle pyThreadStateGet = fn("PyThreadState_Get", FunctionDescriptor.of(ADDRESS));
    private final MethodHandle pyThreadStateGetInterpreter =
            fn("PyThreadState_GetInterpreter", FunctionDescriptor.of(ADDRESS, ADDRESS));
    /** 3.12+: sub-interpreters with their own GIL; null before. */
    private final MethodHandle pyNewInterpreterFromConfig =
            optional("Py_NewInterpreterFromConfig", FunctionDescriptor.of(PY_STATUS, ADDRESS, ADDRESS));

    ThreadStates(PyBinding shared) {
        super(shared);
    }

    /** Releases the GIL and detaches the current thread state, which it returns. */
    MemorySegment save() {
        try { return (MemorySegment) pyEvalSaveThread.invokeExact(); } catch (Throwable t) { throw fatal(t); }
    }

    /** Takes the GIL (blocking) and attaches {@code tstate}, which must belong to this OS thread. */
    void restore(MemorySegment tstate) {
        try { pyEvalRestoreThread.invokeExact(tstate); } catch (Throwable t) { throw fatal(t); }
    }

    /** A new thread state of the calling thread in {@code interpreter}, not attached; NULL on failure. */
    MemorySegment create(MemorySegment interpreter) {
        try { return (MemorySegment) pyThreadStateNew.invokeExact(interpreter); } catch (Throwable t) { throw fatal(t); }
    }

    /** Drops the objects {@code tstate} holds; the GIL must be held. */
    void clear(MemorySegment tstate) {
        try { pyThreadStateClear.invokeExact(tstate); } catch (Throwable t) { throw fatal(t); }
    }

    /** Deletes the attached (and {@link #clear cleared}) thread state and releases the GIL. */
    void deleteCurrent() {
        try { pyThreadStateDeleteCurrent.invokeExact(); } catch (Throwable t) { throw fatal(t); }
    }

    /** The attached thread state (a fatal Python error when there is none). */
    MemorySegment current() {
        try { return (MemorySegment) pyThreadStateGet.invokeExact(); } catch (Throwable t) { throw fatal(t); }
    }

    /** The interpreter {@code tstate} belongs to. */
    MemorySegment interpreterOf(MemorySegment tstate) {
        try { return (MemorySegment) pyThreadStateGetInterpreter.invokeExact(tstate); } catch (Throwable t) { throw fatal(t); }
    }

    /**
     * {@code Py_NewInterpreterFromConfig} with an isolated configuration: the interpreter's own
     * GIL and object allocator, no fork, no exec, no daemon threads, and only extension modules
     * that support multiple interpreters. Called holding the main GIL; returns the new
     * interpreter's first thread state, current and holding its GIL (the main GIL is released).
     *
     * @throws PythonStartupException when this Python has no such function or creation fails
     */
    MemorySegment newIsolatedInterpreter() {
        if (pyNewInterpreterFromConfig == null) throw new PythonStartupException("this Python has no Py_NewInterpreterFromConfig (3.12+)");
        try (Arena arena = Arena.ofConfined()) {
            // PyInterpreterConfig (3.12, 3.13): use_main_obmalloc, allow_fork, allow_exec, allow_threads,
            // allow_daemon_threads, check_multi_interp_extensions, gil (2: PyInterpreterConfig_OWN_GIL).
            MemorySegment config = arena.allocateFrom(JAVA_INT, 0, 0, 0, 1, 0, 1, 2);
            MemorySegment out = arena.allocate(ADDRESS);
            MemorySegment status = (MemorySegment) pyNewInterpreterFromConfig.invokeExact((SegmentAllocator) arena, out, config);
            if (status.get(JAVA_INT, 0) != 0) {
                MemorySegment message = status.get(ADDRESS, 16);
                throw new PythonStartupException("cannot create a sub-interpreter: "
                        + (message.address() == 0 ? "(no message)" : message.reinterpret(4096).getString(0)));
            }
            return out.get(ADDRESS, 0);
        } catch (PythonStartupException e) {
            throw e;
        } catch (Throwable t) {
            throw fatal(t);
        }
    }
}
