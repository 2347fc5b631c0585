package jwsgi.config;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;

import picocli.CommandLine;
import picocli.CommandLine.Option;

/** The error and access logs (gunicorn's "Logging"). */
public final class LoggingOptions {
    private static final Set<String> LEVELS = Set.of("debug", "info", "warning", "error", "critical");

    /**
     * @param logLevel  error log level, one of gunicorn's
     * @param accessLog "-" for stdout, an absolute file path, or null for none
     */
    public record Settings(String logLevel, String accessLog) {}

    @Option(names = "--log-level", paramLabel = "LEVEL", defaultValue = "info",
            description = "Error log level: debug, info, warning, error, critical. Default: ${DEFAULT-VALUE}.")
    String logLevel;

    @Option(names = "--access-logfile", paramLabel = "FILE",
            description = "Write an access log to FILE ('-' for stdout). Default: none.")
    String accessLog;

    Settings settings(CommandLine cmd) {
        String level = logLevel.toLowerCase(Locale.ROOT);
        if (!LEVELS.contains(level)) {
            throw new CommandLine.ParameterException(cmd, "--log-level " + logLevel
                    + ": expected one of debug, info, warning, error, critical");
        }
        String access = accessLog == null || accessLog.equals("-") ? accessLog
                : Path.of(accessLog).toAbsolutePath().normalize().toString();
        return new Settings(level, access);
    }
}
