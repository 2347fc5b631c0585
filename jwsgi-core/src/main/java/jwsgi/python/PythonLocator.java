package jwsgi.python;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Finds the interpreter to embed and asks it, once, about itself.
 *
 * <p>The choice follows the rule: {@code --python PATH} (an interpreter or a
 * virtualenv directory), else {@code $VIRTUAL_ENV}, else {@code python3} on {@code PATH}.
 * The interpreter runs {@code probe.py} (about 35 ms) and reports its version, libpython
 * and paths; nothing is guessed from file names.
 */
public final class PythonLocator {
    /** How long the interpreter may take to describe itself; JWSGI_PROBE_TIMEOUT (seconds) overrides it. */
    private static final long PROBE_TIMEOUT_SECONDS = 30;
    private static final String NEED = "jwsgi needs CPython " + PythonVersion.SUPPORTED
            + " with its shared library; choose one with --python (an interpreter or a virtualenv directory).";

    private final Map<String, String> environment;

    public PythonLocator(Map<String, String> environment) {
        this.environment = environment;
    }

    /**
     * Resolves and probes the interpreter.
     *
     * @param option the {@code --python} value, or null
     * @throws PythonStartupException with an operator-facing message when no usable
     *         interpreter or shared library is found
     */
    public PythonInstallation locate(String option) {
        Path interpreter = choose(option);
        Map<String, String> facts = new HashMap<>();
        List<String> sysPath = new ArrayList<>();
        String report = probe(interpreter);
        for (String line : report.split("\n")) {
            int tab = line.indexOf('\t');
            if (tab < 0) continue;
            String key = line.substring(0, tab);
            String value = line.substring(tab + 1);
            if (key.equals("path")) sysPath.add(value);
            else facts.put(key, value);
        }
        if (!facts.containsKey("implementation") || !facts.containsKey("version")) {
            throw new PythonStartupException(interpreter + " did not answer like a Python interpreter"
                    + (report.isBlank() ? " (it printed nothing)" : "; it printed:\n" + report.strip()) + "\n" + NEED);
        }
        if (!"cpython".equals(facts.get("implementation"))) {
            throw new PythonStartupException(interpreter + " is " + facts.get("implementation")
                    + ", not CPython: jwsgi embeds CPython's libpython. Choose a CPython interpreter with --python.");
        }
        PythonVersion version = PythonVersion.parse(facts.get("version"));
        if (!version.isSupported()) {
            throw new PythonStartupException(interpreter + " is Python " + version + "; jwsgi supports CPython "
                    + PythonVersion.SUPPORTED + ". Choose another interpreter with --python (or activate another virtualenv).");
        }
        Path library = findLibrary(interpreter, version, facts);
        return new PythonInstallation(interpreter, Path.of(facts.get("executable")), version, library,
                facts.get("prefix"), facts.get("base_prefix"), List.copyOf(sysPath), "1".equals(facts.get("gil_disabled")));
    }

    private Path choose(String option) {
        if (option != null && !option.isBlank()) {
            Path p = Path.of(option).toAbsolutePath().normalize();
            if (Files.isDirectory(p)) {
                return venvInterpreter(p).orElseThrow(() -> new PythonStartupException("--python " + option
                        + " is a directory without an executable bin/python3 or bin/python (missing, or a broken link):"
                        + " give a virtualenv directory or an interpreter."));
            }
            if (!Files.isExecutable(p)) {
                throw new PythonStartupException("--python " + option + ": "
                        + (Files.exists(p) ? "not executable" : "no such file")
                        + ". Give the path of a Python interpreter (e.g. /usr/bin/python3) or of a virtualenv directory.");
            }
            return p;
        }
        String venv = environment.get("VIRTUAL_ENV");
        if (venv != null && !venv.isBlank()) {
            return venvInterpreter(Path.of(venv)).orElseThrow(() -> new PythonStartupException("VIRTUAL_ENV=" + venv
                    + " has no bin/python3 or bin/python: activate a valid virtualenv, unset VIRTUAL_ENV, or use --python."));
        }
        return onPath("python3").orElseThrow(() -> new PythonStartupException(
                "no python3 on PATH: install Python 3 (Debian: apt install python3 libpython3.11) or name one with --python."));
    }

