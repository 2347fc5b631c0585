package jwsgi.config;

import java.util.List;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/**
 * The command line, in gunicorn's form: {@code jwsgi [OPTIONS] [MODULE:CALLABLE]}. Flags keep
 * gunicorn's names and defaults so a start command changes by one word. Each group of flags
 * is a mixin that validates itself into its own settings record; picocli's model of this
 * command is the one declaration of every flag, its default and its help.
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

    @Mixin
    SocketOptions socket = new SocketOptions();

    @Mixin
    WorkerOptions worker = new WorkerOptions();

    @Mixin
    PythonOptions python = new PythonOptions();

    @Mixin
    LoggingOptions logging = new LoggingOptions();

    @Mixin
    ListenerOptions listener = new ListenerOptions();

    @Mixin
    ProxyOptions proxy = new ProxyOptions();

    @Mixin
    TlsOptions tls = new TlsOptions();

    /**
     * Validates the parsed flags into settings.
     *
     * @param argv the whole command line, for {@code sys.argv}
     * @throws CommandLine.ParameterException naming the bad flag and value
     */
    public Settings settings(CommandLine cmd, List<String> argv) {
        return new Settings(app, socket.settings(cmd), worker.settings(cmd), python.settings(cmd), logging.settings(cmd),
                listener.settings(cmd), proxy.settings(cmd), tls.settings(cmd), argv);
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
