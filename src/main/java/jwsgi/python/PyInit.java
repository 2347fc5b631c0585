package jwsgi.python;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

/**
 * Initialises CPython through {@code PyConfig}, the one struct whose layout jwsgi must know.
 *
 * <p>PyConfig changes size every minor version, so the three fields jwsgi sets are located
 * by a per-version offset table (LP64; measured with {@code offsetof()} against each
 * version's headers, see research/ffm-embedding.md Q1). The fields:
 * <ul>
 *   <li>{@code program_name} = the interpreter's {@code sys.executable}: CPython's getpath
 *       then finds a virtualenv's {@code pyvenv.cfg} exactly as the interpreter does alone
 *       (mod_wsgi's approach; setting {@code home} breaks virtualenvs);</li>
 *   <li>{@code install_signal_handlers} = 0: SIGINT, SIGTERM and SIGHUP stay the JVM's;</li>
 *   <li>{@code faulthandler} = 0: Python's SIGSEGV handler would turn the JVM's own implicit
 *       null checks into a fatal error, even when PYTHONFAULTHANDLER is set.</li>
 * </ul>
 */
final class PyInit {
    private record Layout(long programName, long installSignalHandlers, long faulthandler) {}

    /** Larger than {@code sizeof(PyConfig)} in every supported version (448 in 3.13). */
    private static final long CONFIG_BYTES = 2048;
    private static final int STATUS_OK = 0;
    private static final int STATUS_EXIT = 2;

    private PyInit() {}

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

    /** Initialises the runtime on the calling thread, which becomes Python's main thread. */
    static void initialize(CPython api, PythonInstallation installation) {
        Layout layout = layout(installation.version());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment config = arena.allocate(CONFIG_BYTES, 16);
            api.configInitPythonConfig(config);
            try {
                config.set(JAVA_INT, layout.installSignalHandlers(), 0);
                config.set(JAVA_INT, layout.faulthandler(), 0);
                check(api.configSetBytesString(arena, config, config.asSlice(layout.programName()),
                        arena.allocateFrom(installation.executable().toString(), StandardCharsets.UTF_8)), "program_name");
                check(api.initializeFromConfig(arena, config), "Py_InitializeFromConfig");
            } finally {
                api.configClear(config);
            }
        }
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
