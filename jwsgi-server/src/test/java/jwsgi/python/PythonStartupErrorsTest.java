package jwsgi.python;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import jwsgi.testing.Pythons;
import jwsgi.testing.ServerProcess;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * When no usable Python can be found, loaded or initialised, jwsgi exits at once with code 3
 * (PYTHON_BOOT_ERROR) and a message that says what was wrong and what to do, never a hang or a
 * Java stack trace. Includes the static-build case ("When no shared libpython exists,
 * exit with a message that says so and how to fix it"), with real interpreters.
 */
class PythonStartupErrorsTest {
    private static final int PYTHON_BOOT_ERROR = 3;
    /** Start-up errors must be reported promptly: a JVM start plus one interpreter probe. */
    private static final Duration PROMPT = Duration.ofSeconds(10);

    @TempDir
    Path tmp;

    /** The exit code and everything written, of a jwsgi that was expected to stop by itself. */
    record Exit(int code, String output, Duration took) {
        /** The text after "Cannot start Python: " (it may continue on further lines). */
        String message() {
            String lead = "Cannot start Python: ";
            int at = output.indexOf(lead);
            assertTrue(at >= 0, "no '" + lead + "' message in:\n" + output);
            return output.substring(at + lead.length());
        }
    }

    /** Runs jwsgi with {@code args} (plus an app and a bind) and the given environment changes; VIRTUAL_ENV is unset unless given. */
    private static Exit run(List<String> args, Map<String, String> env, Duration budget) throws Exception {
        List<String> all = new ArrayList<>(args);
        all.addAll(List.of("-b", "127.0.0.1:0", "--chdir", ServerProcess.APPS.toString(), "corpus"));
        return runCommand(ServerProcess.command(all), env, budget);
    }

    private static Exit runCommand(List<String> command, Map<String, String> env, Duration budget) throws Exception {
        Path out = Files.createTempFile("jwsgi-startup", ".log");
        try {
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(out.toFile());
            ServerProcess.prepare(pb.environment());
            pb.environment().putAll(env);
            long start = System.nanoTime();
            Process p = pb.start();
            boolean exited = p.waitFor(budget.toMillis(), TimeUnit.MILLISECONDS);
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            if (!exited) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly().waitFor();
            }
            String output = Files.readString(out, StandardCharsets.UTF_8);
            assertTrue(exited, "jwsgi did not exit within " + budget + " (it hangs):\n" + output);
            return new Exit(p.exitValue(), output, took);
        } finally {
            Files.deleteIfExists(out);
        }
    }

    /** The checks every start-up error shares. */
    private static String assertPythonBootError(Exit exit) {
        assertEquals(PYTHON_BOOT_ERROR, exit.code(), "exit code 3 (Python start-up error):\n" + exit.output());
        assertNoJavaStackTrace(exit.output());
        assertTrue(exit.took().compareTo(PROMPT) < 0, "took " + exit.took() + ":\n" + exit.output());
        assertFalse(exit.output().contains("Listening at"), exit.output());
        return exit.message();
    }

    static void assertNoJavaStackTrace(String output) {
        assertFalse(output.contains("Exception in thread"), "Java stack trace in:\n" + output);
        assertFalse(output.contains("\tat jwsgi."), "Java stack trace in:\n" + output);
        assertFalse(output.contains("\tat java."), "Java stack trace in:\n" + output);
        assertFalse(output.contains("internal error"), "reported as an internal error:\n" + output);
    }

    // ---- --python names nothing usable ----------------------------------------------------------

    @Test
    void pythonThatDoesNotExist() throws Exception {
        String message = assertPythonBootError(run(List.of("--python", "/nonexistent/python3"), Map.of(), PROMPT));
        assertTrue(message.contains("/nonexistent/python3"), "names the path: " + message);
        assertTrue(message.contains("no such file"), "says what is wrong: " + message);
        assertTrue(message.contains("interpreter") && message.contains("virtualenv"), "says what to give instead: " + message);
    }

    @Test
    void pythonThatIsNotExecutable() throws Exception {
        Path file = Files.writeString(tmp.resolve("python3"), "not a program\n");
        String message = assertPythonBootError(run(List.of("--python", file.toString()), Map.of(), PROMPT));
        assertTrue(message.contains(file.toString()), "names the path: " + message);
        assertTrue(message.contains("not executable"), "says what is wrong: " + message);
    }

    static Stream<Path> unsupportedInterpreters() {
        Path versions = Path.of(System.getProperty("user.home"), ".pyenv", "versions");
        List<Path> found = new ArrayList<>();
        for (String v : List.of("3.9.18", "3.8.18", "3.7.16", "3.6.15", "2.7.18")) {
            for (String name : List.of("bin/python3", "bin/python")) {
                Path p = versions.resolve(v).resolve(name);
                if (Files.isExecutable(p)) {
                    found.add(p);
                    break;
                }
            }
        }
        if (found.isEmpty()) found.add(null);  // one skipped case rather than none
        return found.stream();
    }

    @ParameterizedTest(name = "--python {0}")
    @MethodSource("unsupportedInterpreters")
    void unsupportedVersionSaysWhichAreSupported(Path python) throws Exception {
        Assumptions.assumeTrue(python != null, "no pyenv 3.9/3.8/3.7/3.6/2.7 on this machine");
        String version = Pythons.run(python, "import sys; print('%d.%d.%d' % sys.version_info[:3])").strip();
        String message = assertPythonBootError(run(List.of("--python", python.toString()), Map.of(), PROMPT));
        assertTrue(message.contains(python.toString()), "names the interpreter: " + message);
        assertTrue(message.contains("3.10") && message.contains("3.13"), "says which versions are supported: " + message);
        assertTrue(message.contains(version), "says which version it found (" + version + "): " + message);
    }

    @Test
    void directoryThatIsNotAVirtualenv() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("not-a-venv"));
        Files.writeString(dir.resolve("README"), "just a directory\n");
        String message = assertPythonBootError(run(List.of("--python", dir.toString()), Map.of(), PROMPT));
        assertTrue(message.contains(dir.toString()), "names the directory: " + message);
        assertTrue(message.contains("virtualenv"), "says a virtualenv directory was expected: " + message);
    }

    @Test
    void virtualenvWhoseInterpreterIsGone() throws Exception {
        // A venv made from an interpreter that was later removed: bin/python3 is a dangling symlink.
        Path venv = Files.createDirectories(tmp.resolve("broken-venv"));
        Files.createDirectories(venv.resolve("bin"));
        Files.writeString(venv.resolve("pyvenv.cfg"), "home = /nonexistent/bin\ninclude-system-site-packages = false\nversion = 3.11.2\n");
        Files.createSymbolicLink(venv.resolve("bin/python3"), Path.of("/nonexistent/bin/python3"));
        Files.createSymbolicLink(venv.resolve("bin/python"), Path.of("python3"));
        String message = assertPythonBootError(run(List.of("--python", venv.toString()), Map.of(), PROMPT));
        assertTrue(message.contains(venv.toString()), "names the virtualenv: " + message);
    }

    @Test
    void virtualEnvVariableThatIsNotAVirtualenv() throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("stale-venv"));
        String message = assertPythonBootError(run(List.of(), Map.of("VIRTUAL_ENV", dir.toString()), PROMPT));
        assertTrue(message.contains("VIRTUAL_ENV") && message.contains(dir.toString()), "names the variable and its value: " + message);
        assertTrue(message.contains("--python"), "says what to do: " + message);
    }

    @Test
    void noPython3OnPath() throws Exception {
        Path empty = Files.createDirectories(tmp.resolve("empty-bin"));
        String message = assertPythonBootError(run(List.of(), Map.of("PATH", empty.toString()), PROMPT));
        assertTrue(message.contains("python3") && message.contains("PATH"), "says python3 is not on PATH: " + message);
        assertTrue(message.contains("--python"), "says what to do: " + message);
    }

    // ---- --python names a program that is not Python ----------------------------------------------

    @ParameterizedTest(name = "--python {0}")
    @ValueSource(strings = {"/bin/true", "/bin/echo", "/bin/false", "/bin/sh"})
    void programThatIsNotPython(String program) throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Path.of(program)), program + " missing");
        String message = assertPythonBootError(run(List.of("--python", program), Map.of(), PROMPT));
        assertTrue(message.contains(program), "names the program: " + message);
        assertFalse(message.contains("null"), "no 'null' in an operator-facing message: " + message);
        assertTrue(message.contains("Python"), "says a Python interpreter is needed: " + message);
        assertTrue(message.contains("--python"), "says what to do: " + message);
    }

    @Test
    void interpreterThatNeverAnswers() throws Exception {
        // PythonLocator waits at most JWSGI_PROBE_TIMEOUT seconds (30 by default) for the self-report.
        Path pidFile = tmp.resolve("hang.pid");
        Path hang = tmp.resolve("hanging-python");
        Files.writeString(hang, "#!/bin/sh\necho $$ > '" + pidFile + "'\nexec sleep 100\n");
        assertTrue(hang.toFile().setExecutable(true));
        try {
            Exit exit = run(List.of("--python", hang.toString()), Map.of("JWSGI_PROBE_TIMEOUT", "2"), Duration.ofSeconds(30));
            assertEquals(PYTHON_BOOT_ERROR, exit.code(), exit.output());
            assertNoJavaStackTrace(exit.output());
            assertTrue(exit.took().compareTo(Duration.ofSeconds(15)) < 0, "took " + exit.took());
            assertTrue(exit.message().contains(hang.toString()) && exit.message().contains("did not answer"), exit.message());
        } finally {
            if (Files.exists(pidFile)) {
                ProcessHandle.of(Long.parseLong(Files.readString(pidFile).strip())).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
    }

    // ---- no shared libpython --------------------------------------------------------------------

    /**
     * A real static build of CPython, as far as jwsgi can tell: Debian's {@code python3.11}
     * executable (which has libpython linked in statically: ldd lists no libpython) in its own
     * prefix, whose build configuration ({@code _sysconfigdata}) says what {@code ./configure}
     * without {@code --enable-shared} writes: {@code Py_ENABLE_SHARED = 0} and
     * {@code LDLIBRARY = INSTSONAME = libpythonX.Y.a}. The standard library is linked in from
     * the original. Building CPython statically for the test would take minutes; this takes
     * milliseconds, and the interpreter runs and reports on itself for real.
     *
     * @param sharedLibraryName null for a static build; otherwise the shared library's name the
     *                          configuration declares (which the prefix does not contain)
     */
    private Path interpreterWithoutSharedLibpython(Path source, String sharedLibraryName) throws Exception {
        String facts = Pythons.run(source, "import sys, sysconfig; print(sys.executable); print(sysconfig.get_paths()['stdlib']);"
                + " print('%d.%d' % sys.version_info[:2]); print(sysconfig._get_sysconfigdata_name())");
        String[] lines = facts.strip().split("\n");
        Path binary = Path.of(lines[0]).toRealPath();
        Path stdlib = Path.of(lines[1]);
        String minor = lines[2];
        Path prefix = tmp.resolve("python-" + minor + (sharedLibraryName == null ? "-static" : "-noshared"));
        Path bin = Files.createDirectories(prefix.resolve("bin"));
        Path lib = Files.createDirectories(prefix.resolve("lib/python" + minor));
        Files.copy(binary, bin.resolve("python" + minor), StandardCopyOption.COPY_ATTRIBUTES);
        Files.createSymbolicLink(bin.resolve("python3"), Path.of("python" + minor));
        String ldlibrary = sharedLibraryName == null ? "libpython" + minor + ".a" : sharedLibraryName;
        String patch = "\n# As configured without --enable-shared (or with the shared library not installed):\n"
                + "build_time_vars.update({'Py_ENABLE_SHARED': " + (sharedLibraryName == null ? 0 : 1)
                + ", 'LDLIBRARY': '" + ldlibrary + "', 'INSTSONAME': '" + ldlibrary + "', 'LIBDIR': '" + prefix.resolve("lib") + "',"
                + " 'LIBPL': '" + prefix.resolve("lib") + "'})\n";
        try (Stream<Path> entries = Files.list(stdlib)) {
            for (Path entry : entries.toList()) {
                String name = entry.getFileName().toString();
                if (name.startsWith("_sysconfigdata_") && name.endsWith(".py")) {
                    Files.writeString(lib.resolve(name), Files.readString(entry) + patch);
                } else {
                    Files.createSymbolicLink(lib.resolve(name), entry);
                }
            }
        }
        Path python = bin.resolve("python3");
        // The copy is a working interpreter of its own, in its own prefix, reporting no shared library.
        String self = Pythons.run(python, "import sys, sysconfig; print(sys.prefix);"
                + " print(sysconfig.get_config_var('Py_ENABLE_SHARED'), sysconfig.get_config_var('LDLIBRARY'), sysconfig._get_sysconfigdata_name())");
        assertTrue(self.startsWith(prefix + "\n"), "the copy's sys.prefix is its own: " + self);
        assertTrue(self.contains(" " + ldlibrary + " "), "the copy reports " + ldlibrary + ": " + self);
        assertFalse(Files.exists(prefix.resolve("lib").resolve(ldlibrary)));
        return python;
    }

    private static Path debianStaticExecutable() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(Pythons.DEBIAN), "no Debian python3");
        Path real = Pythons.DEBIAN.toRealPath();
        Process ldd = new ProcessBuilder("ldd", real.toString()).redirectErrorStream(true).start();
        String linked = new String(ldd.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        ldd.waitFor();
        Assumptions.assumeFalse(linked.contains("libpython"), real + " links libpython dynamically:\n" + linked);
        return Pythons.DEBIAN;
    }

    @Test
    void staticBuildWithoutSharedLibpython() throws Exception {
        Path python = interpreterWithoutSharedLibpython(debianStaticExecutable(), null);
        String version = Pythons.run(python, "import sys; print('%d.%d.%d' % sys.version_info[:3])").strip();
        String message = assertPythonBootError(run(List.of("--python", python.toString()), Map.of(), PROMPT));
        assertTrue(message.contains(python.toString()), "names the interpreter: " + message);
        assertTrue(message.contains("no shared libpython"), "says there is no shared libpython: " + message);
        assertTrue(message.contains("--enable-shared"), "says how to fix it (build with --enable-shared): " + message);
        assertTrue(message.contains(version), "names the version: " + message);
    }

    @Test
    void staticBuildIsRefusedByTheLocatorBeforeAnyLoading() throws Exception {
        // The same, in process: PythonLocator alone, nothing dlopen'ed.
        Path python = interpreterWithoutSharedLibpython(debianStaticExecutable(), null);
        PythonStartupException e = assertThrows(PythonStartupException.class,
                () -> new PythonLocator(Map.of()).locate(python.toString()));
        assertTrue(e.getMessage().contains("no shared libpython") && e.getMessage().contains("--enable-shared"), e.getMessage());
    }

    @Test
    void sharedLibraryDeclaredButNotInstalled() throws Exception {
        // Like Debian's python3 without the libpython3.X package: the configuration names a
        // shared library that is not there.
        Path source = debianStaticExecutable();
        String minor = Pythons.run(source, "import sys; print('%d.%d' % sys.version_info[:2])").strip();
        Path python = interpreterWithoutSharedLibpython(source, "libpython" + minor + ".so.1.0");
        String message = assertPythonBootError(run(List.of("--python", python.toString()), Map.of(), PROMPT));
        assertTrue(message.contains("no shared libpython"), "says there is no shared libpython: " + message);
        assertTrue(message.contains("libpython" + minor + ".so.1.0"), "names the library it looked for: " + message);
        assertTrue(message.contains("apt install libpython" + minor), "says how to install it: " + message);
    }

    @Test
    void debianPython3WithItsLibpythonPackageHidden() throws Exception {
        // Debian's python3 exactly as installed, in a private mount namespace where its shared
        // library is not a file (as on a machine without the libpython3.X package).
        Path python = debianStaticExecutable();
        String library = Pythons.run(python, "import sysconfig, os; print(os.path.join(sysconfig.get_config_var('LIBDIR'),"
                + " sysconfig.get_config_var('INSTSONAME')))").strip();
        Assumptions.assumeTrue(Files.isRegularFile(Path.of(library)), "no " + library);
        List<String> hide = List.of("unshare", "--mount", "--propagation", "private", "sh", "-c",
                "mount --bind /dev/null \"$0\" && exec \"$@\"", library);
        Process probe = new ProcessBuilder(concat(hide, List.of("test", "!", "-f", library))).redirectErrorStream(true).start();
        String why = new String(probe.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        Assumptions.assumeTrue(probe.waitFor() == 0, "cannot hide a file in a mount namespace here: " + why);

        List<String> args = List.of("--python", python.toString(), "-b", "127.0.0.1:0", "--chdir", ServerProcess.APPS.toString(), "corpus");
        Exit exit = runCommand(concat(hide, ServerProcess.command(args)), Map.of(), PROMPT);
        String message = assertPythonBootError(exit);
        String minor = Pythons.run(python, "import sys; print('%d.%d' % sys.version_info[:2])").strip();
        assertTrue(message.contains("no shared libpython"), "says there is no shared libpython: " + message);
        assertTrue(message.contains(library), "names the library it looked for: " + message);
        assertTrue(message.contains("apt install libpython" + minor), "says how to install it: " + message);
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
