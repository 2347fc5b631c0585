package jwsgi.server;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import jwsgi.config.ConfigException;
import jwsgi.config.ConfigFile;
import jwsgi.config.Settings;
import jwsgi.config.SettingsSources;
import jwsgi.hooks.PythonLogging;
import jwsgi.hooks.ServerHooks;
import jwsgi.log.ErrorLog;
import jwsgi.python.PythonInstallation;
import jwsgi.python.PythonLocator;
import jwsgi.python.PythonRuntime;

/**
 * The settings of one process as they settle: first from the command line and the environment,
 * then, once Python runs, with the config file (which is Python) read in it. The master and
 * every worker process go through the same steps, so they agree on the settings.
 *
 * <p>Threads: the process's main thread.
 */
final class Startup {
    private final SettingsSources sources;
    private Settings settings;
    private List<String> warnings;
    private ErrorLog errorLog;

    /**
     * @param early    the settings from the command line and the environment, before the config file
     * @param errorLog the error log set up from {@code early}
     */
    Startup(SettingsSources sources, SettingsSources.Resolved early, ErrorLog errorLog) {
        this.sources = sources;
        this.settings = early.settings();
        this.warnings = early.warnings();
        this.errorLog = errorLog;
    }

    Settings settings() {
        return settings;
    }

    /** One line for each setting accepted without effect, and for more worker processes than this machine has cores. */
    List<String> warnings() {
        Optional<String> beyondCores = settings.worker().beyondCores(Runtime.getRuntime().availableProcessors());
        if (beyondCores.isEmpty()) return warnings;
        List<String> all = new ArrayList<>(warnings);
        all.add(beyondCores.get());
        return all;
    }

    ErrorLog errorLog() {
        return errorLog;
    }

    /** The config file this process reads, if any. */
    Optional<String> configFile() {
        return sources.configLocation(Path.of("").toAbsolutePath());
    }

    /** Finds and starts the Python the settings name; the caller gives it back with {@link PythonRuntime#release}. */
    PythonRuntime startPython() {
        PythonInstallation python = new PythonLocator(System.getenv()).locate(settings.python().python());
        return PythonRuntime.acquire(python, settings.argv());
    }

    /**
     * Runs the config file (if any) and settles the settings with it, points Python's logging at
     * the error log, and loads the server hooks the file defines, as worker {@code age} (0 for the master).
     */
    ServerHooks readConfigAndHooks(PythonRuntime runtime, int age) throws ConfigException {
        readConfigFile(runtime);
        PythonLogging.setup(runtime, settings.logging());
        return ServerHooks.load(runtime, settings.effective(), age);
    }

    /** Runs the config file, if there is one, and settles the settings with it. */
    void readConfigFile(PythonRuntime runtime) throws ConfigException {
        Path cwd = Path.of("").toAbsolutePath();
        Optional<String> location = sources.configLocation(cwd);
        if (location.isEmpty()) return;
        PythonInstallation python = runtime.installation();
        String before = settings.python().python();
        SettingsSources.Resolved resolved = sources.resolve(ConfigFile.run(runtime, location.get(), cwd));
        String after = resolved.settings().python().python();
        if (after != null && !after.equals(before)) {
            PythonInstallation wanted = new PythonLocator(System.getenv()).locate(after);
            if (!wanted.library().equals(python.library())) {
                throw new ConfigException("python = '" + after + "' in " + location.get() + ": the config file runs inside "
                        + "Python, so it cannot choose which Python to embed (this run embeds " + python.describe()
                        + "); give --python " + after + " on the command line or in " + SettingsSources.ENV_ARGS);
            }
        }
        settings = resolved.settings();
        warnings = resolved.warnings();
        try {
            errorLog = ErrorLog.configure(settings.logging().errorLogTarget());
        } catch (IOException e) {
            throw new ConfigException("cannot open the error log: " + e.getMessage());
        }
    }
}
