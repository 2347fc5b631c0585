package jwsgi.server;

import java.io.IOException;
import java.util.Arrays;
import java.util.Optional;

import jwsgi.config.ConfigException;
import jwsgi.config.SettingsSources;
import jwsgi.log.ErrorLog;
import jwsgi.ops.ControlClient;

import org.slf4j.LoggerFactory;

/**
 * The {@code jwsgi} command: the master, which starts the worker processes, each of which runs
 * this same command with its {@link WorkerIdentity} in the environment; or, for
 * {@code --check-config} and {@code --print-config}, a single process that loads the app; or
 * {@code jwsgi ctl ...}, the control socket's client (an app module named {@code ctl} is given
 * as {@code ctl:application}).
 */
public final class Main {
    private static final String JETTY_REFERENCES_PER_CACHE_LINE = "org.eclipse.jetty.util.referencesPerCacheLine";

    private Main() {}

    public static void main(String[] args) {
        if (args.length > 0 && args[0].equals("ctl")) {
            System.exit(ControlClient.run(Arrays.asList(args).subList(1, args.length), System.out, System.err));
        }
        System.exit(run(args).code);
    }

    static ExitCode run(String[] args) {
        Optional<WorkerIdentity> identity;
        try {
            identity = WorkerIdentity.from(System.getenv());
        } catch (IllegalArgumentException e) {
            printUsageError(new ConfigException(e.getMessage()));
            return ExitCode.USAGE;
        }
        SettingsSources sources;
        SettingsSources.Resolved early;
        ErrorLog errorLog;
        try {
            sources = SettingsSources.parse(args, System.getenv());
            if (sources.helpRequested()) {
                sources.printHelp(System.out);
                return ExitCode.OK;
            }
            if (sources.versionRequested()) {
                sources.printVersion(System.out);
                return ExitCode.OK;
            }
            early = sources.resolve(null);
            errorLog = ErrorLog.configure(early.settings().logging().errorLogTarget());
        } catch (ConfigException e) {
            printUsageError(e);
            return ExitCode.USAGE;
        } catch (IOException e) {
            printUsageError(new ConfigException("cannot open the error log: " + e.getMessage()));
            return ExitCode.USAGE;
        }
        try {
            Startup startup = new Startup(sources, early, errorLog);
            if (identity.isPresent()) {
                // Jetty's MemoryUtils would otherwise start the platform MBean server (some 500 classes) only
                // to ask whether object references are compressed, which they are in a worker's heap.
                if (System.getProperty(JETTY_REFERENCES_PER_CACHE_LINE) == null) System.setProperty(JETTY_REFERENCES_PER_CACHE_LINE, "16");
                return new Worker(startup, identity.get()).run();
            }
            if (early.settings().config().checkConfig() || early.settings().config().printConfig()) {
                return new Worker(startup, null).run();
            }
            return new Master(args, startup).run();
        } catch (RuntimeException | Error e) {
            LoggerFactory.getLogger(Main.class).error("jwsgi internal error; please report it", e);
            return ExitCode.FAILURE;
        }
    }

    /** A bad flag, value or config file: what is wrong on stderr, then where to find the options. */
    static void printUsageError(ConfigException e) {
        System.err.println("jwsgi: error: " + e.getMessage());
        if (e.detail() != null && !e.detail().isBlank()) System.err.println(e.detail().stripTrailing());
        System.err.println("Run 'jwsgi --help' for the options.");
        System.err.flush();
    }
}
