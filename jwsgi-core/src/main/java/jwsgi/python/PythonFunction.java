package jwsgi.python;

import java.lang.foreign.MemorySegment;

/**
 * A Python callable that Java keeps, such as a function of jwsgi's Python glue: it owns one
 * reference, which {@link #close} releases. Calls take Java values, converted by
 * {@link Interpreter#toPython}, and the caller counts no references: the argument tuple and
 * the result are released here.
 *
 * <pre>{@code
 * try (PythonFunction f = py.glueFunction("_jwsgi_gunicorn", "check_hooks")) {
 *     List<?> names = (List<?>) f.call();
 * }
 * }</pre>
 *
 * <p>Threads: any thread attached to the interpreter that made it, holding the GIL (closing too).
 */
public final class PythonFunction implements AutoCloseable {
    private final Interpreter py;
    private final CPython api;
    private MemorySegment function;

    /** Takes ownership of {@code function}, a new reference. */
    PythonFunction(Interpreter py, MemorySegment function) {
        this.py = py;
        this.api = py.api();
        this.function = function;
    }

    /**
     * Calls it and converts the result ({@link Interpreter#fromPython}).
     *
     * @throws PythonException when it raised, or its result has no Java value
     */
    public Object call(Object... args) {
        MemorySegment result = py.checked(invoke(args));
        try {
            return py.fromPython(result);
        } finally {
            api.decRef(result);
        }
    }

    /**
     * Calls it and drops the result, for a caller whose contract hands Python exceptions on as
     * they are ({@code wsgi.RequestHooks}).
     *
     * @return true, or false with the Python exception set
     */
    public boolean run(Object... args) {
        MemorySegment result = invoke(args);
        if (CPython.isNull(result)) return false;
        api.decRef(result);
        return true;
    }

    /**
     * Calls it, for a caller whose contract hands the result on as a Python object
     * ({@code wsgi.RequestHooks}).
     *
     * @return a new reference to the result, or NULL with the Python exception set (also when an
     *         argument could not be converted)
     */
    public MemorySegment invoke(Object... args) {
        if (CPython.isNull(function)) throw new IllegalStateException("the Python function was closed");
        MemorySegment tuple = api.tupleNew(args.length);
        if (CPython.isNull(tuple)) return MemorySegment.NULL;
        try {
            for (int i = 0; i < args.length; i++) {
                MemorySegment item = py.newObject(args[i]);
                if (CPython.isNull(item)) return MemorySegment.NULL;
                api.tupleSetItem(tuple, i, item);  // steals item
            }
            return api.callObject(function, tuple);
        } finally {
            api.decRef(tuple);
        }
    }

    /** The callable (borrowed), for passing it to Python as an argument. */
    MemorySegment object() {
        return function;
    }

    /** Releases the reference; the GIL must be held. Closing twice does nothing. */
    @Override
    public void close() {
        api.decRef(function);
        function = MemorySegment.NULL;
    }
}
