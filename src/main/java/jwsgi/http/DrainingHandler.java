package jwsgi.http;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;

import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.component.Graceful;

/**
 * The graceful part of a worker's stop: Jetty's {@code Server.stop()} waits until the requests
 * in flight here are done (or the graceful timeout). Unlike Jetty's GracefulHandler, a request
 * that arrives on an open keep-alive connection while the worker drains is served, not refused
 * with 503: Jetty marks its response {@code Connection: close}, so the client's next request goes
 * out on a new connection, which a worker that is not stopping accepts. During a reload or a
 * worker's replacement, no request fails. It also costs one callback per request, where Jetty's
 * wraps the request as well.
 */
final class DrainingHandler extends Handler.Wrapper implements Graceful {
    private final AtomicLong inFlight = new AtomicLong();
    private final Graceful.Shutdown shutdown = new Graceful.Shutdown(this) {
        @Override
        public boolean isShutdownDone() {
            return inFlight.get() == 0;
        }
    };

    DrainingHandler(Handler handler) {
        super(handler);
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
        Handler next = getHandler();
        if (next == null || !isStarted()) return false;
        inFlight.incrementAndGet();
        Callback tracked = new Tracked(callback);
        boolean handled;
        try {
            handled = next.handle(request, response, tracked);
        } catch (Throwable x) {
            Response.writeError(request, response, tracked, x);
            return true;
        }
        if (!handled) done();
        return handled;
    }

    private void done() {
        if (inFlight.decrementAndGet() == 0 && shutdown.isShutdown()) shutdown.check();
    }

    /** The request's callback, which also counts it done. */
    private final class Tracked extends Callback.Nested {
        Tracked(Callback callback) {
            super(callback);
        }

        @Override
        public void completed() {
            done();
        }
    }

    @Override
    public boolean isShutdown() {
        return shutdown.isShutdown();
    }

    @Override
    public CompletableFuture<Void> shutdown() {
        return shutdown.shutdown();
    }

    @Override
    protected void doStart() throws Exception {
        // A stopped server stays "shut down" until it starts again.
        shutdown.cancel();
        super.doStart();
    }
}
