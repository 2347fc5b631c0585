package jwsgi.log;

import java.util.Locale;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;

import org.slf4j.LoggerFactory;

/**
 * The error log, in gunicorn's format: {@code [2026-11-25 08:15:09 +0000] [1234] [INFO] message},
 * to standard error. Configured once, before anything else logs.
 */
public final class Logging {
    private Logging() {}

    /** The accepted {@code --log-level} values, gunicorn's. */
    public static final String LEVELS = "debug, info, warning, error, critical";

    /**
     * Sets up the error log.
     *
     * @throws IllegalArgumentException for an unknown level, naming the accepted ones
     */
    public static void configure(String level) {
        Level threshold = parseLevel(level);
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        context.reset();
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setContext(context);
        encoder.setPattern("[%d{yyyy-MM-dd HH:mm:ss Z}] [" + ProcessHandle.current().pid()
                + "] [%replace(%level){'^WARN$','WARNING'}] %msg%n");
        encoder.start();
        ConsoleAppender<ILoggingEvent> stderr = new ConsoleAppender<>();
        stderr.setContext(context);
        stderr.setTarget("System.err");
        stderr.setEncoder(encoder);
        stderr.start();
        Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.addAppender(stderr);
        root.setLevel(threshold);
        // Jetty's own INFO lines (versions, started connectors) say nothing an operator needs.
        context.getLogger("org.eclipse.jetty").setLevel(threshold.isGreaterOrEqual(Level.WARN) ? threshold : Level.WARN);
    }

    static Level parseLevel(String level) {
        return switch (level.toLowerCase(Locale.ROOT)) {
            case "debug" -> Level.DEBUG;
            case "info" -> Level.INFO;
            case "warning", "warn" -> Level.WARN;
            case "error", "critical" -> Level.ERROR;
            default -> throw new IllegalArgumentException("--log-level " + level + ": expected one of " + LEVELS);
        };
    }
}