    private static Optional<Path> venvInterpreter(Path dir) {
        for (String name : List.of("bin/python3", "bin/python")) {
            Path p = dir.resolve(name);
            if (Files.isExecutable(p)) return Optional.of(p.toAbsolutePath());
        }
        return Optional.empty();
    }

    private Optional<Path> onPath(String name) {
        String path = environment.getOrDefault("PATH", "");
        for (String dir : path.split(":")) {
            if (dir.isEmpty()) continue;
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p) && !Files.isDirectory(p)) return Optional.of(p.toAbsolutePath());
        }
        return Optional.empty();
    }

    /** Runs probe.py with the interpreter. Its output goes to a file, so a hung interpreter cannot hang jwsgi. */
    private String probe(Path interpreter) {
        String source;
        try (InputStream in = PythonLocator.class.getResourceAsStream("/jwsgi/probe.py")) {
            source = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new PythonStartupException("cannot read the bundled probe.py: " + e.getMessage(), e);
        }
        long timeout = probeTimeoutSeconds();
        Path out = null;
        Process process = null;
        try {
            out = Files.createTempFile("jwsgi-probe", ".txt");
            process = new ProcessBuilder(interpreter.toString(), "-c", source)
                    .redirectErrorStream(true)
                    .redirectOutput(out.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                    .start();
            if (!process.waitFor(timeout, TimeUnit.SECONDS)) {
                throw new PythonStartupException(interpreter + " did not answer within " + timeout
                        + " s when asked for its version and paths. " + NEED);
            }
            String text = Files.readString(out, StandardCharsets.UTF_8);
            if (process.exitValue() != 0) {
                throw new PythonStartupException(interpreter + " failed when asked for its version and paths (exit "
                        + process.exitValue() + ")" + (text.isBlank() ? "" : ":\n" + text.strip()) + "\n" + NEED);
            }
            return text;
        } catch (IOException e) {
            throw new PythonStartupException("cannot run " + interpreter + ": " + e.getMessage() + ". " + NEED, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PythonStartupException("interrupted while probing " + interpreter, e);
        } finally {
            if (process != null && process.isAlive()) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
            }
            if (out != null) {
                try {
                    Files.deleteIfExists(out);
                } catch (IOException ignored) {
                    // a temp file left behind is harmless
                }
            }
        }
    }

    private long probeTimeoutSeconds() {
        String value = environment.get("JWSGI_PROBE_TIMEOUT");
        if (value == null || value.isBlank()) return PROBE_TIMEOUT_SECONDS;
        try {
            return Math.max(1, Long.parseLong(value.strip()));
        } catch (NumberFormatException e) {
            throw new PythonStartupException("JWSGI_PROBE_TIMEOUT=" + value + " is not a number of seconds");
        }
    }

    private static Path findLibrary(Path interpreter, PythonVersion version, Map<String, String> facts) {
        String libdir = facts.getOrDefault("libdir", "");
        List<Path> candidates = new ArrayList<>();
        for (String name : List.of(facts.getOrDefault("instsoname", ""), facts.getOrDefault("ldlibrary", ""))) {
            if (name.isEmpty() || !name.contains(".so")) continue;
            if (!libdir.isEmpty()) candidates.add(Path.of(libdir, name));
            candidates.add(Path.of(facts.get("base_prefix"), "lib", name));
        }
        for (Path candidate : candidates) {
            if (Files.isRegularFile(candidate)) return candidate;
        }
        String minor = version.major() + "." + version.minor();
        throw new PythonStartupException(interpreter + " (Python " + version + ") has no shared libpython"
                + (candidates.isEmpty() ? " (it was built without --enable-shared)" : "; looked for " + candidates)
                + ". jwsgi embeds CPython and needs that library. Install it (Debian/Ubuntu: apt install libpython" + minor
                + "), rebuild Python with --enable-shared (pyenv: PYTHON_CONFIGURE_OPTS=--enable-shared pyenv install "
                + version + "), or choose another interpreter with --python.");
    }
}
