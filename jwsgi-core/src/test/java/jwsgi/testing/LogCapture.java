package jwsgi.testing;

import java.util.List;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;

import org.slf4j.LoggerFactory;

/**
 * The log lines of one logger (and those below it) while a fast-tier test runs, kept from the
 * console: {@code try (LogCapture log = LogCapture.of("jwsgi.wsgi")) { ... log.contains("...") }}.
 *
 * <p>Threads: any; lines are collected from whichever thread logs.
 */
public final class LogCapture implements AutoCloseable {
    private final Logger logger;
    private final boolean additive;
    private final ListAppender<ILoggingEvent> appender = new ListAppender<>();

    private LogCapture(String name) {
        this.logger = (Logger) LoggerFactory.getLogger(name);
        this.additive = logger.isAdditive();
        appender.setContext(logger.getLoggerContext());
        appender.start();
        logger.addAppender(appender);
        logger.setAdditive(false);
    }

    public static LogCapture of(String name) {
        return new LogCapture(name);
    }

    /** Every line so far, formatted, with the message of its exception when it has one. */
    public List<String> lines() {
        synchronized (appender) {  // AppenderBase appends under this lock
            return appender.list.stream().map(e -> e.getFormattedMessage()
                    + (e.getThrowableProxy() == null ? "" : "\n" + e.getThrowableProxy().getMessage())).toList();
        }
    }

    /** Whether a line contains {@code text}. */
    public boolean contains(String text) {
        return lines().stream().anyMatch(line -> line.contains(text));
    }

    /** All lines, for assertion messages. */
    @Override
    public String toString() {
        return String.join("\n", lines());
    }

    @Override
    public void close() {
        logger.detachAppender(appender);
        logger.setAdditive(additive);
        appender.stop();
    }
}
