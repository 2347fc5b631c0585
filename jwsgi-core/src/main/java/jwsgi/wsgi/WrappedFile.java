package jwsgi.wsgi;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

import jwsgi.python.CPython;
import jwsgi.python.Interpreter;

/**
 * The real file under a {@code wsgi.file_wrapper}, re-opened through {@code /proc/self/fd} so
 * that Java sends it without its bytes passing through Python, from where the app's file
 * object stands.
 *
 * <p>Threads: any. GIL: {@link #open} must hold it.
 *
 * @param channel  the file, read-only; whoever takes the outcome owns it
 * @param position the file object's position ({@code tell()}): the first byte to send
 * @param size     the file's size
 */
record WrappedFile(FileChannel channel, long position, long size) {
    /**
     * The file under {@code wrapper} (borrowed), or null when its {@code filelike} is no
     * regular file with a descriptor (a BytesIO, a socket): the wrapper is then iterated.
     */
    static WrappedFile open(Interpreter py, MemorySegment wrapper) {
        long fd = call(py, wrapper, "fileno");
        long position = fd < 0 ? -1 : call(py, wrapper, "tell");
        if (position < 0) return null;
        Path path = Path.of("/proc/self/fd/" + fd);
        if (!Files.isRegularFile(path)) return null;
        FileChannel channel = null;
        try {
            channel = FileChannel.open(path, StandardOpenOption.READ);
            return new WrappedFile(channel, position, channel.size());
        } catch (IOException e) {
            closeQuietly(channel);
            return null;
        }
    }

    /** The bytes from {@link #position} to the end, at most {@code limit} when it is not negative. */
    long length(long limit) {
        long rest = Math.max(0, size - position);
        return limit >= 0 ? Math.min(rest, limit) : rest;
    }

    void close() {
        closeQuietly(channel);
    }

    private static void closeQuietly(FileChannel channel) {
        if (channel == null) return;
        try {
            channel.close();
        } catch (IOException ignored) {
            // read-only: nothing was lost
        }
    }

    /** {@code wrapper.filelike.method()} as a long, or -1 (no exception left set) when that fails. */
    private static long call(Interpreter py, MemorySegment wrapper, String method) {
        CPython api = py.api();
        MemorySegment filelike = py.getAttr(wrapper, "filelike");
        MemorySegment result = CPython.isNull(filelike) ? MemorySegment.NULL : py.callMethod(filelike, method);
        long value = CPython.isNull(result) ? -1 : api.longValue(result);
        api.decRef(result);
        api.decRef(filelike);
        if (value < 0) api.errClear();
        return value;
    }
}
