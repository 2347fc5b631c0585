package jwsgi.log;

import java.io.IOException;
import java.nio.file.Path;

/**
 * The access log: one line per finished request in gunicorn's {@code access_log_format}, or
 * one JSON object per line, to standard output ({@code -}) or appended to a file that USR1
 * reopens.
 *
 * <p>Threads: any; lines are written whole.
 */
public final class AccessLog implements AutoCloseable {
    private final LogFile out;
    private final AccessLogFormat format;
    private final boolean json;

    private AccessLog(LogFile out, AccessLogFormat format, boolean json) {
        this.out = out;
        this.format = format;
        this.json = json;
    }

    /**
     * Opens the log.
     *
     * @param target "-" for standard output, else a file path (appended to)
     * @param json   one JSON object per line instead of the text format
     * @throws IOException when the file cannot be opened for appending
     */
    public static AccessLog open(String target, AccessLogFormat format, boolean json) throws IOException {
        return new AccessLog(target.equals("-") ? LogFile.stdout() : LogFile.append(Path.of(target)), format, json);
    }

    public AccessLogFormat format() {
        return format;
    }

    /** Writes the line for {@code request}. */
    public void log(AccessLogFormat.Request request) {
        out.writeLine(json ? format.json(request) : format.format(request));
    }

    /** Reopens the file (USR1, after logrotate moved it). */
    public void reopen() throws IOException {
        out.reopen();
    }

    /** Gives the file to the user the server switches to. */
    public void chown(int uid, int gid) throws IOException {
        out.chown(uid, gid);
    }

    @Override
    public void close() {
        out.close();
    }
}
