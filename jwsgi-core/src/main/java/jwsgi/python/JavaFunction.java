package jwsgi.python;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

/**
 * A Python builtin function whose body is Java: a {@code PyMethodDef} with
 * {@code METH_FASTCALL} over an FFM upcall stub.
 *
 * <p>An exception escaping an upcall terminates the JVM, so every call goes through
 * {@link #invoke}, which turns any Java failure into a Python {@code RuntimeError}.
 * The method definition and the stub live in the global arena: function objects are created
 * a bounded number of times (per interpreter and per worker thread) and Python may keep
 * references to them until the process ends.
 *
 * <p>Threads: the body runs on whichever thread calls the function from Python, with the GIL held.
 */
public final class JavaFunction {
    private static final Logger LOG = LoggerFactory.getLogger(JavaFunction.class);
    /** {@code METH_FASTCALL}: {@code (self, PyObject *const *args, Py_ssize_t nargs)}. */
    private static final int METH_FASTCALL = 0x80;
    private static final FunctionDescriptor FASTCALL = FunctionDescriptor.of(ADDRESS, ADDRESS, ADDRESS, JAVA_LONG);
    private static final MethodHandle INVOKE;

    static {
        try {
            INVOKE = MethodHandles.lookup().findVirtual(JavaFunction.class, "invoke",
                    MethodType.methodType(MemorySegment.class, MemorySegment.class, MemorySegment.class, long.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The Java side of the function. Returns a new reference, or NULL with a Python exception set. */
    @FunctionalInterface
    public interface Body {
        MemorySegment call(Arguments args);
    }

    /**
     * A function to make in the interpreter it is passed to, as an argument of
     * {@link Interpreter#callGlue} or {@link PythonFunction#call} ({@link Interpreter#toPython}).
     *
     * @param name what Python and jwsgi's error messages call it
     */
    public record Named(String name, Body body) {}

    /** The positional arguments of one call (borrowed references). */
    public record Arguments(MemorySegment array, long count) {
        public MemorySegment get(int index) {
            return array.getAtIndex(ADDRESS, index);
        }
    }

    private final CPython api;
    private final String name;
    private final Body body;

    private JavaFunction(CPython api, String name, Body body) {
        this.api = api;
        this.name = name;
        this.body = body;
    }

    /** Creates the function object: a new reference, or NULL with a Python exception set. */
    static MemorySegment create(CPython api, String name, Body body) {
        JavaFunction function = new JavaFunction(api, name, body);
        Arena arena = Arena.global();
        MemorySegment stub = Linker.nativeLinker().upcallStub(INVOKE.bindTo(function), FASTCALL, arena);
        MemorySegment def = arena.allocate(32, 8);
        def.set(ADDRESS, 0, arena.allocateFrom(name));
        def.set(ADDRESS, 8, stub);
        def.set(JAVA_INT, 16, METH_FASTCALL);
        return api.cFunctionNew(def, MemorySegment.NULL);
    }

    @SuppressWarnings("unused") // the upcall target
    private MemorySegment invoke(MemorySegment self, MemorySegment args, long nargs) {
        try {
            return body.call(new Arguments(args.reinterpret(nargs * ADDRESS.byteSize()), nargs));
        } catch (Throwable t) {
            LOG.error("jwsgi internal error in {}()", name, t);
            try {
                api.raise(CPython.Exc.RUNTIME_ERROR, "jwsgi internal error in " + name + "(): " + t);
            } catch (Throwable ignored) {
                // Nothing more can be done from inside an upcall; returning NULL without an
                // exception makes Python raise SystemError, which is still an error, not a crash.
            }
            return MemorySegment.NULL;
        }
    }
}
