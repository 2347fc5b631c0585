package jwsgi.server;

import java.io.IOException;

import jwsgi.config.ConfigException;
import jwsgi.config.SettingsSources;
import jwsgi.log.ErrorLog;

import org.slf4j.LoggerFactory;

/** The {@code jwsgi} command. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args).code);
    }

    static ExitCode run(String[] args) {
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
            return new Server(sources, early, errorLog).run();
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
