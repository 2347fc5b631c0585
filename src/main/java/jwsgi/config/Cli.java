package jwsgi.config;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import jwsgi.http.Bind;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The command line, in gunicorn's form: {@code jwsgi [OPTIONS] [MODULE:CALLABLE]}. Flags keep
 * gunicorn's names and defaults so a start command changes by one word.
 */
@Command(name = "jwsgi", mixinStandardHelpOptions = true, sortOptions = false,
        versionProvider = Cli.Version.class,
        description = "Serve a WSGI application (PEP 3333) with CPython embedded in the JVM.%n"
                + "With no APP, serves a bundled demo app.",
        footer = {"", "Examples:", "  jwsgi mysite.wsgi:application -b 0.0.0.0:8000 --threads 4",
                "  jwsgi 'app:create_app(\"production\")' --python ~/venvs/site"})
public final class Cli {
    @Parameters(index = "0", arity = "0..1", paramLabel = "APP",
            description = "The WSGI app: MODULE:CALLABLE, MODULE (callable 'application') or MODULE:FACTORY(ARGS).")
    String app;

    @Option(names = {"-b", "--bind"}, paramLabel = "ADDRESS",
            description = "Listen on HOST:PORT, [IPv6]:PORT or :PORT; repeatable. Default: 127.0.0.1:8000.")
    List<String> binds = new ArrayList<>();

    @Option(names = "--threads", paramLabel = "INT", defaultValue = "1",
            description = "Python threads running requests (the app's concurrency). Default: ${DEFAULT-VALUE}.")
    int threads;

    @Option(names = "--python", paramLabel = "PATH",
            description = "Python interpreter or virtualenv to embed. Default: $VIRTUAL_ENV, else python3 on PATH.")
    String python;

    @Option(names = "--chdir", paramLabel = "DIR",
            description = "Change to DIR before loading the app; it is put first on sys.path. Default: the current directory.")
    String chdir;

    @Option(names = "--pythonpath", paramLabel = "DIRS",
            description = "Comma-separated directories to put first on sys.path.")
    String pythonpath;

    @Option(names = {"-e", "--env"}, paramLabel = "KEY=VALUE",
            description = "Set an environment variable for the app; repeatable.")
    List<String> env = new ArrayList<>();

    @Option(names = "--log-level", paramLabel = "LEVEL", defaultValue = "info",
            description = "Error log level: debug, info, warning, error, critical. Default: ${DEFAULT-VALUE}.")
    String logLevel;

    @Option(names = "--access-logfile", paramLabel = "FILE",
            description = "Write an access log to FILE ('-' for stdout). Default: none.")
    String accessLog;

    @Option(names = "--graceful-timeout", paramLabel = "SECONDS", defaultValue = "30",
            description = "On SIGTERM/SIGINT, wait this long for in-flight requests. Default: ${DEFAULT-VALUE}.")
    int gracefulTimeout;

    @Option(names = "--keep-alive", paramLabel = "SECONDS", defaultValue = "2",
            description = "Close a keep-alive connection idle this long. Default: ${DEFAULT-VALUE}.")
    int keepAlive;

    /**
     * Validates the parsed flags into settings.
     *
     * @throws CommandLine.ParameterException naming the bad flag and value
     */
    public Settings settings(CommandLine cmd, List<String> argv) {
        List<Bind> parsedBinds = new ArrayList<>();
        for (String b : binds.isEmpty() ? List.of("127.0.0.1:" + Bind.DEFAULT_PORT) : binds) {
            try {
                parsedBinds.add(Bind.parse(b));
            } catch (IllegalArgumentException e) {
                throw new CommandLine.ParameterException(cmd, e.getMessage());
            }
        }
        if (threads < 1) throw new CommandLine.ParameterException(cmd, "--threads " + threads + ": must be at least 1");
        if (gracefulTimeout < 0) {
            throw new CommandLine.ParameterException(cmd, "--graceful-timeout " + gracefulTimeout + ": must be 0 or more seconds");
        }
        if (keepAlive < 0) throw new CommandLine.ParameterException(cmd, "--keep-alive " + keepAlive + ": must be 0 or more seconds");
        List<Map.Entry<String, String>> pairs = new ArrayList<>();
        for (String e : env) {
            int eq = e.indexOf('=');
            if (eq <= 0) throw new CommandLine.ParameterException(cmd, "-e " + e + ": expected KEY=VALUE");
            pairs.add(Map.entry(e.substring(0, eq), e.substring(eq + 1)));
        }
        // gunicorn changes directory first, so relative --pythonpath entries are relative to --chdir.
        Path base = Path.of(chdir == null ? "" : chdir).toAbsolutePath();
        List<String> path = new ArrayList<>();
        if (pythonpath != null) {
            for (String p : pythonpath.split(",")) {
                if (!p.isBlank()) path.add(base.resolve(p.strip()).normalize().toString());
            }
        }
        String access = accessLog == null || accessLog.equals("-") ? accessLog : absolute(accessLog);
        return new Settings(app, List.copyOf(parsedBinds), threads, python, absolute(chdir == null ? "" : chdir),
                List.copyOf(path), List.copyOf(pairs), logLevel, access, Duration.ofSeconds(gracefulTimeout),
                Duration.ofSeconds(keepAlive), argv);
    }

    /** Resolved before Python may change the working directory (the JVM cannot follow a chdir). */
    private static String absolute(String path) {
        return Path.of(path).toAbsolutePath().normalize().toString();
    }

    /** {@code --version}. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"jwsgi " + jwsgiVersion()};
        }
    }

    /** The version in the jar's manifest, or "dev" when run from classes. */
    public static String jwsgiVersion() {
        String v = Cli.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
