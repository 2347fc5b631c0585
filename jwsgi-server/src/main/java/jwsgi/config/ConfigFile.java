package jwsgi.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import jwsgi.python.PythonException;
import jwsgi.python.PythonRuntime;

/**
 * A gunicorn config file, run in the embedded interpreter exactly as gunicorn runs it: a Python
 * module ({@code __config__}) whose module-level names are settings, so an existing
 * {@code gunicorn.conf.py} works unchanged. Its hooks stay in the module for
 * {@code jwsgi.hooks.ServerHooks}.
 *
 * <p>Threads: any; the file runs on Python's main thread.
 */
public final class ConfigFile {
    /** The files read when no {@code -c} is given, in order: the first that exists. */
    public static final List<String> DEFAULT_FILES = List.of("jwsgi.conf.py", "gunicorn.conf.py");
    /** The bundled Python module behind config files, hooks and the app's logging. */
    public static final String GLUE = "_jwsgi_gunicorn";

    private ConfigFile() {}

    /** How a value is shaped in Python. */
    public enum Kind { NONE, BOOL, SCALAR, LIST, DICT, CALLABLE, OTHER }

    /**
     * One module-level name.
     *
     * @param repr   Python's repr() of the value (shortened), for messages
     * @param values str() of the value, or of each item of a list, or "key=value" for each dict item
     */
    public record Entry(String name, Kind kind, String repr, List<String> values) {
        /** How the file set it, for messages: "workers = 4". */
        public String assignment() {
            return name + " = " + repr;
        }
    }

    /**
     * What the file set.
     *
     * @param location as given (a path, file:PATH or python:MODULE)
     * @param entries  its public module-level names, in the file's order
     */
    public record Values(String location, List<Entry> entries) {}

    /** The default config file in {@code dir}, when one exists. */
    public static Optional<String> defaultLocation(Path dir) {
        for (String name : DEFAULT_FILES) {
            Path p = dir.resolve(name);
            if (Files.isRegularFile(p)) return Optional.of(p.toString());
        }
        return Optional.empty();
    }

    /**
     * Runs the file.
     *
     * @param cwd the directory jwsgi started in: importable from the file, as in gunicorn
     * @throws ConfigException when the file is missing or raises, with its traceback
     */
    public static Values run(PythonRuntime runtime, String location, Path cwd) throws ConfigException {
        if (!location.startsWith("python:")) {
            Path path = Path.of(location.startsWith("file:") ? location.substring(5) : location);
            if (!Files.isRegularFile(path)) {
                throw new ConfigException("config file " + location + " does not exist"
                        + (Files.isDirectory(path) ? " (it is a directory)" : ""));
            }
        }
        try {
            List<?> flat = runtime.onMainThread(py -> (List<?>) py.callGlue(GLUE, "load_config", location, cwd.toString()));
            return new Values(location, describe(flat));
        } catch (PythonException e) {
            throw new ConfigException("failed to read config file " + location + ": " + e.getMessage(), e.traceback());
        }
    }

    /** Reads the glue's flat list: name, kind, repr, count, values... for each name. */
    private static List<Entry> describe(List<?> glue) {
        List<String> flat = glue.stream().map(String.class::cast).toList();
        List<Entry> entries = new ArrayList<>();
        int i = 0;
        while (i < flat.size()) {
            String name = flat.get(i);
            Kind kind = Kind.valueOf(flat.get(i + 1).toUpperCase(Locale.ROOT));
            String repr = flat.get(i + 2);
            int count = Integer.parseInt(flat.get(i + 3));
            entries.add(new Entry(name, kind, repr, List.copyOf(flat.subList(i + 4, i + 4 + count))));
            i += 4 + count;
        }
        return List.copyOf(entries);
    }
}
