package jwsgi.server;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import jwsgi.config.Cli;
import jwsgi.config.Settings;
import jwsgi.log.Logging;

import org.slf4j.LoggerFactory;

import picocli.CommandLine;

/** The {@code jwsgi} command. */
public final class Main {
    private Main() {}

    public static void main(String[] args) {
        System.exit(run(args).code);
    }

    static ExitCode run(String[] args) {
        Cli cli = new Cli();
        CommandLine cmd = new CommandLine(cli);
        Settings settings;
        try {
            CommandLine.ParseResult parsed = cmd.parseArgs(args);
            if (CommandLine.printHelpIfRequested(parsed)) return ExitCode.OK;
            List<String> argv = new ArrayList<>();
            argv.add("jwsgi");
            argv.addAll(Arrays.asList(args));
            settings = cli.settings(cmd, argv);
            Logging.configure(settings.logging().logLevel());
        } catch (CommandLine.ParameterException e) {
            System.err.println("jwsgi: error: " + e.getMessage());
            CommandLine.UnmatchedArgumentException.printSuggestions(e, System.err);
            System.err.println("Run 'jwsgi --help' for the options.");
            return ExitCode.USAGE;
        } catch (IllegalArgumentException e) {
            System.err.println("jwsgi: error: " + e.getMessage());
            return ExitCode.USAGE;
        }
        try {
            return new Server(settings).run();
        } catch (RuntimeException | Error e) {
            LoggerFactory.getLogger(Main.class).error("jwsgi internal error; please report it", e);
            return ExitCode.FAILURE;
        }
    }
}
