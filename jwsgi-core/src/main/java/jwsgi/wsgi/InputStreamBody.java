package jwsgi.wsgi;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.function.Function;

/**
 * A request body read from a blocking stream as the app asks for it (a Jetty request's content,
 * a servlet's input stream). Reads block the Python thread running the request, which has
 * released the GIL ({@link WsgiInput}).
 *
 * <p>Threads: the Python thread that runs the request.
 */
public final class InputStreamBody implements Exchange.Body.Streamed {
    private final InputStream in;
    private final long limit;
    private final Function<IOException, String> describe;
    private long received;
    private byte[] scratch = new byte[0];

    /**
     * @param limit    the most bytes the body may have; 0 for no limit
     * @param describe what the app's OSError says of a failed read: what happened, not which class noticed
     */
    public InputStreamBody(InputStream in, long limit, Function<IOException, String> describe) {
        this.in = in;
        this.limit = limit;
        this.describe = describe;
    }

    @Override
    public int read(ByteBuffer into) throws IOException {
        if (!into.hasRemaining()) return 0;
        int want = into.remaining();
        if (scratch.length < want) scratch = new byte[Math.min(want, 1 << 16)];
        int n;
        try {
            n = in.read(scratch, 0, Math.min(want, scratch.length));
        } catch (IOException e) {
            throw new IOException(describe.apply(e), e);
        }
        if (n > 0) {
            received += n;
            if (limit > 0 && received > limit) {
                throw new IOException("the request body is larger than the server accepts (--limit-request-body " + limit + " bytes)");
            }
            into.put(scratch, 0, n);
        }
        return n;
    }
}
