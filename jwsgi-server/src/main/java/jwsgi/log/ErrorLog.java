package jwsgi.log;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.Locale;

import jwsgi.posix.Libc;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.ThrowableProxy;
import ch.qos.logback.core.AppenderBase;

import org.slf4j.LoggerFactory;
import org.slf4j.Marker;
import org.slf4j.MarkerFactory;

/**
 * The error log, in gunicorn's format and levels:
 * {@code [2026-11-25 08:15:09 +0000] [1234] [INFO] message}, to standard error or appended to
 * a file ({@code --error-logfile}), reopened on USR1.
 *
 * <p>With {@code --capture-output} and a file, the process's own standard output and error
 * (descriptors 1 and 2) are pointed at the file, as gunicorn does with {@code dup2}: the app's
 * {@code print()}, its tracebacks and any library writing to stderr land in the error log.
 *
 * <p>Everything in the process logs through SLF4J; this class installs the one appender.
 * Logback has no CRITICAL level: events marked {@link #CRITICAL} at ERROR print as CRITICAL.
 *
 * <p>Threads: any.
 */
public final class ErrorLog {
    /** The accepted {@code --log-level} values, gunicorn's. */
    public static final List<String> LEVELS = List.of("debug", "info", "warning", "error", "critical");
    /** Marks an ERROR event as gunicorn's CRITICAL. */
    public static final Marker CRITICAL = MarkerFactory.getMarker("CRITICAL");

    private final Target target;
    private final LogFile out;

    /**
     * @param level         one of {@link #LEVELS} (any case)
     * @param file          "-" for standard error, else the file to append to
     * @param captureOutput point the process's stdout and stderr at the file too
     */
    public record Target(String level, String file, boolean captureOutput) {
        /** Standard error at {@code level}. */
        public static Target stderr(String level) {
            return new Target(level, "-", false);
        }

        boolean captures() {
            return captureOutput && !file.equals("-");
        }
    }

    private ErrorLog(Target target, LogFile out) {
        this.target = target;
        this.out = out;
    }

    /**
     * Sets up (or replaces) the error log. Lines logged before go where the previous set-up sent them.
     *
     * @throws IllegalArgumentException for an unknown level
     * @throws IOException              when the file cannot be opened
     */
    public static ErrorLog configure(Target target) throws IOException {
        Level threshold = parseLevel(target.level());
        LogFile out;
        if (target.captures()) {
            redirectStandardStreams(target.file());
            out = LogFile.stderr();
        } else {
            out = target.file().equals("-") ? LogFile.stderr() : LogFile.append(Path.of(target.file()));
        }
        ErrorLog log = new ErrorLog(target, out);
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        context.reset();
        GunicornAppender appender = new GunicornAppender(out, target.level().equalsIgnoreCase("critical"));
        appender.setContext(context);
        appender.setName("error-log");
        appender.start();
        Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.addAppender(appender);
        root.setLevel(threshold);
        // Jetty's own INFO lines (versions, started connectors) say nothing an operator needs.
        context.getLogger("org.eclipse.jetty").setLevel(threshold.isGreaterOrEqual(Level.WARN) ? threshold : Level.WARN);
        return log;
    }

    /** Points descriptors 1 and 2 at the end of {@code file}. */
    private static void redirectStandardStreams(String file) throws IOException {
        System.out.flush();
        System.err.flush();
        try {
            int fd = Libc.openAppend(file);
            try {
                Libc.dup2(fd, 1);
                Libc.dup2(fd, 2);
            } finally {
                Libc.close(fd);
            }
        } catch (Libc.Failure e) {
            throw new IOException(e.getMessage(), e);
        }
    }

    /** Reopens the file (USR1, after logrotate moved it). */
    public void reopen() throws IOException {
        if (target.captures()) redirectStandardStreams(target.file());
        else out.reopen();
    }

    /** Gives the file to the user the server switches to, so it can still reopen it. */
    public void chown(int uid, int gid) throws IOException {
        if (target.file().equals("-")) return;
        Files.setAttribute(Path.of(target.file()), "unix:uid", uid);
        Files.setAttribute(Path.of(target.file()), "unix:gid", gid);
    }

    /** Logback's level for a gunicorn level name. */
    static Level parseLevel(String level) {
        return switch (level.toLowerCase(Locale.ROOT)) {
            case "debug" -> Level.DEBUG;
            case "info" -> Level.INFO;
            case "warning", "warn" -> Level.WARN;
            case "error", "critical" -> Level.ERROR;
            default -> throw new IllegalArgumentException("--log-level " + level + ": expected one of " + String.join(", ", LEVELS));
        };
    }

    /** Writes events in gunicorn's error log format. */
    private static final class GunicornAppender extends AppenderBase<ILoggingEvent> {
        private static final DateTimeFormatter TIME =
                DateTimeFormatter.ofPattern("'['yyyy-MM-dd HH:mm:ss Z']'", Locale.ENGLISH);
        private final LogFile out;
        private final boolean criticalOnly;
        private final String pid = " [" + ProcessHandle.current().pid() + "] ";
        private final ZoneId zone = ZoneId.systemDefault();

        GunicornAppender(LogFile out, boolean criticalOnly) {
            this.out = out;
            this.criticalOnly = criticalOnly;
        }

        @Override
        protected void append(ILoggingEvent event) {
            boolean critical = event.getMarkerList() != null && event.getMarkerList().contains(CRITICAL);
            if (criticalOnly && !critical) return;
            StringBuilder line = new StringBuilder(128)
                    .append(TIME.format(ZonedDateTime.ofInstant(Instant.ofEpochMilli(event.getTimeStamp()), zone)))
                    .append(pid).append('[').append(levelName(event.getLevel(), critical)).append("] ")
                    .append(event.getFormattedMessage());
            if (event.getThrowableProxy() instanceof ThrowableProxy proxy) {
                StringWriter trace = new StringWriter();
                proxy.getThrowable().printStackTrace(new PrintWriter(trace));
                line.append('\n').append(trace.toString().stripTrailing());
            }
            out.writeLine(line.toString());
        }

        private static String levelName(Level level, boolean critical) {
            if (critical) return "CRITICAL";
            return switch (level.toInt()) {
                case Level.WARN_INT -> "WARNING";
                default -> level.toString();
            };
        }
    }
}
