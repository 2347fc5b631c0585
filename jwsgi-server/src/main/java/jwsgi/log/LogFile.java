package jwsgi.log;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Where a log writes its lines: standard output or error, or a file opened for appending that
 * can be reopened after logrotate moved it away (USR1), as gunicorn does.
 *
 * <p>Each line is one unbuffered write, so lines from many threads never interleave and none
 * is lost when the process dies.
 *
 * <p>Threads: any.
 */
final class LogFile implements AutoCloseable {
    private final Path path;
    private OutputStream out;

    private LogFile(Path path, OutputStream out) {
        this.path = path;
        this.out = out;
    }

    /** Standard output ("-" for the access log). */
    static LogFile stdout() {
        return new LogFile(null, new FileOutputStream(FileDescriptor.out));
    }

    /** Standard error ("-" for the error log). */
    static LogFile stderr() {
        return new LogFile(null, new FileOutputStream(FileDescriptor.err));
    }

    /**
     * Opens {@code path} for appending, creating it (but not its directory).
     *
     * @throws IOException naming the file and the reason
     */
    static LogFile append(Path path) throws IOException {
        return new LogFile(path, open(path));
    }

    private static OutputStream open(Path path) throws IOException {
        Path dir = path.toAbsolutePath().getParent();
        if (dir != null && !Files.isDirectory(dir)) throw new IOException(path + ": directory " + dir + " does not exist");
        try {
            return new FileOutputStream(path.toFile(), true);
        } catch (IOException e) {
            throw new IOException(path + ": " + (e.getMessage() == null ? e.toString() : e.getMessage()), e);
        }
    }

    /** Writes {@code line} and a newline, UTF-8 encoded. A failed write is reported on stderr once per failure. */
    void writeLine(String line) {
        byte[] bytes = (line + "\n").getBytes(StandardCharsets.UTF_8);
        synchronized (this) {
            try {
                out.write(bytes);
            } catch (IOException e) {
                // The log itself is broken (disk full, closed pipe): stderr is all that is left.
                System.err.println("jwsgi: cannot write to " + (path == null ? "the log" : path) + ": " + e.getMessage());
            }
        }
    }

    /** Closes the file and opens {@code path} again (a new file when it was moved away). No-op for standard streams. */
    void reopen() throws IOException {
        if (path == null) return;
        OutputStream fresh = open(path);
        OutputStream old;
        synchronized (this) {
            old = out;
            out = fresh;
        }
        old.close();
    }

    /** Gives the file to {@code uid}/{@code gid}, so the server can still reopen it after dropping root. */
    void chown(int uid, int gid) throws IOException {
        if (path == null) return;
        Files.setAttribute(path, "unix:uid", uid);
        Files.setAttribute(path, "unix:gid", gid);
    }

    @Override
    public synchronized void close() {
        if (path == null) return;
        try {
            out.close();
        } catch (IOException ignored) {
            // nothing is buffered: no line is lost
        }
    }
}
