package jwsgi.python;

import java.lang.foreign.MemorySegment;

/**
 * The Python thread state of one platform thread, created once and kept for the thread's life.
 *
 * <p>A CPython thread state belongs to one OS thread, so this object may only be used by the
 * thread that created it ({@link PythonRuntime#attach}). {@link #enter} takes the GIL,
 * {@link #exit} releases it, and {@link #released} releases it around a blocking Java
 * operation performed while Python code is on the stack (reading a request body, waiting for
 * the client): every blocking wait in jwsgi goes through that one method.
 *
 * <p>Threads: the owning thread only.
 */
public final class PythonThread {
    private final PythonRuntime runtime;
    private final ThreadStates threadStates;
    private final Interpreter interpreter;
    private final MemorySegment tstate;
    private final Thread owner;
    /** True from {@link #enter} to {@link #exit}: shutdown waits for it before finalising Python. */
    private volatile boolean inside;

    PythonThread(PythonRuntime runtime, Interpreter interpreter, MemorySegment tstate) {
        this.runtime = runtime;
        this.threadStates = runtime.threadStates();
        this.interpreter = interpreter;
        this.tstate = tstate;
        this.owner = Thread.currentThread();
    }

    public Interpreter interpreter() {
        return interpreter;
    }

    /**
     * Takes the GIL for this thread.
     *
     * @throws PythonShutdownException when the runtime is shutting down: Python must not be
     *         entered once finalisation may start (CPython would end this OS thread)
     */
    public void enter() {
        if (Thread.currentThread() != owner) {
            throw new IllegalStateException("a Python thread state is used by " + Thread.currentThread()
                    + " but belongs to " + owner);
        }
        inside = true;
        if (runtime.isClosing()) {
            inside = false;
            throw new PythonShutdownException();
        }
        threadStates.restore(tstate);
    }

    /** Releases the GIL taken by {@link #enter}. */
    public void exit() {
        threadStates.save();
        inside = false;
    }

    /** A blocking Java operation, which may fail with {@code E}. */
    @FunctionalInterface
    public interface Blocking<T, E extends Exception> {
        T get() throws E;
    }

    /**
     * Runs a blocking Java operation with the GIL released, then takes it back, also when it
     * throws. Only for code that runs between {@link #enter} and {@link #exit}.
     */
    public <T, E extends Exception> T released(Blocking<T, E> blocking) throws E {
        threadStates.save();
        try {
            return blocking.get();
        } finally {
            threadStates.restore(tstate);
        }
    }

    boolean isInside() {
        return inside;
    }

    /** The platform thread that owns this thread state. */
    public Thread owner() {
        return owner;
    }

    /** Deletes the thread state. The thread must not be inside Python. */
    void close() {
        try {
            enter();
        } catch (PythonShutdownException e) {
            return;  // finalisation deletes every thread state itself
        }
        threadStates.clear(tstate);
        threadStates.deleteCurrent();  // also releases the GIL
        inside = false;
    }
}
