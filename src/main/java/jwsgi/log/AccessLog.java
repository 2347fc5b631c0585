package jwsgi.log;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * The access log: one line per request in gunicorn's default format
 * {@code %(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"}, to stdout ({@code -})
 * or appended to a file.
 *
 * <p>Threads: any; lines are written whole and flushed one by one.
 */
public final class AccessLog implements AutoCloseable {
    private static final DateTimeFormatter TIME =
            DateTimeFormatter.ofPattern("'['dd/MMM/yyyy:HH:mm:ss Z']'", Locale.ENGLISH).withZone(ZoneId.systemDefault());

    /** What is known of a request once its response is complete. */
    public record Entry(String remoteAddr, Instant start, String method, String target, String protocol,
                        int status, long bytes, String referer, String userAgent, String user) {}

    private final PrintStream out;
    private final boolean owned;

    private AccessLog(PrintStream out, boolean owned) {
        this.out = out;
        this.owned = owned;
    }

    /**
     * Opens the log.
     *
     * @param target "-" for standard output, else a file path (appended to)
     * @throws IOException when the file cannot be opened for appending
     */
    public static AccessLog open(String target) throws IOException {
        if (target.equals("-")) return new AccessLog(System.out, false);
        OutputStream file = new FileOutputStream(Path.of(target).toFile(), true);
        return new AccessLog(new PrintStream(file, false, StandardCharsets.UTF_8), true);
    }

    public void log(Entry e) {
        String line = format(e);
        synchronized (out) {
            out.print(line);
            out.print('\n');
            out.flush();
        }
    }

    static String format(Entry e) {
        return dash(e.remoteAddr()) + " - " + dash(e.user()) + " " + TIME.format(e.start())
                + " \"" + e.method() + " " + e.target() + " " + e.protocol() + "\" " + e.status() + " "
                + (e.bytes() > 0 ? Long.toString(e.bytes()) : "-")
                + " \"" + dash(e.referer()) + "\" \"" + dash(e.userAgent()) + "\"";
    }

    private static String dash(String s) {
        return s == null || s.isEmpty() ? "-" : s;
    }

    @Override
    public void close() {
        if (owned) out.close();
    }
}
