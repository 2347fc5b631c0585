package jwsgi.jetty;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Bytes kept on disk instead of in memory: response bytes a client is not reading fast enough,
 * so the thread that produced them never waits for the client (nginx's proxy_buffering to temp
 * files, for the same reason), and request bodies too large to keep in memory until the app
 * reads them (nginx's client_body_temp_path). The file is unlinked as soon as it is open: it
 * disappears with the channel, even if the process dies.
 *
 * <p>Threads: one writer and one reader, serialised by the owning exchange's lock.
 */
final class SpillFile implements AutoCloseable {
    private final FileChannel channel;
    private long written;
    private long read;

    private SpillFile(FileChannel channel) {
        this.channel = channel;
    }

    /** @param kind what the file holds, for its (short-lived) name: "response" or "request" */
    static SpillFile create(String kind) throws IOException {
        Path path = Files.createTempFile("jwsgi-" + kind, ".spill");
        FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        Files.delete(path);
        return new SpillFile(channel);
    }

    /** Appends all of {@code bytes}. */
    void append(ByteBuffer bytes) throws IOException {
        while (bytes.hasRemaining()) written += channel.write(bytes, written);
    }

    /** Bytes written and not read yet. */
    long pending() {
        return written - read;
    }

    /** Fills {@code into} (flush mode on return) with the next unread bytes. */
    void readInto(ByteBuffer into) throws IOException {
        into.clear();
        into.limit((int) Math.min(into.capacity(), pending()));
        while (into.hasRemaining()) {
            int n = channel.read(into, read);
            if (n < 0) throw new IOException("spill file truncated");
            read += n;
        }
        into.flip();
    }

    /** Reads the next unread bytes into {@code into}, as many as fit; -1 when all were read. */
    int read(ByteBuffer into) throws IOException {
        if (pending() == 0) return into.hasRemaining() ? -1 : 0;
        ByteBuffer window = into.slice(into.position(), (int) Math.min(into.remaining(), pending()));
        int n = channel.read(window, read);
        if (n < 0) throw new IOException("spill file truncated");
        read += n;
        into.position(into.position() + n);
        return n;
    }

    @Override
    public void close() throws IOException {
        channel.close();
    }
}
