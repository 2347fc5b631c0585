package jwsgi.python;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SegmentAllocator;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Initialises CPython through {@code PyConfig}, the one struct whose layout jwsgi must know, and
 * finalises it.
 *
 * <p>PyConfig changes size every minor version, so the three fields jwsgi sets are located
 * by a per-version offset table (LP64, taken with {@code offsetof()} against each version's
 * {@code Include/cpython/initconfig.h}; a new version needs its row measured the same way).
 * The fields:
 * <ul>
 *   <li>{@code program_name} = the interpreter's {@code sys.executable}: CPython's getpath
 *       then finds a virtualenv's {@code pyvenv.cfg} exactly as the interpreter does alone
 *       (mod_wsgi's approach; setting {@code home} breaks virtualenvs);</li>
 *   <li>{@code install_signal_handlers} = 0: SIGINT, SIGTERM and SIGHUP stay the JVM's;</li>
 *   <li>{@code faulthandler} = 0: Python's SIGSEGV handler would turn the JVM's own implicit
 *       null checks into a fatal error, even when PYTHONFAULTHANDLER is set.</li>
 * </ul>
 *
 * <p>Threads: py-main only, which becomes Python's main thread.
 */
final class PyInit extends PyBinding {
    private record Layout(long programName, long installSignalHandlers, long faulthandler) {}

    /** Larger than {@code sizeof(PyConfig)} in every supported version (448 in 3.13). */
    private static final long CONFIG_BYTES = 2048;
    private static final int STATUS_OK = 0;
    private static final int STATUS_EXIT = 2;

    private final MethodHandle pyConfigInitPythonConfig = fn("PyConfig_InitPythonConfig", FunctionDescriptor.ofVoid(ADDRESS));
    /** Sets a {@code wchar_t*} field of a PyConfig from a locale-encoded C string. */
    private final MethodHandle pyConfigSetBytesString =
            fn("PyConfig_SetBytesString", FunctionDescriptor.of(PY_STATUS, ADDRESS, ADDRESS, ADDRESS));
    private final MethodHandle pyConfigClear = fn("PyConfig_Clear", FunctionDescriptor.ofVoid(ADDRESS));
    private final MethodHandle pyInitializeFromConfig = fn("Py_InitializeFromConfig", FunctionDescriptor.of(PY_STATUS, ADDRESS));
    private final MethodHandle pyFinalizeEx = fn("Py_FinalizeEx", FunctionDescriptor.of(JAVA_INT));
    private final MethodHandle pyIsInitialized = fn("Py_IsInitialized", FunctionDescriptor.of(JAVA_INT));

    PyInit(PyBinding shared) {
        super(shared);
    }

    private static Layout layout(PythonVersion v) {
        long programName = switch (v.minor()) {
            case 10 -> 240;
            case 11 -> 264;
            case 12 -> 272;
            case 13 -> 280;
            default -> throw new PythonStartupException("no PyConfig layout for Python " + v
                    + "; jwsgi supports CPython " + PythonVersion.SUPPORTED);
        };
        return new Layout(programName, 16, 32);
    }

    /** Initialises the runtime on the calling thread, which becomes Python's main thread, holding the GIL. */
    void initialize(PythonInstallation installation) {
        Layout layout = layout(installation.version());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment config = arena.allocate(CONFIG_BYTES, 16);
            pyConfigInitPythonConfig.invokeExact(config);
            try {
                config.set(JAVA_INT, layout.installSignalHandlers(), 0);
                config.set(JAVA_INT, layout.faulthandler(), 0);
                MemorySegment executable = arena.allocateFrom(installation.executable().toString(), StandardCharsets.UTF_8);
                check((MemorySegment) pyConfigSetBytesString.invokeExact((SegmentAllocator) arena, config,
                        config.asSlice(layout.programName()), executable), "program_name");
                check((MemorySegment) pyInitializeFromConfig.invokeExact((SegmentAllocator) arena, config), "Py_InitializeFromConfig");
            } finally {
                pyConfigClear.invokeExact(config);
            }
        } catch (Throwable t) {
            throw fatal(t);
        }
    }

    /** Whether CPython is initialised in this process already (by whoever loaded it). */
    boolean isInitialized() {
        try { return (int) pyIsInitialized.invokeExact() != 0; } catch (Throwable t) { throw fatal(t); }
    }

    /** {@code Py_FinalizeEx} on the thread that initialised Python: 0, or -1 when flushing buffered data failed. */
    int finalizeEx() {
        try { return (int) pyFinalizeEx.invokeExact(); } catch (Throwable t) { throw fatal(t); }
    }

    private static void check(MemorySegment status, String what) {
        int type = status.get(JAVA_INT, 0);
        if (type == STATUS_OK) return;
        MemorySegment message = status.get(ADDRESS, 16);
        String text = message.address() == 0 ? "(no message)" : message.reinterpret(4096).getString(0);
        if (type == STATUS_EXIT) {
            text = "exit " + status.get(JAVA_INT, 24) + " " + text;
        }
        throw new PythonStartupException(what + " failed: " + text
                + ". Check that the interpreter runs on its own, and that PYTHONHOME/PYTHONPATH do not point elsewhere.");
    }
}
