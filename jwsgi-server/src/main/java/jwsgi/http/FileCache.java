package jwsgi.http;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.PreEncodedHttpField;
import org.eclipse.jetty.http.content.HttpContent;
import org.eclipse.jetty.http.content.ValidatingCachingHttpContentFactory;
import org.eclipse.jetty.io.ByteBufferPool;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.util.BufferUtil;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.NanoTime;
import org.eclipse.jetty.util.TypeUtil;

/**
 * Jetty's validating content cache, with large files mapped instead of copied. Files up to
 * {@link #IN_MEMORY} bytes are read into memory (Jetty's own cached content); larger ones, up to
 * {@link #MAX_FILE}, are mapped once ({@code FileChannel.map}) and each response is a slice of the
 * mapping, which the socket write copies straight from the page cache, shared by all workers:
 * no read() and no copy in the JVM. Larger files are not cached and stream through pooled
 * buffers. Each entry is checked against the file's modification time at most once a
 * {@link #VALIDATION_MILLIS}, as Jetty's ResourceHandler does; a replaced file is mapped anew.
 *
 * <p>A path that names no file is not remembered: Jetty would cache each one, and any client could
 * fill the cache with made-up paths.
 *
 * <p>Threads: any; entries are shared by the connections of a worker.
 */
final class FileCache extends ValidatingCachingHttpContentFactory {
    /** Files up to this size are copied into memory: at most {@link #MAX_FILES} times this per mount (32 MiB). */
    static final int IN_MEMORY = 16 * 1024;
    static final int MAX_FILE = 64 * 1024 * 1024;
    static final int MAX_FILES = 2048;
    /** Bytes cached per mount, mapped ones included (those are page cache, not heap). */
    static final long MAX_BYTES = 512L * 1024 * 1024;
    static final long VALIDATION_MILLIS = 1000;

    FileCache(HttpContent.Factory files, ByteBufferPool.Sized buffers) {
        super(files, VALIDATION_MILLIS, buffers);
        setMaxCachedFileSize(MAX_FILE);
        setMaxCachedFiles(MAX_FILES);
        setMaxCacheSize(MAX_BYTES);
    }

    @Override
    protected boolean isCacheable(HttpContent content) {
        return content != null && super.isCacheable(content);
    }

    @Override
    protected CachingHttpContent newCachedContent(String path, HttpContent content) {
        if (content.getContentLengthValue() <= IN_MEMORY) return super.newCachedContent(path, content);
        try {
            return new Mapped(path, content);
        } catch (IOException e) {
            throw new UncheckedIOException(e);  // not cached: the content is served as it is
        }
    }

    /** A mapped file, with the header fields it was mapped with. */
    private final class Mapped extends HttpContent.Wrapper implements CachingHttpContent {
        private final String key;
        private final ByteBuffer mapped;
        private final Instant lastModifiedInstant;
        private final HttpField lastModified;
        private final HttpField contentLength;
        private final AtomicLong lastValidated = new AtomicLong(NanoTime.now());
        private volatile long lastAccessed = NanoTime.now();

        Mapped(String key, HttpContent content) throws IOException {
            super(content);
            this.key = key;
            this.lastModifiedInstant = content.getLastModifiedInstant();
            this.lastModified = content.getLastModified();
            ByteBuffer buffer = BufferUtil.toMappedBuffer(content.getResource().getPath());
            if (buffer == null) throw new IOException("cannot map " + content.getResource());
            this.mapped = buffer.asReadOnlyBuffer();
            this.contentLength = new PreEncodedHttpField(HttpHeader.CONTENT_LENGTH, Long.toString(mapped.remaining()));
        }

        @Override
        public void writeTo(Content.Sink sink, long offset, long length, Callback callback) {
            try {
                long n = TypeUtil.checkOffsetLengthSize(offset, length, mapped.remaining());
                sink.write(true, BufferUtil.slice(mapped, Math.toIntExact(offset), Math.toIntExact(n)), callback);
            } catch (Throwable x) {
                callback.failed(x);
            }
        }

        @Override
        public HttpField getContentLength() {
            return contentLength;
        }

        @Override
        public long getContentLengthValue() {
            return mapped.remaining();
        }

        @Override
        public Instant getLastModifiedInstant() {
            return lastModifiedInstant;
        }

        @Override
        public HttpField getLastModified() {
            return lastModified;
        }

        @Override
        public String getKey() {
            return key;
        }

        @Override
        public long getLastAccessedNanos() {
            return lastAccessed;
        }

        @Override
        public void setLastAccessedNanos(long nanos) {
            lastAccessed = nanos;
        }

        /** Valid until the file's modification time changes; looked at once a validation period at most. */
        @Override
        public boolean isValid() {
            long now = NanoTime.now();
            long last = lastValidated.get();
            if (NanoTime.millisElapsed(last, now) < VALIDATION_MILLIS || !lastValidated.compareAndSet(last, now)) return true;
            return Objects.equals(lastModifiedInstant, getWrapped().getLastModifiedInstant());
        }

        /** The mapping goes when the buffer is collected; responses still writing slices of it keep it. */
        @Override
        public void release() {
        }
    }
}
