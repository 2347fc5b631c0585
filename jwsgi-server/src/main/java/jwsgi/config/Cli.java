package jwsgi.config;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * The command line, in gunicorn's form: {@code jwsgi [OPTIONS] [MODULE:CALLABLE]}. Flags keep
 * gunicorn's names and defaults so a start command changes by one word. Each group of flags
 * is a mixin that validates itself into its own settings record; picocli's model of this
 * command is the one declaration of every flag, its default and its help, and everything else
 * (config files, {@code JWSGI_CMD_ARGS}, {@code --print-config}, docs/settings.md) is derived
 * from it by {@link SettingNames}.
 *
 * <p>gunicorn flags that mean nothing in a JVM ({@code --preload}, {@code --worker-tmp-dir}...)
 * are added by {@link #commandLine} as hidden options, so they are accepted with a warning.
 */
@Command(name = "jwsgi", sortOptions = false, versionProvider = Cli.Version.class,
        description = {"Serve a WSGI application (PEP 3333) with CPython embedded in the JVM. With no APP, serves a bundled demo app.",
                "Settings also come from JWSGI_CMD_ARGS and a config file (gunicorn.conf.py format): the command line wins over "
                        + "JWSGI_CMD_ARGS, which wins over the file."},
        footer = {"", "Examples:", "  jwsgi mysite.wsgi:application -b 0.0.0.0:8000 --threads 4",
                "  jwsgi 'app:create_app(\"production\")' --python ~/venvs/site",
                "  jwsgi -c gunicorn.conf.py mysite.wsgi"})
public final class Cli {
    @Parameters(index = "0", arity = "0..1", paramLabel = "APP",
            description = "The WSGI app: MODULE:CALLABLE, MODULE (callable 'application') or MODULE:FACTORY(ARGS).")
    String app;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help and exit.")
    boolean help;

    @Option(names = {"-v", "-V", "--version"}, versionHelp = true, description = "Print the version and exit.")
    boolean version;

    @Mixin
    ConfigOptions config = new ConfigOptions();

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

    @Mixin
    LimitOptions limits = new LimitOptions();

    @Mixin
    ProcessOptions process = new ProcessOptions();

    @Mixin
    StaticOptions statics = new StaticOptions();

    @Mixin
    OpsOptions ops = new OpsOptions();

    /**
     * The picocli command for {@code cli}, with gunicorn's not-applicable flags added as hidden
     * options. Every parse goes through here.
     */
    public static CommandLine commandLine(Cli cli) {
        CommandLine cmd = new CommandLine(cli);
        cmd.setOverwrittenOptionsAllowed(true);  // as argparse: the last of a repeated flag wins
        for (GunicornSettings.Setting s : GunicornSettings.all()) {
            boolean acceptedWithWarning = s.fallback() == GunicornSettings.Fallback.NOT_APPLICABLE
                    || s.fallback() == GunicornSettings.Fallback.UNSUPPORTED;
            if (!acceptedWithWarning || s.flags().isEmpty()) continue;
            if (s.flags().stream().anyMatch(f -> cmd.getCommandSpec().findOption(f) != null)) continue;
            cmd.getCommandSpec().addOption(OptionSpec.builder(s.flags().toArray(String[]::new))
                    .arity(s.takesValue() ? "1" : "0")
                    .type(s.takesValue() ? String.class : boolean.class)
                    .paramLabel("VALUE")
                    .hidden(true)
                    .userObject(s)
                    .description("gunicorn's " + s.name() + ": accepted with a warning; " + s.note())
                    .build());
        }
        return cmd;
    }

    /**
     * Validates the parsed flags into settings.
     *
     * @param argv       the whole command line, for {@code sys.argv}
     * @param configFile the config file that was read, or null
     * @param effective  every setting by name, for --print-config and the hooks' {@code cfg}
     * @throws CommandLine.ParameterException naming the bad flag and value
     */
    Settings settings(CommandLine cmd, List<String> argv, String configFile, Map<String, Object> effective) {
        PythonOptions.Settings py = python.settings(cmd);
        return new Settings(app, new ConfigOptions.Settings(configFile, config.printConfig, config.checkConfig),
                socket.settings(cmd), worker.settings(cmd), py, logging.settings(cmd),
                listener.settings(cmd), proxy.settings(cmd), tls.settings(cmd), process.settings(cmd), limits.settings(cmd),
                statics.settings(cmd, Path.of(py.chdir())), ops.settings(cmd), argv, effective);
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
