package jwsgi.config;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

import jwsgi.log.AccessLogFormat;
import jwsgi.log.ErrorLog;

import picocli.CommandLine;
import picocli.CommandLine.Option;

/** The error and access logs, and the app's Python logging (gunicorn's "Logging"). */
public final class LoggingOptions {
    /**
     * @param logLevel        error log level, one of gunicorn's
     * @param errorLog        "-" for stderr, else an absolute file path
     * @param captureOutput   send the process's stdout and stderr to the error log file
     * @param accessLog       "-" for stdout, an absolute file path, or null for none
     * @param accessLogFormat the compiled access log format
     * @param accessLogJson   write the access log as JSON lines
     * @param logConfig       a logging.config.fileConfig file for the app's Python logging, or null
     * @param logConfigJson   a JSON logging.config.dictConfig file for the app's Python logging, or null
     */
    public record Settings(String logLevel, String errorLog, boolean captureOutput, String accessLog,
                           AccessLogFormat accessLogFormat, boolean accessLogJson, String logConfig, String logConfigJson) {
        /** Where the error log goes. */
        public ErrorLog.Target errorLogTarget() {
            return new ErrorLog.Target(logLevel, errorLog, captureOutput);
        }
    }

    @Option(names = "--log-level", paramLabel = "LEVEL", defaultValue = "info",
            description = "Error log level: debug, info, warning, error, critical. Default: ${DEFAULT-VALUE}.")
    String logLevel;

    @Option(names = {"--error-logfile", "--log-file"}, paramLabel = "FILE", defaultValue = "-",
            description = "Write the error log to FILE ('-' for stderr). Default: ${DEFAULT-VALUE}.")
    String errorLog;

    @Option(names = "--capture-output",
            description = "Send the app's stdout and stderr (print(), tracebacks) to the --error-logfile FILE.")
    boolean captureOutput;

    @Option(names = "--access-logfile", paramLabel = "FILE",
            description = "Write an access log to FILE ('-' for stdout). Default: none.")
    String accessLog;

    @Option(names = {"--access-logformat", "--access-log-format"}, paramLabel = "STRING", defaultValue = AccessLogFormat.DEFAULT,
            description = "The access log format, with gunicorn's atoms (h l u t r m U q H s B b f a T D M L p, "
                    + "{header}i, {header}o, {variable}e). Default: '${DEFAULT-VALUE}'.")
    String accessLogFormat;

    @Option(names = "--access-log-json",
            description = "Write the access log as one JSON object per line, with the atoms of --access-logformat as members.")
    boolean accessLogJson;

    @Option(names = "--log-config", paramLabel = "FILE",
            description = "A logging.config.fileConfig file for the app's Python logging, as in gunicorn.")
    String logConfig;

    @Option(names = "--log-config-json", paramLabel = "FILE",
            description = "A JSON logging.config.dictConfig file for the app's Python logging, as in gunicorn.")
    String logConfigJson;

    Settings settings(CommandLine cmd) {
        String level = logLevel.toLowerCase(Locale.ROOT);
        if (!ErrorLog.LEVELS.contains(level)) {
            throw new CommandLine.ParameterException(cmd, "--log-level " + logLevel + ": expected one of "
                    + String.join(", ", ErrorLog.LEVELS) + Suggest.hint(level, ErrorLog.LEVELS));
        }
        AccessLogFormat format;
        try {
            format = AccessLogFormat.compile(accessLogFormat);
        } catch (IllegalArgumentException e) {
            throw new CommandLine.ParameterException(cmd, "--access-logformat '" + accessLogFormat + "': " + e.getMessage());
        }
        return new Settings(level, stdOrFile(errorLog), captureOutput, accessLog == null ? null : stdOrFile(accessLog),
                format, accessLogJson, existing(cmd, "--log-config", logConfig), existing(cmd, "--log-config-json", logConfigJson));
    }

    /** "-", or the path made absolute now: relative paths mean the directory jwsgi was started in. */
    private static String stdOrFile(String target) {
        return target.equals("-") ? target : Path.of(target).toAbsolutePath().normalize().toString();
    }

    private static String existing(CommandLine cmd, String flag, String file) {
        if (file == null) return null;
        Path path = Path.of(file).toAbsolutePath().normalize();
        if (!Files.isRegularFile(path)) throw new CommandLine.ParameterException(cmd, flag + " " + file + ": no such file");
        return path.toString();
    }
}
