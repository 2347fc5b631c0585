package jwsgi.jetty;

import java.nio.ByteBuffer;

import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.http.MetaData;
import org.eclipse.jetty.server.HttpStream;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.Callback;

/**
 * Puts the app's reason phrase on the status line ({@code 418 Short And Stout}, {@code 599 Custom}),
 * as gunicorn and uWSGI do. Jetty's core {@code Response} takes only a code, and the response head
 * it sends carries no reason, so every protocol would write Jetty's phrase for the code (or none
 * for a code it does not know); this wrapper of the request's stream hands that head on with the
 * app's phrase. HTTP/2 has no reason phrase and ignores it.
 *
 * <p>Threads: installed and withdrawn by the thread that runs the request, before its first write;
 * {@link #send} runs on the thread that writes.
 */
final class ReasonPhrase {
    private final int status;
    private final String reason;
    private volatile boolean withdrawn;

    private ReasonPhrase(int status, String reason) {
        this.status = status;
        this.reason = reason;
    }

    /**
     * Has the response with this status go out with the app's reason phrase. Nothing is installed
     * (and null returned) when the phrase is the one Jetty writes anyway, or empty.
     */
    static ReasonPhrase install(Request request, int status, String reason) {
        if (reason.isEmpty() || reason.equals(HttpStatus.getMessage(status))) return null;
        ReasonPhrase phrase = new ReasonPhrase(status, reason);
        request.addHttpStreamWrapper(stream -> phrase.new Stream(stream));
        return phrase;
    }

    /** The server answers in the app's place (an error before anything was sent): Jetty's phrase again. */
    void withdraw() {
        withdrawn = true;
    }

    private final class Stream extends HttpStream.Wrapper {
        Stream(HttpStream wrapped) {
            super(wrapped);
        }

        @Override
        public void send(MetaData.Request request, MetaData.Response response, boolean last, ByteBuffer content, Callback callback) {
            if (response != null && !withdrawn && response.getStatus() == status) {
                response = new MetaData.Response(status, reason, response.getHttpVersion(), response.getHttpFields(),
                        response.getContentLength(), response.getTrailersSupplier());
            }
            super.send(request, response, last, content, callback);
        }
    }
}
