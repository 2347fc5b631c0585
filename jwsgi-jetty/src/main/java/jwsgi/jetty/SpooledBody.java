package jwsgi.jetty;

import java.io.IOException;
import java.nio.ByteBuffer;

import jwsgi.wsgi.Exchange;

/**
 * A request body read whole before the app ran and kept in an unlinked temp file, because it
 * was larger than --body-buffer-size. Reading it never waits for the client. The exchange
 * closes it when it ends, on every path.
 *
 * <p>Threads: written by the HTTP layer before the request is queued, read by the one thread
 * that runs the request.
 */
final class SpooledBody implements Exchange.Body.Streamed, AutoCloseable {
    private final SpillFile file;

    SpooledBody(SpillFile file) {
        this.file = file;
    }

    @Override
    public int read(ByteBuffer into) throws IOException {
        return file.read(into);
    }

    @Override
    public boolean waitsForClient() {
        return false;
    }

    @Override
    public void close() {
        try {
            file.close();
        } catch (IOException ignored) {
            // an unlinked temp file: closing is all there is to do
        }
    }
}
