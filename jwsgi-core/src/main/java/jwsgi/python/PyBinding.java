package jwsgi.python;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.Arrays;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * The shared linker of libpython: one symbol lookup of the loaded library, and the two ways
 * jwsgi links a C function. Each class that calls the C API extends it and declares each
 * function once, as a handle next to its wrapper ({@link CPython}: objects, strings, errors;
 * {@link PendingException}: taking an exception out of Python; {@link ThreadStates}: the GIL and
 * thread states; {@link PyInit}: start and end).
 *
 * <p>Only exported functions are bound, never macros or struct fields (other than the start-up
 * structures), so one binding serves 3.10 to 3.13 and the free-threaded build.
 */
abstract sealed class PyBinding permits CPython, PendingException, ThreadStates, PyInit {
    private static final Linker LINKER = Linker.nativeLinker();
    /** {@code struct PyStatus}: returned by value from the configuration functions. */
    static final MemoryLayout PY_STATUS = MemoryLayout.structLayout(
            JAVA_INT.withName("_type"), MemoryLayout.paddingLayout(4),
            ADDRESS.withName("func"), ADDRESS.withName("err_msg"),
            JAVA_INT.withName("exitcode"), MemoryLayout.paddingLayout(4));

    private final SymbolLookup lib;

    /** Looks up symbols in {@code library}, already loaded with {@code RTLD_GLOBAL}. */
    PyBinding(Path library) {
        this.lib = SymbolLookup.libraryLookup(library, Arena.global());
    }

    /** Shares {@code other}'s lookup: one per process. */
    PyBinding(PyBinding other) {
        this.lib = other.lib;
    }

    final MemorySegment symbol(String name) {
        return lib.find(name).orElseThrow(() -> new PythonStartupException(
                "the Python library lacks the symbol " + name + "; jwsgi supports CPython " + PythonVersion.SUPPORTED));
    }

    /** Reads a {@code PyObject *PyExc_X} global: the symbol holds a pointer to the type. */
    final MemorySegment exceptionType(String name) {
        return symbol(name).reinterpret(ADDRESS.byteSize()).get(ADDRESS, 0);
    }

    /** A function that may run Python code (the usual case). */
    final MethodHandle fn(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(symbol(name), descriptor);
    }

    /**
     * A function that can run no Python code: it allocates no object the cyclic GC tracks
     * (whose collection runs finalizers, which may call back into Java) and raises nothing but
     * MemoryError. Such calls skip the JVM's thread-state transition (they are nanoseconds long,
     * and many per request) and may read Java arrays directly.
     */
    final MethodHandle leaf(String name, FunctionDescriptor descriptor) {
        return LINKER.downcallHandle(symbol(name), descriptor, Linker.Option.critical(true));
    }

    /** {@code PyObject_CallFunctionObjArgs} for {@code args} arguments (the NULL terminator added). */
    final MethodHandle callObjArgs(int args) {
        MemoryLayout[] layouts = new MemoryLayout[args + 2];
        Arrays.fill(layouts, ADDRESS);
        return LINKER.downcallHandle(symbol("PyObject_CallFunctionObjArgs"), FunctionDescriptor.of(ADDRESS, layouts),
                Linker.Option.firstVariadicArg(1));
    }

    /** A function only some versions export; null when this one lacks it. */
    final MethodHandle optional(String name, FunctionDescriptor descriptor) {
        return lib.find(name).map(a -> LINKER.downcallHandle(a, descriptor)).orElse(null);
    }

    /** A downcall cannot throw a checked exception; anything else escaping one is a bug. */
    static RuntimeException fatal(Throwable t) {
        return t instanceof RuntimeException r ? r : new IllegalStateException("CPython downcall failed", t);
    }
}
